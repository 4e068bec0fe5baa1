/* evtx_security(fields, data, event_id): parsers.evtx.ecs._security in C (included by _speedups.c,
 * after _speedups_evtx_sysmon.c, whose helpers it shares).
 *
 * The ECS fields of a Security record, as the Python function writes them, from the same tables
 * (evtx_security_configure). Calls back into Python for cleared_by() (1102), ip(), number()'s odd
 * cases and a Keywords text that is not plain 0x-hex. tests/unit/parsers/test_speedups_evtx.py
 * compares the two on random records; the parser's differential tests switch it too.
 */

static PyObject *se_categories, *se_strs, *se_target_user, *se_groups, *se_failed, *se_status;
static PyObject *se_logon_types, *se_ip, *se_keywords, *se_cleared_by;

enum {
    SE_SUBJECT_NAME, SE_SUBJECT_DOMAIN, SE_SUBJECT_SID, SE_TARGET_NAME, SE_TARGET_DOMAIN, SE_TARGET_SID,
    SE_TARGET_SID2, SE_MEMBER_NAME, SE_MEMBER_SID, SE_NEW_PROCESS_NAME, SE_NEW_PROCESS_ID, SE_PROCESS_ID,
    SE_PARENT_PROCESS_NAME, SE_PROCESS_NAME, SE_SERVICE_FILE, SE_IP, SE_IP_PORT, SE_LOGON_TYPE, SE_STATUS,
    SE_RESULT_CODE, G_USER, G_GROUP, G_TARGET, F_PPID, F_PID, F_SOURCE_IP, F_SOURCE_PORT, F_LOGON_TYPE,
    F_KEYWORDS, F_OUTCOME, V_FAILURE, V_SUCCESS, SE_COUNT
};
static const char *const se_texts[SE_COUNT] = {
    "SubjectUserName", "SubjectDomainName", "SubjectUserSid", "TargetUserName", "TargetDomainName",
    "TargetUserSid", "TargetSid", "MemberName", "MemberSid", "NewProcessName", "NewProcessId", "ProcessId",
    "ParentProcessName", "ProcessName", "ServiceFileName", "IpAddress", "IpPort", "LogonType", "Status",
    "ResultCode", "user", "group", "user.target", "process.parent.pid", "process.pid", "source.ip",
    "source.port", "winlog.logon.type", "winlog.keywords", "event.outcome", "failure", "success",
};
static PyObject *se[SE_COUNT];
static PyObject *se_user_fields[3][3]; /* user, group, user.target: .name .domain .id */

/* values.user: prefix.name / .domain / .id for the ones given */
static int se_user(PyObject *fields, int who, PyObject *name, PyObject *domain, PyObject *sid) {
    PyObject *parts[3] = {name, domain, sid};
    for (int k = 0; k < 3; k++)
        if (parts[k] != NULL && PyDict_SetItem(fields, se_user_fields[who][k], parts[k]) < 0) return -1;
    return 0;
}

static int se_in(PyObject *set, PyObject *event_id) { return PySet_Contains(set, event_id); }

/* values.number of an optional text: a new reference (int or None), NULL on error */
static PyObject *se_number(PyObject *value) { return value == NULL ? Py_NewRef(Py_None) : sy_num(value); }

/* values.keywords: the 64-bit mask of a plain 0x-hex text here, of any other text by Python.
   1 with *mask set, 0 for None, -1 on error. */
static int se_mask(PyObject *value, unsigned long long *mask) {
    if (value == NULL || !PyUnicode_CheckExact(value)) return 0;
    Py_ssize_t n = PyUnicode_GET_LENGTH(value);
    if (PyUnicode_IS_ASCII(value) && n > 2 && n <= 18) {
        const char *s = (const char *)PyUnicode_DATA(value);
        if (s[0] == '0' && s[1] == 'x') {
            unsigned long long v = 0;
            Py_ssize_t i = 2;
            for (; i < n; i++) {
                char c = s[i];
                int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                      : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
                if (d < 0) break;
                v = v * 16 + (unsigned)d;
            }
            if (i == n) { *mask = v; return 1; }
        }
    }
    PyObject *out = PyObject_CallOneArg(se_keywords, value);
    if (out == NULL) return -1;
    int rc = 0;
    if (out != Py_None) {
        *mask = PyLong_AsUnsignedLongLongMask(out);
        rc = *mask == (unsigned long long)-1 && PyErr_Occurred() ? -1 : 1;
    }
    Py_DECREF(out);
    return rc;
}

static PyObject *se_g(PyObject *data, int key, int *err) { return sy_get(data, se[key], err); }

static int se_body(PyObject *fields, PyObject *data, PyObject *event_id, long id) {
    int err = 0, rc;
    if (sy_category(fields, se_categories, event_id, "evtx_security") < 0) return -1;
    if (id == 1102) {
        PyObject *done = PyObject_CallOneArg(se_cleared_by, fields);
        if (done == NULL) return -1;
        Py_DECREF(done);
        return 0;
    }
    PyObject *s_name = se_g(data, SE_SUBJECT_NAME, &err), *s_domain = se_g(data, SE_SUBJECT_DOMAIN, &err);
    PyObject *s_sid = se_g(data, SE_SUBJECT_SID, &err), *t_name = se_g(data, SE_TARGET_NAME, &err);
    PyObject *t_domain = se_g(data, SE_TARGET_DOMAIN, &err), *t_sid = se_g(data, SE_TARGET_SID, &err);
    if (err) return -1;
    if ((rc = se_in(se_target_user, event_id)) < 0) return -1;
    if (rc) {
        if (se_user(fields, 0, t_name, t_domain, t_sid) < 0) return -1;
    } else {
        if ((rc = se_in(se_groups, event_id)) < 0) return -1;
        if (se_user(fields, 0, s_name, s_domain, s_sid) < 0) return -1;
        if (rc) {
            PyObject *sid = se_g(data, SE_TARGET_SID2, &err);
            if (err || se_user(fields, 1, t_name, t_domain, sid) < 0) return -1;
            PyObject *member = se_g(data, SE_MEMBER_NAME, &err), *member_sid = se_g(data, SE_MEMBER_SID, &err);
            if (err || se_user(fields, 2, member, NULL, member_sid) < 0) return -1;
        } else {
            PyObject *sid = t_sid != NULL ? t_sid : se_g(data, SE_TARGET_SID2, &err);
            if (err || se_user(fields, 2, t_name, t_domain, sid) < 0) return -1;
        }
    }
    PyObject *pid;
    if (id == 4688) {
        PyObject *image = se_g(data, SE_NEW_PROCESS_NAME, &err);
        if (err || sy_executable(fields, F_EXE, F_NAME, image) < 0) return -1;
        PyObject *new_id = se_g(data, SE_NEW_PROCESS_ID, &err), *old_id = NULL;
        if (!err) old_id = se_g(data, SE_PROCESS_ID, &err);
        if (err || (pid = se_number(new_id)) == NULL) return -1;
        PyObject *parent = se_number(old_id);
        if (parent == NULL) { Py_DECREF(pid); return -1; }
        PyObject *parent_image = se_g(data, SE_PARENT_PROCESS_NAME, &err);
        rc = err ? -1 : sy_executable(fields, F_PEXE, F_PNAME, parent_image);
        if (rc == 0 && parent != Py_None) rc = PyDict_SetItem(fields, se[F_PPID], parent);
        Py_DECREF(parent);
        if (rc < 0) { Py_DECREF(pid); return -1; }
    } else {
        PyObject *image = se_g(data, SE_PROCESS_NAME, &err);
        if (err || sy_executable(fields, F_EXE, F_NAME, image) < 0) return -1;
        if ((rc = PyDict_Contains(fields, sy[F_EXE])) < 0) return -1;
        PyObject *process_id = rc ? se_g(data, SE_PROCESS_ID, &err) : NULL;
        if (err) return -1;
        pid = rc ? se_number(process_id) : Py_NewRef(Py_None);
        if (pid == NULL) return -1;
    }
    rc = pid != Py_None ? PyDict_SetItem(fields, se[F_PID], pid) : 0;
    Py_DECREF(pid);
    if (rc < 0) return -1;
    Py_ssize_t pos = 0;
    PyObject *key, *name;
    while (PyDict_Next(se_strs, &pos, &key, &name)) { /* values.copy */
        PyObject *value = sy_get(data, key, &err);
        if (err) return -1;
        if (value != NULL && PyDict_SetItem(fields, name, value) < 0) return -1;
    }
    PyObject *service = se_g(data, SE_SERVICE_FILE, &err);
    if (err || sy_file(fields, service) < 0) return -1;
    PyObject *address = se_g(data, SE_IP, &err);
    if (err) return -1;
    if (address != NULL && PyUnicode_GET_LENGTH(address) > 0) { /* values.ip: cached in Python */
        PyObject *source = PyObject_CallOneArg(se_ip, address);
        if (source == NULL) return -1;
        rc = 0;
        if (source != Py_None) {
            rc = PyDict_SetItem(fields, se[F_SOURCE_IP], source);
            PyObject *port_text = rc == 0 ? se_g(data, SE_IP_PORT, &err) : NULL;
            PyObject *port = rc == 0 && !err ? se_number(port_text) : NULL;
            if (port == NULL) rc = -1;
            else {
                int truth = PyObject_IsTrue(port);
                if (truth < 0 || (truth && PyDict_SetItem(fields, se[F_SOURCE_PORT], port) < 0)) rc = -1;
                Py_DECREF(port);
            }
        }
        Py_DECREF(source);
        if (rc < 0) return -1;
    }
    PyObject *logon_type = se_g(data, SE_LOGON_TYPE, &err);
    if (err) return -1;
    if (logon_type != NULL) {
        PyObject *mapped = PyDict_GetItemWithError(se_logon_types, logon_type);
        if (mapped == NULL && PyErr_Occurred()) return -1;
        if (PyDict_SetItem(fields, se[F_LOGON_TYPE], mapped != NULL ? mapped : logon_type) < 0) return -1;
    }
    PyObject *keywords = PyDict_GetItemWithError(fields, se[F_KEYWORDS]);
    if (keywords == NULL && PyErr_Occurred()) return -1;
    unsigned long long mask = 0;
    int has_mask = se_mask(keywords, &mask);
    if (has_mask < 0 || (rc = se_in(se_failed, event_id)) < 0) return -1;
    if (rc || (has_mask && (mask & 0x10000000000000ull))) {
        if (PyDict_SetItem(fields, se[F_OUTCOME], se[V_FAILURE]) < 0) return -1;
    } else if (has_mask && (mask & 0x20000000000000ull)) {
        if (PyDict_SetItem(fields, se[F_OUTCOME], se[V_SUCCESS]) < 0) return -1;
    }
    if ((rc = se_in(se_status, event_id)) < 0) return -1;
    if (rc) {
        PyObject *status = se_g(data, SE_STATUS, &err);
        if (status == NULL && !err) status = se_g(data, SE_RESULT_CODE, &err);
        if (err) return -1;
        if (status != NULL) {
            PyObject *number = sy_num(status);
            if (number == NULL) return -1;
            int zero = number != Py_None && PyLong_CheckExact(number) && PyLong_AsLongLong(number) == 0;
            Py_DECREF(number);
            if (PyErr_Occurred()) return -1;
            if (PyDict_SetItem(fields, se[F_OUTCOME], se[zero ? V_SUCCESS : V_FAILURE]) < 0) return -1;
        }
    }
    return 0;
}

static PyObject *evtx_security(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 3 || !PyDict_CheckExact(args[0]) || !PyDict_CheckExact(args[1]) || !PyLong_CheckExact(args[2])) {
        PyErr_SetString(PyExc_TypeError, "evtx_security(fields: dict, data: dict, event_id: int)");
        return NULL;
    }
    if (se_categories == NULL || sy_port == NULL || ev_none == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "evtx_security(): not configured");
        return NULL;
    }
    int overflow = 0;
    long id = PyLong_AsLongAndOverflow(args[2], &overflow);
    if (id == -1 && PyErr_Occurred()) return NULL;
    if (overflow) id = -1;
    if (se_body(args[0], args[1], args[2], id) < 0) return NULL;
    Py_RETURN_NONE;
}

/* evtx_security_configure(categories, strs, target_user_events, group_events, failed_events,
   status_events, logon_types, ip, keywords, cleared_by); after evtx_sysmon_configure. */
static PyObject *evtx_security_configure(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 10 || !PyDict_CheckExact(args[0]) || !PyDict_CheckExact(args[1]) || !PyAnySet_Check(args[2]) ||
        !PyAnySet_Check(args[3]) || !PyAnySet_Check(args[4]) || !PyAnySet_Check(args[5]) ||
        !PyDict_CheckExact(args[6]) || !PyCallable_Check(args[7]) || !PyCallable_Check(args[8]) ||
        !PyCallable_Check(args[9])) {
        PyErr_SetString(PyExc_TypeError, "evtx_security_configure(categories, strs: dict, four event-id sets, "
                                         "logon_types: dict, ip, keywords, cleared_by: callables)");
        return NULL;
    }
    if (sy_port == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "evtx_security_configure() needs evtx_sysmon_configure() first");
        return NULL;
    }
    if (se[0] == NULL) {
        static const char *const who[3] = {"user", "group", "user.target"};
        static const char *const part[3] = {"name", "domain", "id"};
        for (int k = 0; k < SE_COUNT; k++)
            if ((se[k] = PyUnicode_InternFromString(se_texts[k])) == NULL) return NULL;
        for (int w = 0; w < 3; w++)
            for (int p = 0; p < 3; p++)
                if ((se_user_fields[w][p] = PyUnicode_FromFormat("%s.%s", who[w], part[p])) == NULL) return NULL;
    }
    PyObject **slots[10] = {&se_categories, &se_strs, &se_target_user, &se_groups, &se_failed, &se_status,
                            &se_logon_types, &se_ip, &se_keywords, &se_cleared_by};
    for (int k = 0; k < 10; k++) Py_XSETREF(*slots[k], Py_NewRef(args[k]));
    Py_RETURN_NONE;
}

/* -- evtx_enrich(fields, data): ecs.enrich, the dispatch around the handlers -- */

static PyObject *en_known, *en_remember, *en_constant, *en_handlers, *en_channel, *en_provider, *en_event_id;

static PyObject *evtx_enrich(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2 || !PyDict_CheckExact(args[0])) {
        PyErr_SetString(PyExc_TypeError, "evtx_enrich(fields: dict, data)");
        return NULL;
    }
    if (en_known == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "evtx_enrich(): not configured");
        return NULL;
    }
    PyObject *fields = args[0];
    PyObject *channel = PyDict_GetItemWithError(fields, en_channel);
    if (channel == NULL && PyErr_Occurred()) return NULL;
    PyObject *provider = PyDict_GetItemWithError(fields, en_provider);
    if (provider == NULL && PyErr_Occurred()) return NULL;
    PyObject *key = PyTuple_Pack(2, channel != NULL && PyUnicode_CheckExact(channel) ? channel : Py_None,
                                 provider != NULL && PyUnicode_CheckExact(provider) ? provider : Py_None);
    if (key == NULL) return NULL;
    PyObject *dataset = PyDict_GetItemWithError(en_known, key);
    if (dataset != NULL) {
        Py_INCREF(dataset);
    } else if (!PyErr_Occurred()) {
        dataset = PyObject_CallOneArg(en_remember, key); /* ecs._remember: computes and caches */
    }
    Py_DECREF(key);
    if (dataset == NULL) return NULL;
    if (PyDict_Update(fields, en_constant) < 0) goto fail;
    PyObject *handler = PyDict_GetItemWithError(en_handlers, dataset);
    if (handler == NULL && PyErr_Occurred()) goto fail;
    PyObject *event_id = PyDict_GetItemWithError(fields, en_event_id);
    if (event_id == NULL) {
        if (!PyErr_Occurred()) PyErr_SetObject(PyExc_KeyError, en_event_id);
        goto fail;
    }
    if (handler != NULL && PyLong_CheckExact(event_id)) {
        Py_INCREF(handler);
        Py_INCREF(event_id);
        PyObject *call[3] = {fields, args[1], event_id};
        PyObject *done = PyObject_Vectorcall(handler, call, 3, NULL);
        Py_DECREF(event_id);
        Py_DECREF(handler);
        if (done == NULL) goto fail;
        Py_DECREF(done);
    }
    return dataset;
fail:
    Py_DECREF(dataset);
    return NULL;
}

/* evtx_enrich_configure(known: dict, remember, constant: dict, handlers: dict) */
static PyObject *evtx_enrich_configure(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 4 || !PyDict_CheckExact(args[0]) || !PyCallable_Check(args[1]) || !PyDict_CheckExact(args[2]) ||
        !PyDict_CheckExact(args[3])) {
        PyErr_SetString(PyExc_TypeError, "evtx_enrich_configure(known: dict, remember, constant, handlers: dict)");
        return NULL;
    }
    if (en_channel == NULL &&
        ((en_channel = PyUnicode_InternFromString("winlog.channel")) == NULL ||
         (en_provider = PyUnicode_InternFromString("winlog.provider_name")) == NULL ||
         (en_event_id = PyUnicode_InternFromString("winlog.event_id")) == NULL))
        return NULL;
    PyObject **slots[4] = {&en_known, &en_remember, &en_constant, &en_handlers};
    for (int k = 0; k < 4; k++) Py_XSETREF(*slots[k], Py_NewRef(args[k]));
    Py_RETURN_NONE;
}
