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
#include <datetime.h>
#include <math.h>
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

/* One value as _fast.to_ints takes it: a str of 1-19 ASCII digits without a leading zero, <= limit.
 * 1 with the number in *out, 0 when it is not one. */
static int
plain_uint(PyObject *item, unsigned long long limit, unsigned long long *out)
{
    if (!PyUnicode_Check(item) || !PyUnicode_IS_ASCII(item)) {
        return 0;
    }
    Py_ssize_t len = PyUnicode_GET_LENGTH(item);
    const Py_UCS1 *chars = PyUnicode_1BYTE_DATA(item);
    if (len == 0 || len > 19 || (len > 1 && chars[0] == '0')) {
        return 0;
    }
    unsigned long long number = 0;
    for (Py_ssize_t i = 0; i < len; i++) {
        if (chars[i] < '0' || chars[i] > '9') {
            return 0;
        }
        number = number * 10 + (chars[i] - '0');
    }
    *out = number;
    return number <= limit;
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
        unsigned long long number;
        if (limit < 0 || !plain_uint(item, (unsigned long long)limit, &number)) {
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

/* fortigate._fix_ints' common case in one call: fortigate_ints(fields, pairs, keys, names, ports, limit)
 * sets fields[names[k]] = int(pairs[keys[k]]) for every k and returns True when every value is what
 * _fast.to_ints takes (ASCII digits, no leading zero, <= limit) and the first ``ports`` are <= 65535;
 * else returns False and leaves ``fields`` alone (the Python loop then decides value by value). */
static PyObject *
fortigate_ints(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6 || !PyDict_Check(args[0]) || !PyDict_Check(args[1]) || !PyTuple_CheckExact(args[2]) ||
        !PyTuple_CheckExact(args[3]) || PyTuple_GET_SIZE(args[2]) != PyTuple_GET_SIZE(args[3])) {
        PyErr_SetString(PyExc_TypeError, "fortigate_ints(fields, pairs, keys, names, ports, limit)");
        return NULL;
    }
    Py_ssize_t ports = PyLong_AsSsize_t(args[4]);
    long long limit = PyLong_AsLongLong(args[5]);
    if ((ports == -1 || limit == -1) && PyErr_Occurred()) {
        return NULL;
    }
    Py_ssize_t count = PyTuple_GET_SIZE(args[2]);
    unsigned long long numbers[32];
    if (count == 0 || count > 32 || limit < 0) {
        Py_RETURN_FALSE;
    }
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *key = PyTuple_GET_ITEM(args[2], k);
        PyObject *item = PyDict_GetItemWithError(args[1], key);
        if (item == NULL) {
            if (!PyErr_Occurred()) {
                PyErr_SetObject(PyExc_KeyError, key);
            }
            return NULL;
        }
        unsigned long long number;
        if (!PyUnicode_CheckExact(item) || !plain_uint(item, (unsigned long long)limit, &number) ||
            (k < ports && number > 65535)) {
            Py_RETURN_FALSE;
        }
        numbers[k] = number;
    }
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *value = PyLong_FromUnsignedLongLong(numbers[k]);
        if (value == NULL) {
            return NULL;
        }
        int failed = PyDict_SetItem(args[0], PyTuple_GET_ITEM(args[3], k), value);
        Py_DECREF(value);
        if (failed) {
            return NULL;
        }
    }
    Py_RETURN_TRUE;
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

static int big_int_in(const unsigned char *p, Py_ssize_t n);

/* _json.has_big_int: whether some run of 19+ ASCII digits follows one of ``:,[`` or JSON whitespace. */
static PyObject *
has_big_int(PyObject *self, PyObject *arg)
{
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    int found = big_int_in(view.buf, view.len);
    PyBuffer_Release(&view);
    return PyBool_FromLong(found);
}

/* 1 for an ASCII digit, 2 for a character after which a number may start (``:,[`` and JSON space). */
static const unsigned char number_shape[256] = {
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
    [':'] = 2, [','] = 2, ['['] = 2, [' '] = 2, ['\t'] = 2, ['\r'] = 2, ['\n'] = 2,
};

/* Whether 19 digits follow one of those characters: one pass, counting the digits of the current run
 * when it started right after one of them (-1 otherwise). */
static int
big_int_in(const unsigned char *p, Py_ssize_t n)
{
    int run = -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char shape = number_shape[p[i]];
        if (shape == 1) {
            if (run >= 0 && ++run >= 19) {
                return 1;
            }
        }
        else {
            run = shape == 2 ? 0 : -1;
        }
    }
    return 0;
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

static int rename_obj(PyObject *fields, PyObject *obj, PyObject *specs, PyObject *prefix);

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
    if (rename_obj(args[0], args[1], args[2], args[3]) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static int
rename_obj(PyObject *fields, PyObject *obj, PyObject *specs, PyObject *prefix)
{
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
            return -1;
        }
    }
    Py_DECREF(obj);
    return 0;
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

/* fields[name] = value, stealing value; 1 when stored, -1 on error (value NULL: an error is set). */
static int
set_value(PyObject *fields, PyObject *name, PyObject *value)
{
    if (value == NULL) {
        return -1;
    }
    int failed = PyDict_SetItem(fields, name, value);
    Py_DECREF(value);
    return failed < 0 ? -1 : 1;
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

/* The common handlers of _zeek_fields in C, known by identity (zeek_configure's ``handlers``). */
enum { ZH_DURATION = 1, ZH_DOMAIN, ZH_TRANS_ID, ZH_KEPT, ZH_ANSWERS };
static PyObject *zk_handlers; /* handler -> code */
static PyObject *zk_resolved_ip; /* "dns.resolved_ip" */
static PyObject *domain_of(PyObject *value);

/* _zeek_fields._answers for a list of ASCII texts; 2 (run the Python handler) for anything non-ASCII. */
static int
zeek_answers(PyObject *fields, PyObject *name, PyObject *value)
{
    if (!PyList_CheckExact(value)) {
        return 0;
    }
    Py_ssize_t count = PyList_GET_SIZE(value);
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *item = PyList_GET_ITEM(value, k);
        if (!PyUnicode_CheckExact(item)) {
            return 0;
        }
        if (!PyUnicode_IS_ASCII(item)) {
            return 2;
        }
    }
    PyObject *answers = PyList_New(count), *ips = PyList_New(0);
    if (answers == NULL || ips == NULL) {
        goto error;
    }
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *item = PyList_GET_ITEM(value, k), *answer;
        const Py_UCS1 *s = PyUnicode_1BYTE_DATA(item);
        Py_ssize_t n = PyUnicode_GET_LENGTH(item);
        int spaced = memchr(s, ' ', (size_t)n) != NULL;
        if (spaced || n == 0) {
            Py_INCREF(item);
            answer = item;
        }
        else if ((answer = domain_of(item)) == NULL) {
            goto error;
        }
        PyList_SET_ITEM(answers, k, answer);
        if (spaced) {
            continue;
        }
        /* " " not in a and (":" in a or a.replace(".", "").isdigit()), on the normalised answer */
        const Py_UCS1 *a = PyUnicode_1BYTE_DATA(answer);
        Py_ssize_t length = PyUnicode_GET_LENGTH(answer), digits_seen = 0;
        int ip = memchr(a, ':', (size_t)length) != NULL, only_digits = 1;
        for (Py_ssize_t j = 0; j < length && !ip && only_digits; j++) {
            if (a[j] >= '0' && a[j] <= '9') {
                digits_seen++;
            }
            else if (a[j] != '.') {
                only_digits = 0;
            }
        }
        if ((ip || (only_digits && digits_seen > 0)) && PyList_Append(ips, answer) < 0) {
            goto error;
        }
    }
    int failed = PyDict_SetItem(fields, name, answers) < 0 ||
                 (PyList_GET_SIZE(ips) > 0 && PyDict_SetItem(fields, zk_resolved_ip, ips) < 0);
    Py_DECREF(answers);
    Py_DECREF(ips);
    return failed ? -1 : 1;
error:
    Py_XDECREF(answers);
    Py_XDECREF(ips);
    return -1;
}

/* A handler of _zeek_fields run here when it is one of zk_handlers: 1 stored, 0 refused (the value is
 * then flattened), -1 error, 2 not handled here (call the Python function). */
static int
zeek_handler(PyObject *handler, PyObject *fields, PyObject *name, PyObject *value)
{
    if (zk_handlers == NULL) {
        return 2;
    }
    PyObject *found = PyDict_GetItemWithError(zk_handlers, handler);
    if (found == NULL) {
        return PyErr_Occurred() ? -1 : 2;
    }
    switch (PyLong_Check(found) ? PyLong_AsLong(found) : 0) {
    case ZH_DURATION: { /* 0 <= value < 9e9: round(value * 1e9) */
        double x;
        if (PyFloat_CheckExact(value)) {
            x = PyFloat_AS_DOUBLE(value);
        }
        else if (PyLong_CheckExact(value)) {
            int overflow = 0;
            long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
            if (v == -1 && PyErr_Occurred()) {
                return -1;
            }
            if (overflow || v < 0 || v >= 9000000000LL) {
                return 0;
            }
            x = (double)v;
        }
        else {
            return 0;
        }
        if (!(x >= 0 && x < 9e9)) {
            return 0;
        }
        double product = x * 1e9, rounded = round(product);
        if (fabs(product - rounded) == 0.5) {
            rounded = 2.0 * round(product / 2.0);
        }
        return set_value(fields, name, PyLong_FromDouble(rounded));
    }
    case ZH_DOMAIN: {
        PyObject *domain = domain_of(value);
        if (domain == NULL) {
            return PyErr_Occurred() ? -1 : 0;
        }
        return set_value(fields, name, domain);
    }
    case ZH_TRANS_ID: {
        if (!PyLong_CheckExact(value)) {
            return 0;
        }
        int overflow = 0;
        long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
        if (v == -1 && PyErr_Occurred()) {
            return -1;
        }
        if (overflow || v < 0 || v > 65535) {
            return 0;
        }
        return set_value(fields, name, PyUnicode_FromFormat("%lld", v));
    }
    case ZH_KEPT:
        return flatten_into(fields, name, value, 0) < 0 ? -1 : 1;
    case ZH_ANSWERS:
        return zeek_answers(fields, name, value);
    default:
        return 2;
    }
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
        int native = zeek_handler(PyTuple_GET_ITEM(spec, 1), fields, PyTuple_GET_ITEM(spec, 0), value);
        if (native != 2) {
            Py_DECREF(spec);
            if (native) {
                return native < 0 ? -1 : 0;
            }
            goto flat;
        }
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
flat:;
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

static PyObject *zeek_fields_of(PyObject *obj, PyObject *popped, PyObject *skip, PyObject *known,
                                PyObject *names, PyObject *slow, PyObject *prefix, int checked);

static PyObject *
zeek_fields(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 8 || !PyDict_Check(args[0]) || !PyTuple_Check(args[1]) || !PyAnySet_Check(args[2]) ||
        !PyDict_Check(args[3]) || !PyDict_Check(args[4]) || !PyDict_Check(args[5]) ||
        !PyUnicode_Check(args[6])) {
        PyErr_SetString(PyExc_TypeError, "zeek_fields(obj, popped, skip, known, names, slow, prefix, checked)");
        return NULL;
    }
    int checked = PyObject_IsTrue(args[7]);
    if (checked < 0) {
        return NULL;
    }
    return zeek_fields_of(args[0], args[1], args[2], args[3], args[4], args[5], args[6], checked);
}

static PyObject *
zeek_fields_of(PyObject *obj, PyObject *popped, PyObject *skip, PyObject *known, PyObject *names,
               PyObject *slow, PyObject *prefix, int checked)
{
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

/* One more occurrence in a tally [first, last, count, device, allowed] (``seen``, borrowed): count + 1,
 * first/last moved out to ``when``, allowed set when this event's ``outcome`` is not "failure". The
 * address and name tallies of address_scan share it. 0, or -1 on error. */
static int
tally_count(PyObject *seen, PyObject *when, PyObject *outcome)
{
    if (!PyList_CheckExact(seen) || PyList_GET_SIZE(seen) != 5) {
        PyErr_SetString(PyExc_TypeError, "address_scan(): tallies must be 5-lists");
        return -1;
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
    Py_DECREF(seen);
    return (allowed_before < 0 || allowed < 0) ? -1 : 0;
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
    failed = tally_count(seen, when, outcome);
done:
    Py_XDECREF(outcome);
    Py_DECREF(key);
    return failed;
}

/* Whether an event's addresses need the Python path: one of them is in ``ips`` or in a listed range
 * (``range_cache`` answers for the addresses it holds, else ``in_ranges`` is called; NULL: no ranges).
 * 1 or 0, -1 on error. */
static int
address_listed(PyObject *dst, PyObject *src, int dst_ok, int src_ok, PyObject *ips, PyObject *in_ranges,
               PyObject *range_cache)
{
    int wanted = dst_ok ? PyDict_Contains(ips, dst) : 0;
    if (wanted == 0 && src_ok) {
        wanted = PyDict_Contains(ips, src);
    }
    for (int k = 0; wanted == 0 && in_ranges != NULL && k < 2; k++) {
        PyObject *ip = k == 0 ? dst : src;
        PyObject *segment = NULL;
        if (range_cache != NULL && (k == 0 ? dst_ok : src_ok)) {
            segment = PyDict_GetItemWithError(range_cache, ip);
            if (segment == NULL && PyErr_Occurred()) {
                return -1;
            }
        }
        if (segment != NULL && PyLong_CheckExact(segment)) {
            long index = PyLong_AsLong(segment);
            wanted = index == -1 && PyErr_Occurred() ? -1 : index >= 0;
            continue;
        }
        PyObject *result = PyObject_CallOneArg(in_ranges, ip);
        wanted = result == NULL ? -1 : PyObject_IsTrue(result);
        Py_XDECREF(result);
    }
    return wanted;
}

/* The one-name settlement of scan._one_name (see there): the configuration the detector passes as
 * address_scan's 10th argument, (out, domain field names, domain table, now, is_internal). */
typedef struct {
    PyObject *out, *domain_names, *table, *now, *is_internal;
} NameScan;

/* sides.internal_side over (src, dst): a new reference (None when neither is internal). */
static PyObject *
internal_side_of(PyObject *src, PyObject *dst, NameScan *names, PyObject *cache, PyObject *is_local)
{
    PyObject *internal = NULL;
    PyObject *sides[2] = {src, dst};
    for (int k = 0; k < 2; k++) {
        PyObject *value = sides[k];
        if (!PyUnicode_Check(value)) {
            continue;
        }
        PyObject *result = PyObject_CallOneArg(names->is_internal, value);
        int yes = result == NULL ? -1 : PyObject_IsTrue(result);
        Py_XDECREF(result);
        if (yes < 0) {
            return NULL;
        }
        if (!yes) {
            continue;
        }
        int local = address_local(value, 1, cache, is_local);
        if (local < 0) {
            return NULL;
        }
        if (local) {
            internal = value;
            break;
        }
        if (internal == NULL) {
            internal = value;
        }
    }
    internal = internal != NULL ? internal : Py_None;
    Py_INCREF(internal);
    return internal;
}

/* IndicatorSet.match_domain's walk over an already normalised name: the name or a parent (never a bare
 * top-level domain) in the domain table with a live expiry (meta[4] > now). 1 listed (or a table
 * entry of an unexpected shape: the Python path judges), 0 not, -1 on error. */
static int
name_listed(PyObject *name, NameScan *names)
{
    if (!PyDict_Check(names->table) || PyDict_GET_SIZE(names->table) == 0) {
        return PyDict_Check(names->table) ? 0 : 1;
    }
    const Py_UCS1 *s = PyUnicode_1BYTE_DATA(name);
    Py_ssize_t n = PyUnicode_GET_LENGTH(name), start = 0;
    for (;;) {
        PyObject *part = start ? PyUnicode_Substring(name, start, n) : (Py_INCREF(name), name);
        if (part == NULL) {
            return -1;
        }
        PyObject *meta = PyDict_GetItemWithError(names->table, part);
        Py_DECREF(part);
        if (meta == NULL && PyErr_Occurred()) {
            return -1;
        }
        if (meta != NULL) {
            if (!PyTuple_Check(meta) || PyTuple_GET_SIZE(meta) < 5) {
                return 1;
            }
            int live = PyObject_RichCompareBool(PyTuple_GET_ITEM(meta, 4), names->now, Py_GT);
            if (live != 0) {
                return live;
            }
        }
        const Py_UCS1 *dot = memchr(s + start, '.', (size_t)(n - start));
        if (dot == NULL) {
            return 0;
        }
        start = dot - s + 1;
        if (memchr(s + start, '.', (size_t)(n - start)) == NULL) {
            return 0;
        }
    }
}

/* One observed name: ``out[(tenant, name)]`` is [first, last, count, device, allowed], the device
 * (internal_side) worked out only for a new entry or one without a device yet. */
static int
tally_name(NameScan *names, PyObject *tenant, PyObject *name, PyObject *when, PyObject *fields, PyObject *src,
           PyObject *dst, PyObject *cache, PyObject *is_local)
{
    PyObject *key = PyTuple_Pack(2, tenant, name);
    if (key == NULL) {
        return -1;
    }
    int failed = -1;
    PyObject *device = NULL;
    PyObject *outcome = PyDict_GetItemWithError(fields, s_outcome);
    int allowed = outcome == NULL ? (PyErr_Occurred() ? -1 : 1) : PyObject_RichCompareBool(outcome, s_failure, Py_NE);
    PyObject *seen = allowed < 0 ? NULL : PyDict_GetItemWithError(names->out, key);
    if (allowed < 0 || (seen == NULL && PyErr_Occurred())) {
        goto done;
    }
    if (seen == NULL) {
        device = internal_side_of(src, dst, names, cache, is_local);
        PyObject *entry = device == NULL ? NULL
                                         : Py_BuildValue("[OOiOO]", when, when, 1, device, allowed ? Py_True : Py_False);
        if (entry != NULL) {
            failed = PyDict_SetItem(names->out, key, entry);
            Py_DECREF(entry);
        }
        goto done;
    }
    if (tally_count(seen, when, outcome != NULL ? outcome : Py_None) < 0) {
        goto done;
    }
    if (PyList_GET_ITEM(seen, 3) == Py_None) { /* a device only when none was known yet */
        device = internal_side_of(src, dst, names, cache, is_local);
        if (device == NULL) {
            goto done;
        }
        Py_INCREF(device);
        PyList_SetItem(seen, 3, device);
    }
    failed = 0;
done:
    Py_XDECREF(device);
    Py_DECREF(key);
    return failed;
}

/* scan._one_name: 1 when the event is settled here (its one domain name tallied when ``observe``),
 * 0 when the Python path must see it, -1 on error. */
static int
one_name(PyObject *event, PyObject *fields, PyObject *dst, PyObject *src, int dst_ok, int src_ok,
         PyObject *rare_names, NameScan *names, int observe, PyObject *const *args, PyObject *range_cache)
{
    PyObject *found_field = NULL, *value = NULL;
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(rare_names); k++) {
        PyObject *item = PyDict_GetItemWithError(fields, PyTuple_GET_ITEM(rare_names, k));
        if (item == NULL) {
            if (PyErr_Occurred()) {
                return -1;
            }
            continue;
        }
        if (found_field != NULL) {
            return 0; /* two rare fields */
        }
        found_field = PyTuple_GET_ITEM(rare_names, k);
        value = item;
    }
    if (found_field == NULL || !PyUnicode_CheckExact(value) || !PyUnicode_IS_ASCII(value)) {
        return 0;
    }
    int domain = PySet_Contains(names->domain_names, found_field);
    Py_ssize_t n = PyUnicode_GET_LENGTH(value);
    if (domain <= 0 || n > 253) { /* values.MAX_DOMAIN */
        return domain < 0 ? -1 : 0;
    }
    const Py_UCS1 *s = PyUnicode_1BYTE_DATA(value);
    while (n > 0 && (s[n - 1] == '.')) {
        n--;
    }
    int dot = 0, colon = 0, numeric = n > 0 && s[n - 1] >= '0' && s[n - 1] <= '9';
    for (Py_ssize_t k = 0; k < n; k++) {
        dot |= s[k] == '.';
        colon |= s[k] == ':';
        numeric &= (s[k] >= '0' && s[k] <= '9') || s[k] == '.';
    }
    if (!dot || colon || numeric) { /* no candidate, or sides.ip_like: the Python path decides */
        return 0;
    }
    if ((PyUnicode_Check(dst) && !dst_ok) || (PyUnicode_Check(src) && !src_ok)) {
        return 0; /* a str subclass */
    }
    int listed = address_listed(dst, src, dst_ok, src_ok, args[1], args[4] == Py_None ? NULL : args[4],
                                range_cache);
    if (listed != 0) {
        return listed < 0 ? -1 : 0;
    }
    PyObject *name = PyUnicode_New(n, 127);
    if (name == NULL) {
        return -1;
    }
    Py_UCS1 *d = PyUnicode_1BYTE_DATA(name);
    for (Py_ssize_t k = 0; k < n; k++) {
        d[k] = (s[k] >= 'A' && s[k] <= 'Z') ? (Py_UCS1)(s[k] + 32) : s[k];
    }
    int result = name_listed(name, names);
    if (result == 0) {
        result = 1;
        if (observe) {
            PyObject *when = PyObject_GetAttr(event, s_timestamp);
            PyObject *tenant = when == NULL ? NULL : PyObject_GetAttr(event, s_tenant_id);
            if (tenant == NULL ||
                tally_name(names, tenant, name, when, fields, src, dst, args[2], args[3]) < 0) {
                result = -1;
            }
            Py_XDECREF(when);
            Py_XDECREF(tenant);
        }
    }
    else if (result == 1) {
        result = 0; /* listed: the finding is the Python path's */
    }
    Py_DECREF(name);
    return result;
}

/* address_scan(events, ips, local_cache, is_local, in_ranges, rare_fields, addresses, observe,
 * range_cache) runs the per-event part of IndicatorDetector.detect that needs no look-up beyond the
 * addresses, in event order: the observed external addresses are tallied into ``addresses`` (when
 * ``observe``), and the result lists, as ``2 * index + rare``, the events that need the Python path:
 * those with a rare field, and those whose address is listed or in a range (``in_ranges`` is None
 * without ranges; ``range_cache``, the store's {address: segment index or -1}, answers for the
 * addresses it holds without calling it). None when an event's fields are not a dict (the caller then
 * runs its own loop). */
static PyObject *
address_scan(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if ((nargs != 9 && nargs != 10) || !PyList_CheckExact(args[0]) || !PyDict_Check(args[1]) ||
        !PyDict_Check(args[2]) || !PyAnySet_Check(args[5]) || !PyDict_Check(args[6]) ||
        (args[8] != Py_None && !PyDict_Check(args[8]))) {
        PyErr_SetString(PyExc_TypeError,
                        "address_scan(events: list, ips, local_cache, is_local, in_ranges, rare_fields, "
                        "addresses, observe, range_cache[, names])");
        return NULL;
    }
    NameScan names = {NULL, NULL, NULL, NULL, NULL};
    int use_names = nargs == 10 && args[9] != Py_None;
    if (use_names) {
        PyObject *config = args[9];
        if (!PyTuple_CheckExact(config) || PyTuple_GET_SIZE(config) != 5 ||
            !PyDict_Check(PyTuple_GET_ITEM(config, 0)) || !PyAnySet_Check(PyTuple_GET_ITEM(config, 1))) {
            PyErr_SetString(PyExc_TypeError,
                            "address_scan(): names must be (out: dict, domain_names: set, table, now, is_internal)");
            return NULL;
        }
        names.out = PyTuple_GET_ITEM(config, 0);
        names.domain_names = PyTuple_GET_ITEM(config, 1);
        names.table = PyTuple_GET_ITEM(config, 2);
        names.now = PyTuple_GET_ITEM(config, 3);
        names.is_internal = PyTuple_GET_ITEM(config, 4);
    }
    PyObject *range_cache = args[8] == Py_None ? NULL : args[8];
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
    /* rare = not rare_fields.isdisjoint(fields), tested by looking each rare name up in the fields */
    PyObject *rare_names = PySequence_Tuple(rare_fields);
    if (rare_names == NULL) {
        return NULL;
    }
    PyObject *slow = PyList_New(0);
    if (slow == NULL) {
        Py_DECREF(rare_names);
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
        int rare = 0;
        for (Py_ssize_t k = 0; !rare && k < PyTuple_GET_SIZE(rare_names); k++) {
            rare = PyDict_Contains(fields, PyTuple_GET_ITEM(rare_names, k));
            if (rare < 0) {
                goto next;
            }
        }
        int wanted = rare;
        if (rare && use_names) {
            int settled = one_name(event, fields, dst, src, dst_ok, src_ok, rare_names, &names, observe, args,
                                   range_cache);
            if (settled < 0) {
                goto next;
            }
            wanted = !settled;
        }
        else if (!wanted) {
            wanted = address_listed(dst, src, dst_ok, src_ok, ips, in_ranges, range_cache);
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
            Py_DECREF(rare_names);
            return NULL;
        }
    }
    Py_DECREF(events);
    Py_DECREF(rare_names);
    return slow;
}

/* ------------------------------------------------------------------------------------------------ */
/* parsers.evtx: the System walk (evtx._system), the EventData (evtx._event_data) with their         */
/* "winlog.event_data." names, and evtx.values.get / copy.                                           */

#define EVTX_MAX_FIELDS 4096 /* evtx._MAX_FIELDS */
#define EVTX_NAMES_MAX 4096  /* prefixed EventData names kept in ev_names */
#define EVTX_NAME_LEN 64     /* only names up to this length are kept */

/* Set by evtx_configure(): evtx._system_plan() (ev_plan_of), _LEVELS, _value (for the values this
 * file does not convert itself), _ED (the EventData prefix) and values.NONE. */
static PyObject *ev_levels, *ev_value_fn, *ev_prefix;
#define PLAN_TIME_CREATED 1 /* the kinds of System elements in the plan */
#define PLAN_EVENT_ID 2
#define EVTX_FIELDS_SIZE 48 /* an Event's fields, presized: most records have fewer */
static PyObject *ev_names; /* EventData name -> prefixed field name, bounded (EVTX_NAMES_MAX) */
static PyObject *ev_none;         /* evtx.values.NONE: what Windows writes for "no value" */
static Py_ssize_t ev_none_length; /* the length of its longest member */
static PyObject *es_attributes, *es_text, *es_xmlns, *es_xmlns_bare, *es_name, *es_at_name, *es_data,
    *es_system_time, *es_event_id, *es_code, *es_record_id, *es_event_record_id, *es_provider,
    *es_event_provider, *es_computer, *es_host, *es_event_data, *es_true, *es_false, *es_empty;

/* evtx._int: an int in [0, 2**63 - 1], or a str of 1 to 19 ASCII digits, as int; anything else None.
 * New reference (Py_None for None); NULL on error. */
static PyObject *
ev_int(PyObject *value)
{
    if (PyLong_CheckExact(value)) {
        int overflow = 0;
        long long n = PyLong_AsLongLongAndOverflow(value, &overflow);
        if (n == -1 && PyErr_Occurred()) {
            return NULL;
        }
        if (overflow != 0 || n < 0) {
            Py_RETURN_NONE;
        }
        return Py_NewRef(value);
    }
    if (PyUnicode_CheckExact(value)) {
        if (READY(value) < 0) {
            return NULL;
        }
        Py_ssize_t len = PyUnicode_GET_LENGTH(value);
        if (len < 1 || len > 19 || !PyUnicode_IS_ASCII(value)) {
            Py_RETURN_NONE;
        }
        const Py_UCS1 *chars = PyUnicode_1BYTE_DATA(value);
        unsigned long long n = 0; /* 19 digits stay below 2**64 */
        for (Py_ssize_t i = 0; i < len; i++) {
            if (chars[i] < '0' || chars[i] > '9') {
                Py_RETURN_NONE;
            }
            n = n * 10 + (unsigned long long)(chars[i] - '0');
        }
        return PyLong_FromUnsignedLongLong(n);
    }
    Py_RETURN_NONE;
}

/* str(number) for an exact int: the texts of 0..EVTX_SMALL-1 kept, others written here (the same
 * decimal text as int.__str__); beyond 64 bits, int.__str__ itself. New reference, NULL on error. */
#define EVTX_SMALL 1024
static PyObject *ev_small[EVTX_SMALL];

static PyObject *
ev_int_text(PyObject *number)
{
    int overflow = 0;
    long long n = PyLong_AsLongLongAndOverflow(number, &overflow);
    if (n == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (overflow != 0) {
        return PyObject_Str(number);
    }
    if (n >= 0 && n < EVTX_SMALL) {
        if (ev_small[n] == NULL) {
            ev_small[n] = PyObject_Str(number);
        }
        return Py_XNewRef(ev_small[n]);
    }
    char digits[24];
    char *end = digits + sizeof(digits), *at = end;
    unsigned long long rest = n < 0 ? 0ULL - (unsigned long long)n : (unsigned long long)n;
    do {
        *--at = (char)('0' + rest % 10);
        rest /= 10;
    } while (rest != 0);
    if (n < 0) {
        *--at = '-';
    }
    PyObject *text = PyUnicode_New(end - at, 127);
    if (text != NULL) {
        memcpy(PyUnicode_1BYTE_DATA(text), at, (size_t)(end - at));
    }
    return text;
}

/* evtx._scalar_text for str, bool, int, float and None: a new reference; NULL for anything else
 * (without an exception) or on error. */
static PyObject *
ev_scalar(PyObject *value)
{
    if (PyUnicode_CheckExact(value)) {
        return Py_NewRef(value);
    }
    if (value == Py_True) {
        return Py_NewRef(es_true);
    }
    if (value == Py_False) {
        return Py_NewRef(es_false);
    }
    if (PyLong_CheckExact(value)) {
        return ev_int_text(value);
    }
    if (PyFloat_CheckExact(value)) {
        return PyObject_Str(value);
    }
    if (value == Py_None) {
        return Py_NewRef(es_empty);
    }
    return NULL;
}

/* evtx._value: a data item's value as text; lists, objects and anything else go to the Python
 * function itself. New reference, NULL on error. */
static PyObject *
ev_value(PyObject *value)
{
    PyObject *text = ev_scalar(value);
    if (text != NULL || PyErr_Occurred()) {
        return text;
    }
    return PyObject_CallOneArg(ev_value_fn, value);
}

/* Steals ``value``: fields[name] = value. 0, or -1 on error. */
static int
ev_set(PyObject *fields, PyObject *name, PyObject *value)
{
    if (value == NULL) {
        return -1;
    }
    int rc = PyDict_SetItem(fields, name, value);
    Py_DECREF(value);
    return rc;
}

/* evtx._system_number: a System number under its field name, ``spec`` = (field, mode): mode 0 int,
 * 1 the log.level word, 2 text. */
static int
ev_number(PyObject *fields, PyObject *spec, PyObject *value)
{
    PyObject *name = PyTuple_GET_ITEM(spec, 0);
    long mode = PyLong_AsLong(PyTuple_GET_ITEM(spec, 1));
    PyObject *number = ev_int(value);
    if (number == NULL) {
        return -1;
    }
    if (number == Py_None) {
        Py_DECREF(number);
        return 0;
    }
    if (mode == 0) {
        return ev_set(fields, name, number);
    }
    PyObject *out = NULL;
    if (mode == 1) {
        out = PyDict_GetItemWithError(ev_levels, number);
        if (out != NULL) {
            Py_INCREF(out);
        }
        else if (PyErr_Occurred()) {
            Py_DECREF(number);
            return -1;
        }
    }
    if (out == NULL) {
        out = ev_int_text(number);
    }
    Py_DECREF(number);
    return ev_set(fields, name, out);
}

/* evtx._system_attrs: the attributes of one System element (Provider, Execution...) to fields;
 * ``names`` maps an attribute to (field, whether the field is an int). */
static int
ev_system_attrs(PyObject *names, PyObject *attrs, PyObject *fields)
{
    Py_ssize_t pos = 0;
    PyObject *attr, *value;
    while (PyDict_Next(attrs, &pos, &attr, &value)) {
        PyObject *spec = PyDict_GetItemWithError(names, attr);
        if (spec == NULL) {
            if (PyErr_Occurred()) {
                return -1;
            }
            continue;
        }
        PyObject *name = PyTuple_GET_ITEM(spec, 0);
        if (PyTuple_GET_ITEM(spec, 1) == Py_True) {
            PyObject *number = ev_int(value);
            if (number == NULL) {
                return -1;
            }
            if (number == Py_None) {
                Py_DECREF(number);
            }
            else if (ev_set(fields, name, number) < 0) {
                return -1;
            }
        }
        else if (PyUnicode_CheckExact(value) && PyUnicode_GET_LENGTH(value) > 0) {
            if (PyDict_SetItem(fields, name, value) < 0) {
                return -1;
            }
        }
    }
    return 0;
}

/* The plan entry of a System element: ev_plan's keys are few ASCII names, compared by length and
 * bytes (a dict lookup would compare the same bytes after hashing). Borrowed; NULL when absent. */
#define EVTX_PLAN_MAX 64
static PyObject *ev_plan_keys[EVTX_PLAN_MAX], *ev_plan_values[EVTX_PLAN_MAX];
static Py_ssize_t ev_plan_count;

static PyObject *
ev_plan_of(PyObject *key)
{
    if (!PyUnicode_CheckExact(key) || !PyUnicode_IS_COMPACT_ASCII(key)) {
        return NULL; /* the plan's keys are ASCII str */
    }
    Py_ssize_t len = PyUnicode_GET_LENGTH(key);
    const Py_UCS1 *chars = PyUnicode_1BYTE_DATA(key);
    for (Py_ssize_t i = 0; i < ev_plan_count; i++) {
        PyObject *known = ev_plan_keys[i];
        if (known == key ||
            (PyUnicode_GET_LENGTH(known) == len && memcmp(PyUnicode_1BYTE_DATA(known), chars, (size_t)len) == 0)) {
            return ev_plan_values[i];
        }
    }
    return NULL;
}

/* "winlog.event_data." + key, from a bounded cache of the names seen. New reference. */
static PyObject *
ev_name(PyObject *key)
{
    PyObject *name = PyDict_GetItemWithError(ev_names, key);
    if (name != NULL) {
        return Py_NewRef(name);
    }
    if (PyErr_Occurred()) {
        return NULL;
    }
    name = PyUnicode_Concat(ev_prefix, key);
    if (name != NULL && PyDict_GET_SIZE(ev_names) < EVTX_NAMES_MAX &&
        PyUnicode_GET_LENGTH(key) <= EVTX_NAME_LEN && PyDict_SetItem(ev_names, key, name) < 0) {
        Py_CLEAR(name);
    }
    return name;
}

/* fields[to] = fields[from] when present. */
static int
ev_copy(PyObject *fields, PyObject *from, PyObject *to)
{
    PyObject *value = PyDict_GetItemWithError(fields, from);
    if (value == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    Py_INCREF(value);
    return ev_set(fields, to, value);
}

/* "param<number>" (1-based), the first EVTX_PARAMS of them kept. New reference. */
#define EVTX_PARAMS 64
static PyObject *ev_params[EVTX_PARAMS];

static PyObject *
ev_param(Py_ssize_t number)
{
    if (number <= EVTX_PARAMS && ev_params[number - 1] != NULL) {
        return Py_NewRef(ev_params[number - 1]);
    }
    PyObject *name = PyUnicode_FromFormat("param%zd", number);
    if (name != NULL && number <= EVTX_PARAMS) {
        ev_params[number - 1] = Py_NewRef(name);
    }
    return name;
}

/* evtx._data_items: the Data elements of EventData, named ones into ``items``, the values of the
 * others onto the list ``unnamed``. 0, or -1 on error. */
static int
ev_data_items(PyObject *node, PyObject *items, PyObject *unnamed)
{
    int many = PyList_CheckExact(node);
    for (Py_ssize_t i = 0; i < (many ? PyList_GET_SIZE(node) : 1); i++) {
        if (PyList_GET_SIZE(unnamed) > EVTX_MAX_FIELDS) {
            return 0; /* too many already: the caller leaves the record to the Python code */
        }
        PyObject *item = many ? PyList_GET_ITEM(node, i) : node;
        if (!PyDict_CheckExact(item)) {
            if (PyList_Append(unnamed, item) < 0) {
                return -1;
            }
            continue;
        }
        Py_INCREF(item);
        PyObject *attrs = PyDict_GetItemWithError(item, es_attributes), *name = NULL, *text = NULL;
        if (!PyErr_Occurred()) {
            name = attrs != NULL && PyDict_CheckExact(attrs) ? PyDict_GetItemWithError(attrs, es_name)
                                                              : PyDict_GetItemWithError(item, es_at_name);
        }
        if (!PyErr_Occurred()) {
            text = PyDict_GetItemWithError(item, es_text);
        }
        int rc = PyErr_Occurred() ? -1 : 0; /* -1: a lookup failed */
        text = text != NULL ? text : Py_None;
        if (rc == 0 && name != NULL && PyUnicode_CheckExact(name) && PyUnicode_GET_LENGTH(name) > 0) {
            Py_INCREF(name);
            rc = ev_set(items, name, ev_value(text));
            Py_DECREF(name);
        }
        else if (rc == 0 && PyList_CheckExact(text)) {
            Py_ssize_t end = PyList_GET_SIZE(unnamed);
            rc = PyList_SetSlice(unnamed, end, end, text);
        }
        else if (rc == 0) {
            rc = PyList_Append(unnamed, text);
        }
        Py_DECREF(item);
        if (rc < 0) {
            return -1;
        }
    }
    return 0;
}

/* evtx._event_data: EventData as {Name: text} into ``items``, unnamed values as param1..N plus the
 * list Data. 1 done, 0 not done (the Python code decides: it refuses too many items), -1 error. */
static int
ev_event_data(PyObject *node, PyObject *items)
{
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    int classic = 1;
    if (PyDict_CheckExact(node)) {
        if (PyDict_GET_SIZE(node) > EVTX_MAX_FIELDS) {
            return 0;
        }
        classic = 0;
        while (PyDict_Next(node, &pos, &key, &value)) {
            if (!PyUnicode_CheckExact(key)) {
                return 0;
            }
            if (!classic && PyUnicode_GET_LENGTH(key) > 0) { /* "Data", "#text", "#attributes", "@xmlns" */
                Py_UCS4 first = PyUnicode_READ_CHAR(key, 0);
                classic = (first == 'D' || first == '#' || first == '@') &&
                          (PyUnicode_Compare(key, es_data) == 0 || PyUnicode_Compare(key, es_text) == 0 ||
                           PyUnicode_Compare(key, es_attributes) == 0 || PyUnicode_Compare(key, es_xmlns) == 0);
            }
        }
        if (!classic) { /* the common case, named values only: a copy with the non-text values converted */
            if (PyDict_Update(items, node) < 0) {
                return -1;
            }
            pos = 0;
            while (PyDict_Next(node, &pos, &key, &value)) {
                if (!PyUnicode_CheckExact(value) && ev_set(items, key, ev_value(value)) < 0) {
                    return -1;
                }
            }
            return 1;
        }
    }
    PyObject *unnamed = PyList_New(0), *texts = NULL;
    if (unnamed == NULL) {
        return -1;
    }
    int rc = 1;
    if (!PyDict_CheckExact(node)) {
        rc = ev_data_items(node, items, unnamed) < 0 ? -1 : 1;
    }
    else {
        pos = 0;
        while (rc > 0 && PyDict_Next(node, &pos, &key, &value)) {
            if (PyUnicode_Compare(key, es_data) == 0 || PyUnicode_Compare(key, es_text) == 0) {
                if (value != Py_None && ev_data_items(value, items, unnamed) < 0) {
                    rc = -1;
                }
            }
            else if (PyUnicode_Compare(key, es_attributes) != 0 && PyUnicode_Compare(key, es_xmlns_bare) != 0 &&
                     (PyUnicode_GET_LENGTH(key) == 0 || PyUnicode_READ_CHAR(key, 0) != '@')) {
                rc = ev_set(items, key, ev_value(value)) < 0 ? -1 : 1;
            }
        }
    }
    Py_ssize_t count = PyList_GET_SIZE(unnamed);
    if (rc > 0 && count > EVTX_MAX_FIELDS) {
        rc = 0;
    }
    if (rc > 0 && count > 0) {
        texts = PyList_New(count);
        for (Py_ssize_t i = 0; texts != NULL && i < count; i++) {
            PyObject *text = ev_scalar(PyList_GET_ITEM(unnamed, i));
            if (text == NULL) {
                rc = PyErr_Occurred() ? -1 : 0;
                break;
            }
            PyList_SET_ITEM(texts, i, text);
        }
        rc = texts == NULL ? -1 : rc;
        for (Py_ssize_t i = 0; rc > 0 && i < count; i++) {
            PyObject *name = ev_param(i + 1);
            if (name == NULL || PyDict_SetItem(items, name, PyList_GET_ITEM(texts, i)) < 0) {
                rc = -1;
            }
            Py_XDECREF(name);
        }
        if (rc > 0 && PyDict_SetItem(items, es_data, texts) < 0) {
            rc = -1;
        }
    }
    Py_XDECREF(texts);
    Py_DECREF(unnamed);
    return rc;
}

/* ``count`` ASCII digits at chars[at] as a number, or -1. */
static inline int
ev_digits(const Py_UCS1 *chars, Py_ssize_t at, Py_ssize_t count)
{
    int n = 0;
    for (Py_ssize_t i = at; i < at + count; i++) {
        if (chars[i] < '0' || chars[i] > '9') {
            return -1;
        }
        n = n * 10 + (chars[i] - '0');
    }
    return n;
}

/* The package's SystemTime, "YYYY-MM-DDTHH:MM:SS.ffffffZ" or "YYYY-MM-DDTHH:MM:SSZ", as an aware UTC
 * datetime: what evtx._timestamp (datetime.fromisoformat) gives for these two forms. A new reference;
 * NULL without an exception for any other text or an invalid date (evtx._timestamp decides then). */
static PyObject *
ev_time(PyObject *text)
{
    Py_ssize_t len = PyUnicode_GET_LENGTH(text);
    if ((len != 27 && len != 20) || !PyUnicode_IS_ASCII(text)) {
        return NULL;
    }
    const Py_UCS1 *c = PyUnicode_1BYTE_DATA(text);
    if (c[4] != '-' || c[7] != '-' || c[10] != 'T' || c[13] != ':' || c[16] != ':' || c[len - 1] != 'Z' ||
        (len == 27 && c[19] != '.')) {
        return NULL;
    }
    int year = ev_digits(c, 0, 4), month = ev_digits(c, 5, 2), day = ev_digits(c, 8, 2);
    int hour = ev_digits(c, 11, 2), minute = ev_digits(c, 14, 2), second = ev_digits(c, 17, 2);
    int micro = len == 27 ? ev_digits(c, 20, 6) : 0;
    if (year < 1 || month < 0 || day < 0 || hour < 0 || hour > 23 || minute < 0 || second < 0 || micro < 0) {
        return NULL;
    }
    PyObject *when = PyDateTimeAPI->DateTime_FromDateAndTime(year, month, day, hour, minute, second, micro,
                                                            PyDateTime_TimeZone_UTC, PyDateTimeAPI->DateTimeType);
    if (when == NULL && PyErr_ExceptionMatches(PyExc_ValueError)) { /* day 31 of April...: Python's error */
        PyErr_Clear();
    }
    return when;
}

/* evtx_fields(system, event, doc): what evtx.parse builds with _system, _event_data and the prefixing,
 * as (fields, items, time): time is the SystemTime (or the document's timestamp) as an aware datetime
 * when it has the package's own format, else the raw value for evtx._timestamp. None when the record
 * is not a case handled here (no integer EventID, too many data items, a key that is not a str, an
 * unnamed value that is an object or list): the Python code then runs and gives the result or the
 * ParseError. */
static PyObject *
evtx_fields(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyDict_CheckExact(args[0]) || !PyDict_CheckExact(args[1]) || !PyDict_CheckExact(args[2])) {
        PyErr_SetString(PyExc_TypeError, "evtx_fields(system, event, doc) needs three dicts");
        return NULL;
    }
    if (ev_prefix == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "evtx_configure() was not called");
        return NULL;
    }
    PyObject *system = args[0], *event = args[1], *doc = args[2];
    PyObject *items = NULL, *systime = NULL, *number = NULL, *result = NULL;
    PyObject *event_id = NULL; /* borrowed from system, which the caller holds */
    PyObject *fields = NEW_DICT(EVTX_FIELDS_SIZE);
    if (fields == NULL) {
        return NULL;
    }
    Py_ssize_t pos = 0;
    PyObject *key, *node;
    while (PyDict_Next(system, &pos, &key, &node)) {
        PyObject *plan = ev_plan_of(key); /* (names, text, number, kind) */
        if (plan == NULL) {
            continue; /* an element _system does nothing with */
        }
        PyObject *names = PyTuple_GET_ITEM(plan, 0), *text = PyTuple_GET_ITEM(plan, 1);
        PyObject *numeric = PyTuple_GET_ITEM(plan, 2);
        long kind = PyLong_AsLong(PyTuple_GET_ITEM(plan, 3));
        PyObject *value = node;
        if (PyDict_CheckExact(node)) {
            PyObject *attrs = PyDict_GetItemWithError(node, es_attributes);
            if (attrs == NULL && PyErr_Occurred()) {
                goto error;
            }
            if (attrs != NULL && PyDict_CheckExact(attrs)) {
                if (names != Py_None) {
                    if (ev_system_attrs(names, attrs, fields) < 0) {
                        goto error;
                    }
                }
                else if (kind == PLAN_TIME_CREATED) {
                    PyObject *found = PyDict_GetItemWithError(attrs, es_system_time);
                    if (found == NULL && PyErr_Occurred()) {
                        goto error;
                    }
                    Py_XINCREF(found);
                    Py_XSETREF(systime, found);
                }
            }
            value = PyDict_GetItemWithError(node, es_text);
            if (value == NULL) {
                if (PyErr_Occurred()) {
                    goto error;
                }
                value = Py_None;
            }
        }
        if (kind == PLAN_EVENT_ID) {
            event_id = value;
        }
        else if (PyUnicode_CheckExact(value) && text != Py_None) {
            if (PyUnicode_GET_LENGTH(value) > 0 && PyDict_SetItem(fields, text, value) < 0) {
                goto error;
            }
        }
        else if ((PyUnicode_CheckExact(value) || PyLong_CheckExact(value)) && numeric != Py_None) {
            if (ev_number(fields, numeric, value) < 0) {
                goto error;
            }
        }
    }
    if (event_id == NULL) {
        goto fallback;
    }
    number = ev_int(event_id);
    if (number == NULL) {
        goto error;
    }
    if (number == Py_None) {
        goto fallback;
    }
    if (PyDict_SetItem(fields, es_event_id, number) < 0 || ev_set(fields, es_code, ev_int_text(number)) < 0) {
        goto error;
    }
    int has = PyDict_Contains(fields, es_record_id);
    if (has < 0) {
        goto error;
    }
    if (!has) {
        PyObject *found = PyDict_GetItemWithError(doc, es_event_record_id);
        if (found == NULL && PyErr_Occurred()) {
            goto error;
        }
        if (found != NULL) {
            PyObject *record_id = ev_int(found);
            if (record_id == NULL) {
                goto error;
            }
            if (record_id == Py_None) {
                Py_DECREF(record_id);
            }
            else if (ev_set(fields, es_record_id, record_id) < 0) {
                goto error;
            }
        }
    }
    if (ev_copy(fields, es_provider, es_event_provider) < 0 || ev_copy(fields, es_computer, es_host) < 0) {
        goto error;
    }
    if (systime == NULL || systime == Py_None) {
        PyObject *found = PyDict_GetItemWithError(doc, s_timestamp);
        if (found == NULL && PyErr_Occurred()) {
            goto error;
        }
        Py_XSETREF(systime, Py_NewRef(found != NULL ? found : Py_None));
    }
    if (PyUnicode_CheckExact(systime)) {
        PyObject *when = ev_time(systime);
        if (when == NULL && PyErr_Occurred()) {
            goto error;
        }
        if (when != NULL) {
            Py_SETREF(systime, when);
        }
    }
    items = PyDict_New();
    if (items == NULL) {
        goto error;
    }
    node = PyDict_GetItemWithError(event, es_event_data);
    if (node == NULL && PyErr_Occurred()) {
        goto error;
    }
    if (node != NULL && node != Py_None) {
        Py_INCREF(node);
        int done = ev_event_data(node, items);
        Py_DECREF(node);
        if (done < 0) {
            goto error;
        }
        if (done == 0) {
            goto fallback;
        }
    }
    pos = 0;
    while (PyDict_Next(items, &pos, &key, &node)) { /* the items' field names, in their order */
        PyObject *name = ev_name(key);
        if (name == NULL) {
            goto error;
        }
        int rc = PyDict_SetItem(fields, name, node);
        Py_DECREF(name);
        if (rc < 0) {
            goto error;
        }
    }
    result = PyTuple_Pack(3, fields, items, systime);
    goto error; /* the common exit: drop this function's references */
fallback:
    result = Py_NewRef(Py_None);
error:
    Py_DECREF(fields);
    Py_XDECREF(items);
    Py_XDECREF(systime);
    Py_XDECREF(number);
    return result;
}

/* evtx_get(data, name): evtx.values.get, a data item's text or None when absent, not a str or one of
 * the "no value" placeholders. */
static PyObject *
evtx_get(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyDict_CheckExact(args[0])) {
        PyErr_SetString(PyExc_TypeError, "evtx_get(data, name) needs a dict and a key");
        return NULL;
    }
    if (ev_none == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "evtx_configure() was not called");
        return NULL;
    }
    PyObject *value = PyDict_GetItemWithError(args[0], args[1]);
    if (value == NULL) {
        if (PyErr_Occurred()) {
            return NULL;
        }
        Py_RETURN_NONE;
    }
    if (!PyUnicode_CheckExact(value)) {
        Py_RETURN_NONE;
    }
    if (PyUnicode_GET_LENGTH(value) <= ev_none_length) {
        int placeholder = PySet_Contains(ev_none, value);
        if (placeholder != 0) {
            if (placeholder < 0) {
                return NULL;
            }
            Py_RETURN_NONE;
        }
    }
    return Py_NewRef(value);
}

/* evtx_copy(fields, data, names): evtx.values.copy, fields[name] = get(data, key) for every key, name
 * of ``names`` whose value get() keeps. */
static PyObject *
evtx_copy(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyDict_CheckExact(args[0]) || !PyDict_CheckExact(args[1]) || !PyDict_CheckExact(args[2])) {
        PyErr_SetString(PyExc_TypeError, "evtx_copy(fields, data, names) needs three dicts");
        return NULL;
    }
    Py_ssize_t pos = 0;
    PyObject *key, *name;
    while (PyDict_Next(args[2], &pos, &key, &name)) {
        PyObject *pair[2] = {args[1], key};
        PyObject *value = evtx_get(self, pair, 2);
        if (value == NULL) {
            return NULL;
        }
        int rc = value == Py_None ? 0 : PyDict_SetItem(args[0], name, value);
        Py_DECREF(value);
        if (rc < 0) {
            return NULL;
        }
    }
    Py_RETURN_NONE;
}

/* Whether ``spec`` is (field, a value of type ``second``). */
static int
ev_spec(PyObject *spec, PyTypeObject *second)
{
    return PyTuple_CheckExact(spec) && PyTuple_GET_SIZE(spec) == 2 && PyUnicode_CheckExact(PyTuple_GET_ITEM(spec, 0)) &&
           Py_TYPE(PyTuple_GET_ITEM(spec, 1)) == second;
}

/* Whether ``entry`` is a plan entry: (None or {attr: (field, is_int)}, None or field,
 * None or (field, mode), kind), under an ASCII name. */
static int
ev_plan_entry(PyObject *key, PyObject *entry)
{
    if (!PyUnicode_CheckExact(key) || !PyUnicode_IS_COMPACT_ASCII(key) || !PyTuple_CheckExact(entry) ||
        PyTuple_GET_SIZE(entry) != 4 || !PyLong_CheckExact(PyTuple_GET_ITEM(entry, 3))) {
        return 0;
    }
    PyObject *names = PyTuple_GET_ITEM(entry, 0), *text = PyTuple_GET_ITEM(entry, 1);
    PyObject *numeric = PyTuple_GET_ITEM(entry, 2);
    if (names != Py_None) {
        if (!PyDict_CheckExact(names)) {
            return 0;
        }
        Py_ssize_t pos = 0;
        PyObject *attr, *spec;
        while (PyDict_Next(names, &pos, &attr, &spec)) {
            if (!ev_spec(spec, &PyBool_Type)) {
                return 0;
            }
        }
    }
    return (text == Py_None || PyUnicode_CheckExact(text)) && (numeric == Py_None || ev_spec(numeric, &PyLong_Type));
}

/* evtx_configure(plan, levels, value, prefix, none): evtx's tables (see ev_plan_of and evtx_fields). */
static PyObject *
evtx_configure(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5 || !PyDict_CheckExact(args[0]) || !PyDict_CheckExact(args[1]) || !PyCallable_Check(args[2]) ||
        !PyUnicode_CheckExact(args[3]) || !PyFrozenSet_CheckExact(args[4])) {
        PyErr_SetString(PyExc_TypeError, "evtx_configure(plan, levels, value, prefix, none): bad arguments");
        return NULL;
    }
    if (PyDict_GET_SIZE(args[0]) > EVTX_PLAN_MAX) {
        PyErr_SetString(PyExc_ValueError, "evtx_configure(): too many System elements in the plan");
        return NULL;
    }
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(args[0], &pos, &key, &value)) {
        if (!ev_plan_entry(key, value)) {
            PyErr_SetString(PyExc_TypeError, "evtx_configure(): a plan entry is ASCII name: (names, text, number, kind)");
            return NULL;
        }
    }
    Py_ssize_t longest = 0;
    PyObject *members = PyObject_GetIter(args[4]), *member;
    if (members == NULL) {
        return NULL;
    }
    while ((member = PyIter_Next(members)) != NULL) {
        int text = PyUnicode_CheckExact(member);
        if (text && PyUnicode_GET_LENGTH(member) > longest) {
            longest = PyUnicode_GET_LENGTH(member);
        }
        Py_DECREF(member);
        if (!text) {
            Py_DECREF(members);
            PyErr_SetString(PyExc_TypeError, "evtx_configure(): none holds str");
            return NULL;
        }
    }
    Py_DECREF(members);
    if (PyErr_Occurred()) {
        return NULL;
    }
    PyObject *names = PyDict_New();
    if (names == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < ev_plan_count; i++) {
        Py_CLEAR(ev_plan_keys[i]);
        Py_CLEAR(ev_plan_values[i]);
    }
    ev_plan_count = 0;
    pos = 0;
    while (PyDict_Next(args[0], &pos, &key, &value)) {
        ev_plan_keys[ev_plan_count] = Py_NewRef(key);
        ev_plan_values[ev_plan_count++] = Py_NewRef(value);
    }
    Py_XSETREF(ev_names, names);
    Py_XSETREF(ev_levels, Py_NewRef(args[1]));
    Py_XSETREF(ev_value_fn, Py_NewRef(args[2]));
    Py_XSETREF(ev_prefix, Py_NewRef(args[3]));
    Py_XSETREF(ev_none, Py_NewRef(args[4]));
    ev_none_length = longest;
    Py_RETURN_NONE;
}

static int
ev_init(void)
{
    struct {
        PyObject **slot;
        const char *text;
    } strings[] = {
        {&es_attributes, "#attributes"},
        {&es_text, "#text"},
        {&es_xmlns, "@xmlns"},
        {&es_xmlns_bare, "xmlns"},
        {&es_name, "Name"},
        {&es_at_name, "@Name"},
        {&es_data, "Data"},
        {&es_system_time, "SystemTime"},
        {&es_event_id, "winlog.event_id"},
        {&es_code, "event.code"},
        {&es_record_id, "winlog.record_id"},
        {&es_event_record_id, "event_record_id"},
        {&es_provider, "winlog.provider_name"},
        {&es_event_provider, "event.provider"},
        {&es_computer, "winlog.computer_name"},
        {&es_host, "host.name"},
        {&es_event_data, "EventData"},
        {&es_true, "true"},
        {&es_false, "false"},
        {&es_empty, ""},
    };
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        *strings[i].slot = PyUnicode_InternFromString(strings[i].text);
        if (*strings[i].slot == NULL) {
            return -1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------------ */
/* Whole JSON-family events: zeek.parse and suricata.parse in one call each (zeek_event,             */
/* suricata_event). Each returns the finished Event, or None for a line it leaves to the Python path  */
/* (not starting with "{", invalid JSON, not an object, a log/event type not yet in the tables, ...):  */
/* it returns None only before anything but the JSON decode was done, so the Python path then gives    */
/* the result (or the ParseError). Times: the common forms are converted here with exactly CPython's   */
/* arithmetic (``datetime.fromtimestamp(ts, UTC)``, ``fromisoformat(...).astimezone(UTC)``); anything  */
/* else (naive times, odd ISO forms, out of range) goes to the configured Python function.             */

static PyObject *ej_loads, *ej_clean_nul, *ej_event_type, *ej_slots[6];
static PyObject *js_data, *js_timezone, *js_tenant, *js_sensor, *js_nul_path, *js_ts, *js_category;
static PyObject *js_native, *js_local_orig, *js_local_resp, *js_direction, *js_directions[4];

#define MIN_SECONDS (-62135596800LL) /* 0001-01-01T00:00:00 UTC */
#define END_SECONDS 253402300800LL   /* 10000-01-01T00:00:00 UTC */

static long long
days_from_civil(long long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

/* An aware UTC datetime from seconds since 1970 (within years 1..9999, checked by the caller). */
static PyObject *
utc_datetime(long long seconds, int us)
{
    long long days = seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400);
    long long rest = seconds - days * 86400;
    long long z = days + 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned day = doy - (153 * mp + 2) / 5 + 1;
    unsigned month = mp < 10 ? mp + 3 : mp - 9;
    long long year = (long long)yoe + era * 400 + (month <= 2);
    return PyDateTimeAPI->DateTime_FromDateAndTime((int)year, (int)month, (int)day, (int)(rest / 3600),
                                                   (int)(rest / 60 % 60), (int)(rest % 60), us,
                                                   PyDateTime_TimeZone_UTC, PyDateTimeAPI->DateTimeType);
}

/* datetime.fromtimestamp(ts, UTC) as CPython computes it (_PyTime_DoubleToDenominator, ROUND_HALF_EVEN),
 * or NULL without an error when out of the range this handles (the caller then asks Python). */
static PyObject *
float_time(double ts)
{
    double intpart;
    volatile double part = modf(ts, &intpart);
    part *= 1e6;
    double rounded = round(part);
    if (fabs(part - rounded) == 0.5) {
        rounded = 2.0 * round(part / 2.0);
    }
    part = rounded;
    if (part >= 1e6) {
        part -= 1e6;
        intpart += 1.0;
    }
    else if (part < 0) {
        part += 1e6;
        intpart -= 1.0;
    }
    if (!(intpart >= (double)MIN_SECONDS && intpart < (double)END_SECONDS && part >= 0 && part < 1e6)) {
        return NULL;
    }
    return utc_datetime((long long)intpart, (int)part);
}

static int
digits(const Py_UCS1 *s, Py_ssize_t at, Py_ssize_t count, int *out)
{
    int v = 0;
    for (Py_ssize_t k = at; k < at + count; k++) {
        if (s[k] < '0' || s[k] > '9') {
            return 0;
        }
        v = v * 10 + (s[k] - '0');
    }
    *out = v;
    return 1;
}

/* _json.iso_time for ``YYYY-MM-DDTHH:MM:SS[.fff|.ffffff](Z|+HH:MM|+HHMM)``, or NULL without an error
 * for any other text (naive, other forms, out of range, invalid dates: Python decides). */
static PyObject *
iso_utc(PyObject *text)
{
    if (!PyUnicode_IS_ASCII(text)) {
        return NULL;
    }
    const Py_UCS1 *s = PyUnicode_1BYTE_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int y, mo, d, h, mi, sec, us = 0, oh = 0, om = 0, sign = 0;
    if (n < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
        !digits(s, 0, 4, &y) || !digits(s, 5, 2, &mo) || !digits(s, 8, 2, &d) || !digits(s, 11, 2, &h) ||
        !digits(s, 14, 2, &mi) || !digits(s, 17, 2, &sec)) {
        return NULL;
    }
    Py_ssize_t at = 19;
    if (s[at] == '.') {
        Py_ssize_t count = 0;
        while (at + 1 + count < n && count < 7 && s[at + 1 + count] >= '0' && s[at + 1 + count] <= '9') {
            count++;
        }
        if (count == 6) {
            (void)digits(s, at + 1, 6, &us);
        }
        else if (count == 3) {
            (void)digits(s, at + 1, 3, &us);
            us *= 1000;
        }
        else {
            return NULL;
        }
        at += 1 + count;
    }
    if (at < n && s[at] == 'Z' && at + 1 == n) {
        sign = 0;
    }
    else if (at < n && (s[at] == '+' || s[at] == '-')) {
        sign = s[at] == '+' ? 1 : -1;
        if (n - at == 6 && s[at + 3] == ':' && digits(s, at + 1, 2, &oh) && digits(s, at + 4, 2, &om)) {
        }
        else if (n - at == 5 && digits(s, at + 1, 2, &oh) && digits(s, at + 3, 2, &om)) {
        }
        else {
            return NULL;
        }
        if (oh > 23 || om > 59) {
            return NULL;
        }
    }
    else {
        return NULL; /* naive (the sensor's zone) or anything else */
    }
    static const int month_days[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > month_days[mo - 1] || (mo == 2 && d == 29 && !leap) ||
        h > 23 || mi > 59 || sec > 59) {
        return NULL;
    }
    long long seconds = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec -
                        sign * (oh * 3600 + om * 60);
    if (seconds < MIN_SECONDS || seconds >= END_SECONDS) {
        return NULL;
    }
    return utc_datetime(seconds, us);
}

/* The time of an event: the C conversion, or ``fallback(value, timezone)`` (a Python function that
 * gives the same datetime or raises its ParseError). */
static PyObject *
event_time(PyObject *value, PyObject *record, PyObject *fallback)
{
    PyObject *when = NULL;
    if (PyFloat_CheckExact(value)) {
        when = float_time(PyFloat_AS_DOUBLE(value));
    }
    else if (PyUnicode_CheckExact(value)) {
        when = iso_utc(value);
    }
    if (when != NULL || PyErr_Occurred()) {
        return when;
    }
    PyObject *tz = PyObject_GetAttr(record, js_timezone);
    if (tz == NULL) {
        return NULL;
    }
    PyObject *call_args[2] = {value, tz};
    when = PyObject_Vectorcall(fallback, call_args, 2, NULL);
    Py_DECREF(tz);
    return when;
}

/* Event(timestamp, record.tenant_id, dataset, fields, record.sensor_id) without its __init__: the
 * slots of the frozen dataclass are set through their member descriptors (raw stays None). Steals
 * the references to when and fields. */
static PyObject *
make_event(PyObject *record, PyObject *when, PyObject *dataset, PyObject *fields)
{
    PyObject *event = NULL, *tenant = NULL, *sensor = NULL;
    if (when == NULL || fields == NULL) {
        goto done;
    }
    if ((tenant = PyObject_GetAttr(record, js_tenant)) == NULL ||
        (sensor = PyObject_GetAttr(record, js_sensor)) == NULL) {
        goto done;
    }
    PyTypeObject *type = (PyTypeObject *)ej_event_type;
    event = type->tp_alloc(type, 0);
    if (event == NULL) {
        goto done;
    }
    PyObject *values[6] = {when, tenant, dataset, fields, sensor, Py_None};
    for (int k = 0; k < 6; k++) {
        if (Py_TYPE(ej_slots[k])->tp_descr_set(ej_slots[k], event, values[k]) < 0) {
            Py_CLEAR(event);
            goto done;
        }
    }
done:
    Py_XDECREF(when);
    Py_XDECREF(fields);
    Py_XDECREF(tenant);
    Py_XDECREF(sensor);
    return event;
}

/* The line's object, or NULL: with an error set, or without one when Python should take the line
 * (not starting with "{", not valid JSON, not an object). Also returns the bytes (borrowed). */
static PyObject *
load_line(PyObject *record, PyObject **data_out)
{
    PyObject *data = PyObject_GetAttr(record, js_data);
    if (data == NULL) {
        return NULL;
    }
    *data_out = data; /* the record keeps it alive; the caller drops this reference at the end */
    if (!PyBytes_CheckExact(data) || PyBytes_GET_SIZE(data) == 0 || PyBytes_AS_STRING(data)[0] != '{') {
        return NULL;
    }
    PyObject *obj = PyObject_CallOneArg(ej_loads, data);
    if (obj == NULL) {
        if (PyErr_ExceptionMatches(PyExc_ValueError)) { /* orjson.JSONDecodeError: Python retries */
            PyErr_Clear();
        }
        return NULL;
    }
    if (!PyDict_CheckExact(obj)) {
        Py_DECREF(obj);
        return NULL;
    }
    return obj;
}

static int
has_nul_escape(PyObject *data)
{
    const char *p = PyBytes_AS_STRING(data);
    Py_ssize_t n = PyBytes_GET_SIZE(data);
    const char *end = p + n;
    while ((p = memchr(p, '\\', (size_t)(end - p))) != NULL) {
        if (end - p >= 6 && memcmp(p + 1, "u0000", 5) == 0) {
            return 1;
        }
        p++;
    }
    return 0;
}

/* fields = _json.clean_nul(fields) when the line has a \u0000 escape; steals fields, returns a new ref. */
static PyObject *
without_nul(PyObject *data, PyObject *fields)
{
    if (fields == NULL || !has_nul_escape(data)) {
        return fields;
    }
    PyObject *clean = PyObject_CallOneArg(ej_clean_nul, fields);
    Py_DECREF(fields);
    return clean;
}

/* -- evtx -- */

/* evtx.parse for the common records: a JSON object whose Event has a System with TimeCreated's
 * ``#attributes`` (the evtx package's shape), no UserData, ProcessingErrorData or RenderingInfo, no
 * ``\u0000`` escape, that evtx_fields takes whole with a SystemTime it could read; then the configured
 * ``ecs.enrich`` names the dataset and adds the ECS fields, and the Event is built here. Anything else
 * returns None (after the JSON load only) and the Python path gives the Event or the ParseError. */

static PyObject *ee_enrich, *ee_event, *ee_system, *ee_time_created, *ee_attributes, *ee_user_data,
    *ee_processing, *ee_rendering;

/* evtx_event_configure(enrich): ecs.enrich. */
static PyObject *
evtx_event_configure(PyObject *self, PyObject *enrich)
{
    if (!PyCallable_Check(enrich)) {
        PyErr_SetString(PyExc_TypeError, "evtx_event_configure(enrich) needs a callable");
        return NULL;
    }
    if (ee_event == NULL) {
        if ((ee_event = PyUnicode_InternFromString("Event")) == NULL ||
            (ee_system = PyUnicode_InternFromString("System")) == NULL ||
            (ee_time_created = PyUnicode_InternFromString("TimeCreated")) == NULL ||
            (ee_attributes = PyUnicode_InternFromString("#attributes")) == NULL ||
            (ee_user_data = PyUnicode_InternFromString("UserData")) == NULL ||
            (ee_processing = PyUnicode_InternFromString("ProcessingErrorData")) == NULL ||
            (ee_rendering = PyUnicode_InternFromString("RenderingInfo")) == NULL) {
            return NULL;
        }
    }
    Py_INCREF(enrich);
    Py_XSETREF(ee_enrich, enrich);
    Py_RETURN_NONE;
}

/* obj[key] when it is an exact dict, else NULL (also on error: check PyErr_Occurred). Borrowed. */
static PyObject *
dict_item(PyObject *obj, PyObject *key)
{
    PyObject *item = PyDict_GetItemWithError(obj, key);
    return item != NULL && PyDict_CheckExact(item) ? item : NULL;
}

static PyObject *
evtx_event(PyObject *self, PyObject *record)
{
    if (ee_enrich == NULL || ej_event_type == NULL || ev_prefix == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "evtx_event(): not configured");
        return NULL;
    }
    PyObject *data = NULL, *result = NULL, *parts = NULL;
    PyObject *doc = load_line(record, &data);
    if (doc == NULL || has_nul_escape(data)) {
        goto done;
    }
    PyObject *event = dict_item(doc, ee_event);
    PyObject *system = event == NULL ? NULL : dict_item(event, ee_system);
    PyObject *created = system == NULL ? NULL : dict_item(system, ee_time_created);
    if (created == NULL) {
        goto done;
    }
    int has = PyDict_Contains(created, ee_attributes);
    for (int k = 0; has == 1 && k < 3; k++) {
        int extra = PyDict_Contains(event, k == 0 ? ee_user_data : (k == 1 ? ee_processing : ee_rendering));
        has = extra < 0 ? -1 : !extra;
    }
    if (has != 1) {
        goto done;
    }
    PyObject *fields_args[3] = {system, event, doc};
    parts = evtx_fields(NULL, fields_args, 3);
    if (parts == NULL || !PyTuple_CheckExact(parts) || PyTuple_GET_SIZE(parts) != 3) {
        goto done;
    }
    PyObject *fields = PyTuple_GET_ITEM(parts, 0), *items = PyTuple_GET_ITEM(parts, 1);
    PyObject *when = PyTuple_GET_ITEM(parts, 2);
    if (Py_TYPE(when) != PyDateTimeAPI->DateTimeType) {
        goto done; /* a SystemTime text: Python reads it */
    }
    PyObject *enrich_args[2] = {fields, items};
    PyObject *dataset = PyObject_Vectorcall(ee_enrich, enrich_args, 2, NULL);
    if (dataset == NULL) {
        goto done;
    }
    Py_INCREF(when);
    Py_INCREF(fields);
    result = make_event(record, when, dataset, fields);
    Py_DECREF(dataset);
done:
    Py_XDECREF(parts);
    Py_XDECREF(doc);
    Py_XDECREF(data);
    if (result != NULL || PyErr_Occurred()) {
        return result;
    }
    Py_RETURN_NONE;
}

/* events_configure(Event, slot_names, orjson.loads, _json.clean_nul) */
static PyObject *
events_configure(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4 || !PyType_Check(args[0]) || !PyTuple_Check(args[1]) || PyTuple_GET_SIZE(args[1]) != 6 ||
        !PyCallable_Check(args[2]) || !PyCallable_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "events_configure(Event, slots: 6-tuple, loads, clean_nul)");
        return NULL;
    }
    PyObject *slots[6];
    for (int k = 0; k < 6; k++) {
        PyObject *descr = PyObject_GetAttr(args[0], PyTuple_GET_ITEM(args[1], k));
        if (descr == NULL) {
            return NULL;
        }
        if (!Py_IS_TYPE(descr, &PyMemberDescr_Type) || Py_TYPE(descr)->tp_descr_set == NULL) {
            Py_DECREF(descr);
            for (int j = 0; j < k; j++) {
                Py_DECREF(slots[j]);
            }
            PyErr_SetString(PyExc_TypeError, "events_configure(): Event's fields must be slots");
            return NULL;
        }
        slots[k] = descr;
    }
    for (int k = 0; k < 6; k++) {
        Py_XSETREF(ej_slots[k], slots[k]);
    }
    Py_INCREF(args[0]);
    Py_XSETREF(ej_event_type, args[0]);
    Py_INCREF(args[2]);
    Py_XSETREF(ej_loads, args[2]);
    Py_INCREF(args[3]);
    Py_XSETREF(ej_clean_nul, args[3]);
    Py_RETURN_NONE;
}

/* -- zeek -- */

static PyObject *zk_tables, *zk_timestamp, *zk_finish;

/* zeek_configure(tables: {path: _Table}, timestamp: zeek._timestamp, finish: zeek._finish, handlers:
 * {_zeek_fields handler: ZH_* code} for the handlers done here, also by zeek_fields). Each table's
 * ``native`` is (popped, skip, known, names, slow, prefix, dataset, category, finish); finish: 0 none,
 * 1 conn's direction (here), 2 the Python _finish. The dict is kept by reference: zeek._table fills it. */
static PyObject *
zeek_configure(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4 || !PyDict_CheckExact(args[0]) || !PyCallable_Check(args[1]) || !PyCallable_Check(args[2]) ||
        !PyDict_CheckExact(args[3])) {
        PyErr_SetString(PyExc_TypeError, "zeek_configure(tables: dict, timestamp, finish, handlers: dict)");
        return NULL;
    }
    Py_INCREF(args[3]);
    Py_XSETREF(zk_handlers, args[3]);
    Py_INCREF(args[0]);
    Py_XSETREF(zk_tables, args[0]);
    Py_INCREF(args[1]);
    Py_XSETREF(zk_timestamp, args[1]);
    Py_INCREF(args[2]);
    Py_XSETREF(zk_finish, args[2]);
    Py_RETURN_NONE;
}

/* zeek._finish for conn: network.direction from two booleans. */
static int
conn_direction(PyObject *fields, PyObject *obj)
{
    PyObject *orig = PyDict_GetItemWithError(obj, js_local_orig);
    if (orig == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    PyObject *resp = PyDict_GetItemWithError(obj, js_local_resp);
    if (resp == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    if (!PyBool_Check(orig) || !PyBool_Check(resp)) {
        return 0;
    }
    int index = (orig == Py_True ? 0 : 2) + (resp == Py_True ? 0 : 1);
    return PyDict_SetItem(fields, js_direction, js_directions[index]);
}

static PyObject *
zeek_event(PyObject *self, PyObject *record)
{
    if (zk_tables == NULL || ej_event_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "zeek_event(): not configured");
        return NULL;
    }
    PyObject *data = NULL, *fields = NULL, *when = NULL, *result = NULL;
    PyObject *obj = load_line(record, &data);
    if (obj == NULL) {
        goto fallback;
    }
    PyObject *path = PyDict_GetItemWithError(obj, js_nul_path);
    PyObject *owner = path != NULL && PyUnicode_CheckExact(path) ? PyDict_GetItemWithError(zk_tables, path) : NULL;
    if (owner == NULL) {
        goto fallback; /* the Python path makes the table, or raises */
    }
    PyObject *table = PyObject_GetAttr(owner, js_native);
    if (table == NULL) {
        goto fallback;
    }
    if (!PyTuple_CheckExact(table) || PyTuple_GET_SIZE(table) != 9) {
        Py_DECREF(table);
        PyErr_SetString(PyExc_TypeError, "zeek_event(): bad table");
        goto fallback;
    }
    PyObject *ts = PyDict_GetItemWithError(obj, js_ts);
    if (ts == NULL && PyErr_Occurred()) {
        goto done;
    }
    when = event_time(ts == NULL ? Py_None : ts, record, zk_timestamp);
    if (when == NULL) {
        goto done;
    }
    PyObject *const *t = &PyTuple_GET_ITEM(table, 0);
    if (!PyTuple_Check(t[0]) || !PyAnySet_Check(t[1]) || !PyDict_Check(t[2]) || !PyDict_Check(t[3]) ||
        !PyDict_Check(t[4]) || !PyUnicode_Check(t[5]) || !PyLong_CheckExact(t[8])) {
        PyErr_SetString(PyExc_TypeError, "zeek_event(): bad table");
        goto done;
    }
    const unsigned char *bytes = (const unsigned char *)PyBytes_AS_STRING(data);
    fields = zeek_fields_of(obj, t[0], t[1], t[2], t[3], t[4], t[5], big_int_in(bytes, PyBytes_GET_SIZE(data)));
    if (fields == NULL) {
        goto done;
    }
    if (t[7] != Py_None) {
        PyObject *category = PyList_New(1);
        if (category == NULL) {
            goto done;
        }
        Py_INCREF(t[7]);
        PyList_SET_ITEM(category, 0, t[7]);
        int failed = PyDict_SetItem(fields, js_category, category);
        Py_DECREF(category);
        if (failed) {
            goto done;
        }
    }
    long finish = PyLong_AsLong(t[8]);
    if (finish == 1 && conn_direction(fields, obj) < 0) {
        goto done;
    }
    if (finish == 2) {
        PyObject *call_args[3] = {fields, obj, path};
        PyObject *none = PyObject_Vectorcall(zk_finish, call_args, 3, NULL);
        if (none == NULL) {
            goto done;
        }
        Py_DECREF(none);
    }
    fields = without_nul(data, fields);
    result = make_event(record, when, t[6], fields);
    when = fields = NULL; /* stolen */
done:
    Py_DECREF(table);
    Py_XDECREF(when);
    Py_XDECREF(fields);
    Py_DECREF(obj);
    Py_XDECREF(data);
    return result;
fallback:
    Py_XDECREF(obj);
    Py_XDECREF(data);
    if (PyErr_Occurred()) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* -- suricata -- */

enum { SK_ALERT = 1, SK_HTTP, SK_FILEINFO, SK_FLOW, SK_ANOMALY, SK_TLS, SK_COUNT };
static PyObject *sr_datasets, *sr_plan, *sr_prefix, *sr_iso_time, *sr_outcomes;
static PyObject *sr_specs[SK_COUNT]; /* per kind: {key: (name, type)} */
static PyObject *sr_prefixes[SK_COUNT];
static PyObject *ss_signature_id, *ss_action, *ss_rule_id, *ss_outcome, *ss_kind, *ss_alert, *ss_hostname,
    *ss_url, *ss_protocol, *ss_url_domain, *ss_url_original, *ss_url_path, *ss_url_query, *ss_http_version,
    *ss_file_name, *ss_file_path, *ss_event_type, *ss_timestamp, *ss_proto, *ss_flow_id, *ss_transport,
    *ss_suricata_flow_id, *ss_network_protocol, *ss_version, *ss_fingerprint, *ss_sni, *ss_client_server_name,
    *ss_server_name, *ss_tls_version, *ss_tls_version_protocol, *ss_server_sha1, *ss_ja3, *ss_ja3s, *ss_hash,
    *ss_client_ja3, *ss_server_ja3s, *ss_rstrip, *ss_lower, *ss_dot, *ss_ports[2], *ss_moved[2];

/* value.lower() (ASCII here, else str.lower); a new reference. */
static PyObject *
lower_of(PyObject *text)
{
    if (!PyUnicode_IS_ASCII(text)) {
        return PyObject_CallMethodNoArgs(text, ss_lower);
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    const Py_UCS1 *s = PyUnicode_1BYTE_DATA(text);
    Py_ssize_t k = 0;
    while (k < n && !(s[k] >= 'A' && s[k] <= 'Z')) {
        k++;
    }
    if (k == n) {
        Py_INCREF(text);
        return text;
    }
    PyObject *out = PyUnicode_New(n, 127);
    if (out == NULL) {
        return NULL;
    }
    Py_UCS1 *o = PyUnicode_1BYTE_DATA(out);
    for (Py_ssize_t j = 0; j < n; j++) {
        o[j] = s[j] >= 'A' && s[j] <= 'Z' ? (Py_UCS1)(s[j] + 32) : s[j];
    }
    return out;
}

/* suricata._domain for a str: value.rstrip(".").lower(); NULL with no error for "" or a non-str. */
static PyObject *
domain_of(PyObject *value)
{
    if (value == NULL || !PyUnicode_CheckExact(value) || PyUnicode_GET_LENGTH(value) == 0) {
        return NULL;
    }
    if (!PyUnicode_IS_ASCII(value)) {
        PyObject *stripped = PyObject_CallMethodOneArg(value, ss_rstrip, ss_dot);
        if (stripped == NULL) {
            return NULL;
        }
        PyObject *out = PyObject_CallMethodNoArgs(stripped, ss_lower);
        Py_DECREF(stripped);
        return out;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(value);
    const Py_UCS1 *s = PyUnicode_1BYTE_DATA(value);
    while (n > 0 && s[n - 1] == '.') {
        n--;
    }
    PyObject *stripped = n == PyUnicode_GET_LENGTH(value) ? (Py_INCREF(value), value)
                                                           : PyUnicode_Substring(value, 0, n);
    if (stripped == NULL) {
        return NULL;
    }
    PyObject *out = lower_of(stripped);
    Py_DECREF(stripped);
    return out;
}

/* Get obj[key] (borrowed) or NULL; -1 on error. */
static int
get_item(PyObject *obj, PyObject *key, PyObject **out)
{
    *out = PyDict_GetItemWithError(obj, key);
    return *out == NULL && PyErr_Occurred() ? -1 : 0;
}

static int
set_new(PyObject *fields, PyObject *name, PyObject *value)
{
    if (value == NULL) {
        return -1;
    }
    int failed = PyDict_SetItem(fields, name, value);
    Py_DECREF(value);
    return failed;
}

static int
sr_alert(PyObject *fields, PyObject *alert)
{
    PyObject *value;
    if (rename_obj(fields, alert, sr_specs[SK_ALERT], sr_prefixes[SK_ALERT]) < 0 ||
        get_item(alert, ss_signature_id, &value) < 0) {
        return -1;
    }
    if (value != NULL && PyLong_CheckExact(value) && set_new(fields, ss_rule_id, PyObject_Str(value)) < 0) {
        return -1;
    }
    if (get_item(alert, ss_action, &value) < 0) {
        return -1;
    }
    if (value != NULL && PyUnicode_Check(value)) {
        PyObject *outcome = PyDict_GetItemWithError(sr_outcomes, value);
        if (outcome == NULL && PyErr_Occurred()) {
            return -1;
        }
        if (outcome != NULL && PyDict_SetItem(fields, ss_outcome, outcome) < 0) {
            return -1;
        }
    }
    return PyDict_SetItem(fields, ss_kind, ss_alert);
}

/* suricata._http; 1 when done, 0 when the Python handler must run instead (a non-ASCII protocol, for
 * the Unicode digits of its regex), -1 on error. */
static int
sr_http(PyObject *fields, PyObject *http)
{
    PyObject *host, *url, *protocol;
    if (get_item(http, ss_protocol, &protocol) < 0) {
        return -1;
    }
    if (protocol != NULL && PyUnicode_CheckExact(protocol) && !PyUnicode_IS_ASCII(protocol)) {
        return 0;
    }
    if (rename_obj(fields, http, sr_specs[SK_HTTP], sr_prefixes[SK_HTTP]) < 0 ||
        get_item(http, ss_hostname, &host) < 0) {
        return -1;
    }
    PyObject *domain = domain_of(host);
    if (domain == NULL && PyErr_Occurred()) {
        return -1;
    }
    if (domain != NULL && set_new(fields, ss_url_domain, domain) < 0) {
        return -1;
    }
    if (get_item(http, ss_url, &url) < 0) {
        return -1;
    }
    if (url != NULL && PyUnicode_CheckExact(url)) {
        Py_INCREF(url);
        Py_ssize_t n = PyUnicode_GET_LENGTH(url);
        Py_ssize_t q = PyUnicode_FindChar(url, '?', 0, n, 1);
        int failed = q == -2 || PyDict_SetItem(fields, ss_url_original, url) < 0 ||
                     set_new(fields, ss_url_path, q < 0 ? (Py_INCREF(url), url) : PyUnicode_Substring(url, 0, q)) < 0 ||
                     (q >= 0 && q + 1 < n && set_new(fields, ss_url_query, PyUnicode_Substring(url, q + 1, n)) < 0);
        Py_DECREF(url);
        if (failed) {
            return -1;
        }
    }
    if (protocol != NULL && PyUnicode_CheckExact(protocol)) { /* HTTP/(\d(?:\.\d)?), ASCII here */
        const Py_UCS1 *s = PyUnicode_1BYTE_DATA(protocol);
        Py_ssize_t n = PyUnicode_GET_LENGTH(protocol);
        int ok = (n == 6 || n == 8) && memcmp(s, "HTTP/", 5) == 0 && s[5] >= '0' && s[5] <= '9' &&
                 (n == 6 || (s[6] == '.' && s[7] >= '0' && s[7] <= '9'));
        if (ok && set_new(fields, ss_http_version, PyUnicode_Substring(protocol, 5, n)) < 0) {
            return -1;
        }
    }
    return 1;
}

static int
sr_fileinfo(PyObject *fields, PyObject *info)
{
    PyObject *name;
    if (rename_obj(fields, info, sr_specs[SK_FILEINFO], sr_prefixes[SK_FILEINFO]) < 0 ||
        get_item(fields, ss_file_name, &name) < 0) {
        return -1;
    }
    if (name == NULL || !PyUnicode_CheckExact(name)) {
        return 0;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(name);
    Py_ssize_t slash = PyUnicode_FindChar(name, '/', 0, n, -1);
    if (slash == -2) {
        return -1;
    }
    if (slash < 0) {
        return 0;
    }
    Py_INCREF(name);
    int failed = PyDict_SetItem(fields, ss_file_path, name) < 0 ||
                 set_new(fields, ss_file_name, PyUnicode_Substring(name, slash + 1, n)) < 0;
    Py_DECREF(name);
    return failed ? -1 : 0;
}

/* suricata._tls; 1 when done, 0 when the Python handler must run instead (a non-ASCII version or
 * fingerprint: the regex's Unicode digits, str.upper), -1 on error. */
static int
sr_tls(PyObject *fields, PyObject *tls)
{
    PyObject *version, *fingerprint, *sni;
    if (get_item(tls, ss_version, &version) < 0 || get_item(tls, ss_fingerprint, &fingerprint) < 0) {
        return -1;
    }
    if ((version != NULL && PyUnicode_CheckExact(version) && !PyUnicode_IS_ASCII(version)) ||
        (fingerprint != NULL && PyUnicode_CheckExact(fingerprint) && !PyUnicode_IS_ASCII(fingerprint))) {
        return 0;
    }
    Py_XINCREF(version);
    Py_XINCREF(fingerprint);
    int failed = rename_obj(fields, tls, sr_specs[SK_TLS], sr_prefixes[SK_TLS]) < 0 || get_item(tls, ss_sni, &sni) < 0;
    PyObject *domain = failed ? NULL : domain_of(sni);
    if (domain == NULL && PyErr_Occurred()) {
        failed = 1;
    }
    if (domain != NULL) {
        failed = PyDict_SetItem(fields, ss_client_server_name, domain) < 0 ||
                 PyDict_SetItem(fields, ss_server_name, domain) < 0;
        Py_DECREF(domain);
    }
    if (!failed && version != NULL && PyUnicode_CheckExact(version)) { /* (TLS|SSL|DTLS) ?v?(\d)\.?(\d?) */
        const char *v = (const char *)PyUnicode_1BYTE_DATA(version);
        Py_ssize_t n = PyUnicode_GET_LENGTH(version), at;
        const char *protocol = NULL;
        if (n >= 4 && memcmp(v, "DTLS", 4) == 0) {
            protocol = "dtls", at = 4;
        }
        else if (n >= 3 && (memcmp(v, "TLS", 3) == 0 || memcmp(v, "SSL", 3) == 0)) {
            protocol = v[0] == 'T' ? "tls" : "ssl", at = 3;
        }
        if (protocol != NULL) {
            at += at < n && v[at] == ' ';
            at += at < n && v[at] == 'v';
            if (at < n && v[at] >= '0' && v[at] <= '9') {
                char major = v[at++], minor = 0;
                at += at < n && v[at] == '.';
                if (at < n && v[at] >= '0' && v[at] <= '9') {
                    minor = v[at++];
                }
                if (at == n) {
                    char text[3] = {major, '.', minor};
                    failed = set_new(fields, ss_tls_version, PyUnicode_FromStringAndSize(text, minor ? 3 : 1)) < 0 ||
                             set_new(fields, ss_tls_version_protocol, PyUnicode_FromString(protocol)) < 0;
                }
            }
        }
    }
    if (!failed && fingerprint != NULL && PyUnicode_CheckExact(fingerprint) && PyUnicode_GET_LENGTH(fingerprint) == 59) {
        const Py_UCS1 *f = PyUnicode_1BYTE_DATA(fingerprint);
        char hex[59];
        Py_ssize_t count = 0;
        for (Py_ssize_t k = 0; k < 59; k++) {
            if (f[k] != ':') {
                hex[count++] = f[k] >= 'a' && f[k] <= 'z' ? (char)(f[k] - 32) : (char)f[k];
            }
        }
        failed = set_new(fields, ss_server_sha1, PyUnicode_FromStringAndSize(hex, count)) < 0;
    }
    Py_XDECREF(version);
    Py_XDECREF(fingerprint);
    PyObject *keys[2] = {ss_ja3, ss_ja3s}, *names[2] = {ss_client_ja3, ss_server_ja3s};
    for (int k = 0; k < 2 && !failed; k++) {
        PyObject *ja, *digest = NULL;
        failed = get_item(tls, keys[k], &ja) < 0 ||
                 (ja != NULL && PyDict_CheckExact(ja) && get_item(ja, ss_hash, &digest) < 0);
        if (!failed && digest != NULL && PyUnicode_CheckExact(digest)) {
            failed = PyDict_SetItem(fields, names[k], digest) < 0;
        }
    }
    return failed ? -1 : 1;
}

/* One sub-object through its handler: here for the codes of SK_*, else (code 0, or http with a
 * non-ASCII protocol) the Python handler. */
static int
sr_object(PyObject *fields, long code, PyObject *value, PyObject *handler)
{
    switch (code) {
    case SK_ALERT:
        return sr_alert(fields, value);
    case SK_HTTP: {
        int done = sr_http(fields, value);
        if (done != 0) {
            return done < 0 ? -1 : 0;
        }
        break;
    }
    case SK_TLS: {
        int done = sr_tls(fields, value);
        if (done != 0) {
            return done < 0 ? -1 : 0;
        }
        break;
    }
    case SK_FILEINFO:
        return sr_fileinfo(fields, value);
    case SK_FLOW:
    case SK_ANOMALY:
        return rename_obj(fields, value, sr_specs[code], sr_prefixes[code]);
    default:
        break;
    }
    PyObject *call_args[2] = {fields, value};
    PyObject *result = PyObject_Vectorcall(handler, call_args, 2, NULL);
    Py_XDECREF(result);
    return result == NULL ? -1 : 0;
}

/* suricata._top_fields with one look-up per key in sr_plan (made by suricata_configure from top,
 * handlers and skip, which are disjoint): key -> (name, type) for a plain rename, (code, handler) for a
 * sub-object, None for a skipped key; any other key, or a value of another type, is flattened. */
static int
sr_top_fields(PyObject *fields, PyObject *obj)
{
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(obj, &pos, &key, &value)) {
        PyObject *entry = PyDict_GetItemWithError(sr_plan, key);
        if (entry == NULL && PyErr_Occurred()) {
            return -1;
        }
        if (entry == Py_None) {
            continue;
        }
        Py_INCREF(key);
        Py_INCREF(value);
        Py_XINCREF(entry);
        int failed, done = 0;
        if (entry != NULL) { /* always a 2-tuple (suricata_configure) */
            PyObject *first = PyTuple_GET_ITEM(entry, 0), *second = PyTuple_GET_ITEM(entry, 1);
            if (PyLong_CheckExact(first)) {
                if (PyDict_CheckExact(value)) {
                    failed = sr_object(fields, PyLong_AsLong(first), value, second);
                    done = 1;
                }
            }
            else if ((PyObject *)Py_TYPE(value) == second) {
                failed = PyDict_SetItem(fields, first, value);
                done = 1;
            }
        }
        if (!done) {
            PyObject *name = PyUnicode_Concat(sr_prefix, key);
            failed = name == NULL ? -1 : flatten_into(fields, name, value, 0);
            Py_XDECREF(name);
        }
        Py_XDECREF(entry);
        Py_DECREF(key);
        Py_DECREF(value);
        if (failed) {
            return -1;
        }
    }
    return 0;
}

/* fields[name] = fields[name].lower() when it is a str */
static int
lower_in(PyObject *fields, PyObject *name, PyObject *value)
{
    if (value == NULL || !PyUnicode_CheckExact(value)) {
        return 0;
    }
    return set_new(fields, name, lower_of(value));
}

/* suricata._fix */
static int
sr_fix(PyObject *fields, PyObject *obj)
{
    for (int k = 0; k < 2; k++) {
        PyObject *port;
        if (get_item(fields, ss_ports[k], &port) < 0) {
            return -1;
        }
        if (port == NULL) {
            continue;
        }
        int ok;
        if (PyLong_CheckExact(port)) {
            int overflow = 0;
            long long v = PyLong_AsLongLongAndOverflow(port, &overflow);
            if (v == -1 && PyErr_Occurred()) {
                return -1;
            }
            ok = !overflow && v >= 0 && v <= 65535;
        }
        else { /* not reached (only ints are stored there); compare as Python would */
            PyObject *zero = PyLong_FromLong(0), *top = PyLong_FromLong(65535);
            int low = zero == NULL || top == NULL ? -1 : PyObject_RichCompareBool(zero, port, Py_LE);
            int high = low <= 0 ? low : PyObject_RichCompareBool(port, top, Py_LE);
            Py_XDECREF(zero);
            Py_XDECREF(top);
            if (high < 0) {
                return -1;
            }
            ok = high;
        }
        if (!ok) {
            Py_INCREF(port);
            int failed = PyDict_DelItem(fields, ss_ports[k]) < 0 || set_new(fields, ss_moved[k], PyObject_Str(port)) < 0;
            Py_DECREF(port);
            if (failed) {
                return -1;
            }
        }
    }
    PyObject *value;
    if (get_item(obj, ss_proto, &value) < 0 || lower_in(fields, ss_transport, value) < 0 ||
        get_item(obj, ss_flow_id, &value) < 0) {
        return -1;
    }
    if (value != NULL && PyLong_CheckExact(value) &&
        set_new(fields, ss_suricata_flow_id, PyObject_Str(value)) < 0) {
        return -1;
    }
    if (get_item(fields, ss_network_protocol, &value) < 0) {
        return -1;
    }
    return lower_in(fields, ss_network_protocol, value);
}

/* sr_plan from top {key: (name, type)}, handlers {key: callable}, skip and kinds {key: code}; a key
 * in two of top, handlers and skip is refused (the one look-up relies on their being disjoint). */
static PyObject *
sr_make_plan(PyObject *top, PyObject *handlers, PyObject *skip, PyObject *kinds)
{
    PyObject *plan = PyDict_New();
    if (plan == NULL) {
        return NULL;
    }
    Py_ssize_t pos = 0, total = 0;
    PyObject *key, *value;
    while (PyDict_Next(top, &pos, &key, &value)) {
        if (!PyTuple_CheckExact(value) || PyTuple_GET_SIZE(value) != 2 || !PyUnicode_CheckExact(PyTuple_GET_ITEM(value, 0)) ||
            !PyType_Check(PyTuple_GET_ITEM(value, 1)) || PyDict_SetItem(plan, key, value) < 0) {
            goto bad;
        }
        total++;
    }
    pos = 0;
    while (PyDict_Next(handlers, &pos, &key, &value)) {
        PyObject *code = PyDict_GetItemWithError(kinds, key);
        if (code == NULL && PyErr_Occurred()) {
            goto bad;
        }
        long number = code != NULL && PyLong_CheckExact(code) ? PyLong_AsLong(code) : 0;
        if (number < 0 || number >= SK_COUNT || !PyCallable_Check(value)) {
            goto bad;
        }
        PyObject *entry = Py_BuildValue("(lO)", number, value);
        if (entry == NULL || PyDict_SetItem(plan, key, entry) < 0) {
            Py_XDECREF(entry);
            goto bad;
        }
        Py_DECREF(entry);
        total++;
    }
    PyObject *iterator = PyObject_GetIter(skip);
    if (iterator == NULL) {
        goto bad;
    }
    while ((key = PyIter_Next(iterator)) != NULL) {
        int failed = PyDict_SetItem(plan, key, Py_None);
        Py_DECREF(key);
        if (failed) {
            Py_DECREF(iterator);
            goto bad;
        }
        total++;
    }
    Py_DECREF(iterator);
    if (PyErr_Occurred()) {
        goto bad;
    }
    if (PyDict_GET_SIZE(plan) != total) {
        PyErr_SetString(PyExc_ValueError, "suricata_configure(): top, handlers and skip must be disjoint");
        goto bad;
    }
    return plan;
bad:
    if (!PyErr_Occurred()) {
        PyErr_SetString(PyExc_TypeError, "suricata_configure(): bad top, handlers or kinds");
    }
    Py_DECREF(plan);
    return NULL;
}

/* suricata_configure(datasets, top, handlers, skip, prefix, kinds: {key: code}, specs: {code: (renames,
 * prefix)}, outcomes, iso_time). ``datasets`` is kept by reference: suricata.parse fills it. */
static PyObject *
suricata_configure(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 9 || !PyDict_CheckExact(args[0]) || !PyDict_CheckExact(args[1]) || !PyDict_CheckExact(args[2]) ||
        !PyAnySet_Check(args[3]) || !PyUnicode_Check(args[4]) || !PyDict_CheckExact(args[5]) ||
        !PyDict_CheckExact(args[6]) || !PyDict_CheckExact(args[7]) || !PyCallable_Check(args[8])) {
        PyErr_SetString(PyExc_TypeError,
                        "suricata_configure(datasets, top, handlers, skip, prefix, kinds, specs, outcomes, iso_time)");
        return NULL;
    }
    PyObject *specs[SK_COUNT] = {NULL}, *prefixes[SK_COUNT] = {NULL};
    for (int code = SK_ALERT; code < SK_COUNT; code++) {
        PyObject *number = PyLong_FromLong(code);
        PyObject *entry = number == NULL ? NULL : PyDict_GetItemWithError(args[6], number);
        Py_XDECREF(number);
        if (entry == NULL || !PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 2 ||
            !PyDict_CheckExact(PyTuple_GET_ITEM(entry, 0)) || !PyUnicode_CheckExact(PyTuple_GET_ITEM(entry, 1))) {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_TypeError, "suricata_configure(): specs needs (renames, prefix) per code");
            }
            return NULL;
        }
        specs[code] = PyTuple_GET_ITEM(entry, 0);
        prefixes[code] = PyTuple_GET_ITEM(entry, 1);
    }
    for (int code = SK_ALERT; code < SK_COUNT; code++) {
        Py_INCREF(specs[code]);
        Py_XSETREF(sr_specs[code], specs[code]);
        Py_INCREF(prefixes[code]);
        Py_XSETREF(sr_prefixes[code], prefixes[code]);
    }
    PyObject *plan = sr_make_plan(args[1], args[2], args[3], args[5]);
    if (plan == NULL) {
        return NULL;
    }
    Py_XSETREF(sr_plan, plan);
    PyObject **targets[9] = {&sr_datasets, NULL, NULL, NULL, &sr_prefix, NULL, NULL, &sr_outcomes, &sr_iso_time};
    for (int k = 0; k < 9; k++) {
        if (targets[k] != NULL) {
            Py_INCREF(args[k]);
            Py_XSETREF(*targets[k], args[k]);
        }
    }
    Py_RETURN_NONE;
}

static PyObject *
suricata_event(PyObject *self, PyObject *record)
{
    if (sr_datasets == NULL || ej_event_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "suricata_event(): not configured");
        return NULL;
    }
    PyObject *data = NULL, *fields = NULL, *known = NULL, *stamp = NULL;
    PyObject *obj = load_line(record, &data);
    if (obj == NULL) {
        goto fallback;
    }
    PyObject *event_type = PyDict_GetItemWithError(obj, ss_event_type);
    known = event_type != NULL && PyUnicode_CheckExact(event_type) ? PyDict_GetItemWithError(sr_datasets, event_type)
                                                                    : NULL;
    stamp = known != NULL ? PyDict_GetItemWithError(obj, ss_timestamp) : NULL;
    if (stamp == NULL || !PyUnicode_CheckExact(stamp) || !PyTuple_CheckExact(known) || PyTuple_GET_SIZE(known) != 2) {
        goto fallback; /* the Python path learns the type, or raises */
    }
    Py_INCREF(known);
    Py_INCREF(stamp);
    PyObject *result = NULL, *category = PyTuple_GET_ITEM(known, 1);
    fields = PyDict_New();
    if (fields == NULL || sr_top_fields(fields, obj) < 0 || sr_fix(fields, obj) < 0) {
        goto done;
    }
    if (category != Py_None && set_new(fields, js_category, PySequence_List(category)) < 0) {
        goto done;
    }
    fields = without_nul(data, fields);
    if (fields == NULL) {
        goto done;
    }
    PyObject *when = event_time(stamp, record, sr_iso_time);
    result = make_event(record, when, PyTuple_GET_ITEM(known, 0), fields);
    fields = NULL; /* stolen */
done:
    Py_XDECREF(fields);
    Py_DECREF(known);
    Py_DECREF(stamp);
    Py_DECREF(obj);
    Py_DECREF(data);
    return result;
fallback:
    Py_XDECREF(obj);
    Py_XDECREF(data);
    if (PyErr_Occurred()) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* -- fortigate -- */

/* fortigate.parse for the common lines: ``[<PRI>]date=...`` in valid UTF-8 without NUL, a canonical
 * body (kv_split), a type/subtype already in fortigate's _DATASETS cache and an ``eventtime`` /
 * ``logtime`` epoch or ASCII ``date`` + ``time`` [+ ``tz``]. The fields come from the configured Python
 * ``_build``. Anything else returns None before any work but the split, and the Python path decides
 * (the same Event, or its ParseError). */

static PyObject *fg_datasets, *fg_build;
static PyObject *fg_type, *fg_subtype, *fg_eventtime, *fg_logtime, *fg_date, *fg_time, *fg_tz, *fg_empty;

/* fortigate_configure(datasets: {(type, subtype): (dataset, feature)}, build: fortigate._build).
 * The dict is kept by reference: the Python path fills it. */
static PyObject *
fortigate_configure(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyDict_Check(args[0]) || !PyCallable_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "fortigate_configure(datasets: dict, build)");
        return NULL;
    }
    if (fg_type == NULL) {
#define FG_INTERN(var, text)                                                                                       \
    if ((var = PyUnicode_InternFromString(text)) == NULL) {                                                        \
        return NULL;                                                                                               \
    }
        FG_INTERN(fg_type, "type");
        FG_INTERN(fg_subtype, "subtype");
        FG_INTERN(fg_eventtime, "eventtime");
        FG_INTERN(fg_logtime, "logtime");
        FG_INTERN(fg_date, "date");
        FG_INTERN(fg_time, "time");
        FG_INTERN(fg_tz, "tz");
        FG_INTERN(fg_empty, "");
#undef FG_INTERN
    }
    Py_INCREF(args[0]);
    Py_XSETREF(fg_datasets, args[0]);
    Py_INCREF(args[1]);
    Py_XSETREF(fg_build, args[1]);
    Py_RETURN_NONE;
}

/* _fortigate_time._epoch: ``_device.to_int`` (1-19 ASCII digits, <= 2**63 - 1), then s/ms/µs/ns by
 * magnitude. 1 with the time, 0 when it is not one (no error either way). */
static int
fg_epoch(PyObject *value, long long *seconds, int *us)
{
    if (!PyUnicode_CheckExact(value) || !PyUnicode_IS_ASCII(value)) {
        return 0;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(value);
    const Py_UCS1 *s = PyUnicode_1BYTE_DATA(value);
    if (n < 1 || n > 19) {
        return 0;
    }
    unsigned long long number = 0;
    for (Py_ssize_t k = 0; k < n; k++) {
        if (s[k] < '0' || s[k] > '9') {
            return 0;
        }
        number = number * 10 + (unsigned long long)(s[k] - '0'); /* 19 digits fit in 64 bits unsigned */
    }
    if (number > 9223372036854775807ULL) {
        return 0;
    }
    unsigned long long micros;
    if (number < 100000000000ULL) { /* 10**11 */
        micros = number * 1000000ULL;
    }
    else if (number < 100000000000000ULL) { /* 10**14 */
        micros = number * 1000ULL;
    }
    else if (number < 100000000000000000ULL) { /* 10**17 */
        micros = number;
    }
    else {
        micros = number / 1000ULL;
    }
    *seconds = (long long)(micros / 1000000ULL); /* at most ~10**11 s: year 5138 */
    *us = (int)(micros % 1000000ULL);
    return 1;
}

/* ``count_min``..``count_max`` ASCII digits at ``*at`` of s[0..n), value in *out, *at moved past them. */
static int
fg_digits(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t *at, int count_min, int count_max, int *out)
{
    int v = 0, count = 0;
    while (*at < n && count < count_max && s[*at] >= '0' && s[*at] <= '9') {
        v = v * 10 + (s[*at] - '0');
        (*at)++;
        count++;
    }
    *out = v;
    return count >= count_min;
}

/* The ASCII str ``value``'s bytes and length, or 0. */
static int
fg_ascii(PyObject *value, const Py_UCS1 **s, Py_ssize_t *n)
{
    if (value == NULL || !PyUnicode_CheckExact(value) || !PyUnicode_IS_ASCII(value)) {
        return 0;
    }
    *s = PyUnicode_1BYTE_DATA(value);
    *n = PyUnicode_GET_LENGTH(value);
    return 1;
}

/* _fortigate_time.timestamp's date + time + tz branch for ASCII digits (``(\d{4})-(\d{1,2})-(\d{1,2})``,
 * ``(\d{1,2}): ?(\d{1,2}):(\d{1,2})``, tz UTC/GMT/Z/+0000 or ``[+-]HH:?MM`` under 24 h) and a valid
 * date in years 1..9999 after the shift to UTC; 0 for anything else, a line without ``tz`` included
 * (its time is in the sensor's zone: Python decides). */
static int
fg_date_time(PyObject *pairs, long long *seconds)
{
    const Py_UCS1 *s;
    Py_ssize_t n, at = 0;
    int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 1;
    PyObject *date = PyDict_GetItemWithError(pairs, fg_date);
    if (!fg_ascii(date, &s, &n) || !fg_digits(s, n, &at, 4, 4, &y) || at >= n || s[at++] != '-' ||
        !fg_digits(s, n, &at, 1, 2, &mo) || at >= n || s[at++] != '-' || !fg_digits(s, n, &at, 1, 2, &d) ||
        at != n) {
        return 0;
    }
    PyObject *clock = PyDict_GetItemWithError(pairs, fg_time);
    at = 0;
    if (!fg_ascii(clock, &s, &n) || !fg_digits(s, n, &at, 1, 2, &h) || at >= n || s[at++] != ':') {
        return 0;
    }
    if (at < n && s[at] == ' ') {
        at++;
    }
    if (!fg_digits(s, n, &at, 1, 2, &mi) || at >= n || s[at++] != ':' || !fg_digits(s, n, &at, 1, 2, &sec) ||
        at != n) {
        return 0;
    }
    PyObject *tz = PyDict_GetItemWithError(pairs, fg_tz);
    if (tz == NULL) { /* an error, or no tz: the sensor's zone, which Python applies */
        return 0;
    }
    if (!fg_ascii(tz, &s, &n)) {
        return 0;
    }
    if ((n == 3 && (memcmp(s, "UTC", 3) == 0 || memcmp(s, "GMT", 3) == 0)) || (n == 1 && s[0] == 'Z') ||
        (n == 5 && memcmp(s, "+0000", 5) == 0)) {
        oh = om = 0;
    }
    else {
        if (n < 1 || (s[0] != '+' && s[0] != '-')) {
            return 0;
        }
        sign = s[0] == '-' ? -1 : 1;
        at = 1;
        if (!fg_digits(s, n, &at, 2, 2, &oh)) {
            return 0;
        }
        if (at < n && s[at] == ':') {
            at++;
        }
        if (!fg_digits(s, n, &at, 2, 2, &om) || at != n || oh * 60 + om >= 24 * 60) {
            return 0;
        }
    }
    static const int month_days[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > month_days[mo - 1] || (mo == 2 && d == 29 && !leap) ||
        h > 23 || mi > 59 || sec > 59) {
        return 0;
    }
    long long t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec -
                  sign * (oh * 3600 + om * 60);
    if (t < MIN_SECONDS || t >= END_SECONDS) {
        return 0;
    }
    *seconds = t;
    return 1;
}

/* The event's time as _fortigate_time.timestamp gives it, or NULL (with an error, or without: Python). */
static PyObject *
fg_when(PyObject *pairs)
{
    long long seconds;
    int us = 0;
    PyObject *keys[2] = {fg_eventtime, fg_logtime};
    for (int k = 0; k < 2; k++) {
        PyObject *value = PyDict_GetItemWithError(pairs, keys[k]);
        if (value == NULL) {
            if (PyErr_Occurred()) {
                return NULL;
            }
            continue;
        }
        if (fg_epoch(value, &seconds, &us)) {
            return utc_datetime(seconds, us);
        }
    }
    if (fg_date_time(pairs, &seconds)) {
        return utc_datetime(seconds, 0);
    }
    return NULL;
}

/* The body after an optional ``<PRI>`` (ASCII digits, <= 191; not RFC 5424's "1 ") when it starts
 * with ``date=``, decoded as strict UTF-8 after dropping trailing CR/LF; NULL (no error) otherwise. */
static PyObject *
fg_body(PyObject *data)
{
    const char *b = PyBytes_AS_STRING(data);
    Py_ssize_t n = PyBytes_GET_SIZE(data), i = 0;
    while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == '\r')) {
        n--;
    }
    if (n == 0 || memchr(b, 0, (size_t)n) != NULL) {
        return NULL;
    }
    if (b[0] == '<') {
        Py_ssize_t end = 1;
        int pri = 0;
        while (end < n && end < 5 && b[end] >= '0' && b[end] <= '9') {
            pri = pri * 10 + (b[end] - '0');
            end++;
        }
        if (end == 1 || end >= n || end >= 5 || b[end] != '>' || pri > 191) {
            return NULL;
        }
        i = end + 1;
    }
    if (n - i < 5 || memcmp(b + i, "date=", 5) != 0) {
        return NULL;
    }
    PyObject *body = PyUnicode_DecodeUTF8(b + i, n - i, "strict");
    if (body == NULL && PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
        PyErr_Clear();
    }
    return body;
}

/* fortigate._build in C: the rename, the observer constants, the integers, the N/A filter, the specials
 * and the tail, in the Python function's order, for a key layout already in fortigate's _LAYOUTS cache.
 * The layout's ``plan`` tuple holds what this needs: (names, int_keys, int_names, ports, optional,
 * specials, codes); the codes are indexes into fortigate._SPECIALS. A layout not cached yet, and an
 * integer value the common case declines, go to the Python functions, which compute the same. */

static PyObject *fb_layouts, *fb_fix_ints, *fb_macs, *fb_mac, *fb_transport, *fb_not_set, *fb_outcomes,
    *fb_category, *fb_url, *fb_ip_list, *fb_domain, *fb_max_int;
static PyObject *fb_plan, *fb_vendor, *fb_fortinet, *fb_product, *fb_fortigate, *fb_transport_name,
    *fb_source_mac, *fb_destination_mac, *fb_protocol, *fb_duration, *fb_fortigate_duration, *fb_url_domain,
    *fb_dns_name, *fb_resolved, *fb_catdesc, *fb_url_category, *fb_recipient, *fb_to, *fb_email_to,
    *fb_action, *fb_status, *fb_event_action, *fb_utmaction, *fb_outcome, *fb_event_category;
enum { FB_HOSTNAME, FB_QNAME, FB_URL, FB_SRCMAC, FB_DSTMAC, FB_PROTO, FB_SERVICE, FB_DURATION, FB_IPADDR };

/* fortigate_build_configure(layouts, fix_ints, macs, mac, transport, not_set, outcomes, category, url,
 * ip_list, domain, max_int): fortigate's _LAYOUTS, _fix_ints, _fortigate_values.MACS and mac,
 * _TRANSPORT, _NOT_SET, _OUTCOMES, _CATEGORY, _url, _ip_list, _domain and _MAX_INT. */
static PyObject *
fortigate_build_configure(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 12 || !PyDict_Check(args[0]) || !PyDict_Check(args[2]) || !PyDict_Check(args[4]) ||
        !PyAnySet_Check(args[5]) || !PyDict_Check(args[6]) || !PyDict_Check(args[7]) || !PyLong_Check(args[11])) {
        PyErr_SetString(PyExc_TypeError, "fortigate_build_configure(layouts, fix_ints, macs, mac, transport, "
                                         "not_set, outcomes, category, url, ip_list, domain, max_int)");
        return NULL;
    }
    if (fb_plan == NULL) {
#define FB_INTERN(var, text)                                                                                       \
    if ((var = PyUnicode_InternFromString(text)) == NULL) {                                                        \
        return NULL;                                                                                               \
    }
        FB_INTERN(fb_plan, "plan");
        FB_INTERN(fb_vendor, "observer.vendor");
        FB_INTERN(fb_fortinet, "Fortinet");
        FB_INTERN(fb_product, "observer.product");
        FB_INTERN(fb_fortigate, "FortiGate");
        FB_INTERN(fb_transport_name, "network.transport");
        FB_INTERN(fb_source_mac, "source.mac");
        FB_INTERN(fb_destination_mac, "destination.mac");
        FB_INTERN(fb_protocol, "network.protocol");
        FB_INTERN(fb_duration, "event.duration");
        FB_INTERN(fb_fortigate_duration, "fortigate.duration");
        FB_INTERN(fb_url_domain, "url.domain");
        FB_INTERN(fb_dns_name, "dns.question.name");
        FB_INTERN(fb_resolved, "dns.resolved_ip");
        FB_INTERN(fb_catdesc, "catdesc");
        FB_INTERN(fb_url_category, "url.category");
        FB_INTERN(fb_recipient, "recipient");
        FB_INTERN(fb_to, "to");
        FB_INTERN(fb_email_to, "email.to.address");
        FB_INTERN(fb_action, "action");
        FB_INTERN(fb_status, "status");
        FB_INTERN(fb_event_action, "event.action");
        FB_INTERN(fb_utmaction, "utmaction");
        FB_INTERN(fb_outcome, "event.outcome");
        FB_INTERN(fb_event_category, "event.category");
#undef FB_INTERN
    }
    PyObject **slots[12] = {&fb_layouts, &fb_fix_ints, &fb_macs, &fb_mac, &fb_transport, &fb_not_set,
                            &fb_outcomes, &fb_category, &fb_url, &fb_ip_list, &fb_domain, &fb_max_int};
    for (int k = 0; k < 12; k++) {
        Py_INCREF(args[k]);
        Py_XSETREF(*slots[k], args[k]);
    }
    Py_RETURN_NONE;
}

/* _fortigate_values.domain (``value.rstrip(".").lower()``) for ASCII text; new reference. */
static PyObject *
fb_domain_of(PyObject *value)
{
    if (!PyUnicode_IS_ASCII(value)) {
        return PyObject_CallOneArg(fb_domain, value);
    }
    const Py_UCS1 *s = PyUnicode_1BYTE_DATA(value);
    Py_ssize_t n = PyUnicode_GET_LENGTH(value);
    while (n > 0 && s[n - 1] == '.') {
        n--;
    }
    PyObject *out = PyUnicode_New(n, 127);
    if (out == NULL) {
        return NULL;
    }
    Py_UCS1 *d = PyUnicode_1BYTE_DATA(out);
    for (Py_ssize_t k = 0; k < n; k++) {
        d[k] = (s[k] >= 'A' && s[k] <= 'Z') ? (Py_UCS1)(s[k] + 32) : s[k];
    }
    return out;
}

/* ``value.lower()``; new reference. */
static PyObject *
fb_lower(PyObject *value)
{
    if (!PyUnicode_IS_ASCII(value)) {
        return PyObject_CallMethod(value, "lower", NULL);
    }
    const Py_UCS1 *s = PyUnicode_1BYTE_DATA(value);
    Py_ssize_t n = PyUnicode_GET_LENGTH(value);
    PyObject *out = PyUnicode_New(n, 127);
    if (out == NULL) {
        return NULL;
    }
    Py_UCS1 *d = PyUnicode_1BYTE_DATA(out);
    for (Py_ssize_t k = 0; k < n; k++) {
        d[k] = (s[k] >= 'A' && s[k] <= 'Z') ? (Py_UCS1)(s[k] + 32) : s[k];
    }
    return out;
}

/* fields[name] = value, stealing ``value`` (NULL: an error already set). 0, or -1 on error. */
static int
fb_set(PyObject *fields, PyObject *name, PyObject *value)
{
    if (value == NULL) {
        return -1;
    }
    int failed = PyDict_SetItem(fields, name, value);
    Py_DECREF(value);
    return failed;
}

/* ``_MACS.get(value) or _mac(value)``; new reference. */
static PyObject *
fb_mac_of(PyObject *value)
{
    PyObject *found = PyDict_GetItemWithError(fb_macs, value);
    if (found != NULL && PyUnicode_Check(found) && PyUnicode_GET_LENGTH(found) > 0) {
        Py_INCREF(found);
        return found;
    }
    if (PyErr_Occurred()) {
        return NULL;
    }
    return PyObject_CallOneArg(fb_mac, value);
}

/* The ``duration`` special: whole seconds below _MAX_INT // 10**9 become nanoseconds, anything else
 * goes back to ``fortigate.duration``. */
static int
fb_duration_of(PyObject *fields, PyObject *value)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(value);
    unsigned long long seconds = 0;
    int ok = PyUnicode_IS_ASCII(value) && n > 0 && n <= 19;
    const Py_UCS1 *s = ok ? PyUnicode_1BYTE_DATA(value) : NULL;
    for (Py_ssize_t k = 0; ok && k < n; k++) {
        ok = s[k] >= '0' && s[k] <= '9';
        seconds = seconds * 10 + (unsigned long long)(s[k] - '0');
    }
    if (ok && seconds < 9223372036ULL) { /* (2**63 - 1) // 10**9; also rules out the 19-digit wrap */
        return fb_set(fields, fb_duration, PyLong_FromUnsignedLongLong(seconds * 1000000000ULL));
    }
    if (PyDict_DelItem(fields, fb_duration) < 0) {
        return -1;
    }
    return PyDict_SetItem(fields, fb_fortigate_duration, value);
}

/* One key of ``_fix_specials``' loop (``code``: its index in _SPECIALS). */
static int
fb_special(PyObject *fields, long code, PyObject *value)
{
    int empty = PyUnicode_GET_LENGTH(value) == 0;
    switch (code) {
    case FB_PROTO: {
        if (empty) {
            return 0;
        }
        PyObject *transport = PyDict_GetItemWithError(fb_transport, value);
        if (transport == NULL) {
            return PyErr_Occurred() ? -1 : 0;
        }
        return PyDict_SetItem(fields, fb_transport_name, transport);
    }
    case FB_SRCMAC:
        return empty ? 0 : fb_set(fields, fb_source_mac, fb_mac_of(value));
    case FB_SERVICE:
        return empty ? 0 : fb_set(fields, fb_protocol, fb_lower(value));
    case FB_DURATION:
        return fb_duration_of(fields, value);
    }
    if (empty) {
        return 0;
    }
    switch (code) {
    case FB_HOSTNAME:
        return fb_set(fields, fb_url_domain, fb_domain_of(value));
    case FB_QNAME:
        return fb_set(fields, fb_dns_name, fb_domain_of(value));
    case FB_URL: {
        PyObject *call_args[2] = {fields, value};
        PyObject *none = PyObject_Vectorcall(fb_url, call_args, 2, NULL);
        Py_XDECREF(none);
        return none == NULL ? -1 : 0;
    }
    case FB_DSTMAC:
        return fb_set(fields, fb_destination_mac, fb_mac_of(value));
    case FB_IPADDR:
        return fb_set(fields, fb_resolved, PyObject_CallOneArg(fb_ip_list, value));
    }
    PyErr_Format(PyExc_ValueError, "fortigate_build(): unknown special %ld", code);
    return -1;
}

/* ``pairs.get(key)`` looked up in _OUTCOMES (a borrowed reference or NULL; -1 on error). */
static int
fb_outcome_of(PyObject *key, PyObject **found)
{
    *found = NULL;
    if (key == NULL) {
        return 0;
    }
    *found = PyDict_GetItemWithError(fb_outcomes, key);
    return *found == NULL && PyErr_Occurred() ? -1 : 0;
}

/* The ints (C common case, else the Python _fix_ints), the N/A filter and the specials. */
static int
fb_fix(PyObject *fields, PyObject *pairs, PyObject *layout, PyObject *plan)
{
    PyObject *int_keys = PyTuple_GET_ITEM(plan, 1), *optional = PyTuple_GET_ITEM(plan, 4);
    PyObject *specials = PyTuple_GET_ITEM(plan, 5), *codes = PyTuple_GET_ITEM(plan, 6);
    if (PyTuple_GET_SIZE(int_keys)) {
        PyObject *ints_args[6] = {fields, pairs, int_keys, PyTuple_GET_ITEM(plan, 2), PyTuple_GET_ITEM(plan, 3),
                                  fb_max_int};
        PyObject *done = fortigate_ints(NULL, ints_args, 6);
        if (done == NULL) {
            return -1;
        }
        Py_DECREF(done);
        if (done != Py_True) {
            PyObject *fix_args[3] = {fields, pairs, layout};
            PyObject *none = PyObject_Vectorcall(fb_fix_ints, fix_args, 3, NULL);
            Py_XDECREF(none);
            if (none == NULL) {
                return -1;
            }
        }
    }
    if (PyTuple_GET_SIZE(optional)) {
        PyObject *drop_args[3] = {fields, optional, fb_not_set};
        PyObject *none = drop_unset(NULL, drop_args, 3);
        Py_XDECREF(none);
        if (none == NULL) {
            return -1;
        }
    }
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(specials); k++) {
        PyObject *key = PyTuple_GET_ITEM(specials, k);
        PyObject *value = PyDict_GetItemWithError(pairs, key);
        if (value == NULL) {
            if (!PyErr_Occurred()) {
                PyErr_SetObject(PyExc_KeyError, key);
            }
            return -1;
        }
        long code = PyLong_AsLong(PyTuple_GET_ITEM(codes, k));
        if (code == -1 && PyErr_Occurred()) {
            return -1;
        }
        Py_INCREF(value);
        int failed = !PyUnicode_Check(value) ? -1 : fb_special(fields, code, value);
        if (failed && !PyErr_Occurred()) {
            PyErr_SetString(PyExc_TypeError, "fortigate_build(): pair values must be str");
        }
        Py_DECREF(value);
        if (failed) {
            return -1;
        }
    }
    return 0;
}

/* What follows the specials in _build: url.category, the e-mail recipient, the traffic action, the
 * outcome and the category. */
static int
fb_tail(PyObject *fields, PyObject *pairs, PyObject *feature)
{
    PyObject *value;
    if (PyUnicode_CompareWithASCIIString(feature, "webfilter") == 0) {
        value = PyDict_GetItemWithError(pairs, fb_catdesc);
        if (value != NULL ? PyDict_SetItem(fields, fb_url_category, value) < 0 : PyErr_Occurred() != NULL) {
            return -1;
        }
    }
    value = PyDict_GetItemWithError(pairs, fb_recipient);
    if (value != NULL) {
        int has_to = PyDict_Contains(pairs, fb_to);
        if (has_to < 0 || (!has_to && PyDict_SetItem(fields, fb_email_to, value) < 0)) {
            return -1;
        }
    }
    else if (PyErr_Occurred()) {
        return -1;
    }
    if (PyUnicode_CompareWithASCIIString(feature, "traffic") == 0) {
        int has_action = PyDict_Contains(fields, fb_event_action);
        if (has_action < 0) {
            return -1;
        }
        value = has_action ? NULL : PyDict_GetItemWithError(pairs, fb_status);
        if (value != NULL ? PyDict_SetItem(fields, fb_event_action, value) < 0 : PyErr_Occurred() != NULL) {
            return -1;
        }
    }
    PyObject *outcome;
    if (fb_outcome_of(PyDict_GetItemWithError(pairs, fb_status), &outcome) < 0 || PyErr_Occurred()) {
        return -1;
    }
    if (outcome == NULL) { /* _OUTCOMES.get(pairs.get("action") or pairs.get("utmaction") or "") */
        PyObject *word = PyDict_GetItemWithError(pairs, fb_action);
        if (word == NULL || PyObject_IsTrue(word) == 0) {
            word = PyErr_Occurred() ? NULL : PyDict_GetItemWithError(pairs, fb_utmaction);
            if (word == NULL || PyObject_IsTrue(word) == 0) {
                word = PyErr_Occurred() ? NULL : fg_empty;
            }
        }
        if (word == NULL || fb_outcome_of(word, &outcome) < 0) {
            return -1;
        }
    }
    if (outcome != NULL && PyDict_SetItem(fields, fb_outcome, outcome) < 0) {
        return -1;
    }
    PyObject *category = PyDict_GetItemWithError(fb_category, feature);
    if (category == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    PyObject *list = PyList_New(1);
    if (list == NULL) {
        return -1;
    }
    Py_INCREF(category);
    PyList_SET_ITEM(list, 0, category);
    return fb_set(fields, fb_event_category, list);
}

/* fortigate_build(pairs, feature): fortigate._build's fields; the Python function for a layout not in
 * the cache. */
static PyObject *
fortigate_build(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyDict_CheckExact(args[0]) || !PyUnicode_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "fortigate_build(pairs: dict, feature: str)");
        return NULL;
    }
    if (fb_layouts == NULL || fg_build == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "fortigate_build(): not configured");
        return NULL;
    }
    PyObject *pairs = args[0], *feature = args[1];
    PyObject *keys = PySequence_Tuple(pairs);
    if (keys == NULL) {
        return NULL;
    }
    PyObject *layout = PyDict_GetItemWithError(fb_layouts, keys);
    Py_DECREF(keys);
    if (layout == NULL) {
        return PyErr_Occurred() ? NULL : PyObject_Vectorcall(fg_build, args, 2, NULL);
    }
    Py_INCREF(layout); /* the cache may be cleared by a Python call below */
    PyObject *fields = NULL;
    PyObject *plan = PyObject_GetAttr(layout, fb_plan);
    if (plan == NULL || !PyTuple_CheckExact(plan) || PyTuple_GET_SIZE(plan) != 7) {
        if (plan != NULL) {
            PyErr_SetString(PyExc_TypeError, "fortigate_build(): a layout's plan must be a 7-tuple");
        }
        goto done;
    }
    PyObject *rename_args[2] = {PyTuple_GET_ITEM(plan, 0), pairs};
    fields = rename_values(NULL, rename_args, 2);
    if (fields == NULL || PyDict_SetItem(fields, fb_vendor, fb_fortinet) < 0 ||
        PyDict_SetItem(fields, fb_product, fb_fortigate) < 0 || fb_fix(fields, pairs, layout, plan) < 0 ||
        fb_tail(fields, pairs, feature) < 0) {
        Py_CLEAR(fields);
    }
done:
    Py_XDECREF(plan);
    Py_DECREF(layout);
    return fields;
}

static PyObject *
fortigate_event(PyObject *self, PyObject *record)
{
    if (fg_datasets == NULL || ej_event_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "fortigate_event(): not configured");
        return NULL;
    }
    PyObject *data = NULL, *body = NULL, *pairs = NULL, *kind = NULL, *when = NULL, *fields = NULL;
    PyObject *result = NULL;
    data = PyObject_GetAttr(record, js_data);
    if (data == NULL || !PyBytes_CheckExact(data) || (body = fg_body(data)) == NULL) {
        goto done;
    }
    pairs = kv_split(NULL, body);
    if (pairs == NULL || pairs == Py_None) {
        goto done;
    }
    PyObject *type = PyDict_GetItemWithError(pairs, fg_type);
    if (type == NULL) {
        goto done;
    }
    PyObject *subtype = PyDict_GetItemWithError(pairs, fg_subtype);
    if (subtype == NULL && PyErr_Occurred()) {
        goto done;
    }
    if ((kind = PyTuple_Pack(2, type, subtype == NULL ? fg_empty : subtype)) == NULL) {
        goto done;
    }
    PyObject *found = PyDict_GetItemWithError(fg_datasets, kind);
    if (found == NULL || !PyTuple_CheckExact(found) || PyTuple_GET_SIZE(found) != 2) {
        goto done; /* not cached yet: the Python path computes it (or raises) */
    }
    Py_INCREF(found); /* the Python path may clear the cache while _build runs */
    if ((when = fg_when(pairs)) == NULL) {
        Py_DECREF(found);
        goto done;
    }
    PyObject *call_args[2] = {pairs, PyTuple_GET_ITEM(found, 1)};
    if (fb_layouts != NULL && PyUnicode_Check(call_args[1])) { /* _build in C (fortigate_build_configure) */
        fields = fortigate_build(NULL, call_args, 2);
    }
    else {
        fields = PyObject_Vectorcall(fg_build, call_args, 2, NULL);
    }
    if (fields != NULL) {
        result = make_event(record, when, PyTuple_GET_ITEM(found, 0), fields);
    }
    else {
        Py_DECREF(when);
    }
    when = fields = NULL; /* stolen by make_event, or released */
    Py_DECREF(found);
done:
    Py_XDECREF(data);
    Py_XDECREF(body);
    Py_XDECREF(pairs);
    Py_XDECREF(kind);
    if (result != NULL || PyErr_Occurred()) {
        return result;
    }
    Py_RETURN_NONE;
}

static int
events_init(void)
{
    static const char *directions[4] = {"internal", "outbound", "inbound", "external"};
    for (int k = 0; k < 4; k++) {
        if ((js_directions[k] = PyUnicode_InternFromString(directions[k])) == NULL) {
            return -1;
        }
    }
#define INTERN(var, text)                                                                                          \
    if ((var = PyUnicode_InternFromString(text)) == NULL) {                                                        \
        return -1;                                                                                                 \
    }
    INTERN(js_data, "data");
    INTERN(js_timezone, "timezone");
    INTERN(js_tenant, "tenant_id");
    INTERN(js_sensor, "sensor_id");
    INTERN(js_nul_path, "_path");
    INTERN(js_ts, "ts");
    INTERN(js_category, "event.category");
    INTERN(js_native, "native");
    INTERN(zk_resolved_ip, "dns.resolved_ip");
    INTERN(js_local_orig, "local_orig");
    INTERN(js_local_resp, "local_resp");
    INTERN(js_direction, "network.direction");
    INTERN(ss_signature_id, "signature_id");
    INTERN(ss_action, "action");
    INTERN(ss_rule_id, "rule.id");
    INTERN(ss_outcome, "event.outcome");
    INTERN(ss_kind, "event.kind");
    INTERN(ss_alert, "alert");
    INTERN(ss_hostname, "hostname");
    INTERN(ss_url, "url");
    INTERN(ss_protocol, "protocol");
    INTERN(ss_url_domain, "url.domain");
    INTERN(ss_url_original, "url.original");
    INTERN(ss_url_path, "url.path");
    INTERN(ss_url_query, "url.query");
    INTERN(ss_http_version, "http.version");
    INTERN(ss_file_name, "file.name");
    INTERN(ss_file_path, "file.path");
    INTERN(ss_event_type, "event_type");
    INTERN(ss_timestamp, "timestamp");
    INTERN(ss_proto, "proto");
    INTERN(ss_flow_id, "flow_id");
    INTERN(ss_transport, "network.transport");
    INTERN(ss_suricata_flow_id, "suricata.flow_id");
    INTERN(ss_network_protocol, "network.protocol");
    INTERN(ss_version, "version");
    INTERN(ss_fingerprint, "fingerprint");
    INTERN(ss_sni, "sni");
    INTERN(ss_client_server_name, "tls.client.server_name");
    INTERN(ss_server_name, "tls.server.name");
    INTERN(ss_tls_version, "tls.version");
    INTERN(ss_tls_version_protocol, "tls.version_protocol");
    INTERN(ss_server_sha1, "tls.server.hash.sha1");
    INTERN(ss_ja3, "ja3");
    INTERN(ss_ja3s, "ja3s");
    INTERN(ss_hash, "hash");
    INTERN(ss_client_ja3, "tls.client.ja3");
    INTERN(ss_server_ja3s, "tls.server.ja3s");
    INTERN(ss_rstrip, "rstrip");
    INTERN(ss_lower, "lower");
    INTERN(ss_dot, ".");
    INTERN(ss_ports[0], "source.port");
    INTERN(ss_ports[1], "destination.port");
    INTERN(ss_moved[0], "suricata.source.port");
    INTERN(ss_moved[1], "suricata.destination.port");
#undef INTERN
    return 0;
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

#include "_speedups_behaviours.c" /* behaviour_views, views_configure */
#include "_speedups_hot.c"        /* the behaviours' hot paths */
#include "_speedups_hot_flows.c"  /* ... of the connection behaviours (scan, beacon) */
#include "_speedups_hot_dns.c"    /* ... of the DNS behaviours (dns_anomaly, risky_download) */
#include "_speedups_evtx_binxml.c" /* evtx_chunk: EVTX chunks' BinXML to trees ... */
#include "_speedups_evtx_json.c"   /* ... and the trees to the reader's JSON documents */
#include "_speedups_evtx_sysmon.c" /* evtx_sysmon: ecs._sysmon */
#include "_speedups_evtx_security.c" /* evtx_security: ecs._security */
#include "_speedups_literals.c"      /* literal_set, literal_scan: the Sigma prefilter's keyword search */

static PyMethodDef methods[] = {
    {"behaviour_views", (PyCFunction)(void (*)(void))behaviour_views, METH_FASTCALL,
     "BehaviourDetector._run_views in C."},
    {"views_configure", (PyCFunction)(void (*)(void))views_configure, METH_FASTCALL,
     "The View type, its slots and helpers for behaviour_views."},
    {"hot_new_device", (PyCFunction)(void (*)(void))hot_new_device, METH_FASTCALL,
     "NewDeviceBehaviour.see's common case (a behaviour_views hot path)."},
    {"hot_new_device_verdict", (PyCFunction)(void (*)(void))hot_new_device_verdict, METH_FASTCALL,
     "NewDeviceBehaviour.see's common case on verdict datasets (a behaviour_views hot path)."},
    {"hot_no_antivirus", (PyCFunction)(void (*)(void))hot_no_antivirus, METH_FASTCALL,
     "NoAntivirusBehaviour.see's common case (a behaviour_views hot path)."},
    {"hot_large_transfer", (PyCFunction)(void (*)(void))hot_large_transfer, METH_FASTCALL,
     "LargeTransfer.see's common case (a behaviour_views hot path)."},
    {"hot_eol_os", (PyCFunction)(void (*)(void))hot_eol_os, METH_FASTCALL,
     "EolOsBehaviour.see's common case (a behaviour_views hot path)."},
    {"hot_scan", (PyCFunction)(void (*)(void))hot_scan, METH_FASTCALL,
     "ScanBehaviour.see's early returns (a behaviour_views hot path)."},
    {"hot_beacon", (PyCFunction)(void (*)(void))hot_beacon, METH_FASTCALL,
     "BeaconBehaviour.see's early returns (a behaviour_views hot path)."},
    {"hot_dns_anomaly", (PyCFunction)(void (*)(void))hot_dns_anomaly, METH_FASTCALL,
     "DnsAnomaly.see's common case (a behaviour_views hot path)."},
    {"hot_risky_download", (PyCFunction)(void (*)(void))hot_risky_download, METH_FASTCALL,
     "RiskyDownload.see's DNS look-ups (a behaviour_views hot path)."},
    {"kv_split", (PyCFunction)kv_split, METH_O, "_fast.kv_pairs in C."},
    {"to_ints", (PyCFunction)(void (*)(void))to_ints, METH_FASTCALL, "_fast.to_ints in C."},
    {"rename_values", (PyCFunction)(void (*)(void))rename_values, METH_FASTCALL,
     "dict(zip(names, pairs.values(), strict=True)), presized."},
    {"drop_unset", (PyCFunction)(void (*)(void))drop_unset, METH_FASTCALL, "fortigate's N/A filter in C."},
    {"fortigate_ints", (PyCFunction)(void (*)(void))fortigate_ints, METH_FASTCALL,
     "fortigate._fix_ints' common case in C."},
    {"has_big_int", (PyCFunction)has_big_int, METH_O, "_json.has_big_int in C."},
    {"flatten", (PyCFunction)(void (*)(void))flatten, METH_FASTCALL, "_json.flatten in C."},
    {"rename_into", (PyCFunction)(void (*)(void))rename_into, METH_FASTCALL, "suricata._rename in C."},
    {"object_fields", (PyCFunction)(void (*)(void))object_fields, METH_FASTCALL, "suricata._fields' loop in C."},
    {"address_scan", (PyCFunction)(void (*)(void))address_scan, METH_FASTCALL,
     "IndicatorDetector.detect's common path in C."},
    {"zeek_fields", (PyCFunction)(void (*)(void))zeek_fields, METH_FASTCALL, "zeek._fields in C."},
    {"evtx_fields", (PyCFunction)(void (*)(void))evtx_fields, METH_FASTCALL,
     "evtx._system (but the time parse), _event_data's named values and their prefixing in C."},
    {"evtx_get", (PyCFunction)(void (*)(void))evtx_get, METH_FASTCALL, "evtx.values.get in C."},
    {"evtx_copy", (PyCFunction)(void (*)(void))evtx_copy, METH_FASTCALL, "evtx.values.copy in C."},
    {"evtx_configure", (PyCFunction)(void (*)(void))evtx_configure, METH_FASTCALL,
     "Set the evtx tables evtx_fields() uses."},
    {"events_configure", (PyCFunction)(void (*)(void))events_configure, METH_FASTCALL,
     "Set the Event class and the functions zeek_event() and suricata_event() use."},
    {"zeek_configure", (PyCFunction)(void (*)(void))zeek_configure, METH_FASTCALL, "Set zeek_event()'s tables."},
    {"zeek_event", (PyCFunction)zeek_event, METH_O, "zeek.parse in C (None: take the Python path)."},
    {"suricata_configure", (PyCFunction)(void (*)(void))suricata_configure, METH_FASTCALL,
     "Set suricata_event()'s tables."},
    {"suricata_event", (PyCFunction)suricata_event, METH_O, "suricata.parse in C (None: take the Python path)."},
    {"fortigate_configure", (PyCFunction)(void (*)(void))fortigate_configure, METH_FASTCALL,
     "Set fortigate_event()'s dataset cache and fields builder."},
    {"fortigate_event", (PyCFunction)fortigate_event, METH_O, "fortigate.parse in C (None: take the Python path)."},
    {"evtx_event_configure", (PyCFunction)evtx_event_configure, METH_O, "Set evtx_event()'s enrich function."},
    {"evtx_event", (PyCFunction)evtx_event, METH_O, "evtx.parse in C for the common records (None: the Python path)."},
    {"evtx_sysmon", (PyCFunction)(void (*)(void))evtx_sysmon, METH_FASTCALL, "parsers.evtx.ecs._sysmon in C."},
    {"evtx_security", (PyCFunction)(void (*)(void))evtx_security, METH_FASTCALL, "parsers.evtx.ecs._security in C."},
    {"evtx_security_configure", (PyCFunction)(void (*)(void))evtx_security_configure, METH_FASTCALL,
     "Set evtx_security()'s tables and callbacks."},
    {"evtx_enrich", (PyCFunction)(void (*)(void))evtx_enrich, METH_FASTCALL, "parsers.evtx.ecs.enrich in C."},
    {"evtx_enrich_configure", (PyCFunction)(void (*)(void))evtx_enrich_configure, METH_FASTCALL,
     "Set evtx_enrich()'s dicts."},
    {"evtx_sysmon_configure", (PyCFunction)(void (*)(void))evtx_sysmon_configure, METH_FASTCALL,
     "Set evtx_sysmon()'s tables and callbacks."},
    {"evtx_chunk", (PyCFunction)evtx_chunk, METH_O,
     "One 64 KiB EVTX chunk to [(record id, JSON document)], or None for the Rust decoder."},
    {"fortigate_build_configure", (PyCFunction)(void (*)(void))fortigate_build_configure, METH_FASTCALL,
     "Set fortigate_build()'s tables and Python helpers."},
    {"fortigate_build", (PyCFunction)(void (*)(void))fortigate_build, METH_FASTCALL, "fortigate._build in C."},
    {"literal_set", (PyCFunction)literal_set, METH_O,
     "An automaton of lower-cased texts (bytes) for literal_scan, or None."},
    {"literal_scan", (PyCFunction)(void (*)(void))literal_scan, METH_FASTCALL,
     "The indexes of the texts found in a dict's values, lower-cased (None: search otherwise)."},
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
    if (ev_init() < 0) {
        return NULL;
    }
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL) {
        return NULL;
    }
    if (events_init() < 0 || behaviours_init() < 0 || hot_init() < 0 || hot_flows_init() < 0 || hot_dns_init() < 0) {
        return NULL;
    }
    return PyModule_Create(&module);
}
