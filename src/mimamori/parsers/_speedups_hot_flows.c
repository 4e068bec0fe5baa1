/* The connection behaviours' hot paths (included by _speedups.c after _speedups_hot.c, whose conventions
 * they follow: ``hot(behaviour, view)`` answers the behaviour's findings, or None when ``see`` must run).
 *
 * ``scan`` and ``beacon`` see every connection event, and most of them end in an early return of
 * ``see``: a session to the Internet on an ordinary port (scan), a session to a destination popular with
 * the tenant's hosts or to an infrastructure port (beacon). These answer those cases without a Python
 * call; everything else goes to ``see``. Each reads ``HOT_CONSTANTS`` of its behaviour class:
 * ``(EXTERNAL, REMOTE_PORTS)`` for scan, ``(EXTERNAL, IGNORED_PORTS)`` for beacon. */

static PyObject *hf_popularity, *hf_rare_max;

/* ``(EXTERNAL, ports)`` from ``behaviour.HOT_CONSTANTS``: 1 with borrowed references (the tuple itself is
 * returned, new, in *constants), 0 when they are not what they should be, -1 with an error. */
static int
hf_constants(PyObject *behaviour, PyObject **constants, PyObject **external, PyObject **ports)
{
    *constants = PyObject_GetAttr(behaviour, h_constants);
    if (*constants == NULL) {
        return -1;
    }
    if (!PyTuple_CheckExact(*constants) || PyTuple_GET_SIZE(*constants) != 2 ||
        !PyFrozenSet_CheckExact(PyTuple_GET_ITEM(*constants, 1))) {
        Py_CLEAR(*constants);
        return 0;
    }
    *external = PyTuple_GET_ITEM(*constants, 0);
    *ports = PyTuple_GET_ITEM(*constants, 1);
    return 1;
}

/* ScanBehaviour.see's early returns: no addresses, a destination that is not a host, a host to itself, or
 * a LAN host's session to the Internet on a port that is no remote-access port. An inbound session goes to
 * ``see`` (it counts it), and so does anything inside the LAN or to a remote-access port. */
static int
hot_scan_run(PyObject *behaviour, PyObject *view)
{
    PyObject *src = bv_slot(view, V_SRC), *dst = bv_slot(view, V_DST), *place = bv_slot(view, V_DST_PLACE);
    PyObject *src_lan = bv_slot(view, V_SRC_LAN), *port = bv_slot(view, V_PORT);
    if (src == NULL || dst == NULL || place == NULL || src_lan == NULL || port == NULL) {
        return 0;
    }
    if (src == Py_None || dst == Py_None) {
        return 1;
    }
    if (!PyUnicode_CheckExact(src) || !PyUnicode_CheckExact(dst) || !PyLong_CheckExact(place) ||
        !PyBool_Check(src_lan)) {
        return 0;
    }
    int other = PyObject_RichCompareBool(place, bv_other, Py_EQ);
    if (other != 0) {
        return other; /* (1: nothing; -1: an error) */
    }
    if (PyUnicode_Compare(src, dst) == 0) {
        return PyErr_Occurred() ? -1 : 1;
    }
    if (src_lan != Py_True) {
        return 0; /* inbound: see() counts it */
    }
    PyObject *constants, *external, *ports;
    int ok = hf_constants(behaviour, &constants, &external, &ports);
    if (ok <= 0) {
        return ok;
    }
    int result = PyObject_RichCompareBool(place, external, Py_EQ);
    if (result > 0) { /* to the Internet: only remote-access ports are counted */
        int remote = PySet_Contains(ports, port);
        result = remote < 0 ? -1 : !remote;
    }
    Py_DECREF(constants);
    return result;
}

/* hot_scan(behaviour, view) -> () | None */
static PyObject *
hot_scan(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return hot_arguments(nargs, args, "hot_scan") < 0 ? NULL : hot_answer(hot_scan_run(args[0], args[1]));
}

/* BeaconBehaviour.see's early returns: no addresses, an infrastructure port, a destination that is not on
 * the Internet or a source that is not in the LAN; and a destination the tenant's hosts made popular (more
 * than ``state.rare_max`` of them), found in its LRU map and moved to its end as ``see`` does. A
 * destination new to the tenant, or still rare, goes to ``see``. */
static int
hot_beacon_run(PyObject *behaviour, PyObject *view)
{
    PyObject *src = bv_slot(view, V_SRC), *dst = bv_slot(view, V_DST), *place = bv_slot(view, V_DST_PLACE);
    PyObject *src_lan = bv_slot(view, V_SRC_LAN), *port = bv_slot(view, V_PORT), *tenant = bv_slot(view, V_TENANT);
    if (src == NULL || dst == NULL || place == NULL || src_lan == NULL || port == NULL || tenant == NULL) {
        return 0;
    }
    if (src == Py_None || dst == Py_None) {
        return 1;
    }
    if (!PyUnicode_CheckExact(dst) || !PyLong_CheckExact(place) || !PyBool_Check(src_lan) ||
        !PyLong_CheckExact(port)) {
        return 0;
    }
    PyObject *constants, *external, *ports;
    int result = hf_constants(behaviour, &constants, &external, &ports);
    if (result <= 0) {
        return result;
    }
    PyObject *state = NULL, *data = NULL, *hosts = NULL, *limit = NULL;
    int ignored = PySet_Contains(ports, port);
    if (ignored != 0) {
        result = ignored; /* (1: an infrastructure port; -1: an error) */
        goto done;
    }
    int outside = PyObject_RichCompareBool(place, external, Py_EQ);
    if (outside <= 0 || src_lan != Py_True) {
        result = outside < 0 ? -1 : 1;
        goto done;
    }
    result = -1;
    if ((state = hot_tenant_state(behaviour, tenant)) == NULL) {
        goto done;
    }
    if ((data = hot_map(state, hf_popularity)) == NULL) {
        result = PyErr_Occurred() ? -1 : 0;
        goto done;
    }
    if ((hosts = hot_touch(data, dst)) == NULL) { /* new to the tenant: see() counts its prevalence */
        result = PyErr_Occurred() ? -1 : 0;
        goto done;
    }
    if (!PyList_CheckExact(hosts) || (limit = PyObject_GetAttr(state, hf_rare_max)) == NULL) {
        result = PyErr_Occurred() ? -1 : 0;
        goto done;
    }
    if (!PyLong_CheckExact(limit)) {
        result = 0;
        goto done;
    }
    int overflow = 0;
    long rare_max = PyLong_AsLongAndOverflow(limit, &overflow);
    if (overflow || (rare_max == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        result = 0;
        goto done;
    }
    result = PyList_GET_SIZE(hosts) > rare_max; /* popular: never judged (else see() counts the host) */
done:
    Py_XDECREF(limit);
    Py_XDECREF(hosts);
    Py_XDECREF(data);
    Py_XDECREF(state);
    Py_DECREF(constants);
    return result;
}

/* hot_beacon(behaviour, view) -> () | None */
static PyObject *
hot_beacon(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return hot_arguments(nargs, args, "hot_beacon") < 0 ? NULL : hot_answer(hot_beacon_run(args[0], args[1]));
}

static int
hot_flows_init(void)
{
    return (hf_popularity = PyUnicode_InternFromString("popularity")) == NULL ||
                   (hf_rare_max = PyUnicode_InternFromString("rare_max")) == NULL
               ? -1
               : 0;
}
