/* The Sigma prefilter's search of all an event's values for a set of literals (included by _speedups.c).
 *
 * ``literal_set(texts)`` builds an Aho-Corasick automaton over the lower-cased texts (UTF-8 bytes) and
 * turns it into a full DFA over byte classes (every byte that occurs in a text has its own class, ASCII
 * capitals share their small letter's, all other bytes share class 0), or returns None when the set is
 * empty, has an empty or repeated text, or would exceed the table bounds below; the caller then keeps its
 * RE2 search. ``literal_scan(automaton, fields)`` answers the indexes of the texts found in the values of
 * the dict ``fields`` (None for another mapping), each once, in the order first found: exactly the texts ``t`` for which some value
 * text ``v`` of the event (a string, the items of a list, an integer, float or boolean as ``str`` renders
 * it) has ``t in v.lower()`` -- what the rules themselves test, so the result is the prefilter's reference
 * and not an approximation of it. A pure-ASCII string is folded byte by byte through the class table; any
 * other string is lower-cased by ``str.lower`` first (one call; its UTF-8 with lone surrogates passed
 * through, as the texts are encoded). The automaton restarts at every value: no text spans two values.
 * A value of any other type (None, a dict, a nested list, a subclass) makes the answer None: the caller
 * searches the Python way for that event. */

#define LS_MAX_STATES (1 << 18)  /* trie nodes (one per text byte, plus the root) */
#define LS_MAX_CELLS (1 << 21)   /* states x classes: 8 MiB of transitions at most per set (and the
                                  * shifted offsets below stay under 2^31) */

typedef struct {
    int32_t nstates, nclasses, ntexts;
    uint8_t cls[256];
    int32_t *delta; /* nstates * nclasses: (next state * nclasses) << 2, | 2 when it is the root or one
                     * byte deep, | 1 when a text ends there */
    uint8_t *pairs; /* nclasses * nclasses: whether some text starts with these two bytes' classes */
    int skip;       /* no text is one byte long: the scan may jump to the next pair that starts one */
    int32_t *own;   /* the text ending at each state, or -1 */
    int32_t *hit;   /* the first state on the suffix chain with a text (itself included), or -1 */
    int32_t *link;  /* the next such state after this one on the chain, or -1 */
} LitSet;

static const char ls_capsule[] = "mimamori.parsers._speedups.literal_set";

static void
ls_free(LitSet *set)
{
    if (set != NULL) {
        PyMem_Free(set->delta);
        PyMem_Free(set->pairs);
        PyMem_Free(set->own);
        PyMem_Free(set->hit);
        PyMem_Free(set->link);
        PyMem_Free(set);
    }
}

static void
ls_destroy(PyObject *capsule)
{
    ls_free((LitSet *)PyCapsule_GetPointer(capsule, ls_capsule));
}

static uint8_t
ls_fold(uint8_t byte)
{
    return (byte >= 'A' && byte <= 'Z') ? (uint8_t)(byte + 32) : byte;
}

/* The automaton of ``texts`` (a list of bytes), or NULL with no error when it is refused (see above). */
static LitSet *
ls_build(PyObject *texts)
{
    Py_ssize_t count = PyList_GET_SIZE(texts), total = 1;
    int used[256] = {0};
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *text = PyList_GET_ITEM(texts, i);
        if (!PyBytes_CheckExact(text) || PyBytes_GET_SIZE(text) == 0) {
            return NULL;
        }
        const uint8_t *bytes = (const uint8_t *)PyBytes_AS_STRING(text);
        for (Py_ssize_t j = 0; j < PyBytes_GET_SIZE(text); j++) {
            used[ls_fold(bytes[j])] = 1;
        }
        total += PyBytes_GET_SIZE(text);
        if (total > LS_MAX_STATES) {
            return NULL;
        }
    }
    if (count == 0) {
        return NULL;
    }
    LitSet *set = PyMem_Calloc(1, sizeof(LitSet));
    if (set == NULL) {
        return NULL;
    }
    int32_t classes = 1;
    for (int b = 0; b < 256; b++) {
        set->cls[b] = used[b] ? (uint8_t)classes++ : 0;
    }
    for (int b = 'A'; b <= 'Z'; b++) {
        set->cls[b] = set->cls[b + 32];
    }
    if ((int64_t)total * classes > LS_MAX_CELLS) {
        PyMem_Free(set);
        return NULL;
    }
    set->nclasses = classes;
    set->ntexts = (int32_t)count;
    set->delta = PyMem_Malloc(sizeof(int32_t) * (size_t)total * (size_t)classes);
    set->own = PyMem_Malloc(sizeof(int32_t) * (size_t)total);
    set->hit = PyMem_Malloc(sizeof(int32_t) * (size_t)total);
    set->link = PyMem_Malloc(sizeof(int32_t) * (size_t)total);
    int32_t *fail = PyMem_Malloc(sizeof(int32_t) * (size_t)total);
    int32_t *queue = PyMem_Malloc(sizeof(int32_t) * (size_t)total);
    int32_t *depth = PyMem_Malloc(sizeof(int32_t) * (size_t)total);
    set->pairs = PyMem_Calloc((size_t)classes * (size_t)classes, 1);
    if (set->delta == NULL || set->own == NULL || set->hit == NULL || set->link == NULL || fail == NULL ||
        queue == NULL || depth == NULL || set->pairs == NULL) {
        goto refused;
    }
    memset(set->delta, 0xff, sizeof(int32_t) * (size_t)total * (size_t)classes); /* -1: no edge yet */
    int32_t states = 1;
    set->own[0] = -1;
    depth[0] = 0;
    set->skip = 1;
    for (Py_ssize_t i = 0; i < count; i++) { /* the trie */
        PyObject *text = PyList_GET_ITEM(texts, i);
        const uint8_t *bytes = (const uint8_t *)PyBytes_AS_STRING(text);
        Py_ssize_t size = PyBytes_GET_SIZE(text);
        if (size == 1) {
            set->skip = 0;
        } else {
            set->pairs[(size_t)set->cls[bytes[0]] * classes + set->cls[bytes[1]]] = 1;
        }
        int32_t state = 0;
        for (Py_ssize_t j = 0; j < size; j++) {
            int32_t *edge = &set->delta[(size_t)state * classes + set->cls[bytes[j]]];
            if (*edge < 0) {
                set->own[states] = -1;
                depth[states] = depth[state] + 1;
                *edge = states++;
            }
            state = *edge;
        }
        if (set->own[state] >= 0) { /* the same text twice: refused rather than reported once */
            goto refused;
        }
        set->own[state] = (int32_t)i;
    }
    set->nstates = states;
    /* Breadth first: failure links, the missing transitions (the failure state's), the output chains. */
    int32_t head = 0, tail = 0;
    fail[0] = 0;
    set->hit[0] = set->link[0] = -1;
    for (int32_t c = 0; c < classes; c++) {
        int32_t *edge = &set->delta[c];
        if (*edge < 0) {
            *edge = 0;
        } else {
            fail[*edge] = 0;
            queue[tail++] = *edge;
        }
    }
    while (head < tail) {
        int32_t state = queue[head++];
        int32_t back = fail[state];
        set->link[state] = set->hit[back];
        set->hit[state] = set->own[state] >= 0 ? state : set->link[state];
        for (int32_t c = 0; c < classes; c++) {
            int32_t *edge = &set->delta[(size_t)state * classes + c];
            int32_t fallback = set->delta[(size_t)back * classes + c];
            if (*edge < 0) {
                *edge = fallback;
            } else {
                fail[*edge] = fallback;
                queue[tail++] = *edge;
            }
        }
    }
    /* The scan's form: each entry the offset of its target's row, shifted, with two flags (one dependent
     * load per byte; the state number is only computed on a hit). */
    for (size_t cell = 0; cell < (size_t)states * classes; cell++) {
        int32_t target = set->delta[cell];
        set->delta[cell] = (int32_t)(((uint32_t)target * (uint32_t)classes) << 2) |
                           (depth[target] <= 1) << 1 | (set->hit[target] >= 0);
    }
    PyMem_Free(fail);
    PyMem_Free(queue);
    PyMem_Free(depth);
    return set;
refused:
    PyMem_Free(fail);
    PyMem_Free(queue);
    PyMem_Free(depth);
    ls_free(set);
    return NULL;
}

static PyObject *
literal_set(PyObject *self, PyObject *texts)
{
    if (!PyList_CheckExact(texts)) {
        PyErr_SetString(PyExc_TypeError, "literal_set() needs a list of bytes");
        return NULL;
    }
    LitSet *set = ls_build(texts);
    if (set == NULL) {
        if (PyErr_Occurred()) {
            return NULL;
        }
        Py_RETURN_NONE;
    }
    PyObject *capsule = PyCapsule_New(set, ls_capsule, ls_destroy);
    if (capsule == NULL) {
        ls_free(set);
    }
    return capsule;
}

typedef struct {
    const LitSet *set;
    uint64_t *seen;
    PyObject *found;
} LsScan;

/* Report the texts ending at ``state`` not reported yet; 0, or -1 with an error. */
static int
ls_report(LsScan *scan, int32_t state)
{
    const LitSet *set = scan->set;
    for (int32_t at = set->hit[state]; at >= 0; at = set->link[at]) {
        int32_t text = set->own[at];
        uint64_t bit = (uint64_t)1 << (text & 63);
        if (scan->seen[text >> 6] & bit) {
            continue;
        }
        scan->seen[text >> 6] |= bit;
        PyObject *index = PyLong_FromLong(text);
        if (index == NULL || PyList_Append(scan->found, index) < 0) {
            Py_XDECREF(index);
            return -1;
        }
        Py_DECREF(index);
    }
    return 0;
}

/* Run the automaton over one text's bytes from the root; 0, or -1 with an error.
 *
 * With ``skip``, the state is at most one byte deep at the top of the outer loop (the root, or the
 * prefix made of the byte before ``at``), so every text occurrence still to be found starts at ``at``
 * or later, and its first two bytes form a pair of ``pairs``: the scan jumps to the first such pair
 * (independent loads, no chain through the table) and runs the automaton from the root there until
 * the state is that shallow again. */
static int
ls_run(LsScan *scan, const uint8_t *bytes, Py_ssize_t size)
{
    const LitSet *set = scan->set;
    const int32_t *delta = set->delta;
    const uint8_t *cls = set->cls;
    const uint32_t classes = (uint32_t)set->nclasses;
    if (!set->skip) {
        uint32_t row = 0;
        for (Py_ssize_t i = 0; i < size; i++) {
            int32_t entry = delta[row + cls[bytes[i]]];
            row = (uint32_t)entry >> 2;
            if (entry & 1 && ls_report(scan, (int32_t)(row / classes)) < 0) {
                return -1;
            }
        }
        return 0;
    }
    const uint8_t *pairs = set->pairs;
    Py_ssize_t at = 0;
    for (;;) {
        while (at + 1 < size && !pairs[cls[bytes[at]] * classes + cls[bytes[at + 1]]]) {
            at++;
        }
        if (at + 1 >= size) {
            return 0;
        }
        uint32_t row = (uint32_t)delta[cls[bytes[at]]] >> 2; /* one byte in: no text is that short */
        Py_ssize_t i = at + 1;
        for (; i < size; i++) {
            int32_t entry = delta[row + cls[bytes[i]]];
            row = (uint32_t)entry >> 2;
            if (entry & 3) {
                if (entry & 1 && ls_report(scan, (int32_t)(row / classes)) < 0) {
                    return -1;
                }
                if (entry & 2) {
                    break;
                }
            }
        }
        if (i >= size) {
            return 0;
        }
        at = i; /* the state is the root or the prefix bytes[i]: a text may start at i */
    }
}

/* An int's decimal digits (as ``str`` writes them) scanned without a string object. */
static int
ls_int(LsScan *scan, PyObject *value)
{
    int overflow = 0;
    long long number = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (overflow != 0 || (number == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return 0; /* beyond 64 bits: the caller's own search */
    }
    char digits[24];
    char *at = digits + sizeof(digits);
    unsigned long long rest = number < 0 ? 0ULL - (unsigned long long)number : (unsigned long long)number;
    do {
        *--at = (char)('0' + rest % 10);
        rest /= 10;
    } while (rest != 0);
    if (number < 0) {
        *--at = '-';
    }
    return ls_run(scan, (const uint8_t *)at, digits + sizeof(digits) - at) < 0 ? -1 : 1;
}

/* One scalar value: 1 scanned, 0 a type this search does not take, -1 an error. */
static int
ls_value(LsScan *scan, PyObject *value)
{
    if (PyUnicode_CheckExact(value)) {
        if (PyUnicode_IS_ASCII(value)) {
            return ls_run(scan, (const uint8_t *)PyUnicode_DATA(value), PyUnicode_GET_LENGTH(value)) < 0 ? -1 : 1;
        }
        PyObject *lowered = PyObject_CallMethod(value, "lower", NULL);
        if (lowered == NULL) {
            return -1;
        }
        PyObject *encoded = PyUnicode_AsEncodedString(lowered, "utf-8", "surrogatepass");
        Py_DECREF(lowered);
        if (encoded == NULL) {
            return -1;
        }
        int done = ls_run(scan, (const uint8_t *)PyBytes_AS_STRING(encoded), PyBytes_GET_SIZE(encoded));
        Py_DECREF(encoded);
        return done < 0 ? -1 : 1;
    }
    if (PyBool_Check(value)) {
        const char *text = value == Py_True ? "true" : "false";
        return ls_run(scan, (const uint8_t *)text, (Py_ssize_t)strlen(text)) < 0 ? -1 : 1;
    }
    if (PyLong_CheckExact(value)) {
        return ls_int(scan, value);
    }
    if (PyFloat_CheckExact(value)) {
        PyObject *text = PyObject_Str(value); /* ASCII digits, sign, '.', 'e', "inf", "nan" */
        if (text == NULL) { /* an int too long for str(): the caller's own search decides */
            PyErr_Clear();
            return 0;
        }
        int done = PyUnicode_IS_ASCII(text) ?
            ls_run(scan, (const uint8_t *)PyUnicode_DATA(text), PyUnicode_GET_LENGTH(text)) : -2;
        Py_DECREF(text);
        return done == -2 ? 0 : (done < 0 ? -1 : 1);
    }
    return 0;
}

static PyObject *
literal_scan(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "literal_scan(automaton, fields)");
        return NULL;
    }
    if (!PyDict_CheckExact(args[1])) { /* another mapping: its own values() may say otherwise */
        Py_RETURN_NONE;
    }
    const LitSet *set = PyCapsule_GetPointer(args[0], ls_capsule);
    if (set == NULL) {
        return NULL;
    }
    uint64_t small[64];
    size_t words = ((size_t)set->ntexts + 63) / 64;
    uint64_t *seen = words <= 64 ? small : PyMem_Malloc(words * sizeof(uint64_t));
    if (seen == NULL) {
        return PyErr_NoMemory();
    }
    memset(seen, 0, words * sizeof(uint64_t));
    LsScan scan = {set, seen, PyList_New(0)};
    PyObject *key, *value, *result = scan.found;
    Py_ssize_t pos = 0;
    if (scan.found == NULL) {
        goto done;
    }
    while (PyDict_Next(args[1], &pos, &key, &value)) {
        int taken;
        if (PyList_CheckExact(value)) {
            taken = 1;
            for (Py_ssize_t i = 0; i < PyList_GET_SIZE(value) && taken == 1; i++) {
                taken = ls_value(&scan, PyList_GET_ITEM(value, i));
            }
        } else {
            taken = ls_value(&scan, value);
        }
        if (taken < 0) {
            Py_CLEAR(result);
            goto done;
        }
        if (taken == 0) {
            Py_DECREF(result);
            result = Py_NewRef(Py_None);
            goto done;
        }
    }
done:
    if (seen != small) {
        PyMem_Free(seen);
    }
    return result;
}
