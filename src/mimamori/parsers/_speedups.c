/* Optional C speedups for the hot parsers (mimamori.parsers._native selects them).
 *
 * Every function here is a drop-in for one pure-Python function named in its comment and must give
 * exactly its result for every input (tests/unit/parsers/test_speedups.py checks that differentially
 * on random and hostile input). Every log line is attacker-controlled: all indexing is bounded by the
 * object's length, no fixed-size buffer receives input data, recursion is bounded (MAX_DEPTH), and
 * anything unexpected either returns None (the caller then runs its Python path) or raises the same
 * exception the Python code would.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#if PY_VERSION_HEX < 0x030C0000
#define READY(text) PyUnicode_READY(text) /* a no-op from 3.12 on, where it is deprecated */
#else
#define READY(text) 0
#endif
#if PY_VERSION_HEX < 0x030D0000
#define NEW_DICT(size) _PyDict_NewPresized(size)
#else
#define NEW_DICT(size) PyDict_New()
#endif

#define MAX_DEPTH 8 /* _json.MAX_DEPTH */
#define MAX_INT 9223372036854775807LL /* _json.MAX_INT, 2**63 - 1 */

/* _json.json_text, set by configure(): flatten() calls it for lists of objects and deep objects. */
static PyObject *json_text = NULL;
static PyObject *dot = NULL; /* "." */

/* ------------------------------------------------------------------------------------------------ */
/* Key interning for kv_split: FortiGate repeats a few dozen keys; reusing one str per key saves an  */
/* allocation and keeps its hash cached. A direct-mapped table of ASCII keys <= 64 characters.       */

#define INTERN_SLOTS 1024
#define INTERN_MAX_LEN 64
static PyObject *interned[INTERN_SLOTS];

static PyObject *
key_string(PyObject *text, int kind, const void *data, Py_ssize_t start, Py_ssize_t end)
{
    Py_ssize_t len = end - start;
    if (len > INTERN_MAX_LEN) {
        return PyUnicode_Substring(text, start, end);
    }
    Py_uhash_t h = 2166136261u;
    for (Py_ssize_t i = start; i < end; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c >= 128) {
            return PyUnicode_Substring(text, start, end);
        }
        h = (h ^ c) * 16777619u;
    }
    h ^= (Py_uhash_t)len;
    PyObject **slot = &interned[h % INTERN_SLOTS];
    PyObject *cached = *slot;
    if (cached != NULL && PyUnicode_GET_LENGTH(cached) == len) {
        const Py_UCS1 *chars = PyUnicode_1BYTE_DATA(cached);
        Py_ssize_t i = 0;
        while (i < len && chars[i] == PyUnicode_READ(kind, data, start + i)) {
            i++;
        }
        if (i == len) {
            Py_INCREF(cached);
            return cached;
        }
    }
    PyObject *key = PyUnicode_Substring(text, start, end);
    if (key == NULL) {
        return NULL;
    }
    if (!PyUnicode_IS_ASCII(key)) { /* cannot happen (all chars < 128); never cache a non-1-byte str */
        return key;
    }
    (void)PyObject_Hash(key);
    Py_INCREF(key);
    Py_XSETREF(*slot, key);
    return key;
}

/* Characters that make a body non-canonical anywhere: control characters (JSON refuses them),
 * backslash (escapes: the exact tokenizer's business) and surrogates (orjson refuses them). */
static inline int
bad_anywhere(Py_UCS4 c)
{
    return c < 0x20 || c == '\\' || (c >= 0xD800 && c <= 0xDFFF);
}

/* Non-ASCII whitespace (str.isspace) that _fast._WIDE_SPACE_RE finds outside quoted values. */
static inline int
wide_space(Py_UCS4 c)
{
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
           c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* _fast.kv_pairs: the pairs of a canonical ``k=v k2="v 2"`` body, or None for anything else.
 * Canonical: pairs separated by exactly one space, no leading or trailing space; a key is non-empty,
 * without space, '=' or quote; a value is bare (no space, '=' or quote) or wholly double-quoted (no
 * quote inside) and followed by a space or the end; nowhere a control character, backslash or
 * surrogate; outside quotes no non-ASCII whitespace. The last of a repeated key wins. */
static PyObject *
kv_split(PyObject *self, PyObject *body)
{
    if (!PyUnicode_Check(body)) {
        PyErr_SetString(PyExc_TypeError, "kv_split() needs a str");
        return NULL;
    }
    if (READY(body) < 0) {
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(body);
    int kind = PyUnicode_KIND(body);
    const void *data = PyUnicode_DATA(body);
    if (n == 0) {
        Py_RETURN_NONE;
    }
    PyObject *pairs = PyDict_New();
    if (pairs == NULL) {
        return NULL;
    }
    Py_ssize_t i = 0;
    for (;;) {
        Py_ssize_t ks = i;
        Py_UCS4 c = 0;
        while (i < n) {
            c = PyUnicode_READ(kind, data, i);
            if (c == '=') {
                break;
            }
            if (c == ' ' || c == '"' || bad_anywhere(c) || (c >= 0x80 && wide_space(c))) {
                goto not_canonical;
            }
            i++;
        }
        if (i == ks || i >= n) { /* empty key, or a word without '=' */
            goto not_canonical;
        }
        Py_ssize_t ke = i++;
        Py_ssize_t vs, ve;
        if (i < n && PyUnicode_READ(kind, data, i) == '"') {
            vs = ++i;
            while (i < n) {
                c = PyUnicode_READ(kind, data, i);
                if (c == '"') {
                    break;
                }
                if (bad_anywhere(c)) {
                    goto not_canonical;
                }
                i++;
            }
            if (i >= n) { /* unterminated quote */
                goto not_canonical;
            }
            ve = i++;
        }
        else {
            vs = i;
            while (i < n) {
                c = PyUnicode_READ(kind, data, i);
                if (c == ' ') {
                    break;
                }
                if (c == '=' || c == '"' || bad_anywhere(c) || (c >= 0x80 && wide_space(c))) {
                    goto not_canonical;
                }
                i++;
            }
            ve = i;
        }
        PyObject *key = key_string(body, kind, data, ks, ke);
        if (key == NULL) {
            goto error;
        }
        PyObject *value = PyUnicode_Substring(body, vs, ve);
        if (value == NULL) {
            Py_DECREF(key);
            goto error;
        }
        int failed = PyDict_SetItem(pairs, key, value);
        Py_DECREF(key);
        Py_DECREF(value);
        if (failed) {
            goto error;
        }
        if (i >= n) {
            break;
        }
        if (PyUnicode_READ(kind, data, i) != ' ' || i + 1 >= n) { /* junk after a quote; trailing space */
            goto not_canonical;
        }
        i++;
    }
    return pairs;
not_canonical:
    Py_DECREF(pairs);
    Py_RETURN_NONE;
error:
    Py_DECREF(pairs);
    return NULL;
}

/* _fast.to_ints: every value as an int when each is non-empty ASCII digits without a leading zero
 * and <= limit (0 <= limit < 2**63); else None. */
static PyObject *
to_ints(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "to_ints(values, limit)");
        return NULL;
    }
    long long limit = PyLong_AsLongLong(args[1]);
    if (limit == -1 && PyErr_Occurred()) {
        return NULL;
    }
    PyObject *seq = PySequence_Fast(args[0], "to_ints() needs a tuple or list");
    if (seq == NULL) {
        return NULL;
    }
    Py_ssize_t count = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    PyObject *result = count ? PyList_New(count) : NULL;
    if (result == NULL) {
        Py_DECREF(seq);
        if (count == 0) {
            Py_RETURN_NONE; /* "".isdigit() is False */
        }
        return NULL;
    }
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *item = items[k];
        if (PyUnicode_Check(item) && READY(item) < 0) {
            Py_DECREF(result);
            Py_DECREF(seq);
            return NULL;
        }
        if (!PyUnicode_Check(item) || !PyUnicode_IS_ASCII(item)) {
            goto none;
        }
        Py_ssize_t len = PyUnicode_GET_LENGTH(item);
        const Py_UCS1 *chars = PyUnicode_1BYTE_DATA(item);
        if (len == 0 || len > 19 || (len > 1 && chars[0] == '0')) {
            goto none;
        }
        unsigned long long number = 0;
        for (Py_ssize_t i = 0; i < len; i++) {
            if (chars[i] < '0' || chars[i] > '9') {
                goto none;
            }
            number = number * 10 + (chars[i] - '0');
        }
        if (limit < 0 || number > (unsigned long long)limit) {
            goto none;
        }
        PyObject *value = PyLong_FromUnsignedLongLong(number);
        if (value == NULL) {
            Py_DECREF(result);
            Py_DECREF(seq);
            return NULL;
        }
        PyList_SET_ITEM(result, k, value);
    }
    Py_DECREF(seq);
    return result;
none:
    Py_DECREF(result);
    Py_DECREF(seq);
    Py_RETURN_NONE;
}

/* fortigate's ``dict(zip(names, pairs.values(), strict=True))``, presized. */
static PyObject *
rename_values(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyTuple_Check(args[0]) || !PyDict_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "rename_values(names: tuple, pairs: dict)");
        return NULL;
    }
    PyObject *names = args[0], *pairs = args[1];
    Py_ssize_t count = PyTuple_GET_SIZE(names);
    if (PyDict_GET_SIZE(pairs) != count) {
        PyErr_SetString(PyExc_ValueError, "rename_values(): names and pairs differ in length");
        return NULL;
    }
    PyObject *fields = NEW_DICT(count + 8);
    if (fields == NULL) {
        return NULL;
    }
    Py_ssize_t pos = 0, k = 0;
    PyObject *key, *value;
    while (k < count && PyDict_Next(pairs, &pos, &key, &value)) {
        if (PyDict_SetItem(fields, PyTuple_GET_ITEM(names, k), value) < 0) {
            Py_DECREF(fields);
            return NULL;
        }
        k++;
    }
    return fields;
}

/* fortigate._fix_specials' first loop: drop_unset(fields, names: tuple, unset: frozenset) deletes each
 * name whose value is in ``unset`` (``if fields.get(name) in unset: del fields[name]``). */
static PyObject *
drop_unset(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyDict_Check(args[0]) || !PyTuple_Check(args[1]) || !PyAnySet_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "drop_unset(fields: dict, names: tuple, unset: frozenset)");
        return NULL;
    }
    PyObject *fields = args[0], *names = args[1], *unset = args[2];
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(names); k++) {
        PyObject *name = PyTuple_GET_ITEM(names, k);
        PyObject *value = PyDict_GetItemWithError(fields, name);
        if (value == NULL) {
            if (PyErr_Occurred()) {
                return NULL;
            }
            value = Py_None; /* fields.get(name) */
        }
        Py_INCREF(value);
        int found = PySet_Contains(unset, value);
        Py_DECREF(value);
        if (found < 0 || (found && PyDict_DelItem(fields, name) < 0)) {
            return NULL;
        }
    }
    Py_RETURN_NONE;
}

/* _json.has_big_int: whether some run of 19+ ASCII digits follows one of ``:,[`` or JSON whitespace. */
static PyObject *
has_big_int(PyObject *self, PyObject *arg)
{
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    const unsigned char *p = view.buf;
    Py_ssize_t n = view.len;
    int found = 0;
    for (Py_ssize_t i = 0; i + 19 < n && !found; i++) {
        unsigned char c = p[i];
        if (c == ':' || c == ',' || c == '[' || c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            Py_ssize_t j = i + 1;
            while (j < n && j <= i + 19 && p[j] >= '0' && p[j] <= '9') {
                j++;
            }
            if (j == i + 20) {
                found = 1;
            }
        }
    }
    PyBuffer_Release(&view);
    return PyBool_FromLong(found);
}

/* ------------------------------------------------------------------------------------------------ */
/* _json.flatten and _json.scalar                                                                    */

/* 1 and a new reference in *out when value is a JSON scalar that fits the Event model (as
 * _json.scalar: big integers become text), 0 when it is not a scalar, -1 on error. */
static int
scalar(PyObject *value, PyObject **out)
{
    if (PyUnicode_CheckExact(value) || PyBool_Check(value) || PyFloat_CheckExact(value)) {
        Py_INCREF(value);
        *out = value;
        return 1;
    }
    if (PyLong_CheckExact(value)) {
        int overflow = 0;
        long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
        if (v == -1 && PyErr_Occurred()) {
            return -1;
        }
        if (overflow || v < -MAX_INT) {
            *out = PyObject_Str(value);
            return *out == NULL ? -1 : 1;
        }
        Py_INCREF(value);
        *out = value;
        return 1;
    }
    return 0;
}

static int
store_json_text(PyObject *fields, PyObject *name, PyObject *value)
{
    if (json_text == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "mimamori.parsers._speedups is not configured");
        return -1;
    }
    PyObject *text = PyObject_CallOneArg(json_text, value);
    if (text == NULL) {
        return -1;
    }
    int failed = PyDict_SetItem(fields, name, text);
    Py_DECREF(text);
    return failed;
}

static int
flatten_into(PyObject *fields, PyObject *name, PyObject *value, int depth)
{
    if (PyLong_CheckExact(value) || PyUnicode_CheckExact(value) || PyBool_Check(value) ||
        PyFloat_CheckExact(value)) {
        PyObject *stored = NULL;
        if (scalar(value, &stored) <= 0 || stored == NULL) { /* always 1 for these types */
            return -1;
        }
        int failed = PyDict_SetItem(fields, name, stored);
        Py_DECREF(stored);
        return failed;
    }
    if (PyList_CheckExact(value)) {
        Py_ssize_t count = PyList_GET_SIZE(value);
        PyObject *items = PyList_New(count);
        if (items == NULL) {
            return -1;
        }
        for (Py_ssize_t k = 0; k < count && k < PyList_GET_SIZE(value); k++) {
            PyObject *item;
            int kind = scalar(PyList_GET_ITEM(value, k), &item);
            if (kind <= 0) {
                Py_DECREF(items);
                return kind < 0 ? -1 : store_json_text(fields, name, value);
            }
            PyList_SET_ITEM(items, k, item);
        }
        int failed = PyDict_SetItem(fields, name, items);
        Py_DECREF(items);
        return failed;
    }
    if (PyDict_CheckExact(value) && depth < MAX_DEPTH) {
        PyObject *prefix = PyUnicode_Concat(name, dot);
        if (prefix == NULL) {
            return -1;
        }
        Py_INCREF(value); /* a handler elsewhere cannot mutate it under us, but keep it alive anyway */
        Py_ssize_t pos = 0;
        PyObject *key, *inner;
        int failed = 0;
        while (!failed && PyDict_Next(value, &pos, &key, &inner)) {
            PyObject *inner_name = PyUnicode_CheckExact(key) ? PyUnicode_Concat(prefix, key)
                                                             : PyUnicode_FromFormat("%U%S", prefix, key);
            if (inner_name == NULL) {
                failed = -1;
                break;
            }
            Py_INCREF(inner);
            failed = flatten_into(fields, inner_name, inner, depth + 1);
            Py_DECREF(inner);
            Py_DECREF(inner_name);
        }
        Py_DECREF(value);
        Py_DECREF(prefix);
        return failed;
    }
    if (value == Py_None) {
        return 0;
    }
    return store_json_text(fields, name, value);
}

/* _json.flatten(fields, name, value, depth=0) */
static PyObject *
flatten(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 3 || nargs > 4 || !PyDict_Check(args[0]) || !PyUnicode_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "flatten(fields: dict, name: str, value, depth=0)");
        return NULL;
    }
    long depth = 0;
    if (nargs == 4) {
        depth = PyLong_AsLong(args[3]);
        if (depth == -1 && PyErr_Occurred()) {
            return NULL;
        }
    }
    if (flatten_into(args[0], args[1], args[2], depth < 0 ? 0 : (depth > MAX_DEPTH ? MAX_DEPTH : (int)depth)) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* suricata._rename: known keys of the right type get their name, everything else is flattened under
 * ``prefix``: rename_into(fields, obj, specs: {key: (name, type)}, prefix). */
static PyObject *
rename_into(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4 || !PyDict_Check(args[0]) || !PyDict_Check(args[1]) || !PyDict_Check(args[2]) ||
        !PyUnicode_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "rename_into(fields: dict, obj: dict, specs: dict, prefix: str)");
        return NULL;
    }
    PyObject *fields = args[0], *obj = args[1], *specs = args[2], *prefix = args[3];
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    Py_INCREF(obj);
    while (PyDict_Next(obj, &pos, &key, &value)) {
        Py_INCREF(key);
        Py_INCREF(value);
        int failed = 0;
        PyObject *spec = PyDict_GetItemWithError(specs, key);
        if (spec == NULL && PyErr_Occurred()) {
            failed = -1;
        }
        else if (spec != NULL && PyTuple_Check(spec) && PyTuple_GET_SIZE(spec) == 2 &&
                 (PyObject *)Py_TYPE(value) == PyTuple_GET_ITEM(spec, 1)) {
            int fits = 1;
            if (PyLong_CheckExact(value)) {
                int overflow = 0;
                (void)PyLong_AsLongLongAndOverflow(value, &overflow);
                fits = overflow <= 0; /* value <= MAX_INT (no lower bound, as in Python) */
            }
            if (fits) {
                failed = PyDict_SetItem(fields, PyTuple_GET_ITEM(spec, 0), value);
                goto next;
            }
        }
        if (!failed) {
            PyObject *name = PyUnicode_Concat(prefix, key);
            failed = name == NULL ? -1 : flatten_into(fields, name, value, 0);
            Py_XDECREF(name);
        }
    next:
        Py_DECREF(key);
        Py_DECREF(value);
        if (failed) {
            Py_DECREF(obj);
            return NULL;
        }
    }
    Py_DECREF(obj);
    Py_RETURN_NONE;
}

/* suricata._fields' loop: object_fields(fields, obj, top: {key: (name, type)}, handlers: {key: f},
 * skip: frozenset, prefix). A key of ``top`` whose value has exactly the type gets the name; a key of
 * ``handlers`` whose value is a dict goes to ``handler(fields, value)``; any other key not in ``skip``
 * is flattened under ``prefix + key``. */
static PyObject *
object_fields(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6 || !PyDict_Check(args[0]) || !PyDict_Check(args[1]) || !PyDict_Check(args[2]) ||
        !PyDict_Check(args[3]) || !PyAnySet_Check(args[4]) || !PyUnicode_Check(args[5])) {
        PyErr_SetString(PyExc_TypeError, "object_fields(fields, obj, top, handlers, skip, prefix)");
        return NULL;
    }
    PyObject *fields = args[0], *obj = args[1], *top = args[2], *handlers = args[3], *skip = args[4];
    PyObject *prefix = args[5];
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    Py_INCREF(obj);
    while (PyDict_Next(obj, &pos, &key, &value)) {
        Py_INCREF(key);
        Py_INCREF(value);
        int failed = 0;
        PyObject *spec = PyDict_GetItemWithError(top, key);
        PyObject *handler = NULL;
        if (spec == NULL && PyErr_Occurred()) {
            failed = -1;
        }
        else if (spec != NULL && PyTuple_Check(spec) && PyTuple_GET_SIZE(spec) == 2 &&
                 (PyObject *)Py_TYPE(value) == PyTuple_GET_ITEM(spec, 1)) {
            failed = PyDict_SetItem(fields, PyTuple_GET_ITEM(spec, 0), value);
        }
        else if ((handler = PyDict_GetItemWithError(handlers, key)) != NULL && PyDict_CheckExact(value)) {
            Py_INCREF(handler);
            PyObject *call_args[2] = {fields, value};
            PyObject *result = PyObject_Vectorcall(handler, call_args, 2, NULL);
            Py_DECREF(handler);
            failed = result == NULL ? -1 : 0;
            Py_XDECREF(result);
        }
        else if (PyErr_Occurred()) {
            failed = -1;
        }
        else {
            int skipped = PySet_Contains(skip, key);
            if (skipped < 0) {
                failed = -1;
            }
            else if (!skipped) {
                PyObject *name = PyUnicode_Concat(prefix, key);
                failed = name == NULL ? -1 : flatten_into(fields, name, value, 0);
                Py_XDECREF(name);
            }
        }
        Py_DECREF(key);
        Py_DECREF(value);
        if (failed) {
            Py_DECREF(obj);
            return NULL;
        }
    }
    Py_DECREF(obj);
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------------------------------------ */
/* zeek._fields: zeek_fields(obj, popped, skip, known, names, slow, prefix, checked)                  */
/* popped: the keys with a conversion, in order; skip: popped keys that are not fields (ts, _path);   */
/* known: key -> None for a popped key, or the one type a renamed key's value must have; names: key   */
/* -> field name (a dict subclass whose __missing__ learns unknown keys); slow: key -> (name,         */
/* handler); prefix: "zeek.<path>."; checked: the line may hold a >64-bit integer (no bulk rename).   */

static inline int
plain_type(PyObject *value)
{
    return PyUnicode_CheckExact(value) || PyLong_CheckExact(value) || PyFloat_CheckExact(value) ||
           PyBool_Check(value);
}

/* zeek._Table.handle: the key's handler ``slow[key] = (name, handler)``; when there is none or it
 * refuses the value (returns a false value), the value is flattened under ``prefix + key``. */
static int
call_handle(PyObject *slow, PyObject *prefix, PyObject *fields, PyObject *key, PyObject *value)
{
    PyObject *spec = PyDict_GetItemWithError(slow, key);
    if (spec == NULL && PyErr_Occurred()) {
        return -1;
    }
    if (spec != NULL) {
        if (!PyTuple_Check(spec) || PyTuple_GET_SIZE(spec) != 2) {
            PyErr_SetString(PyExc_TypeError, "zeek_fields(): slow[key] must be (name, handler)");
            return -1;
        }
        Py_INCREF(spec);
        PyObject *call_args[3] = {fields, PyTuple_GET_ITEM(spec, 0), value};
        PyObject *result = PyObject_Vectorcall(PyTuple_GET_ITEM(spec, 1), call_args, 3, NULL);
        Py_DECREF(spec);
        if (result == NULL) {
            return -1;
        }
        int done = PyObject_IsTrue(result);
        Py_DECREF(result);
        if (done) {
            return done < 0 ? -1 : 0;
        }
    }
    PyObject *name = PyUnicode_Concat(prefix, key);
    if (name == NULL) {
        return -1;
    }
    int failed = flatten_into(fields, name, value, 0);
    Py_DECREF(name);
    return failed;
}

static int
store_renamed(PyObject *fields, PyObject *names, PyObject *key, PyObject *value)
{
    PyObject *name = PyObject_GetItem(names, key); /* a dict subclass: __missing__ learns new keys */
    if (name == NULL) {
        return -1;
    }
    int failed = PyDict_SetItem(fields, name, value);
    Py_DECREF(name);
    return failed;
}

static PyObject *port_names[2];

/* zeek._ports: stored as any integer in bulk; keep only real port numbers. */
static int
drop_bad_ports(PyObject *fields)
{
    for (int k = 0; k < 2; k++) {
        PyObject *port = PyDict_GetItemWithError(fields, port_names[k]);
        if (port == NULL) {
            if (PyErr_Occurred()) {
                return -1;
            }
            continue;
        }
        int keep = 0;
        if (PyLong_CheckExact(port)) {
            int overflow = 0;
            long long v = PyLong_AsLongLongAndOverflow(port, &overflow);
            if (v == -1 && PyErr_Occurred()) {
                return -1;
            }
            keep = !overflow && v >= 0 && v <= 65535;
        }
        if (!keep && PyDict_DelItem(fields, port_names[k]) < 0) {
            return -1;
        }
    }
    return 0;
}

#define STACK_KEYS 64

static PyObject *
zeek_fields(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 8 || !PyDict_Check(args[0]) || !PyTuple_Check(args[1]) || !PyAnySet_Check(args[2]) ||
        !PyDict_Check(args[3]) || !PyDict_Check(args[4]) || !PyDict_Check(args[5]) ||
        !PyUnicode_Check(args[6])) {
        PyErr_SetString(PyExc_TypeError, "zeek_fields(obj, popped, skip, known, names, slow, prefix, checked)");
        return NULL;
    }
    PyObject *obj = args[0], *popped = args[1], *skip = args[2], *known = args[3], *names = args[4];
    PyObject *slow = args[5], *prefix = args[6];
    int checked = PyObject_IsTrue(args[7]);
    if (checked < 0) {
        return NULL;
    }
    PyObject *fields = PyDict_New();
    if (fields == NULL) {
        return NULL;
    }
    Py_INCREF(obj);
    /* Per item of obj (in order): its name when renamed in bulk (a new reference, or NULL when
     * ``names`` must learn it), or a marker that the key is popped. */
    PyObject *stack[STACK_KEYS];
    PyObject **slots = stack;
    Py_ssize_t count = PyDict_GET_SIZE(obj);
    if (count > STACK_KEYS) {
        slots = PyMem_New(PyObject *, count);
        if (slots == NULL) {
            PyErr_NoMemory();
            Py_DECREF(obj);
            Py_DECREF(fields);
            return NULL;
        }
    }
    Py_ssize_t filled = 0;
    PyObject *const popped_marker = Py_None; /* never a field name (names are str) */

    /* The keys with a conversion, in popped order. */
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(popped); k++) {
        PyObject *key = PyTuple_GET_ITEM(popped, k);
        PyObject *value = PyDict_GetItemWithError(obj, key);
        if (value == NULL) {
            if (PyErr_Occurred()) {
                goto error;
            }
            continue;
        }
        int skipped = PySet_Contains(skip, key);
        if (skipped < 0) {
            goto error;
        }
        if (!skipped) {
            Py_INCREF(value);
            int failed = call_handle(slow, prefix, fields, key, value);
            Py_DECREF(value);
            if (failed) {
                goto error;
            }
        }
    }
    /* Bulk when every other value is a plain scalar of the type its name needs (Renamer.rename). No
     * Python code runs in this pass, so obj cannot change under it. */
    int bulk = !checked;
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(obj, &pos, &key, &value) && filled < count) {
        PyObject *kind = PyDict_GetItemWithError(known, key);
        if (kind == NULL && PyErr_Occurred()) {
            goto error;
        }
        if (kind == Py_None) {
            slots[filled++] = popped_marker;
            continue;
        }
        if (!plain_type(value) || (kind != NULL && (PyObject *)Py_TYPE(value) != kind)) {
            bulk = 0;
        }
        PyObject *name = NULL;
        if (bulk) {
            name = PyDict_GetItemWithError(names, key);
            if (name == NULL && PyErr_Occurred()) {
                goto error;
            }
            Py_XINCREF(name);
        }
        slots[filled++] = name;
    }
    pos = 0;
    Py_ssize_t index = 0;
    while (PyDict_Next(obj, &pos, &key, &value) && index < filled) {
        PyObject *name = slots[index++];
        if (name == popped_marker) {
            continue;
        }
        Py_INCREF(key);
        Py_INCREF(value);
        int failed;
        if (bulk) {
            failed = name != NULL ? PyDict_SetItem(fields, name, value) : store_renamed(fields, names, key, value);
        }
        else {
            int renamed = !checked && plain_type(value);
            if (renamed) {
                renamed = PyDict_Contains(slow, key);
                renamed = renamed < 0 ? -1 : !renamed;
            }
            failed = renamed < 0 ? -1
                     : renamed  ? store_renamed(fields, names, key, value)
                                : call_handle(slow, prefix, fields, key, value);
        }
        Py_DECREF(key);
        Py_DECREF(value);
        if (failed) {
            goto error;
        }
    }
    if (drop_bad_ports(fields) < 0) {
        goto error;
    }
    for (Py_ssize_t k = 0; k < filled; k++) {
        if (slots[k] != popped_marker) {
            Py_XDECREF(slots[k]);
        }
    }
    if (slots != stack) {
        PyMem_Free(slots);
    }
    Py_DECREF(obj);
    return fields;
error:
    for (Py_ssize_t k = 0; k < filled; k++) {
        if (slots[k] != popped_marker) {
            Py_XDECREF(slots[k]);
        }
    }
    if (slots != stack) {
        PyMem_Free(slots);
    }
    Py_DECREF(obj);
    Py_DECREF(fields);
    return NULL;
}

/* ------------------------------------------------------------------------------------------------ */
/* detection.indicators.matcher: the common path of IndicatorDetector.detect over one batch          */

static PyObject *s_fields, *s_timestamp, *s_tenant_id, *s_dst, *s_src, *s_outcome, *s_failure, *one;

/* Whether an address is local, as the matcher's ``local_get(ip)`` / ``is_local(ip)`` pair decides:
 * 1 or 0, -1 on error. */
static int
address_local(PyObject *ip, int ok, PyObject *cache, PyObject *is_local)
{
    if (!ok) {
        return 1;
    }
    PyObject *cached = PyDict_GetItemWithError(cache, ip);
    if (cached != NULL) {
        return PyObject_IsTrue(cached);
    }
    if (PyErr_Occurred()) {
        return -1;
    }
    PyObject *result = PyObject_CallOneArg(is_local, ip);
    if (result == NULL) {
        return -1;
    }
    int local = PyObject_IsTrue(result);
    Py_DECREF(result);
    return local;
}

/* One observed external address: ``addresses[(tenant, ip)]`` is [first, last, count, device, allowed]. */
static int
tally_address(PyObject *addresses, PyObject *tenant, PyObject *ip, PyObject *when, PyObject *device,
              PyObject *fields)
{
    PyObject *key = PyTuple_Pack(2, tenant, ip);
    if (key == NULL) {
        return -1;
    }
    int failed = -1;
    PyObject *outcome = NULL;
    PyObject *seen = PyDict_GetItemWithError(addresses, key);
    if (seen == NULL && PyErr_Occurred()) {
        goto done;
    }
    outcome = PyDict_GetItemWithError(fields, s_outcome);
    if (outcome == NULL && PyErr_Occurred()) {
        goto done;
    }
    outcome = outcome != NULL ? outcome : Py_None;
    Py_INCREF(outcome);
    if (seen == NULL) {
        int allowed = PyObject_RichCompareBool(outcome, s_failure, Py_NE);
        if (allowed < 0) {
            goto done;
        }
        PyObject *entry = Py_BuildValue("[OOiOO]", when, when, 1, device, allowed ? Py_True : Py_False);
        if (entry == NULL) {
            goto done;
        }
        failed = PyDict_SetItem(addresses, key, entry);
        Py_DECREF(entry);
        goto done;
    }
    if (!PyList_CheckExact(seen) || PyList_GET_SIZE(seen) != 5) {
        PyErr_SetString(PyExc_TypeError, "address_scan(): addresses values must be 5-lists");
        goto done;
    }
    Py_INCREF(seen);
    PyObject *count = PyNumber_Add(PyList_GET_ITEM(seen, 2), one);
    int later = -1, earlier = 0, allowed_before = -1, allowed = 1;
    if (count != NULL) {
        PyList_SetItem(seen, 2, count); /* steals count */
        later = PyObject_RichCompareBool(when, PyList_GET_ITEM(seen, 1), Py_GT);
    }
    if (later == 1) {
        Py_INCREF(when);
        PyList_SetItem(seen, 1, when);
    }
    else if (later == 0) {
        earlier = PyObject_RichCompareBool(when, PyList_GET_ITEM(seen, 0), Py_LT);
        if (earlier == 1) {
            Py_INCREF(when);
            PyList_SetItem(seen, 0, when);
        }
    }
    if (later >= 0 && earlier >= 0) {
        allowed_before = PyObject_IsTrue(PyList_GET_ITEM(seen, 4));
    }
    if (allowed_before == 0) {
        allowed = PyObject_RichCompareBool(outcome, s_failure, Py_NE);
        if (allowed == 1) {
            Py_INCREF(Py_True);
            PyList_SetItem(seen, 4, Py_True);
        }
    }
    failed = (allowed_before < 0 || allowed < 0) ? -1 : 0;
    Py_DECREF(seen);
done:
    Py_XDECREF(outcome);
    Py_DECREF(key);
    return failed;
}

/* address_scan(events, ips, local_cache, is_local, in_ranges, rare_fields, addresses, observe) runs the
 * per-event part of IndicatorDetector.detect that needs no look-up beyond the addresses, in event
 * order: the observed external addresses are tallied into ``addresses`` (when ``observe``), and the
 * result lists, as ``2 * index + rare``, the events that need the Python path: those with a rare field,
 * and those whose address is listed or in a range (``in_ranges`` is None without ranges). None when
 * an event's fields are not a dict (the caller then runs its own loop). */
static PyObject *
address_scan(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 8 || !PyList_CheckExact(args[0]) || !PyDict_Check(args[1]) || !PyDict_Check(args[2]) ||
        !PyAnySet_Check(args[5]) || !PyDict_Check(args[6])) {
        PyErr_SetString(PyExc_TypeError,
                        "address_scan(events: list, ips, local_cache, is_local, in_ranges, rare_fields, "
                        "addresses, observe)");
        return NULL;
    }
    PyObject *events = args[0], *ips = args[1], *cache = args[2], *is_local = args[3];
    PyObject *in_ranges = args[4] == Py_None ? NULL : args[4];
    PyObject *rare_fields = args[5], *addresses = args[6];
    int observe = PyObject_IsTrue(args[7]);
    if (observe < 0) {
        return NULL;
    }
    /* Every event's fields must be a dict before anything is tallied (else the caller's loop runs). */
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(events); i++) {
        PyObject *fields = PyObject_GetAttr(PyList_GET_ITEM(events, i), s_fields);
        if (fields == NULL) {
            return NULL;
        }
        int is_dict = PyDict_CheckExact(fields);
        Py_DECREF(fields);
        if (!is_dict) {
            Py_RETURN_NONE;
        }
    }
    PyObject *slow = PyList_New(0);
    if (slow == NULL) {
        return NULL;
    }
    Py_INCREF(events);
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(events); i++) {
        PyObject *event = PyList_GET_ITEM(events, i);
        Py_INCREF(event);
        PyObject *fields = PyObject_GetAttr(event, s_fields);
        PyObject *when = NULL, *tenant = NULL, *dst = NULL, *src = NULL;
        int failed = -1;
        if (fields == NULL) {
            goto next;
        }
        if (!PyDict_CheckExact(fields)) { /* changed since the check above (a property?) */
            PyErr_SetString(PyExc_TypeError, "address_scan(): event.fields must be a dict");
            goto next;
        }
        dst = PyDict_GetItemWithError(fields, s_dst);
        if (dst == NULL && PyErr_Occurred()) {
            goto next;
        }
        src = PyDict_GetItemWithError(fields, s_src);
        if (src == NULL && PyErr_Occurred()) {
            goto next;
        }
        dst = dst != NULL ? dst : Py_None;
        src = src != NULL ? src : Py_None;
        Py_INCREF(dst);
        Py_INCREF(src);
        int dst_ok = PyUnicode_CheckExact(dst), src_ok = PyUnicode_CheckExact(src);
        if (observe) {
            int dst_local = address_local(dst, dst_ok, cache, is_local);
            int src_local = dst_local < 0 ? -1 : address_local(src, src_ok, cache, is_local);
            if (src_local < 0) {
                goto next;
            }
            if (!(dst_local && src_local)) {
                when = PyObject_GetAttr(event, s_timestamp);
                tenant = when == NULL ? NULL : PyObject_GetAttr(event, s_tenant_id);
                if (tenant == NULL) {
                    goto next;
                }
                PyObject *device = (src_local && src_ok) ? src : ((dst_local && dst_ok) ? dst : Py_None);
                if (!dst_local && tally_address(addresses, tenant, dst, when, device, fields) < 0) {
                    goto next;
                }
                if (!src_local && tally_address(addresses, tenant, src, when, device, fields) < 0) {
                    goto next;
                }
            }
        }
        /* rare = not rare_fields.isdisjoint(fields): a pass over the dict's keys */
        int rare = 0;
        Py_ssize_t pos = 0;
        PyObject *key, *value;
        while (!rare && PyDict_Next(fields, &pos, &key, &value)) {
            rare = PySet_Contains(rare_fields, key);
            if (rare < 0) {
                goto next;
            }
        }
        int wanted = rare;
        if (!wanted) {
            wanted = dst_ok ? PyDict_Contains(ips, dst) : 0;
            if (wanted == 0 && src_ok) {
                wanted = PyDict_Contains(ips, src);
            }
            for (int k = 0; wanted == 0 && in_ranges != NULL && k < 2; k++) {
                PyObject *result = PyObject_CallOneArg(in_ranges, k == 0 ? dst : src);
                wanted = result == NULL ? -1 : PyObject_IsTrue(result);
                Py_XDECREF(result);
            }
            if (wanted < 0) {
                goto next;
            }
        }
        failed = 0;
        if (wanted) {
            PyObject *code = PyLong_FromSsize_t(2 * i + rare);
            failed = code == NULL ? -1 : PyList_Append(slow, code);
            Py_XDECREF(code);
        }
    next:
        Py_XDECREF(when);
        Py_XDECREF(tenant);
        Py_XDECREF(dst);
        Py_XDECREF(src);
        Py_XDECREF(fields);
        Py_DECREF(event);
        if (failed) {
            Py_DECREF(events);
            Py_DECREF(slow);
            return NULL;
        }
    }
    Py_DECREF(events);
    return slow;
}

/* configure(json_text): the function flatten() uses for values it cannot store flat. */
static PyObject *
configure(PyObject *self, PyObject *func)
{
    if (!PyCallable_Check(func)) {
        PyErr_SetString(PyExc_TypeError, "configure() needs a callable");
        return NULL;
    }
    Py_INCREF(func);
    Py_XSETREF(json_text, func);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"kv_split", (PyCFunction)kv_split, METH_O, "_fast.kv_pairs in C."},
    {"to_ints", (PyCFunction)(void (*)(void))to_ints, METH_FASTCALL, "_fast.to_ints in C."},
    {"rename_values", (PyCFunction)(void (*)(void))rename_values, METH_FASTCALL,
     "dict(zip(names, pairs.values(), strict=True)), presized."},
    {"drop_unset", (PyCFunction)(void (*)(void))drop_unset, METH_FASTCALL, "fortigate's N/A filter in C."},
    {"has_big_int", (PyCFunction)has_big_int, METH_O, "_json.has_big_int in C."},
    {"flatten", (PyCFunction)(void (*)(void))flatten, METH_FASTCALL, "_json.flatten in C."},
    {"rename_into", (PyCFunction)(void (*)(void))rename_into, METH_FASTCALL, "suricata._rename in C."},
    {"object_fields", (PyCFunction)(void (*)(void))object_fields, METH_FASTCALL, "suricata._fields' loop in C."},
    {"address_scan", (PyCFunction)(void (*)(void))address_scan, METH_FASTCALL,
     "IndicatorDetector.detect's common path in C."},
    {"zeek_fields", (PyCFunction)(void (*)(void))zeek_fields, METH_FASTCALL, "zeek._fields in C."},
    {"configure", (PyCFunction)configure, METH_O, "Set the json_text fallback of flatten()."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "mimamori.parsers._speedups", "Optional C speedups of the hot parsers.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    s_fields = PyUnicode_InternFromString("fields");
    s_timestamp = PyUnicode_InternFromString("timestamp");
    s_tenant_id = PyUnicode_InternFromString("tenant_id");
    s_dst = PyUnicode_InternFromString("destination.ip");
    s_src = PyUnicode_InternFromString("source.ip");
    s_outcome = PyUnicode_InternFromString("event.outcome");
    s_failure = PyUnicode_InternFromString("failure");
    one = PyLong_FromLong(1);
    if (!one || !s_fields || !s_timestamp || !s_tenant_id || !s_dst || !s_src || !s_outcome || !s_failure) {
        return NULL;
    }
    dot = PyUnicode_InternFromString(".");
    port_names[0] = PyUnicode_InternFromString("source.port");
    port_names[1] = PyUnicode_InternFromString("destination.port");
    if (dot == NULL || port_names[0] == NULL || port_names[1] == NULL) {
        return NULL;
    }
    return PyModule_Create(&module);
}
