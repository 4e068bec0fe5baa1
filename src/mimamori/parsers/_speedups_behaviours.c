/* The behaviour detectors' per-event dispatch in C (included by _speedups.c: one extension).
 *
 * ``behaviour_views`` is ``BehaviourDetector._run_views`` (detection/behaviours/__init__.py) for one batch:
 * per event, the dataset's route entries (``(index, field, test, see)`` tuples, cached in the detector's
 * ``routes`` dict, made by its ``route`` callable), one ``View`` built here as ``View.__init__`` builds it
 * (its slots set through their member descriptors, the helpers ``is_lan``, ``place``, ``port_of`` and
 * ``device_of`` called as they are), and each taking behaviour's ``see`` with its findings appended to
 * ``found[index]``. An exception (``Exception``, not ``BaseException``) of a behaviour goes to
 * ``on_error(index, exc)`` and that behaviour skips the rest of the batch; one of the view's goes to
 * ``on_error(-1, exc)`` and the event is skipped. The Python loop stays the reference and the fallback
 * (``tests/unit/detection/behaviours/test_dispatch.py`` runs both). */

#include "structmember.h" /* T_OBJECT_EX */

#define BV_SLOTS 12
/* View's slots, in this order: what ``views_configure`` receives and ``make_view`` sets */
enum { V_DATASET, V_DEVICE, V_DST, V_DST_LAN, V_DST_PLACE, V_EVENT, V_FIELDS, V_NOW, V_PORT, V_SRC, V_SRC_LAN, V_TENANT };

static PyObject *bv_type, *bv_slots[BV_SLOTS], *bv_is_lan, *bv_place, *bv_port_of, *bv_device_of,
    *bv_prefixes, *bv_host_datasets, *bv_lan, *bv_other, *bv_minus_one;
static Py_ssize_t bv_max_address, bv_offsets[BV_SLOTS]; /* the slots' offsets in a View, for reading */
/* names of its own; "fields", "timestamp", "tenant_id", "source.ip", "destination.ip" and
 * "destination.port" are _speedups.c's interned s_* strings and port_names[1] */
static PyObject *bv_s_dataset, *bv_s_host_ip, *bv_s_host_mac, *bv_s_src_mac, *bv_s_get;

/* views_configure(View, slot_names: 12-tuple, is_lan, place, port_of, device_of, LAN_PREFIXES,
 * MAX_ADDRESS_CHARS, LAN, OTHER, HOST_DATASETS) */
static PyObject *
views_configure(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 11 || !PyType_Check(args[0]) || !PyTuple_Check(args[1]) ||
        PyTuple_GET_SIZE(args[1]) != BV_SLOTS || !PyTuple_Check(args[6]) || !PyLong_Check(args[7]) ||
        !PyLong_Check(args[8]) || !PyLong_Check(args[9]) || !PyFrozenSet_Check(args[10])) {
        PyErr_SetString(PyExc_TypeError, "views_configure(View, slots, is_lan, place, port_of, device_of, "
                                         "prefixes, max_chars, LAN, OTHER, host_datasets)");
        return NULL;
    }
    for (int k = 2; k < 6; k++) {
        if (!PyCallable_Check(args[k])) {
            PyErr_SetString(PyExc_TypeError, "views_configure(): helpers must be callable");
            return NULL;
        }
    }
    Py_ssize_t max_chars = PyLong_AsSsize_t(args[7]);
    if (max_chars == -1 && PyErr_Occurred()) {
        return NULL;
    }
    PyObject *slots[BV_SLOTS];
    for (int k = 0; k < BV_SLOTS; k++) {
        PyObject *descr = PyObject_GetAttr(args[0], PyTuple_GET_ITEM(args[1], k));
        if (descr == NULL || !Py_IS_TYPE(descr, &PyMemberDescr_Type) || Py_TYPE(descr)->tp_descr_set == NULL) {
            if (descr != NULL) {
                PyErr_SetString(PyExc_TypeError, "views_configure(): View's attributes must be slots");
            }
            Py_XDECREF(descr);
            for (int j = 0; j < k; j++) {
                Py_DECREF(slots[j]);
            }
            return NULL;
        }
        slots[k] = descr;
    }
    for (int k = 0; k < BV_SLOTS; k++) {
        PyMemberDef *member = ((PyMemberDescrObject *)slots[k])->d_member;
        if (member->type != T_OBJECT_EX) {
            PyErr_SetString(PyExc_TypeError, "views_configure(): View's slots must hold objects");
            for (int j = 0; j < BV_SLOTS; j++) {
                Py_DECREF(slots[j]);
            }
            return NULL;
        }
        bv_offsets[k] = member->offset;
    }
    for (int k = 0; k < BV_SLOTS; k++) {
        Py_XSETREF(bv_slots[k], slots[k]);
    }
    PyObject **targets[] = {&bv_type, NULL, &bv_is_lan, &bv_place, &bv_port_of, &bv_device_of, &bv_prefixes,
                            NULL, &bv_lan, &bv_other, &bv_host_datasets};
    for (int k = 0; k < 11; k++) {
        if (targets[k] != NULL) {
            Py_INCREF(args[k]);
            Py_XSETREF(*targets[k], args[k]);
        }
    }
    bv_max_address = max_chars;
    Py_RETURN_NONE;
}

/* An address field's text when it is a str of 1..MAX_ADDRESS_CHARS characters, else NULL (borrowed). */
static PyObject *
bv_address(PyObject *fields, PyObject *name)
{
    PyObject *value = PyDict_GetItemWithError(fields, name);
    if (value != NULL && PyUnicode_CheckExact(value)) {
        Py_ssize_t n = PyUnicode_GET_LENGTH(value);
        if (n > 0 && n <= bv_max_address) {
            return value;
        }
    }
    return NULL;
}

/* ``text.startswith(LAN_PREFIXES) and is_lan(text)``: 1, 0, or -1 with an error. */
static int
bv_lan_text(PyObject *text)
{
    int found = 0;
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(bv_prefixes) && !found; k++) {
        Py_ssize_t r = PyUnicode_Tailmatch(text, PyTuple_GET_ITEM(bv_prefixes, k), 0, PY_SSIZE_T_MAX, -1);
        if (r < 0) {
            return -1;
        }
        found = r > 0;
    }
    if (!found) {
        return 0;
    }
    PyObject *answer = PyObject_CallOneArg(bv_is_lan, text);
    if (answer == NULL) {
        return -1;
    }
    int truth = PyObject_IsTrue(answer);
    Py_DECREF(answer);
    return truth;
}

static PyObject *
bv_call2(PyObject *function, PyObject *a, PyObject *b)
{
    PyObject *args[2] = {a, b};
    return PyObject_Vectorcall(function, args, 2, NULL);
}

/* ``when.timestamp()``: computed here for a datetime in UTC (what the parsers make) as the datetime module
 * computes it (whole microseconds since the epoch, divided by 10**6 with one rounding: exact while they
 * fit a double's 53 bits, about 285 years either side of 1970), else by the method. New reference. */
static PyObject *
bv_epoch(PyObject *when)
{
    if (Py_IS_TYPE(when, PyDateTimeAPI->DateTimeType) && PyDateTime_DATE_GET_TZINFO(when) == PyDateTime_TimeZone_UTC) {
        long long days = days_from_civil(PyDateTime_GET_YEAR(when), (unsigned)PyDateTime_GET_MONTH(when),
                                         (unsigned)PyDateTime_GET_DAY(when));
        long long micro = ((days * 86400 + PyDateTime_DATE_GET_HOUR(when) * 3600LL +
                            PyDateTime_DATE_GET_MINUTE(when) * 60LL + PyDateTime_DATE_GET_SECOND(when)) *
                           1000000LL) +
                          PyDateTime_DATE_GET_MICROSECOND(when);
        if (micro <= (1LL << 53) && micro >= -(1LL << 53)) {
            return PyFloat_FromDouble((double)micro / 1e6);
        }
    }
    return PyObject_CallMethodNoArgs(when, s_timestamp);
}

/* ``event.<name>``, where ``name`` is Event's slot ``k`` in events_configure's order (0 timestamp,
 * 1 tenant_id, 2 dataset, 3 fields): read from the slot itself when ``event`` is exactly the configured
 * Event type (a frozen dataclass with slots), else as an attribute. New reference, NULL with an error. */
static PyObject *
bv_event_get(PyObject *event, int k, PyObject *name)
{
    if (ej_event_type != NULL && Py_IS_TYPE(event, (PyTypeObject *)ej_event_type)) {
        PyMemberDef *member = ((PyMemberDescrObject *)ej_slots[k])->d_member;
        if (member->type == T_OBJECT_EX) {
            PyObject *value = *(PyObject **)((char *)event + member->offset);
            if (value != NULL) {
                return Py_NewRef(value);
            }
        }
    }
    return PyObject_GetAttr(event, name);
}

/* ``View(event)`` without its __init__, or NULL with an error. */
static PyObject *
make_view(PyObject *event)
{
    PyObject *values[BV_SLOTS] = {NULL};
    PyObject *view = NULL, *fields = NULL;
    int src_lan = 0, dst_lan = 0;
    if ((fields = bv_event_get(event, 3, s_fields)) == NULL) {
        goto done;
    }
    if (!PyDict_CheckExact(fields)) { /* another mapping: the Python __init__ reads it */
        Py_DECREF(fields);
        return PyObject_CallOneArg(bv_type, event);
    }
    if ((values[V_DATASET] = bv_event_get(event, 2, bv_s_dataset)) == NULL ||
        (values[V_TENANT] = bv_event_get(event, 1, s_tenant_id)) == NULL) {
        goto done;
    }
    PyObject *when = bv_event_get(event, 0, s_timestamp);
    if (when == NULL) {
        goto done;
    }
    values[V_NOW] = bv_epoch(when);
    Py_DECREF(when);
    if (values[V_NOW] == NULL) {
        goto done;
    }
    PyObject *src = bv_address(fields, s_src);
    if (src == NULL && PyErr_Occurred()) {
        goto done;
    }
    if (src != NULL && (src_lan = bv_lan_text(src)) < 0) {
        goto done;
    }
    PyObject *dst = bv_address(fields, s_dst);
    if (dst == NULL && PyErr_Occurred()) {
        goto done;
    }
    if (dst != NULL) {
        if ((values[V_DST_PLACE] = PyObject_CallOneArg(bv_place, dst)) == NULL) {
            goto done;
        }
        int eq = PyObject_RichCompareBool(values[V_DST_PLACE], bv_lan, Py_EQ);
        if (eq < 0) {
            goto done;
        }
        if (eq) {
            dst_lan = 1;
        }
        else {
            if ((eq = PyObject_RichCompareBool(values[V_DST_PLACE], bv_other, Py_EQ)) < 0) {
                goto done;
            }
            if (eq && (dst_lan = bv_lan_text(dst)) < 0) {
                goto done;
            }
        }
    }
    else {
        values[V_DST_PLACE] = Py_NewRef(bv_other);
    }
    PyObject *port = PyDict_GetItemWithError(fields, port_names[1]);
    if (port == NULL && PyErr_Occurred()) {
        goto done;
    }
    if (port != NULL && PyLong_CheckExact(port)) {
        int overflow = 0;
        long number = PyLong_AsLongAndOverflow(port, &overflow);
        if (number == -1 && PyErr_Occurred()) {
            goto done;
        }
        values[V_PORT] = !overflow && number >= 0 && number <= 65535 ? Py_NewRef(port) : Py_NewRef(bv_minus_one);
    }
    else if ((values[V_PORT] = PyObject_CallOneArg(bv_port_of, port != NULL ? port : Py_None)) == NULL) {
        goto done;
    }
    int host = PySet_Contains(bv_host_datasets, values[V_DATASET]);
    if (host < 0) {
        goto done;
    }
    if (host) {
        PyObject *ip = PyDict_GetItemWithError(fields, bv_s_host_ip);
        if (ip == NULL && PyErr_Occurred()) {
            goto done;
        }
        PyObject *mac = PyDict_GetItemWithError(fields, bv_s_host_mac);
        if (mac == NULL && PyErr_Occurred()) {
            goto done;
        }
        values[V_DEVICE] = bv_call2(bv_device_of, ip != NULL && PyUnicode_CheckExact(ip) ? ip : Py_None,
                                    mac != NULL && PyUnicode_CheckExact(mac) ? mac : Py_None);
    }
    else {
        PyObject *mac = PyDict_GetItemWithError(fields, bv_s_src_mac);
        if (mac == NULL && PyErr_Occurred()) {
            goto done;
        }
        if (mac != NULL && PyUnicode_CheckExact(mac)) {
            values[V_DEVICE] = bv_call2(bv_device_of, src_lan ? src : Py_None, mac);
        }
        else if (src_lan) {
            values[V_DEVICE] = bv_call2(bv_device_of, src, Py_None);
        }
        else {
            values[V_DEVICE] = Py_NewRef(Py_None);
        }
    }
    if (values[V_DEVICE] == NULL) {
        goto done;
    }
    values[V_SRC] = Py_NewRef(src != NULL ? src : Py_None);
    values[V_DST] = Py_NewRef(dst != NULL ? dst : Py_None);
    values[V_SRC_LAN] = Py_NewRef(src_lan ? Py_True : Py_False);
    values[V_DST_LAN] = Py_NewRef(dst_lan ? Py_True : Py_False);
    values[V_EVENT] = Py_NewRef(event);
    values[V_FIELDS] = Py_NewRef(fields);
    PyTypeObject *type = (PyTypeObject *)bv_type;
    if ((view = type->tp_alloc(type, 0)) == NULL) {
        goto done;
    }
    for (int k = 0; k < BV_SLOTS; k++) { /* (the slots of a new View are NULL: each takes its value over) */
        *(PyObject **)((char *)view + bv_offsets[k]) = values[k];
        values[k] = NULL;
    }
done:
    for (int k = 0; k < BV_SLOTS; k++) {
        Py_XDECREF(values[k]);
    }
    Py_XDECREF(fields);
    return view;
}

/* Slot ``k`` of a View built by ``make_view`` (borrowed; NULL when unset), for the hot paths. */
static inline PyObject *
bv_slot(PyObject *view, int k)
{
    return *(PyObject **)((char *)view + bv_offsets[k]);
}

/* The pending exception, handed to on_error(index, exc) when it is an ``Exception``: 0, or -1 when it
 * is not (KeyboardInterrupt...: left set, to propagate) or on_error itself failed. */
static int
bv_report(PyObject *on_error, Py_ssize_t index)
{
    if (!PyErr_ExceptionMatches(PyExc_Exception)) {
        return -1;
    }
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    PyErr_NormalizeException(&type, &value, &traceback);
    if (value == NULL) {
        Py_XDECREF(type);
        Py_XDECREF(traceback);
        return 0;
    }
    if (traceback != NULL) {
        PyException_SetTraceback(value, traceback);
    }
    PyObject *number = PyLong_FromSsize_t(index);
    PyObject *result = number != NULL ? bv_call2(on_error, number, value) : NULL;
    Py_XDECREF(number);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(traceback);
    if (result == NULL) {
        return -1;
    }
    Py_DECREF(result);
    return 0;
}

static int
bv_contains(PyObject *fields, PyObject *name)
{
    return PyDict_CheckExact(fields) ? PyDict_Contains(fields, name) : PySequence_Contains(fields, name);
}

/* ``value`` is an exact str or int in ``values``, or a list with such an item (``_view.has_value``). */
static int
bv_value_in(PyObject *value, PyObject *values)
{
    if (PyUnicode_CheckExact(value) || PyLong_CheckExact(value)) {
        return PySet_Contains(values, value);
    }
    if (!PyList_Check(value)) {
        return 0;
    }
    for (Py_ssize_t k = 0; k < PyList_GET_SIZE(value); k++) {
        PyObject *item = PyList_GET_ITEM(value, k);
        if (PyUnicode_CheckExact(item) || PyLong_CheckExact(item)) {
            Py_INCREF(item); /* (the set's __eq__ of a str or int runs no Python, but the list is shared) */
            int in = PySet_Contains(values, item);
            Py_DECREF(item);
            if (in != 0) {
                return in;
            }
        }
    }
    return 0;
}

/* A route's field condition: ``name in fields``; for a frozenset, whether fields has one of them; for a
 * ``(name, values)`` tuple, whether the field's value is one of ``values`` (``bv_value_in``). */
static int
bv_has(PyObject *fields, PyObject *needed)
{
    if (PyTuple_CheckExact(needed)) {
        if (PyTuple_GET_SIZE(needed) != 2 || !PyFrozenSet_CheckExact(PyTuple_GET_ITEM(needed, 1))) {
            PyErr_SetString(PyExc_TypeError, "a value route must be (field, frozenset of values)");
            return -1;
        }
        PyObject *value;
        if (PyDict_CheckExact(fields)) {
            value = Py_XNewRef(PyDict_GetItemWithError(fields, PyTuple_GET_ITEM(needed, 0)));
        }
        else {
            value = PyObject_CallMethodOneArg(fields, bv_s_get, PyTuple_GET_ITEM(needed, 0));
        }
        if (value == NULL) {
            return PyErr_Occurred() ? -1 : 0;
        }
        int in = bv_value_in(value, PyTuple_GET_ITEM(needed, 1));
        Py_DECREF(value);
        return in;
    }
    if (!PyFrozenSet_CheckExact(needed)) {
        return bv_contains(fields, needed);
    }
    PyObject *names = PyObject_GetIter(needed), *name;
    if (names == NULL) {
        return -1;
    }
    int has = 0;
    while (has == 0 && (name = PyIter_Next(names)) != NULL) {
        has = bv_contains(fields, name);
        Py_DECREF(name);
    }
    Py_DECREF(names);
    return has == 0 && PyErr_Occurred() ? -1 : has;
}

/* The entries of ``dataset`` from the detector's cache, made by ``route`` on a miss (new reference). */
static PyObject *
bv_entries(PyObject *routes, PyObject *route, PyObject *dataset)
{
    PyObject *entry = PyDict_GetItemWithError(routes, dataset);
    if (entry != NULL) {
        return Py_NewRef(entry);
    }
    if (PyErr_Occurred() || (entry = PyObject_CallOneArg(route, dataset)) == NULL) {
        return NULL;
    }
    if (!PyTuple_CheckExact(entry) || PyDict_SetItem(routes, dataset, entry) < 0) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_TypeError, "a route must be a tuple");
        }
        Py_DECREF(entry);
        return NULL;
    }
    return entry;
}

/* behaviour_views(events, routes: {dataset: entries}, route, found: [list per behaviour], on_error) */
static PyObject *
behaviour_views(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5 || !PyDict_CheckExact(args[1]) || !PyCallable_Check(args[2]) || !PyList_CheckExact(args[3]) ||
        !PyCallable_Check(args[4])) {
        PyErr_SetString(PyExc_TypeError, "behaviour_views(events, routes, route, found, on_error)");
        return NULL;
    }
    if (bv_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "behaviour_views: views_configure() was not called");
        return NULL;
    }
    PyObject *routes = args[1], *route = args[2], *found = args[3], *on_error = args[4];
    Py_ssize_t behaviours = PyList_GET_SIZE(found);
    char *failed = PyMem_Calloc(behaviours > 0 ? behaviours : 1, 1);
    if (failed == NULL) {
        return PyErr_NoMemory();
    }
    PyObject *events = PySequence_Fast(args[0], "behaviour_views: events must be a sequence");
    PyObject *entry = NULL, *last_dataset = NULL, *result = NULL;
    if (events == NULL) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(events); i++) {
        PyObject *event = PySequence_Fast_GET_ITEM(events, i);
        PyObject *dataset = bv_event_get(event, 2, bv_s_dataset);
        if (dataset == NULL) {
            goto done;
        }
        if (last_dataset == NULL || dataset != last_dataset) { /* runs of one dataset: reuse its entries */
            Py_XSETREF(entry, bv_entries(routes, route, dataset));
            if (entry == NULL) {
                Py_DECREF(dataset);
                goto done;
            }
            Py_XSETREF(last_dataset, Py_NewRef(dataset));
        }
        Py_DECREF(dataset);
        if (PyTuple_GET_SIZE(entry) == 0) {
            continue;
        }
        PyObject *view = make_view(event);
        if (view == NULL) {
            if (bv_report(on_error, -1) < 0) {
                goto done;
            }
            continue;
        }
        PyObject *fields = Py_IS_TYPE(view, (PyTypeObject *)bv_type) ? Py_XNewRef(bv_slot(view, V_FIELDS))
                                                                      : PyObject_GetAttr(view, s_fields);
        if (fields == NULL) { /* (the event's) */
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_AttributeError, "a View without fields");
            }
            Py_DECREF(view);
            goto done;
        }
        for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(entry); k++) {
            PyObject *item = PyTuple_GET_ITEM(entry, k);
            if (!PyTuple_CheckExact(item) || PyTuple_GET_SIZE(item) != 6) {
                PyErr_SetString(PyExc_TypeError, "a route entry must be (index, field, test, see, hot, owner)");
                goto fail;
            }
            Py_ssize_t index = PyLong_AsSsize_t(PyTuple_GET_ITEM(item, 0));
            if (index == -1 && PyErr_Occurred()) {
                goto fail;
            }
            if (index < 0 || index >= behaviours) {
                PyErr_SetString(PyExc_IndexError, "a route entry's behaviour index is out of range");
                goto fail;
            }
            if (failed[index]) {
                continue;
            }
            PyObject *needed = PyTuple_GET_ITEM(item, 1), *wants = PyTuple_GET_ITEM(item, 2);
            if (needed != Py_None) {
                int has = bv_has(fields, needed);
                if (has < 0) {
                    goto fail;
                }
                if (!has) {
                    continue;
                }
            }
            if (wants != Py_None) {
                PyObject *answer = PyObject_CallOneArg(wants, view);
                int truth = answer != NULL ? PyObject_IsTrue(answer) : -1;
                Py_XDECREF(answer);
                if (truth < 0) {
                    failed[index] = 1;
                    if (bv_report(on_error, index) < 0) {
                        goto fail;
                    }
                    continue;
                }
                if (!truth) {
                    continue;
                }
            }
            /* the behaviour's common case in C (its findings, or None: see() must run), then see() */
            PyObject *hot = PyTuple_GET_ITEM(item, 4), *out = NULL;
            if (hot == Py_None || (out = bv_call2(hot, PyTuple_GET_ITEM(item, 5), view)) == Py_None) {
                Py_XDECREF(out);
                out = PyObject_CallOneArg(PyTuple_GET_ITEM(item, 3), view);
            }
            int ok = out != NULL;
            if (ok) {
                int truth = PyObject_IsTrue(out);
                if (truth > 0) {
                    PyObject *target = PyList_GET_ITEM(found, index);
                    PyObject *iterator = PyObject_GetIter(out);
                    PyObject *one;
                    if (iterator == NULL) {
                        ok = 0;
                    }
                    else {
                        while ((one = PyIter_Next(iterator)) != NULL) {
                            int appended = PyList_Append(target, one);
                            Py_DECREF(one);
                            if (appended < 0) {
                                break;
                            }
                        }
                        Py_DECREF(iterator);
                        ok = !PyErr_Occurred();
                    }
                }
                else if (truth < 0) {
                    ok = 0;
                }
                Py_DECREF(out);
            }
            if (!ok) {
                failed[index] = 1;
                if (bv_report(on_error, index) < 0) {
                    goto fail;
                }
            }
        }
        Py_DECREF(fields);
        Py_DECREF(view);
        continue;
    fail:
        Py_DECREF(fields);
        Py_DECREF(view);
        goto done;
    }
    result = Py_NewRef(Py_None);
done:
    PyMem_Free(failed);
    Py_XDECREF(events);
    Py_XDECREF(entry);
    Py_XDECREF(last_dataset);
    return result;
}

static int
behaviours_init(void)
{
    bv_s_dataset = PyUnicode_InternFromString("dataset");
    bv_s_host_ip = PyUnicode_InternFromString("host.ip");
    bv_s_host_mac = PyUnicode_InternFromString("host.mac");
    bv_s_src_mac = PyUnicode_InternFromString("source.mac");
    bv_s_get = PyUnicode_InternFromString("get");
    bv_minus_one = PyLong_FromLong(-1);
    return bv_s_dataset && bv_s_host_ip && bv_s_host_mac && bv_s_src_mac && bv_s_get && bv_minus_one ? 0 : -1;
}
