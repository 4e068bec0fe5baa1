/* The DNS behaviours' hot paths (included by _speedups.c after _speedups_hot.c, whose conventions they
 * follow: ``hot(behaviour, view)`` answers the behaviour's findings, or None when ``see`` must run, having
 * changed nothing ``see`` would not change in the same way first).
 *
 * ``dns_anomaly`` and ``risky_download`` both take every DNS look-up. The common look-up is of a name
 * already judged (each behaviour caches its judgement per name as logged), from a host already counted:
 * ``dns_anomaly`` moves the host's entries to the end of their LRU maps and adds the name to its tunnel
 * counters when nothing fires; ``risky_download`` counts the host as a user of the registered domain.
 * Anything else (a name not judged yet, a new host or domain, a DGA or NXDOMAIN candidate, a counter
 * reaching its threshold, a tenant with allow or ignore lists) goes to ``see``.
 *
 * ``DnsAnomaly.HOT_CONSTANTS`` is ``(WINDOW, _DISTINCT)``; ``RiskyDownload.HOT_CONSTANTS`` is
 * ``(MAX_RARE_HOSTS,)``. */

static PyObject *hd_names, *hd_cache, *hd_allow, *hd_ignore, *hd_start, *hd_domain, *hd_score, *hd_dga_score,
    *hd_dga, *hd_name, *hd_nx, *hd_subdomain, *hd_encoded, *hd_bit, *hd_domains, *hd_tunnel_min, *hd_tunnel_distinct,
    *hd_dns_type, *hd_answer, *hd_rcode, *hd_nxdomain, *hd_bit_count, *hd_lookups, *hd_rare, *hd_seen,
    *hd_url_domain;

/* ``bool(getattr(obj, name))``: 1, 0, or -1 with an error. */
static int
hd_truth(PyObject *obj, PyObject *name)
{
    PyObject *value = PyObject_GetAttr(obj, name);
    if (value == NULL) {
        return -1;
    }
    int truth = PyObject_IsTrue(value);
    Py_DECREF(value);
    return truth;
}

/* ``getattr(obj, name)`` as a double (a float or a small int, see hot_number): 1, 0 when it is not one,
 * -1 with an error. */
static int
hd_number(PyObject *obj, PyObject *name, double *out)
{
    PyObject *value = PyObject_GetAttr(obj, name);
    if (value == NULL) {
        return -1;
    }
    int ok = hot_number(value, out);
    Py_DECREF(value);
    return ok;
}

/* ``value in getattr(obj, name)`` for a set attribute: 1, 0, 2 when it is not a set, -1 with an error. */
static int
hd_in_set(PyObject *obj, PyObject *name, PyObject *value)
{
    PyObject *set = PyObject_GetAttr(obj, name);
    if (set == NULL) {
        return -1;
    }
    int in = PyAnySet_CheckExact(set) ? PySet_Contains(set, value) : 2;
    Py_DECREF(set);
    return in;
}

/* The tunnel counters of ``host`` for ``judged``'s domain (``state = [encoded, bitmap]``), updated when
 * the update fires nothing: 1, 0 (see() must run: a new domain, or a threshold reached), -1. */
static int
hd_tunnel(PyObject *host, PyObject *judged, PyObject *limits, PyObject *distinct_table)
{
    PyObject *domains = hot_map(host, hd_domains), *domain = NULL, *state = NULL, *bit = NULL, *bitmap = NULL;
    PyObject *count = NULL, *bits = NULL, *minimum = NULL;
    int result = -1;
    if (domains == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    if ((domain = PyObject_GetAttr(judged, hd_domain)) == NULL) {
        goto done;
    }
    if ((state = hot_touch(domains, domain)) == NULL) { /* a domain new to the host: see() adds it */
        result = PyErr_Occurred() ? -1 : 0;
        goto done;
    }
    if (!PyList_CheckExact(state) || PyList_GET_SIZE(state) != 2 || !PyLong_CheckExact(PyList_GET_ITEM(state, 0)) ||
        !PyLong_CheckExact(PyList_GET_ITEM(state, 1))) {
        result = 0;
        goto done;
    }
    int encoded = hd_truth(judged, hd_encoded);
    if (encoded < 0 || (bit = PyObject_GetAttr(judged, hd_bit)) == NULL) {
        goto done;
    }
    count = encoded ? PyNumber_Add(PyList_GET_ITEM(state, 0), h_one) : Py_NewRef(PyList_GET_ITEM(state, 0));
    if (count == NULL || (bitmap = PyNumber_Or(PyList_GET_ITEM(state, 1), bit)) == NULL ||
        (bits = PyObject_CallMethodNoArgs(bitmap, hd_bit_count)) == NULL) {
        goto done;
    }
    Py_ssize_t set = PyLong_AsSsize_t(bits);
    if (set == -1 && PyErr_Occurred()) {
        goto done;
    }
    if (set < 0 || set >= PyTuple_GET_SIZE(distinct_table)) {
        result = 0;
        goto done;
    }
    /* state[0] >= limits.tunnel_min or _DISTINCT[bit_count] >= limits.tunnel_distinct: see() fires */
    if ((minimum = PyObject_GetAttr(limits, hd_tunnel_min)) == NULL) {
        goto done;
    }
    int fires = PyObject_RichCompareBool(count, minimum, Py_GE);
    if (fires == 0) {
        Py_SETREF(minimum, PyObject_GetAttr(limits, hd_tunnel_distinct));
        fires = minimum == NULL ? -1
                                : PyObject_RichCompareBool(PyTuple_GET_ITEM(distinct_table, set), minimum, Py_GE);
    }
    if (fires != 0) {
        result = fires < 0 ? -1 : 0;
        goto done;
    }
    PyList_SetItem(state, 0, count); /* (steals both) */
    PyList_SetItem(state, 1, bitmap);
    count = bitmap = NULL;
    result = 1;
done:
    Py_XDECREF(minimum);
    Py_XDECREF(bits);
    Py_XDECREF(bitmap);
    Py_XDECREF(count);
    Py_XDECREF(bit);
    Py_XDECREF(state);
    Py_XDECREF(domain);
    Py_DECREF(domains);
    return result;
}

/* DnsAnomaly.see's hot path (see the file's comment). */
static int
hot_dns_anomaly_run(PyObject *behaviour, PyObject *view)
{
    PyObject *fields = bv_slot(view, V_FIELDS), *tenant = bv_slot(view, V_TENANT), *now_obj = bv_slot(view, V_NOW);
    if (fields == NULL || !PyDict_CheckExact(fields) || tenant == NULL || now_obj == NULL) {
        return 0;
    }
    PyObject *raw = PyDict_GetItemWithError(fields, h_dns_name);
    PyObject *kind = raw == NULL ? NULL : PyDict_GetItemWithError(fields, hd_dns_type);
    if (raw == NULL || (kind == NULL && PyErr_Occurred()) || !PyUnicode_CheckExact(raw)) {
        return PyErr_Occurred() ? -1 : 0;
    }
    int answer = 0;
    if (kind != NULL) { /* Suricata's answer records: the client is the destination */
        if (!PyUnicode_CheckExact(kind)) {
            return 0;
        }
        answer = PyUnicode_Compare(kind, hd_answer) == 0;
    }
    PyObject *source = bv_slot(view, answer ? V_DST : V_SRC), *local = bv_slot(view, answer ? V_DST_LAN : V_SRC_LAN);
    if (source == NULL || local == NULL) {
        return 0;
    }
    if (source == Py_None || local == Py_False) {
        return 1;
    }
    if (local != Py_True || !PyUnicode_CheckExact(source)) {
        return 0;
    }
    PyObject *names = NULL, *judged = NULL, *cache = NULL, *limits = NULL, *constants = NULL, *tenants = NULL;
    PyObject *hosts = NULL, *table = NULL, *host = NULL, *domain = NULL, *name = NULL, *rcode = NULL;
    int result = -1;
    double now, start, score, dga_score, window;
    if ((names = PyObject_GetAttr(behaviour, hd_names)) == NULL) {
        goto done;
    }
    if (!PyDict_CheckExact(names) || (judged = Py_XNewRef(PyDict_GetItemWithError(names, raw))) == NULL) {
        result = PyErr_Occurred() ? -1 : 0; /* a name not judged yet: see() judges it */
        goto done;
    }
    if (judged == Py_None) { /* never judged (local, allowed for all...) */
        result = 1;
        goto done;
    }
    if ((cache = PyObject_GetAttr(behaviour, hd_cache)) == NULL) {
        goto done;
    }
    if (!PyDict_CheckExact(cache) || (limits = Py_XNewRef(PyDict_GetItemWithError(cache, tenant))) == NULL) {
        result = PyErr_Occurred() ? -1 : 0;
        goto done;
    }
    int listed = hd_truth(limits, hd_allow);
    if (listed == 0) {
        listed = hd_truth(limits, hd_ignore);
    }
    if (listed != 0) { /* a tenant with allow or ignore lists: see() */
        result = listed < 0 ? -1 : 0;
        goto done;
    }
    if ((constants = PyObject_GetAttr(behaviour, h_constants)) == NULL) {
        goto done;
    }
    if (!PyTuple_CheckExact(constants) || PyTuple_GET_SIZE(constants) != 2 ||
        !hot_number(PyTuple_GET_ITEM(constants, 0), &window) || !PyTuple_CheckExact(PyTuple_GET_ITEM(constants, 1)) ||
        !hot_number(now_obj, &now)) {
        result = 0;
        goto done;
    }
    if ((tenants = hot_map(behaviour, h_tenants_)) == NULL || (hosts = hot_touch(tenants, tenant)) == NULL) {
        result = PyErr_Occurred() ? -1 : 0; /* a new tenant: see() */
        goto done;
    }
    if ((table = PyObject_GetAttr(hosts, h_data)) == NULL) {
        goto done;
    }
    if (!PyDict_Check(table) || (host = hot_touch(table, source)) == NULL) {
        result = PyErr_Occurred() ? -1 : 0; /* a new host: see() */
        goto done;
    }
    int ok = hd_number(host, hd_start, &start);
    if (ok <= 0 || now - start >= window || now < start - window) { /* a new window: see() resets it */
        result = ok < 0 ? -1 : 0;
        goto done;
    }
    if ((ok = hd_number(judged, hd_score, &score)) <= 0 || (ok = hd_number(limits, hd_dga_score, &dga_score)) <= 0) {
        result = ok < 0 ? -1 : 0;
        goto done;
    }
    if ((domain = PyObject_GetAttr(judged, hd_domain)) == NULL) {
        goto done;
    }
    if (score >= dga_score) { /* random-looking: see() unless the domain is counted already */
        int in = hd_in_set(host, hd_dga, domain);
        if (in != 1) {
            result = in < 0 ? -1 : 0;
            goto done;
        }
    }
    if ((rcode = Py_XNewRef(PyDict_GetItemWithError(fields, hd_rcode))) == NULL && PyErr_Occurred()) {
        goto done;
    }
    if (rcode != NULL && !PyUnicode_CheckExact(rcode) && PyUnicode_Check(rcode)) {
        result = 0; /* (a str subclass: see() compares it) */
        goto done;
    }
    if (rcode != NULL && PyUnicode_CheckExact(rcode) && PyUnicode_Compare(rcode, hd_nxdomain) == 0) {
        if ((name = PyObject_GetAttr(judged, hd_name)) == NULL) {
            goto done;
        }
        int in = hd_in_set(host, hd_nx, name);
        if (in != 1) { /* a non-existent name new to the window: see() counts it */
            result = in < 0 ? -1 : 0;
            goto done;
        }
    }
    int sub = hd_truth(judged, hd_subdomain);
    result = sub <= 0 ? (sub < 0 ? -1 : 1) : hd_tunnel(host, judged, limits, PyTuple_GET_ITEM(constants, 1));
done:
    Py_XDECREF(rcode);
    Py_XDECREF(name);
    Py_XDECREF(domain);
    Py_XDECREF(host);
    Py_XDECREF(table);
    Py_XDECREF(hosts);
    Py_XDECREF(tenants);
    Py_XDECREF(constants);
    Py_XDECREF(limits);
    Py_XDECREF(cache);
    Py_XDECREF(judged);
    Py_XDECREF(names);
    return result;
}

/* hot_dns_anomaly(behaviour, view) -> () | None */
static PyObject *
hot_dns_anomaly(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return hot_arguments(nargs, args, "hot_dns_anomaly") < 0 ? NULL : hot_answer(hot_dns_anomaly_run(args[0], args[1]));
}

/* RiskyDownload.see's hot path: a DNS look-up (no ``url.domain``) of a name whose registered domain is
 * cached, by a host of a tenant and domain already known: the host counted as the domain's user. */
static int
hot_risky_download_run(PyObject *behaviour, PyObject *view)
{
    PyObject *fields = bv_slot(view, V_FIELDS), *tenant = bv_slot(view, V_TENANT);
    if (fields == NULL || !PyDict_CheckExact(fields) || tenant == NULL) {
        return 0;
    }
    PyObject *kind = PyDict_GetItemWithError(fields, hd_dns_type);
    if (kind == NULL && PyErr_Occurred()) {
        return -1;
    }
    if (kind != NULL) {
        if (!PyUnicode_CheckExact(kind)) {
            return 0;
        }
        if (PyUnicode_Compare(kind, hd_answer) == 0) {
            return 1; /* Suricata's answer record: the query counted the client */
        }
    }
    PyObject *src = bv_slot(view, V_SRC), *dst = bv_slot(view, V_DST), *host;
    PyObject *src_lan = bv_slot(view, V_SRC_LAN), *dst_lan = bv_slot(view, V_DST_LAN);
    if (src == NULL || dst == NULL || src_lan == NULL || dst_lan == NULL || !PyBool_Check(src_lan) ||
        !PyBool_Check(dst_lan)) {
        return 0;
    }
    /* the LAN host: the client (Zeek files logs put the sending server first); none: nothing to do */
    host = src != Py_None && src_lan == Py_True ? src : dst != Py_None && dst_lan == Py_True ? dst : NULL;
    if (host == NULL) {
        return 1;
    }
    PyObject *raw = PyDict_GetItemWithError(fields, h_dns_name);
    if (raw == NULL || !PyUnicode_CheckExact(raw)) {
        return PyErr_Occurred() ? -1 : 0;
    }
    int web = PyDict_Contains(fields, hd_url_domain);
    if (web != 0) {
        return web < 0 ? -1 : 0;
    }
    PyObject *lookups = NULL, *domain = NULL, *rare = NULL, *rare_hosts = NULL, *constants = NULL, *seen = NULL;
    PyObject *domains = NULL, *table = NULL, *users = NULL;
    int result = -1;
    if ((lookups = PyObject_GetAttr(behaviour, hd_lookups)) == NULL) {
        goto done;
    }
    if (!PyDict_CheckExact(lookups) || (domain = Py_XNewRef(PyDict_GetItemWithError(lookups, raw))) == NULL) {
        result = PyErr_Occurred() ? -1 : 0;
        goto done;
    }
    if (!PyUnicode_CheckExact(domain) || PyUnicode_GET_LENGTH(domain) == 0 ||
        (rare = PyObject_GetAttr(behaviour, hd_rare)) == NULL) {
        result = PyErr_Occurred() ? -1 : 0;
        goto done;
    }
    if (!PyDict_CheckExact(rare) || (rare_hosts = Py_XNewRef(PyDict_GetItemWithError(rare, tenant))) == NULL) {
        result = PyErr_Occurred() ? -1 : 0;
        goto done;
    }
    if ((constants = PyObject_GetAttr(behaviour, h_constants)) == NULL) {
        goto done;
    }
    long wanted, most;
    int overflow = 0;
    if (!PyTuple_CheckExact(constants) || PyTuple_GET_SIZE(constants) != 1 || !PyLong_CheckExact(rare_hosts) ||
        !PyLong_CheckExact(PyTuple_GET_ITEM(constants, 0))) {
        result = 0;
        goto done;
    }
    wanted = PyLong_AsLongAndOverflow(rare_hosts, &overflow);
    if (overflow || (wanted == -1 && PyErr_Occurred()) || wanted == 0) { /* (0: see() asks the policy) */
        PyErr_Clear();
        result = 0;
        goto done;
    }
    most = PyLong_AsLongAndOverflow(PyTuple_GET_ITEM(constants, 0), &overflow);
    if (overflow || (most == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        result = 0;
        goto done;
    }
    if ((seen = hot_map(behaviour, hd_seen)) == NULL || (domains = hot_touch(seen, tenant)) == NULL) {
        result = PyErr_Occurred() ? -1 : 0;
        goto done;
    }
    if ((table = PyObject_GetAttr(domains, h_data)) == NULL) {
        goto done;
    }
    if (!PyDict_Check(table) || (users = hot_touch(table, domain)) == NULL) {
        result = PyErr_Occurred() ? -1 : 0; /* a domain new to the tenant: see() */
        goto done;
    }
    if (!PySet_CheckExact(users)) {
        result = 0;
        goto done;
    }
    /* if len(hosts) <= min(rare_hosts, MAX_RARE_HOSTS): hosts.add(host) */
    result = PySet_GET_SIZE(users) <= (wanted < most ? wanted : most) ? (PySet_Add(users, host) < 0 ? -1 : 1) : 1;
done:
    Py_XDECREF(users);
    Py_XDECREF(table);
    Py_XDECREF(domains);
    Py_XDECREF(seen);
    Py_XDECREF(constants);
    Py_XDECREF(rare_hosts);
    Py_XDECREF(rare);
    Py_XDECREF(domain);
    Py_XDECREF(lookups);
    return result;
}

/* hot_risky_download(behaviour, view) -> () | None */
static PyObject *
hot_risky_download(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return hot_arguments(nargs, args, "hot_risky_download") < 0 ? NULL
                                                                 : hot_answer(hot_risky_download_run(args[0], args[1]));
}

static int
hot_dns_init(void)
{
    struct {
        PyObject **slot;
        const char *text;
    } names[] = {{&hd_names, "_names"},
                 {&hd_cache, "_cache"},
                 {&hd_allow, "allow"},
                 {&hd_ignore, "ignore"},
                 {&hd_start, "start"},
                 {&hd_domain, "domain"},
                 {&hd_score, "score"},
                 {&hd_dga_score, "dga_score"},
                 {&hd_dga, "dga"},
                 {&hd_name, "name"},
                 {&hd_nx, "nx"},
                 {&hd_subdomain, "subdomain"},
                 {&hd_encoded, "encoded"},
                 {&hd_bit, "bit"},
                 {&hd_domains, "domains"},
                 {&hd_tunnel_min, "tunnel_min"},
                 {&hd_tunnel_distinct, "tunnel_distinct"},
                 {&hd_dns_type, "dns.type"},
                 {&hd_answer, "answer"},
                 {&hd_rcode, "dns.response_code"},
                 {&hd_nxdomain, "NXDOMAIN"},
                 {&hd_bit_count, "bit_count"},
                 {&hd_lookups, "_lookups"},
                 {&hd_rare, "_rare"},
                 {&hd_seen, "_seen"},
                 {&hd_url_domain, "url.domain"}};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        if ((*names[k].slot = PyUnicode_InternFromString(names[k].text)) == NULL) {
            return -1;
        }
    }
    return 0;
}
