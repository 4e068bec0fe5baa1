/* evtx_sysmon(fields, data, event_id): parsers.evtx.ecs._sysmon in C (included by _speedups.c).
 *
 * The ECS fields of a Sysmon record, as the Python function writes them, from the same tables
 * (evtx_sysmon_configure passes ecs._SYSMON, _SYSMON_STR and _SYSMON_INT). What is rare or subtle calls
 * back into Python: number() for anything but plain decimal or 0x-hex digits, hashes() for a non-ASCII
 * text, the network
 * block of event 3 (ecs._network) and the DNS block of event 22 (ecs._dns).
 * tests/unit/parsers/test_speedups_evtx.py compares the two on the sample records and on random ones.
 */

static PyObject *sy_categories, *sy_strs, *sy_ints, *sy_number, *sy_hashes, *sy_network, *sy_dns;
static PyObject *sy_hash_fields; /* values._HASH_FIELDS: prefix -> {algorithm: field} */
static PyObject *sy_port, *sy_port_max; /* "port", 65535 */

enum {
    SY_IMAGE, SY_SOURCE_IMAGE, SY_PARENT_IMAGE, SY_USER, SY_SOURCE_USER, SY_IMAGE_LOADED, SY_TARGET_FILENAME,
    SY_ORIGINAL, SY_HASHES, SY_HASH, SY_DETAILS, F_CATEGORY, F_TYPE, F_ACTION, F_EXE, F_NAME, F_PEXE,
    F_PNAME, F_USER_NAME, F_USER_DOMAIN, F_FILE_PATH, F_FILE_NAME, F_FILE_DIR, F_FILE_ORIGINAL,
    F_PROCESS_ORIGINAL, F_REG_PATH, F_REG_VALUE, F_REG_STRINGS, S_PROCESS, S_FILE, SY_COUNT
};
static const char *const sy_texts[SY_COUNT] = {
    "Image", "SourceImage", "ParentImage", "User", "SourceUser", "ImageLoaded", "TargetFilename",
    "OriginalFileName", "Hashes", "Hash", "Details", "event.category", "event.type", "event.action",
    "process.executable", "process.name", "process.parent.executable", "process.parent.name",
    "user.name", "user.domain", "file.path", "file.name", "file.directory", "file.pe.original_file_name",
    "process.pe.original_file_name", "registry.path", "registry.value", "registry.data.strings",
    "process", "file",
};
static PyObject *sy[SY_COUNT];

/* values.get: a data item's text, or NULL when absent, not a str, or a "no value" placeholder.
   Borrowed; -1 in *err on a Python error. */
static PyObject *sy_get(PyObject *data, PyObject *key, int *err) {
    PyObject *value = PyDict_GetItemWithError(data, key);
    if (value == NULL) {
        if (PyErr_Occurred()) *err = -1;
        return NULL;
    }
    if (!PyUnicode_CheckExact(value)) return NULL;
    if (PyUnicode_GET_LENGTH(value) <= ev_none_length) {
        int placeholder = PySet_Contains(ev_none, value);
        if (placeholder != 0) {
            if (placeholder < 0) *err = -1;
            return NULL;
        }
    }
    return value;
}

/* values.number: plain decimal or 0x-hex digits here, anything else by the Python function.
   A new reference to an int, Py_None, or NULL on error. */
static PyObject *sy_num(PyObject *value) {
    Py_ssize_t n = PyUnicode_GET_LENGTH(value);
    if (PyUnicode_IS_ASCII(value) && n > 0 && n <= 18) {
        const char *s = (const char *)PyUnicode_DATA(value);
        int hex = n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
        unsigned long long v = 0;
        Py_ssize_t i = hex ? 2 : 0;
        for (; i < n; i++) {
            char c = s[i];
            int d = c >= '0' && c <= '9' ? c - '0'
                  : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
            if (d < 0) break;
            v = v * (hex ? 16 : 10) + (unsigned)d;
        }
        if (i == n && !(hex && n > 17)) return PyLong_FromUnsignedLongLong(v); /* < 2**63 by length */
    }
    return PyObject_CallOneArg(sy_number, value);
}

/* text.rpartition(sep): (head or NULL when sep is absent, tail); new references. */
static int sy_rpartition(PyObject *text, Py_UCS4 sep, PyObject **head, PyObject **tail) {
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    Py_ssize_t at = PyUnicode_FindChar(text, sep, 0, n, -1);
    if (at == -2) return -1;
    *head = NULL;
    if (at < 0) {
        *tail = Py_NewRef(text);
        return 0;
    }
    if ((*head = PyUnicode_Substring(text, 0, at)) == NULL) return -1;
    if ((*tail = PyUnicode_Substring(text, at + 1, n)) == NULL) { Py_CLEAR(*head); return -1; }
    return 0;
}

static int sy_set(PyObject *fields, int name, PyObject *value) { return PyDict_SetItem(fields, sy[name], value); }

/* values.executable */
static int sy_executable(PyObject *fields, int exe, int name, PyObject *path) {
    if (path == NULL || PyUnicode_GET_LENGTH(path) == 0) return 0;
    PyObject *head, *tail, *head2, *base;
    if (sy_set(fields, exe, path) < 0 || sy_rpartition(path, '\\', &head, &tail) < 0) return -1;
    Py_XDECREF(head);
    int rc = sy_rpartition(tail, '/', &head2, &base);
    Py_DECREF(tail);
    if (rc < 0) return -1;
    Py_XDECREF(head2);
    rc = sy_set(fields, name, base);
    Py_DECREF(base);
    return rc;
}

/* values.account for "user" */
static int sy_account(PyObject *fields, PyObject *value) {
    if (value == NULL || PyUnicode_GET_LENGTH(value) == 0) return 0;
    PyObject *domain, *name;
    if (sy_rpartition(value, '\\', &domain, &name) < 0) return -1;
    int rc = sy_set(fields, F_USER_NAME, name);
    if (rc == 0 && domain != NULL && PyUnicode_GET_LENGTH(domain) > 0) rc = sy_set(fields, F_USER_DOMAIN, domain);
    Py_XDECREF(domain);
    Py_DECREF(name);
    return rc;
}

/* values.file */
static int sy_file(PyObject *fields, PyObject *path) {
    if (path == NULL || PyUnicode_GET_LENGTH(path) == 0) return 0;
    PyObject *directory, *name;
    if (sy_set(fields, F_FILE_PATH, path) < 0 || sy_rpartition(path, '\\', &directory, &name) < 0) return -1;
    int rc = sy_set(fields, F_FILE_NAME, name);
    if (rc == 0 && directory != NULL && PyUnicode_GET_LENGTH(directory) > 0) rc = sy_set(fields, F_FILE_DIR, directory);
    Py_XDECREF(directory);
    Py_DECREF(name);
    return rc;
}

static int sy_list1(PyObject *fields, int name, PyObject *item) {
    PyObject *list = PyList_New(1);
    if (list == NULL) return -1;
    PyList_SET_ITEM(list, 0, Py_NewRef(item));
    int rc = sy_set(fields, name, list);
    Py_DECREF(list);
    return rc;
}

/* Python's str.strip() whitespace among ASCII characters */
static int sy_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f); }

/* An ASCII text's [from, to) stripped, upper- or lower-cased, as a new str. */
static PyObject *sy_folded(const char *s, Py_ssize_t from, Py_ssize_t to, int upper) {
    while (from < to && sy_space(s[from])) from++;
    while (to > from && sy_space(s[to - 1])) to--;
    PyObject *out = PyUnicode_New(to - from, 127);
    if (out == NULL) return NULL;
    char *o = (char *)PyUnicode_DATA(out);
    for (Py_ssize_t i = from; i < to; i++) {
        char c = s[i];
        o[i - from] = upper ? (c >= 'a' && c <= 'z' ? (char)(c - 32) : c) : (c >= 'A' && c <= 'Z' ? (char)(c + 32) : c);
    }
    return out;
}

/* values.hashes: "SHA1=..,MD5=..,SHA256=..,IMPHASH=.." into <prefix>.hash.* (lower-case hex); an ASCII
   text here, any other by the Python function. */
static int sy_digests(PyObject *fields, int prefix, PyObject *value) {
    PyObject *targets = PyDict_GetItemWithError(sy_hash_fields, sy[prefix]);
    if (targets == NULL && PyErr_Occurred()) return -1;
    if (targets == NULL || !PyDict_CheckExact(targets) || !PyUnicode_IS_ASCII(value)) {
        PyObject *args[3] = {fields, sy[prefix], value};
        PyObject *done = PyObject_Vectorcall(sy_hashes, args, 3, NULL);
        if (done == NULL) return -1;
        Py_DECREF(done);
        return 0;
    }
    const char *s = (const char *)PyUnicode_DATA(value);
    Py_ssize_t n = PyUnicode_GET_LENGTH(value), start = 0;
    while (start <= n) {
        Py_ssize_t end = start;
        while (end < n && s[end] != ',') end++;
        Py_ssize_t eq = start;
        while (eq < end && s[eq] != '=') eq++;
        if (eq < end && eq + 1 < end) { /* an "=" with a digest after it */
            PyObject *algorithm = PyUnicode_FromStringAndSize(s + start, eq - start);
            if (algorithm == NULL) return -1;
            PyObject *target = PyDict_GetItemWithError(targets, algorithm);
            Py_DECREF(algorithm);
            if (target == NULL && PyErr_Occurred()) return -1;
            if (target == NULL || !PyObject_IsTrue(target)) {
                PyObject *folded = sy_folded(s, start, eq, 1);
                if (folded == NULL) return -1;
                target = PyDict_GetItemWithError(targets, folded);
                Py_DECREF(folded);
                if (target == NULL && PyErr_Occurred()) return -1;
            }
            if (target != NULL) {
                PyObject *digest = sy_folded(s, eq + 1, end, 0);
                if (digest == NULL) return -1;
                int rc = PyDict_SetItem(fields, target, digest);
                Py_DECREF(digest);
                if (rc < 0) return -1;
            }
        }
        start = end + 1;
    }
    return 0;
}

/* values.category: the event id's (category, type, action) from ``categories``, if it has one, into the
 * fields (also used by _speedups_evtx_security.c); 0, or -1 with an error. */
static int sy_category(PyObject *fields, PyObject *categories, PyObject *event_id, const char *who) {
    PyObject *entry = PyDict_GetItemWithError(categories, event_id);
    if (entry == NULL) return PyErr_Occurred() ? -1 : 0;
    if (!PyTuple_CheckExact(entry) || PyTuple_GET_SIZE(entry) != 3) {
        PyErr_Format(PyExc_TypeError, "%s: a category entry is not a 3-tuple", who);
        return -1;
    }
    if (sy_list1(fields, F_CATEGORY, PyTuple_GET_ITEM(entry, 0)) < 0 ||
        sy_list1(fields, F_TYPE, PyTuple_GET_ITEM(entry, 1)) < 0 ||
        sy_set(fields, F_ACTION, PyTuple_GET_ITEM(entry, 2)) < 0) return -1;
    return 0;
}

static int sy_body(PyObject *fields, PyObject *data, PyObject *event_id, long id) {
    int err = 0;
    if (sy_category(fields, sy_categories, event_id, "evtx_sysmon") < 0) return -1;
    Py_ssize_t pos = 0;
    PyObject *key, *name;
    while (PyDict_Next(sy_strs, &pos, &key, &name)) { /* values.copy */
        PyObject *value = sy_get(data, key, &err);
        if (err) return -1;
        if (value != NULL && PyDict_SetItem(fields, name, value) < 0) return -1;
    }
    pos = 0;
    while (PyDict_Next(sy_ints, &pos, &key, &name)) { /* a number; a port only up to 65535 */
        PyObject *value = sy_get(data, key, &err);
        if (err) return -1;
        if (value == NULL) continue;
        PyObject *count = sy_num(value);
        if (count == NULL) return -1;
        int rc = 0;
        if (count != Py_None) {
            int big = PyObject_RichCompareBool(count, sy_port_max, Py_GT);
            int port = big > 0 ? (int)PyUnicode_Tailmatch(name, sy_port, 0, PY_SSIZE_T_MAX, 1) : 0;
            if (big < 0 || port < 0) rc = -1;
            else if (!port) rc = PyDict_SetItem(fields, name, count);
        }
        Py_DECREF(count);
        if (rc < 0) return -1;
    }
    PyObject *image = sy_get(data, sy[SY_IMAGE], &err);
    if (image == NULL && !err) image = sy_get(data, sy[SY_SOURCE_IMAGE], &err);
    if (err || sy_executable(fields, F_EXE, F_NAME, image) < 0) return -1;
    PyObject *parent = sy_get(data, sy[SY_PARENT_IMAGE], &err);
    if (err || sy_executable(fields, F_PEXE, F_PNAME, parent) < 0) return -1;
    PyObject *user = sy_get(data, sy[SY_USER], &err);
    if (user == NULL && !err) user = sy_get(data, sy[SY_SOURCE_USER], &err);
    if (err || sy_account(fields, user) < 0) return -1;
    PyObject *loaded = sy_get(data, sy[SY_IMAGE_LOADED], &err);
    if (err) return -1;
    PyObject *target = sy_get(data, sy[SY_TARGET_FILENAME], &err);
    if (err || sy_file(fields, target != NULL ? target : loaded) < 0) return -1;
    PyObject *original = sy_get(data, sy[SY_ORIGINAL], &err);
    if (err) return -1;
    if (original != NULL && sy_set(fields, loaded != NULL ? F_FILE_ORIGINAL : F_PROCESS_ORIGINAL, original) < 0) return -1;
    PyObject *digests = sy_get(data, sy[SY_HASHES], &err);
    if (digests == NULL && !err) digests = sy_get(data, sy[SY_HASH], &err);
    if (err) return -1;
    if (digests != NULL && sy_digests(fields, id == 1 ? S_PROCESS : S_FILE, digests) < 0) return -1;
    if (id == 3 || id == 22) {
        PyObject *args[2] = {fields, data};
        PyObject *done = PyObject_Vectorcall(id == 3 ? sy_network : sy_dns, args, 2, NULL);
        if (done == NULL) return -1;
        Py_DECREF(done);
    } else if (id >= 12 && id <= 14) {
        PyObject *path = PyDict_GetItemWithError(fields, sy[F_REG_PATH]);
        if (path == NULL && PyErr_Occurred()) return -1;
        if (path != NULL && PyUnicode_CheckExact(path)) {
            PyObject *head, *tail;
            if (sy_rpartition(path, '\\', &head, &tail) < 0) return -1;
            Py_XDECREF(head);
            int rc = sy_set(fields, F_REG_VALUE, tail);
            Py_DECREF(tail);
            if (rc < 0) return -1;
        }
        PyObject *details = sy_get(data, sy[SY_DETAILS], &err);
        if (err) return -1;
        if (details != NULL && sy_list1(fields, F_REG_STRINGS, details) < 0) return -1;
    }
    return 0;
}

static PyObject *evtx_sysmon(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 3 || !PyDict_CheckExact(args[0]) || !PyDict_CheckExact(args[1]) || !PyLong_CheckExact(args[2])) {
        PyErr_SetString(PyExc_TypeError, "evtx_sysmon(fields: dict, data: dict, event_id: int)");
        return NULL;
    }
    if (sy_categories == NULL || ev_none == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "evtx_sysmon(): not configured");
        return NULL;
    }
    int overflow = 0;
    long id = PyLong_AsLongAndOverflow(args[2], &overflow);
    if (id == -1 && PyErr_Occurred()) return NULL;
    if (overflow) id = -1;
    if (sy_body(args[0], args[1], args[2], id) < 0) return NULL;
    Py_RETURN_NONE;
}

/* evtx_sysmon_configure(categories, strs, ints, number, hashes, network, dns, hash_fields) */
static PyObject *evtx_sysmon_configure(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 8 || !PyDict_CheckExact(args[7]) || !PyDict_CheckExact(args[0]) || !PyDict_CheckExact(args[1]) || !PyDict_CheckExact(args[2]) ||
        !PyCallable_Check(args[3]) || !PyCallable_Check(args[4]) || !PyCallable_Check(args[5]) ||
        !PyCallable_Check(args[6])) {
        PyErr_SetString(PyExc_TypeError, "evtx_sysmon_configure(categories, strs, ints: dict, number, hashes, "
                                         "network, dns: callables, hash_fields: dict)");
        return NULL;
    }
    if (sy_port == NULL) {
        for (int k = 0; k < SY_COUNT; k++)
            if ((sy[k] = PyUnicode_InternFromString(sy_texts[k])) == NULL) return NULL;
        if ((sy_port = PyUnicode_InternFromString("port")) == NULL || (sy_port_max = PyLong_FromLong(65535)) == NULL)
            return NULL;
    }
    PyObject **slots[8] = {&sy_categories, &sy_strs, &sy_ints, &sy_number, &sy_hashes, &sy_network, &sy_dns,
                           &sy_hash_fields};
    for (int k = 0; k < 8; k++) Py_XSETREF(*slots[k], Py_NewRef(args[k]));
    Py_RETURN_NONE;
}
