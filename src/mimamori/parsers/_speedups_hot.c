/* The behaviours' hot paths in C (included by _speedups.c after _speedups_behaviours.c).
 *
 * A behaviour may offer, per dataset, a *hot path* (``hot(dataset)``, see ``behaviours._view``): a C
 * function ``hot(behaviour, view)`` that ``behaviour_views`` calls instead of the behaviour's ``see``. It
 * does what ``see(view)`` does and returns the same findings (mostly the empty tuple: the common case, a
 * known device seen again) — or returns None when ``see`` must run, having changed nothing that ``see``
 * would not change in the same way before reading it (moving an entry to the end of an LRU map that
 * ``see`` moves there too). Anything unexpected (a type the Python code would treat differently, a
 * number too large for a double) returns None: ``see`` stays the reference, and the behaviours' tests
 * compare the C loop (with the hot paths) with the plain Python ``see`` on simulated and crafted events.
 * The views come from ``make_view``; their slots are read directly (``bv_slot``).
 *
 * The ``*_run`` functions answer 1 (done, nothing found), 0 (``see`` must run) or -1 (an error). */

static PyObject *h_tenants, *h_last, *h_get, *h_known, *h_data, *h_learned, *h_forget, *h_move_to_end,
    *h_devices, *h_antivirus, *h_events, *h_first, *h_dns_name, *h_os_name, *h_windows, *h_one, *h_zero, *h_tenants_,
    *h_limits, *h_learning, *h_aliases, *h_started, *h_os_version, *h_user_agent, *h_empty, *h_cooldown, *h_ip_prefix, *h_limit, *h_popitem, *h_evicted, *h_last_kw, *h_bucket, *h_total, *h_dests, *h_hours, *h_fired, *h_judge, *h_source_bytes, *h_constants, *h_plain, *h_probation;
static PyObject *h_nothing; /* () */

/* ``behaviour.tenants.get(tenant)`` (``TenantStates``, its ``last`` tested first as the Python does): new
 * reference or NULL with an error. */
static PyObject *
hot_tenant_state(PyObject *behaviour, PyObject *tenant)
{
    PyObject *tenants = PyObject_GetAttr(behaviour, h_tenants);
    if (tenants == NULL) {
        return NULL;
    }
    PyObject *state = NULL, *last = PyObject_GetAttr(tenants, h_last);
    if (last == NULL) {
        goto done;
    }
    if (PyTuple_CheckExact(last) && PyTuple_GET_SIZE(last) == 2) {
        int same = PyObject_RichCompareBool(PyTuple_GET_ITEM(last, 0), tenant, Py_EQ);
        if (same < 0) {
            goto done;
        }
        if (same) {
            state = Py_NewRef(PyTuple_GET_ITEM(last, 1));
            goto done;
        }
    }
    state = PyObject_CallMethodOneArg(tenants, h_get, tenant);
done:
    Py_XDECREF(last);
    Py_DECREF(tenants);
    return state;
}

/* A float, or an int small enough that the double is exact (Python compares float and int exactly):
 * 1 with *out set, else 0. */
static int
hot_number(PyObject *value, double *out)
{
    if (PyFloat_CheckExact(value)) {
        *out = PyFloat_AS_DOUBLE(value);
        return 1;
    }
    if (PyLong_CheckExact(value)) {
        int overflow = 0;
        long long number = PyLong_AsLongLongAndOverflow(value, &overflow);
        if (overflow || (number == -1 && PyErr_Occurred()) || number > (1LL << 53) || number < -(1LL << 53)) {
            PyErr_Clear();
            return 0;
        }
        *out = (double)number;
        return 1;
    }
    return 0;
}

/* ``state.<name>.data`` (a BoundedMap's OrderedDict): new reference, NULL with an error, or NULL without
 * one when it is not a dict. */
static PyObject *
hot_map(PyObject *state, PyObject *name)
{
    PyObject *bounded = PyObject_GetAttr(state, name);
    if (bounded == NULL) {
        return NULL;
    }
    PyObject *data = PyObject_GetAttr(bounded, h_data);
    Py_DECREF(bounded);
    if (data != NULL && !PyDict_Check(data)) {
        Py_CLEAR(data);
    }
    return data;
}

/* ``data.get(key)`` then ``data.move_to_end(key)`` when found (``BoundedMap.get`` inlined as the Python
 * hot paths do): a new reference, NULL with an error, or NULL without one when missing. */
static PyObject *
hot_touch(PyObject *data, PyObject *key)
{
    PyObject *value = PyDict_GetItemWithError(data, key);
    if (value == NULL) {
        return NULL;
    }
    Py_INCREF(value);
    PyObject *moved = PyObject_CallMethodOneArg(data, h_move_to_end, key);
    if (moved == NULL) {
        Py_DECREF(value);
        return NULL;
    }
    Py_DECREF(moved);
    return value;
}

/* ``bounded.setdefault(key, lambda: [0])`` of a ``BoundedMap`` (base.py): the value moved to the end when
 * present, else a new ``[0]`` added and the least recently used entry evicted past ``bounded.limit``. A
 * new reference, NULL with an error, or NULL without one when ``bounded`` is not what it should be. */
static PyObject *
hot_touch_or_add(PyObject *bounded, PyObject *key)
{
    PyObject *data = PyObject_GetAttr(bounded, h_data), *value = NULL, *limit = NULL;
    if (data == NULL || !PyDict_Check(data)) {
        Py_XDECREF(data);
        return NULL;
    }
    if ((value = hot_touch(data, key)) != NULL || PyErr_Occurred()) {
        goto done;
    }
    if ((value = PyList_New(1)) == NULL) {
        goto done;
    }
    PyList_SET_ITEM(value, 0, Py_NewRef(h_zero));
    if (PyObject_SetItem(data, key, value) < 0 || (limit = PyObject_GetAttr(bounded, h_limit)) == NULL) {
        Py_CLEAR(value);
        goto done;
    }
    Py_ssize_t size = PyObject_Length(data);
    PyObject *count = size < 0 ? NULL : PyLong_FromSsize_t(size);
    int over = count == NULL ? -1 : PyObject_RichCompareBool(count, limit, Py_GT);
    Py_XDECREF(count);
    if (over > 0) { /* data.popitem(last=False); bounded.evicted += 1 */
        PyObject *args[2] = {data, Py_False};
        PyObject *popped = PyObject_VectorcallMethod(h_popitem, args, 1 | PY_VECTORCALL_ARGUMENTS_OFFSET, h_last_kw);
        PyObject *evicted = popped == NULL ? NULL : PyObject_GetAttr(bounded, h_evicted);
        PyObject *more = evicted == NULL ? NULL : PyNumber_Add(evicted, h_one);
        over = more == NULL || PyObject_SetAttr(bounded, h_evicted, more) < 0 ? -1 : 1;
        Py_XDECREF(more);
        Py_XDECREF(evicted);
        Py_XDECREF(popped);
    }
    if (over < 0) {
        Py_CLEAR(value);
    }
done:
    Py_XDECREF(limit);
    Py_DECREF(data);
    return value;
}

/* NewDeviceBehaviour.see's hot path: a known device seen again within the tenant's ``forget`` seconds
 * (during the learning period, ``_learning(state, now)`` is called as see() calls it). On verdict datasets
 * (``verdict``), a device on probation goes to see() first, before anything is changed: see() escalates. */
static int
hot_new_device_run(PyObject *behaviour, PyObject *view, int verdict)
{
    PyObject *device = bv_slot(view, V_DEVICE), *now_obj = bv_slot(view, V_NOW);
    if (device == Py_None) {
        return 1; /* see(): nothing to do */
    }
    if (device == NULL || !PyTuple_CheckExact(device) || PyTuple_GET_SIZE(device) != 2 || now_obj == NULL ||
        !PyFloat_CheckExact(now_obj)) {
        return 0;
    }
    PyObject *key = PyTuple_GET_ITEM(device, 0), *tenant = bv_slot(view, V_TENANT);
    if (tenant == NULL) {
        return 0;
    }
    PyObject *state = hot_tenant_state(behaviour, tenant), *learned = NULL, *known = NULL, *forget_obj = NULL;
    PyObject *alias = NULL;
    if (state == NULL) {
        return -1;
    }
    int result = -1;
    if ((learned = PyObject_GetAttr(state, h_learned)) == NULL) {
        goto done;
    }
    int learning = PyObject_Not(learned); /* see() then calls _learning(state, now) on this path */
    if (learning < 0) {
        goto done;
    }
    if ((known = hot_map(state, h_known)) == NULL) {
        result = PyErr_Occurred() ? -1 : 0;
        goto done;
    }
    PyObject *seen = PyDict_GetItemWithError(known, key);
    double last, forget, now = PyFloat_AS_DOUBLE(now_obj);
    if (seen == NULL && !PyErr_Occurred() && PyTuple_GET_ITEM(device, 1) != Py_None &&
        PyUnicode_CheckExact(key) && PyUnicode_Tailmatch(key, h_ip_prefix, 0, 3, -1) == 1) {
        /* a log without the MAC of a device known by its MAC: ``state.aliases.get(key)`` (it moves the
         * alias to the end), then the device under that key; see() returns () without _learning() when
         * it was seen within ``forget`` */
        PyObject *aliases = hot_map(state, h_aliases);
        if (aliases != NULL) {
            alias = hot_touch(aliases, key);
            Py_DECREF(aliases);
        }
        if (alias != NULL) {
            seen = PyDict_GetItemWithError(known, alias);
            key = alias;
            learning = 0;
        }
    }
    if (seen == NULL) {
        result = PyErr_Occurred() ? -1 : 0;
        goto done;
    }
    if (verdict && alias == NULL) { /* a verdict on a device on probation: see() escalates */
        PyObject *probation = hot_map(state, h_probation);
        int on = probation == NULL ? (PyErr_Occurred() ? -1 : 1) : PyDict_Contains(probation, key);
        Py_XDECREF(probation);
        if (on != 0) {
            result = on < 0 ? -1 : 0;
            goto done;
        }
    }
    Py_INCREF(seen);
    if (!PyList_CheckExact(seen) || PyList_GET_SIZE(seen) < 1 || !hot_number(PyList_GET_ITEM(seen, 0), &last) ||
        (forget_obj = PyObject_GetAttr(state, h_forget)) == NULL || !hot_number(forget_obj, &forget)) {
        result = PyErr_Occurred() ? -1 : 0;
        Py_DECREF(seen);
        goto done;
    }
    PyObject *moved = PyObject_CallMethodOneArg(known, h_move_to_end, key);
    if (moved == NULL) {
        Py_DECREF(seen);
        goto done;
    }
    Py_DECREF(moved);
    if (!(now - last <= forget)) { /* forgotten: see() treats it as new (after the same move_to_end) */
        result = 0;
    }
    else {
        if (now > last) {
            PyList_SetItem(seen, 0, Py_NewRef(now_obj)); /* steals the new reference */
        }
        result = 1;
        if (alias != NULL) { /* see() set ``state.started`` before it looked the alias up */
            PyObject *started = PyObject_GetAttr(state, h_started);
            int earlier = started == NULL ? -1 : started == Py_None ? 1 : PyObject_RichCompareBool(now_obj, started, Py_LT);
            Py_XDECREF(started);
            if (earlier < 0 || (earlier && PyObject_SetAttr(state, h_started, now_obj) < 0)) {
                result = -1;
            }
        }
        if (learning) {
            PyObject *answer = PyObject_CallMethodObjArgs(behaviour, h_learning, state, now_obj, NULL);
            result = answer == NULL ? -1 : 1;
            Py_XDECREF(answer);
        }
    }
    Py_DECREF(seen);
done:
    Py_XDECREF(alias);
    Py_XDECREF(forget_obj);
    Py_XDECREF(known);
    Py_XDECREF(learned);
    Py_DECREF(state);
    return result;
}

/* A hot path's answer from its ``*_run``: (), None, or NULL with the error. */
static PyObject *
hot_answer(int done)
{
    return done < 0 ? NULL : Py_NewRef(done ? h_nothing : Py_None);
}

static int
hot_arguments(Py_ssize_t nargs, PyObject *const *args, const char *name)
{
    if (nargs != 2 || bv_type == NULL || !Py_IS_TYPE(args[1], (PyTypeObject *)bv_type)) {
        PyErr_Format(PyExc_TypeError, "%s(behaviour, view): a View after views_configure()", name);
        return -1;
    }
    return 0;
}

/* hot_new_device(behaviour, view) -> () | None */
static PyObject *
hot_new_device(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return hot_arguments(nargs, args, "hot_new_device") < 0 ? NULL : hot_answer(hot_new_device_run(args[0], args[1], 0));
}

/* hot_new_device_verdict(behaviour, view) -> () | None: the same on a verdict dataset, where a device on
 * probation goes to see() (which escalates it) */
static PyObject *
hot_new_device_verdict(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return hot_arguments(nargs, args, "hot_new_device_verdict") < 0
               ? NULL
               : hot_answer(hot_new_device_run(args[0], args[1], 1));
}

/* NoAntivirusBehaviour.see's hot path (not on antivirus datasets, where ``hot`` offers none, nor on
 * ``windows.*`` ones): a device the behaviour does not track and that does not say it runs Windows, or a
 * tracked device already known to run antivirus (its event count and first time kept up to date). */
static int
hot_no_antivirus_run(PyObject *behaviour, PyObject *view)
{
    PyObject *fields = bv_slot(view, V_FIELDS), *tenant = bv_slot(view, V_TENANT);
    PyObject *device = bv_slot(view, V_DEVICE), *now = bv_slot(view, V_NOW);
    if (fields == NULL || !PyDict_CheckExact(fields) || tenant == NULL || device == NULL || now == NULL) {
        return 0;
    }
    PyObject *state = hot_tenant_state(behaviour, tenant);
    if (state == NULL) {
        return -1;
    }
    PyObject *devices = NULL, *tracked = NULL, *value = NULL;
    int result = -1;
    PyObject *question = PyDict_GetItemWithError(fields, h_dns_name);
    if (question == NULL && PyErr_Occurred()) {
        goto done;
    }
    if (question != NULL) { /* a DNS event: see() unless its name is known not to be antivirus's */
        int plain = 0;
        if (PyUnicode_CheckExact(question)) {
            PyObject *names = PyObject_GetAttr(behaviour, h_plain);
            if (names == NULL) {
                goto done;
            }
            plain = PyDict_CheckExact(names) ? PyDict_Contains(names, question) : 0;
            Py_DECREF(names);
        }
        if (plain <= 0) { /* antivirus_addresses() reads the DNS answer: see() */
            result = plain < 0 ? -1 : 0;
            goto done;
        }
    }
    if (device == Py_None) {
        result = 1;
        goto done;
    }
    if (!PyTuple_CheckExact(device) || PyTuple_GET_SIZE(device) != 2) {
        result = 0;
        goto done;
    }
    if ((devices = hot_map(state, h_devices)) == NULL) {
        result = PyErr_Occurred() ? -1 : 0;
        goto done;
    }
    tracked = hot_touch(devices, PyTuple_GET_ITEM(device, 0));
    if (tracked == NULL) {
        if (PyErr_Occurred()) {
            goto done;
        }
        /* fields.get("host.os.name") != "Windows": not judged */
        PyObject *os = PyDict_GetItemWithError(fields, h_os_name);
        if (os == NULL && PyErr_Occurred()) {
            goto done;
        }
        int windows = os != NULL ? PyObject_RichCompareBool(os, h_windows, Py_EQ) : 0;
        result = windows < 0 ? -1 : !windows;
        goto done;
    }
    if ((value = PyObject_GetAttr(tracked, h_antivirus)) == NULL) {
        goto done;
    }
    int antivirus = PyObject_IsTrue(value);
    Py_CLEAR(value);
    if (antivirus <= 0) {
        result = antivirus < 0 ? -1 : 0;
        goto done;
    }
    /* device.events += 1; if now < device.first: device.first = now */
    if ((value = PyObject_GetAttr(tracked, h_events)) == NULL) {
        goto done;
    }
    PyObject *more = PyNumber_Add(value, h_one);
    Py_CLEAR(value);
    if (more == NULL || PyObject_SetAttr(tracked, h_events, more) < 0) {
        Py_XDECREF(more);
        goto done;
    }
    Py_DECREF(more);
    if ((value = PyObject_GetAttr(tracked, h_first)) == NULL) {
        goto done;
    }
    int earlier = PyObject_RichCompareBool(now, value, Py_LT);
    if (earlier < 0 || (earlier && PyObject_SetAttr(tracked, h_first, now) < 0)) {
        goto done;
    }
    result = 1;
done:
    Py_XDECREF(value);
    Py_XDECREF(tracked);
    Py_XDECREF(devices);
    Py_DECREF(state);
    return result;
}

/* hot_no_antivirus(behaviour, view) -> () | None */
static PyObject *
hot_no_antivirus(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return hot_arguments(nargs, args, "hot_no_antivirus") < 0 ? NULL
                                                              : hot_answer(hot_no_antivirus_run(args[0], args[1]));
}

/* Whether LargeTransfer._judge(view, host) finds nothing for sure, by its first tests: the host still
 * learning (``host.hours < learn``), in its cool-down (``now - host.fired < COOLDOWN``), or under the
 * tenant's floor (``host.total <= floor``: the threshold is never below it). 1 (nothing), 0 (ask _judge:
 * also when the tenant's limits are not cached yet), -1 with an error. */
static int
hot_transfer_quiet(PyObject *behaviour, PyObject *tenant, PyObject *host, PyObject *now, PyObject *cooldown)
{
    PyObject *cache = PyObject_GetAttr(behaviour, h_limits), *value = NULL, *diff = NULL;
    if (cache == NULL) {
        return -1;
    }
    int quiet = -1;
    PyObject *limits = PyDict_CheckExact(cache) ? PyDict_GetItemWithError(cache, tenant) : NULL;
    if (limits == NULL || !PyTuple_CheckExact(limits) || PyTuple_GET_SIZE(limits) != 3) {
        quiet = PyErr_Occurred() ? -1 : 0;
        goto done;
    }
    Py_INCREF(limits);
    if ((value = PyObject_GetAttr(host, h_hours)) == NULL ||
        (quiet = PyObject_RichCompareBool(value, PyTuple_GET_ITEM(limits, 0), Py_LT)) != 0) {
        goto limits_done;
    }
    Py_SETREF(value, PyObject_GetAttr(host, h_fired));
    if (value == NULL || (diff = PyNumber_Subtract(now, value)) == NULL) {
        quiet = -1;
        goto limits_done;
    }
    if ((quiet = PyObject_RichCompareBool(diff, cooldown, Py_LT)) != 0) {
        goto limits_done;
    }
    double floor;
    if (!hot_number(PyTuple_GET_ITEM(limits, 1), &floor)) { /* (a float floor or a small int) */
        goto limits_done;
    }
    Py_SETREF(value, PyObject_GetAttr(host, h_total));
    quiet = value == NULL ? -1 : PyObject_RichCompareBool(value, PyTuple_GET_ITEM(limits, 1), Py_LE);
limits_done:
    Py_DECREF(limits);
done:
    Py_XDECREF(diff);
    Py_XDECREF(value);
    Py_DECREF(cache);
    return quiet;
}

/* LargeTransfer.see's hot path: a session of a host and destination already counted this hour, added to
 * the hour's totals; the judgement (``_judge``) is skipped when it cannot find anything (the host still
 * learning, in its cool-down, or under the tenant's floor), else called. ``behaviour.HOT_CONSTANTS`` is
 * ``(BUCKET, MAX_SESSION_BYTES, COOLDOWN)``. Returns the findings, None (see() must run) or NULL. */
static PyObject *
hot_large_transfer_run(PyObject *behaviour, PyObject *view)
{
    PyObject *fields = bv_slot(view, V_FIELDS), *tenant = bv_slot(view, V_TENANT), *now = bv_slot(view, V_NOW);
    PyObject *src = bv_slot(view, V_SRC), *dst = bv_slot(view, V_DST);
    if (fields == NULL || !PyDict_CheckExact(fields) || tenant == NULL || now == NULL || !PyFloat_CheckExact(now) ||
        src == NULL || dst == NULL) {
        return Py_NewRef(Py_None);
    }
    PyObject *sent = PyDict_GetItemWithError(fields, h_source_bytes);
    if (sent == NULL && PyErr_Occurred()) {
        return NULL;
    }
    if (sent == NULL || !PyLong_CheckExact(sent) || src == Py_None || dst == Py_None) {
        return Py_NewRef(h_nothing);
    }
    int positive = PyObject_RichCompareBool(sent, h_zero, Py_GT);
    if (positive <= 0) {
        return positive < 0 ? NULL : Py_NewRef(h_nothing);
    }
    if (bv_slot(view, V_SRC_LAN) != Py_True || bv_slot(view, V_DST_LAN) != Py_False) {
        return Py_NewRef(h_nothing);
    }
    PyObject *constants = PyObject_GetAttr(behaviour, h_constants), *result = NULL;
    PyObject *tenants = NULL, *hosts = NULL, *host = NULL, *dests = NULL, *counter = NULL, *bucket = NULL;
    PyObject *host_bucket = NULL, *value = NULL;
    if (constants == NULL) {
        return NULL;
    }
    if (!PyTuple_CheckExact(constants) || PyTuple_GET_SIZE(constants) != 3) {
        PyErr_SetString(PyExc_TypeError, "HOT_CONSTANTS must be (BUCKET, MAX_SESSION_BYTES, COOLDOWN)");
        goto done;
    }
    /* bucket = int(now // BUCKET), by Python's own operations */
    if ((value = PyNumber_FloorDivide(now, PyTuple_GET_ITEM(constants, 0))) == NULL ||
        (bucket = PyNumber_Long(value)) == NULL) {
        goto done;
    }
    Py_CLEAR(value);
    if ((tenants = hot_map(behaviour, h_tenants_)) == NULL || (hosts = hot_touch(tenants, tenant)) == NULL) {
        result = PyErr_Occurred() ? NULL : Py_NewRef(Py_None); /* a new tenant: see() */
        goto done;
    }
    Py_SETREF(hosts, PyObject_GetAttr(hosts, h_data));
    if (hosts == NULL || !PyDict_Check(hosts) || (host = hot_touch(hosts, src)) == NULL) {
        result = PyErr_Occurred() ? NULL : Py_NewRef(Py_None); /* a new host: see() */
        goto done;
    }
    if ((host_bucket = PyObject_GetAttr(host, h_bucket)) == NULL) {
        goto done;
    }
    int later = PyObject_RichCompareBool(bucket, host_bucket, Py_GT);
    if (later != 0) { /* a new hour: see() closes the last one */
        result = later < 0 ? NULL : Py_NewRef(Py_None);
        goto done;
    }
    if ((dests = PyObject_GetAttr(host, h_dests)) == NULL) {
        goto done;
    }
    if ((counter = hot_touch_or_add(dests, dst)) == NULL) { /* (a destination new this hour: [0] added) */
        result = PyErr_Occurred() ? NULL : Py_NewRef(Py_None);
        goto done;
    }
    if (!PyList_CheckExact(counter) || PyList_GET_SIZE(counter) < 1) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    /* sent = min(sent, MAX_SESSION_BYTES); host.total += sent; counter[0] += sent */
    int over = PyObject_RichCompareBool(sent, PyTuple_GET_ITEM(constants, 1), Py_GT);
    if (over < 0) {
        goto done;
    }
    sent = over ? PyTuple_GET_ITEM(constants, 1) : sent;
    if ((value = PyObject_GetAttr(host, h_total)) == NULL) {
        goto done;
    }
    Py_SETREF(value, PyNumber_Add(value, sent));
    if (value == NULL || PyObject_SetAttr(host, h_total, value) < 0) {
        goto done;
    }
    Py_SETREF(value, PyNumber_Add(PyList_GET_ITEM(counter, 0), sent));
    if (value == NULL) {
        goto done;
    }
    PyList_SetItem(counter, 0, value); /* steals it */
    value = NULL;
    /* _judge's first tests, when they answer "nothing": host.hours < learn, now - host.fired < COOLDOWN,
     * host.total <= floor (the threshold is never below the floor) */
    int nothing = hot_transfer_quiet(behaviour, tenant, host, now, PyTuple_GET_ITEM(constants, 2));
    if (nothing != 0) {
        result = nothing < 0 ? NULL : Py_NewRef(h_nothing);
        goto done;
    }
    result = PyObject_CallMethodObjArgs(behaviour, h_judge, view, host, NULL);
done:
    Py_XDECREF(value);
    Py_XDECREF(host_bucket);
    Py_XDECREF(counter);
    Py_XDECREF(dests);
    Py_XDECREF(host);
    Py_XDECREF(hosts);
    Py_XDECREF(tenants);
    Py_XDECREF(bucket);
    Py_DECREF(constants);
    return result;
}

/* hot_large_transfer(behaviour, view) -> findings | None */
static PyObject *
hot_large_transfer(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return hot_arguments(nargs, args, "hot_large_transfer") < 0 ? NULL : hot_large_transfer_run(args[0], args[1]);
}

/* ``eol_os._os_text``: "name|version" (version "" unless a str) or the user agent, cut to ``limit``
 * characters; Py_None when there is neither; NULL without an error when a value is a str subclass (see()
 * formats those), NULL with one on an error. New reference. */
static PyObject *
hot_os_text(PyObject *fields, Py_ssize_t limit)
{
    PyObject *name = PyDict_GetItemWithError(fields, h_os_name), *text;
    if (name == NULL && PyErr_Occurred()) {
        return NULL;
    }
    if (name != NULL && PyUnicode_Check(name)) {
        PyObject *version = PyDict_GetItemWithError(fields, h_os_version);
        if ((version == NULL && PyErr_Occurred()) || !PyUnicode_CheckExact(name) ||
            (version != NULL && PyUnicode_Check(version) && !PyUnicode_CheckExact(version))) {
            return NULL;
        }
        text = PyUnicode_FromFormat("%U|%U", name, version != NULL && PyUnicode_Check(version) ? version : h_empty);
    }
    else {
        PyObject *agent = PyDict_GetItemWithError(fields, h_user_agent);
        if (agent == NULL || !PyUnicode_Check(agent)) {
            return PyErr_Occurred() ? NULL : Py_NewRef(Py_None);
        }
        if (!PyUnicode_CheckExact(agent)) {
            return NULL;
        }
        text = Py_NewRef(agent);
    }
    if (text != NULL && PyUnicode_GET_LENGTH(text) > limit) {
        Py_SETREF(text, PyUnicode_Substring(text, 0, limit));
    }
    return text;
}

/* EolOsBehaviour.see's hot path: a device whose OS text is the one cached for it, judged within the
 * tenant's cool-down (or judged supported). ``behaviour.HOT_CONSTANTS`` is ``(MAX_OS_TEXT,)``. */
static int
hot_eol_os_run(PyObject *behaviour, PyObject *view)
{
    PyObject *fields = bv_slot(view, V_FIELDS), *device = bv_slot(view, V_DEVICE), *now = bv_slot(view, V_NOW);
    PyObject *tenant = bv_slot(view, V_TENANT);
    if (fields == NULL || !PyDict_CheckExact(fields) || device == NULL || now == NULL || tenant == NULL) {
        return 0;
    }
    PyObject *constants = PyObject_GetAttr(behaviour, h_constants);
    if (constants == NULL) {
        return -1;
    }
    Py_ssize_t limit = -1;
    if (PyTuple_CheckExact(constants) && PyTuple_GET_SIZE(constants) == 1) {
        limit = PyLong_AsSsize_t(PyTuple_GET_ITEM(constants, 0));
    }
    Py_DECREF(constants);
    if (limit < 0) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_TypeError, "HOT_CONSTANTS must be (MAX_OS_TEXT,)");
        }
        return -1;
    }
    PyObject *text = hot_os_text(fields, limit), *state = NULL, *devices = NULL, *cached = NULL, *value = NULL;
    if (text == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    int result = -1;
    if (text == Py_None || device == Py_None) {
        result = 1;
        goto done;
    }
    if (!PyTuple_CheckExact(device) || PyTuple_GET_SIZE(device) != 2) {
        result = 0;
        goto done;
    }
    if ((state = hot_tenant_state(behaviour, tenant)) == NULL) {
        goto done;
    }
    if ((devices = hot_map(state, h_devices)) == NULL ||
        (cached = hot_touch(devices, PyTuple_GET_ITEM(device, 0))) == NULL) {
        result = PyErr_Occurred() ? -1 : 0; /* a device not cached yet: see() */
        goto done;
    }
    if (!PyList_CheckExact(cached) || PyList_GET_SIZE(cached) < 2) {
        result = 0;
        goto done;
    }
    /* cached[0] == text and (cached[1] is None or now - cached[1] < state.cooldown) */
    if ((result = PyObject_RichCompareBool(PyList_GET_ITEM(cached, 0), text, Py_EQ)) <= 0) {
        goto done;
    }
    PyObject *alerted = PyList_GET_ITEM(cached, 1);
    if (alerted == Py_None) {
        goto done; /* result 1 */
    }
    Py_INCREF(alerted);
    PyObject *since = PyNumber_Subtract(now, alerted);
    Py_DECREF(alerted);
    if (since == NULL || (value = PyObject_GetAttr(state, h_cooldown)) == NULL) {
        Py_XDECREF(since);
        result = -1;
        goto done;
    }
    result = PyObject_RichCompareBool(since, value, Py_LT);
    Py_DECREF(since);
done:
    Py_XDECREF(value);
    Py_XDECREF(cached);
    Py_XDECREF(devices);
    Py_XDECREF(state);
    Py_DECREF(text);
    return result;
}

/* hot_eol_os(behaviour, view) -> () | None */
static PyObject *
hot_eol_os(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return hot_arguments(nargs, args, "hot_eol_os") < 0 ? NULL : hot_answer(hot_eol_os_run(args[0], args[1]));
}

static int
hot_init(void)
{
    struct {
        PyObject **slot;
        const char *text;
    } names[] = {{&h_tenants, "tenants"}, {&h_last, "last"},       {&h_get, "get"},
                 {&h_known, "known"},     {&h_data, "data"},       {&h_learned, "learned"},
                 {&h_forget, "forget"},   {&h_move_to_end, "move_to_end"},
                 {&h_devices, "devices"}, {&h_antivirus, "antivirus"}, {&h_events, "events"},
                 {&h_first, "first"}, {&h_dns_name, "dns.question.name"}, {&h_os_name, "host.os.name"},
                 {&h_windows, "Windows"}, {&h_tenants_, "_tenants"}, {&h_limits, "_limits"}, {&h_learning, "_learning"},
                 {&h_aliases, "aliases"}, {&h_started, "started"},
                 {&h_os_version, "host.os.version"}, {&h_user_agent, "user_agent.original"}, {&h_empty, ""},
                 {&h_cooldown, "cooldown"}, {&h_ip_prefix, "ip:"}, {&h_limit, "limit"}, {&h_popitem, "popitem"},
                 {&h_evicted, "evicted"},
                 {&h_bucket, "bucket"}, {&h_total, "total"}, {&h_dests, "dests"}, {&h_hours, "hours"},
                 {&h_fired, "fired"}, {&h_judge, "_judge"}, {&h_source_bytes, "source.bytes"},
                 {&h_constants, "HOT_CONSTANTS"}, {&h_plain, "_plain"}, {&h_probation, "probation"}};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        if ((*names[k].slot = PyUnicode_InternFromString(names[k].text)) == NULL) {
            return -1;
        }
    }
    h_one = PyLong_FromLong(1);
    if ((h_last_kw = Py_BuildValue("(s)", "last")) == NULL) {
        return -1;
    }
    h_zero = PyLong_FromLong(0);
    return (h_nothing = PyTuple_New(0)) == NULL || h_one == NULL || h_zero == NULL ? -1 : 0;
}
