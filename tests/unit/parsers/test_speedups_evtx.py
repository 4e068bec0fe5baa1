"""The EVTX C speedups (``evtx_fields``, ``evtx_get``, ``evtx_copy``) against the pure-Python parser they replace.

Differential, as ``test_speedups``: the golden files, the 4,614 sample records, byte and type mutations
of them and random documents must give exactly the same Event (fields compared with their types, so
``1`` is not ``True`` nor ``"1"``) or the same ``ParseError`` with the C functions as with them switched
off. Skipped when the extension is not built or ``MIMAMORI_PURE=1`` is set.
"""

from __future__ import annotations

import contextlib
import gc
import random
import tracemalloc
from typing import Any

import orjson
import pytest
from bench.mutations import mutate
from hypothesis import given
from hypothesis import strategies as st

from mimamori.errors import ParseError
from mimamori.ingest.readers import evtx as reader
from mimamori.parsers import _native, evtx
from mimamori.parsers.evtx import values

from .conftest import SHARED_DATA, record
from .test_evtx import _mutate
from .test_speedups import SETTINGS, golden, pure

pytestmark = pytest.mark.skipif(not _native.AVAILABLE, reason="C speedups not built, or MIMAMORI_PURE=1")

SAMPLES = SHARED_DATA / "evtx-attack-samples"


def typed(value: Any) -> Any:
    """A field value with the type of every part, so that equal-comparing types still differ."""
    if type(value) is list:
        return ("list", [typed(item) for item in value])
    return (type(value).__name__, value)


def result(data: bytes) -> Any:
    """The parse of one document as comparable values, or the exception's type and message."""
    try:
        event = evtx.parse(record("evtx", data))
    except (ParseError, TypeError, ValueError) as exc:
        return (type(exc).__name__, str(exc))
    if event is None:
        return None
    fields = {name: typed(value) for name, value in event.fields.items()}
    return (event.timestamp, event.timestamp.tzinfo, event.tenant_id, event.sensor_id, event.dataset, fields)


def same(data: bytes) -> None:
    native = result(data)
    with pure():
        expected = result(data)
    assert native == expected, data[:300]


def sample_records() -> list[bytes]:
    if not SAMPLES.is_dir():
        return []
    return [data for path in sorted(SAMPLES.rglob("*.evtx")) for _, data in reader.read(path)]


# -- evtx_get ----------------------------------------------------------------------------------------

NAMES = st.sampled_from(["CommandLine", "Image", "ProcessId", "Data", "", "x", "Unknown"])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**64), 2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "-", "Unknown", "N/A", "n/a", "- ", "unknown", "0", "4", "0x1a4", "0001", "9" * 19]),
    st.sampled_from(["9" * 20, "１２", "12a", " 12", "true", "\x00", "\ud800", "%%1936", "Security"]),
    st.text(max_size=8),
)


@SETTINGS
@given(data=st.dictionaries(NAMES, SCALARS | st.lists(SCALARS, max_size=3), max_size=6), name=NAMES)
def test_get_is_the_pure_get(data: dict[str, Any], name: str) -> None:
    assert _native.evtx_get is not None
    native = _native.evtx_get(data, name)
    expected = values._get(data, name)
    assert native == expected
    assert type(native) is type(expected)


@SETTINGS
@given(
    data=st.dictionaries(NAMES, SCALARS | st.lists(SCALARS, max_size=3), max_size=6),
    names=st.dictionaries(NAMES, st.sampled_from(["a", "b", "c"]), max_size=5),
    fields=st.dictionaries(st.sampled_from(["a", "b", "z"]), SCALARS, max_size=3),
)
def test_copy_is_the_pure_copy(data: dict[str, Any], names: dict[str, str], fields: dict[str, Any]) -> None:
    assert _native.evtx_copy is not None
    native, expected = dict(fields), dict(fields)
    _native.evtx_copy(native, data, names)
    with pure():
        values._copy(expected, data, names)
    assert list(native.items()) == list(expected.items())


def test_get_refuses_what_is_not_a_dict() -> None:
    assert _native.evtx_get is not None
    with pytest.raises(TypeError):
        _native.evtx_get([], "x")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "plan",
    [
        {"Execution": ({"ProcessID": ("winlog.process.pid", 1)}, None, None, 0)},  # is_int not a bool
        {"Level": (None, None, ("log.level", "1"), 0)},  # mode not an int
        {"Channel": (None, 5, None, 0)},
        {"Channel": (None, "winlog.channel", None)},
        {"Chännel": (None, "winlog.channel", None, 0)},  # not ASCII
        {f"k{i}": (None, "x", None, 0) for i in range(65)},
    ],
)
def test_configure_refuses_malformed_plans(plan: dict[str, Any]) -> None:
    assert _native.evtx_configure is not None
    with pytest.raises((TypeError, ValueError)):
        _native.evtx_configure(plan, evtx._LEVELS, evtx._value, evtx._ED, values.NONE)
    same(golden("evtx")[0])  # the configured plan is still the parser's


# -- evtx_fields: the C path is taken, and gives the pure parser's Events ----------------------------


def test_sample_and_golden_records_take_the_c_path() -> None:
    assert _native.evtx_fields is not None
    docs = [orjson.loads(line) for line in golden("evtx")[:50] + sample_records()]
    taken = 0
    for doc in docs:
        event = doc["Event"]
        taken += _native.evtx_fields(event["System"], event, doc) is not None
    assert taken >= len(docs) - 5  # a few handwritten golden records have odd shapes on purpose


def test_whole_records_take_the_c_entry_unless_unusual() -> None:
    """``evtx_event`` (the whole parse in one call) takes the package's common records and leaves the
    ones with UserData, ProcessingErrorData, RenderingInfo or a NUL escape to the Python path."""
    assert _native.evtx_event is not None
    lines = golden("evtx") + sample_records()
    unusual = (b'"UserData"', b'"ProcessingErrorData"', b'"RenderingInfo"', b"\\u0000")
    taken = declined = 0
    for line in lines:
        event = _native.evtx_event(record("evtx", line))
        if any(marker in line for marker in unusual):
            assert event is None, line[:200]
            declined += 1
        taken += event is not None
    assert declined > (50 if SAMPLES.is_dir() else 0)  # the samples have ~125 with UserData
    # (three handwritten golden records have odd shapes on purpose: they decide alone without the samples)
    assert taken >= 0.9 * (len(lines) - declined) - 3


def test_golden_and_sample_records_give_the_same_events() -> None:
    for line in golden("evtx") + sample_records():
        same(line)


def test_mutated_records_give_the_same_events() -> None:
    rng = random.Random(3)
    lines = golden("evtx") + sample_records()[::40]
    for _ in range(3000):
        same(mutate(rng.choice(lines), rng))
    for _ in range(3000):
        same(orjson.dumps(_mutate(orjson.loads(rng.choice(lines)), rng)))


ATTRS = st.dictionaries(
    st.sampled_from(
        ["Name", "Guid", "EventSourceName", "ProcessID", "ThreadID", "UserID", "ActivityID", "SystemTime",
         "Qualifiers", "xmlns", "x"]
    ),
    SCALARS,
    max_size=4,
)  # fmt: skip
NODES = st.recursive(
    SCALARS
    | st.fixed_dictionaries(
        {}, optional={"#attributes": ATTRS | SCALARS, "#text": SCALARS, "@Name": SCALARS}
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(NAMES, inner, max_size=3),
    max_leaves=6,
)
SYSTEM_KEYS = st.sampled_from(
    ["Provider", "EventID", "Version", "Level", "Task", "Opcode", "Keywords", "TimeCreated", "EventRecordID",
     "Correlation", "Execution", "Channel", "Computer", "Security", "Other", "@xmlns", "Provider_attributes"]
)  # fmt: skip
CHANNELS = st.sampled_from(
    ["Security", "Microsoft-Windows-Sysmon/Operational", "Microsoft-Windows-PowerShell/Operational",
     "Microsoft-Windows-Windows Defender/Operational", "System", "Application", "Other/Log", ""]
)  # fmt: skip
EVENT_IDS = st.sampled_from(
    [1, 3, 11, 13, 22, 104, 400, 1102, 1116, 4103, 4104, 4624, 4625, 4688, 4732, 7045]
)
DATA_KEYS = NAMES | st.sampled_from(
    ["Data", "#text", "#attributes", "@xmlns", "xmlns", "@Name", "Binary", "param1", "SubjectUserName",
     "TargetUserName", "IpAddress", "IpPort", "LogonType", "Hashes", "QueryName", "QueryResults", "Status",
     "NewProcessId", "SourceIp", "DestinationPort", "Initiated", "ContextInfo", "Threat Name", "Path"]
)  # fmt: skip
DATA_ITEMS = st.lists(
    SCALARS
    | st.fixed_dictionaries(
        {}, optional={"#attributes": ATTRS | SCALARS, "@Name": SCALARS | NAMES, "#text": NODES}
    ),
    max_size=5,
)
EVENT_DATA = st.one_of(
    st.none(),
    st.dictionaries(DATA_KEYS, NODES, max_size=8),
    st.dictionaries(DATA_KEYS, SCALARS, max_size=8),
    st.fixed_dictionaries({"Data": DATA_ITEMS | st.fixed_dictionaries({"#text": st.lists(SCALARS)})}),
    DATA_ITEMS,
    SCALARS,
)


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    """EVTX documents near the package's shape: a realistic System with random parts replaced."""
    system: dict[str, Any] = {
        "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing", "Guid": "{54849625}"}},
        "EventID": draw(EVENT_IDS | NODES),
        "Version": 2,
        "Level": 0,
        "Task": 12544,
        "Opcode": 0,
        "Keywords": draw(st.sampled_from(["0x8020000000000000", "0x8010000000000000", "0x1"])),
        "TimeCreated": {"#attributes": {"SystemTime": "2024-03-01T01:02:03.123456Z"}},
        "EventRecordID": 42,
        "Correlation": None,
        "Execution": {"#attributes": {"ProcessID": 4, "ThreadID": 8}},
        "Channel": draw(CHANNELS),
        "Computer": "PC01",
        "Security": {"#attributes": {"UserID": "S-1-5-18"}},
    }
    for key in draw(st.lists(SYSTEM_KEYS, max_size=3)):
        if draw(st.booleans()):
            system.pop(key, None)
        else:
            system[key] = draw(NODES)
    event: dict[str, Any] = {"System": system}
    if draw(st.integers(0, 7)):
        event["EventData"] = draw(EVENT_DATA)
    if not draw(st.integers(0, 5)):
        event["UserData"] = draw(NODES)
    doc: dict[str, Any] = {"Event": event}
    if draw(st.booleans()):
        doc["event_record_id"] = draw(SCALARS)
        doc["timestamp"] = draw(st.sampled_from(["2024-03-01 01:02:03.123456 UTC", "x"]) | SCALARS)
    return doc


@SETTINGS
@given(doc=documents())
def test_random_documents_give_the_same_events(doc: dict[str, Any]) -> None:
    try:
        data = orjson.dumps(doc)
    except orjson.JSONEncodeError:  # an integer beyond 64 bits: JSON text by hand
        data = repr(doc).encode()
    same(data)


@st.composite
def system_times(draw: st.DrawFn) -> str:
    """``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` with every part at and beyond its range (Feb 29, day 31, hour 24)."""
    year, month, day = draw(st.integers(0, 9999)), draw(st.integers(0, 13)), draw(st.integers(0, 32))
    hour, minute, second = draw(st.integers(0, 25)), draw(st.integers(0, 61)), draw(st.integers(0, 61))
    text = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}"
    fraction = draw(st.sampled_from(["", ".", ".1", ".123", ".123456", ".1234567", ".12345a"]))
    return text + fraction + draw(st.sampled_from(["Z", "Z", "", "+00:00", "+09:00", " UTC", "z"]))


@SETTINGS
@given(when=system_times() | st.text(st.sampled_from("0129-:.TZ "), min_size=18, max_size=28))
def test_system_times_give_the_same_events(when: str) -> None:
    same(_doc({"a": "b"}, TimeCreated={"#attributes": {"SystemTime": when}}))
    same(orjson.dumps({"Event": {"System": {"EventID": 4, "TimeCreated": None}}, "timestamp": when}))


def _doc(event_data: Any, **system: Any) -> bytes:
    base = {
        "EventID": 1,
        "Channel": "Security",
        "TimeCreated": {"#attributes": {"SystemTime": "2024-03-01T01:02:03Z"}},
        **system,
    }
    return orjson.dumps({"Event": {"System": base, "EventData": event_data}})


@pytest.mark.parametrize(
    "data",
    [
        _doc({f"k{i}": "v" for i in range(4096)}),
        _doc({f"k{i}": "v" for i in range(4097)}),
        _doc({"Data": [f"v{i}" for i in range(4096)]}),
        _doc({"Data": [f"v{i}" for i in range(4097)]}),
        _doc({"Data": {"#text": [1] * 5000}}),
        _doc({"Data": [{"#text": list(range(3000))}, {"#text": list(range(3000))}]}),
        _doc({"CommandLine": "x" * 10_000_000}),
        _doc({"Data": [{"#attributes": {"Name": "x" * 1_000_000}, "#text": 1}]}),
        _doc({"a\x00": "\x00", "Data": ["\x00", {"@Name": "\x00"}]}, Computer="\x00"),
        _doc({"v": [[[[[[[[[[[[[[[[[[[[[[[[[["deep"]]]]]]]]]]]]]]]]]]]]]]]]]]}),
        _doc({"v": {"#text": {"#text": {"#text": 5}}}, "w": 2**63, "x": -(2**63), "y": 1e300}),
        _doc(None, EventID="9" * 19, EventRecordID="0" * 19, Level=2**63 - 1),
        _doc(None, EventID={"#text": "12", "#attributes": {"Qualifiers": 0}}, Level="1"),
        _doc("text", EventID=True),
        _doc(
            [{"#attributes": 5, "@Name": "n", "#text": None}], Execution={"#attributes": {"ProcessID": "-1"}}
        ),
        b'{"Event": {"System": {"EventID": 1, "Level": 18446744073709551615}, "EventData": {"x": 1}}}',
    ],
)
def test_edge_documents_give_the_same_events(data: bytes) -> None:
    same(data)


def test_names_cache_stays_bounded() -> None:
    for start in range(0, 12_000, 3000):
        same(_doc({f"name{i}": "v" for i in range(start, start + 3000)}))
        same(_doc({f"n{i}" + "y" * 100: "v" for i in range(start, start + 3000)}))


def test_no_memory_is_kept_per_record() -> None:
    """Reference leaks in the C code would keep every record's objects: memory must not grow."""
    lines = golden("evtx") + sample_records()[::10]
    rng = random.Random(5)
    lines += [mutate(rng.choice(lines), rng) for _ in range(500)]

    def run() -> None:
        for line in lines:
            with contextlib.suppress(ParseError):
                evtx.parse(record("evtx", line))

    run()  # warm the caches
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(5):
            run()
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 64 * 1024, grown


# Values that exercise every branch of ecs._sysmon: placeholders, numbers Python's int() reads but the
# C fast path leaves to it, ports above 65535, paths with either separator, accounts, hashes.
_SYSMON_VALUES: list[Any] = [
    "", "-", "Unknown", "N/A", "x", "C:\\Windows\\System32\\cmd.exe", "C:/tools/a.exe", "\\", "a\\", "\\b",
    "DOM\\user", "user", "12", "007", "0x1F", "0X1f", "0x", " 12", "1_000", "+5", "-1", "\u0663", "65535",
    "65536", "9" * 18, "9" * 19, "0x" + "f" * 15, "0x" + "f" * 16, "SHA1=AB,MD5=CD,SHA256=EF,IMPHASH=01",
    " sha256 = Ab ", "MD5=", "=x", ",,", "SHA1=a=b", "sha1=x", "\x1fMD5\x0b=AB\x1c", "MD5=AB,MD5=CD",
    "IMPHASH= ", "MD5=\u00c4B", "10.0.0.1", "::ffff:10.0.0.1", "fe80::1%3", "Host.Example.", "TCP", "true", "False",
    "a;b;::1;", 5, None, True, ["x"], "ünïcode\\päth", "\ud800",
]  # fmt: skip
_SYSMON_KEYS = [
    "Image", "SourceImage", "ParentImage", "User", "SourceUser", "ImageLoaded", "TargetFilename",
    "OriginalFileName", "Hashes", "Hash", "Details", "CommandLine", "ProcessGuid", "TargetObject",
    "ProcessId", "SourceProcessId", "ParentProcessId", "SourcePort", "DestinationPort", "SourceIp",
    "DestinationIp", "SourceHostname", "DestinationHostname", "Protocol", "Initiated", "QueryName",
    "QueryResults", "RuleName", "PipeName",
]  # fmt: skip


@pytest.mark.skipif(_native.evtx_sysmon is None, reason="C speedups not built")
def test_sysmon_enrichment_in_c_is_the_python_one_on_random_records() -> None:
    from mimamori.parsers.evtx import ecs

    assert _native.evtx_sysmon is not None
    rng = random.Random(11)
    for _ in range(5000):
        data = {key: rng.choice(_SYSMON_VALUES) for key in rng.sample(_SYSMON_KEYS, rng.randrange(12))}
        event_id = rng.choice([1, 3, 5, 7, 10, 11, 12, 13, 14, 15, 22, 23, 255, -1, 2**70])
        start = {"winlog.event_id": event_id}
        if rng.random() < 0.5:
            start["registry.path"] = rng.choice(["HKLM\\Software\\Run\\x", "nokey", 7])
        expected: dict[str, Any] = dict(start)
        native: dict[str, Any] = dict(start)
        ecs._sysmon(expected, dict(data), event_id)
        _native.evtx_sysmon(native, dict(data), event_id)
        assert {k: typed(v) for k, v in native.items()} == {k: typed(v) for k, v in expected.items()}, data
        assert list(native) == list(expected)  # the same order too


_SECURITY_KEYS = [
    "SubjectUserName", "SubjectDomainName", "SubjectUserSid", "TargetUserName", "TargetDomainName",
    "TargetUserSid", "TargetSid", "MemberName", "MemberSid", "NewProcessName", "NewProcessId", "ProcessId",
    "ParentProcessName", "ProcessName", "ServiceFileName", "IpAddress", "IpPort", "LogonType", "Status",
    "ResultCode", "CommandLine", "ServiceName", "WorkstationName", "Workstation", "TargetLogonId",
]  # fmt: skip
_SECURITY_VALUES: list[Any] = [
    *_SYSMON_VALUES,
    "0x0",
    "0xc000006d",
    "0x3e7",
    "3",
    "10",
    "99",
    "S-1-5-18",
    "WORKGROUP",
    "-",
    "0",
    "00",
]
_KEYWORDS: list[Any] = [
    None, 5, "", "0x8020000000000000", "0x8010000000000000", "0x0", "0x", "0X8010000000000000",
    "0x8010_000000000000", "0x80100000000000000", "0x801g", "0x8010000000000000 ", "0x\u0663",
]  # fmt: skip


@pytest.mark.skipif(_native.evtx_security is None, reason="C speedups not built")
def test_security_enrichment_in_c_is_the_python_one_on_random_records() -> None:
    from mimamori.parsers.evtx import ecs

    assert _native.evtx_security is not None
    rng = random.Random(12)
    ids = [4624, 4625, 4634, 4648, 4672, 4688, 4689, 4697, 4720, 4728, 4732, 4768, 4769, 4771, 4776, 1102,
           4727, 4756, 5145, 0, -3, 2**70]  # fmt: skip
    for _ in range(6000):
        data = {key: rng.choice(_SECURITY_VALUES) for key in rng.sample(_SECURITY_KEYS, rng.randrange(14))}
        event_id = rng.choice(ids)
        start: dict[str, Any] = {"winlog.event_id": event_id}
        keywords = rng.choice(_KEYWORDS)
        if keywords is not None:
            start["winlog.keywords"] = keywords
        if rng.random() < 0.3:
            start["winlog.user_data.SubjectUserName"] = rng.choice(["admin", "", 3])
        expected: dict[str, Any] = dict(start)
        native: dict[str, Any] = dict(start)
        ecs._security(expected, dict(data), event_id)
        _native.evtx_security(native, dict(data), event_id)
        assert {k: typed(v) for k, v in native.items()} == {k: typed(v) for k, v in expected.items()}, data
        assert list(native) == list(expected)


@pytest.mark.skipif(_native.evtx_enrich is None, reason="C speedups not built")
def test_enrich_dispatch_in_c_is_the_python_one() -> None:
    from mimamori.parsers.evtx import ecs

    assert _native.evtx_enrich is not None
    rng = random.Random(13)
    channels = [None, 5, "Security", "security", "Microsoft-Windows-Sysmon/Operational", "System", "Weird/Chan",
                "x" * 300, "", "Microsoft-Windows-PowerShell/Operational"]  # fmt: skip
    providers = [None, 7, "Microsoft-Windows-Sysmon", "Some-Provider", ""]
    for _ in range(3000):
        fields: dict[str, Any] = {}
        channel, provider = rng.choice(channels), rng.choice(providers)
        if channel is not None:
            fields["winlog.channel"] = channel
        if provider is not None:
            fields["winlog.provider_name"] = provider
        if rng.random() < 0.95:
            fields["winlog.event_id"] = rng.choice([1, 3, 4624, 4688, 4104, 7045, "1", True, 2**70])
        data = {"Image": "C:\\a.exe", "TargetUserName": "bob", "ScriptBlockText": "x"}
        expected, native = dict(fields), dict(fields)
        outcome_py = outcome(lambda: ecs._enrich(expected, dict(data)))  # noqa: B023 - called at once
        outcome_c = outcome(lambda: _native.evtx_enrich(native, dict(data)))  # noqa: B023
        assert outcome_c == outcome_py
        assert {k: typed(v) for k, v in native.items()} == {k: typed(v) for k, v in expected.items()}
        assert list(native) == list(expected)


def outcome(call: Any) -> Any:
    try:
        return call()
    except KeyError as exc:
        return ("KeyError", str(exc))
