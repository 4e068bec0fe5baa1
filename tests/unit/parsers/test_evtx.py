"""EVTX records (JSON from the evtx package): golden records, JSON shapes, the sample corpus, hostile input."""

from __future__ import annotations

import contextlib
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from mimamori.errors import ParseError
from mimamori.ingest.readers import evtx as reader
from mimamori.parsers import evtx
from mimamori.parsers.evtx import values

from .conftest import SHARED_DATA, check_event, check_golden, record

SAMPLES = SHARED_DATA / "evtx-attack-samples"
GOLDEN = ["security", "sysmon", "powershell", "defender", "classic", "handwritten"]


@pytest.mark.parametrize("name", GOLDEN)
def test_golden(name: str) -> None:
    check_golden("evtx", name, evtx.parse)


def _system(**overrides: Any) -> dict[str, Any]:
    system: dict[str, Any] = {
        "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing", "Guid": "{5484}"}},
        "EventID": 4688,
        "Level": 0,
        "Keywords": "0x8020000000000000",
        "TimeCreated": {"#attributes": {"SystemTime": "2024-03-01T01:02:03.1234567Z"}},
        "EventRecordID": 42,
        "Execution": {"#attributes": {"ProcessID": 4, "ThreadID": 8}},
        "Channel": "Security",
        "Computer": "PC01.example.local",
        "Security": None,
    }
    system.update(overrides)
    return system


def _parse(event: dict[str, Any], **top: Any) -> Any:
    result = evtx.parse(record("evtx", orjson.dumps({**top, "Event": event})))
    check_event(result)
    assert result is not None
    return result


def test_sigma_field_names_are_kept_exactly() -> None:
    data = {
        "NewProcessName": "C:\\Windows\\System32\\cmd.exe",
        "CommandLine": "cmd /c whoami",
        "SubjectUserName": "taro",
        "NewProcessId": "0x1a4",
        "ProcessId": "0x10",
        "TokenElevationType": "%%1936",
    }
    event = _parse({"System": _system(), "EventData": data})
    for key, value in data.items():
        assert event.fields[f"winlog.event_data.{key}"] == value
    assert event.fields["winlog.event_id"] == 4688
    assert event.fields["winlog.channel"] == "Security"
    assert event.fields["process.pid"] == 0x1A4
    assert event.fields["process.parent.pid"] == 0x10
    assert event.fields["process.name"] == "cmd.exe"
    assert event.fields["event.outcome"] == "success"
    assert event.dataset == "windows.security"


def test_systemtime_with_seven_fractional_digits_is_utc() -> None:
    event = _parse({"System": _system()})
    assert event.timestamp == datetime(2024, 3, 1, 1, 2, 3, 123456, tzinfo=UTC)
    event = _parse(
        {"System": _system(TimeCreated={"#attributes": {"SystemTime": "2024-03-01T10:02:03+09:00"}})}
    )
    assert event.timestamp == datetime(2024, 3, 1, 1, 2, 3, tzinfo=UTC)


def test_missing_systemtime_falls_back_to_the_record_timestamp() -> None:
    event = _parse({"System": _system(TimeCreated=None)}, timestamp="2024-03-01T01:02:03.1234567Z")
    assert event.timestamp == datetime(2024, 3, 1, 1, 2, 3, 123456, tzinfo=UTC)
    with pytest.raises(ParseError, match="SystemTime"):
        evtx.parse(record("evtx", orjson.dumps({"Event": {"System": _system(TimeCreated=None)}})))


def test_event_id_with_qualifiers_and_as_text() -> None:
    event = _parse({"System": _system(EventID={"#attributes": {"Qualifiers": 16384}, "#text": 7045})})
    assert event.fields["winlog.event_id"] == 7045
    assert event.fields["event.code"] == "7045"
    event = _parse({"System": _system(EventID="4624")})
    assert event.fields["winlog.event_id"] == 4624


@pytest.mark.parametrize(
    ("event_data", "expected"),
    [
        ({"Data": {"#text": ["a", "", 3]}, "Binary": None}, {"param1": "a", "param2": "", "param3": "3"}),
        ({"Data": {"#text": "only"}}, {"param1": "only"}),
        ({"Data": "only"}, {"param1": "only"}),
        (
            {"Data": [{"#attributes": {"Name": "Image"}, "#text": "x.exe"}, {"#text": "free"}]},
            {"Image": "x.exe", "param1": "free"},
        ),
        ({"Data": [{"@Name": "Image", "#text": "x.exe"}, "free"]}, {"Image": "x.exe", "param1": "free"}),
        (
            {"Initiated": True, "ProcessId": 4, "Ratio": 0.5, "Empty": None, "Many": ["a", 1]},
            {"Initiated": "true", "ProcessId": "4", "Ratio": "0.5", "Empty": "", "Many": ["a", "1"]},
        ),
        (
            {"Big": 18446744073709551615, "Nested": {"#text": "t", "#attributes": {"Type": "x"}}},
            {"Big": "18446744073709551615", "Nested": "t"},
        ),
    ],
)
def test_event_data_shapes(event_data: dict[str, Any], expected: dict[str, Any]) -> None:
    event = _parse({"System": _system(Channel="Application", EventID=1), "EventData": event_data})
    for key, value in expected.items():
        assert event.fields[f"winlog.event_data.{key}"] == value, key
    if "param1" in expected:
        params = [v for k, v in sorted(expected.items()) if k.startswith("param")]
        assert event.fields["winlog.event_data.Data"] == params


def test_user_data_is_flattened_below_its_wrapper() -> None:
    user_data = {
        "LogFileCleared": {
            "#attributes": {"xmlns": "http://manifests.microsoft.com/win/2004/08/windows/eventlog"},
            "SubjectUserName": "admin",
            "SubjectDomainName": "EXAMPLE",
            "Inner": {"Deep": {"#text": "v", "#attributes": {"Kind": "k"}}},
        }
    }
    event = _parse(
        {
            "System": _system(EventID=1102, Provider={"#attributes": {"Name": "Microsoft-Windows-Eventlog"}}),
            "UserData": user_data,
        }
    )
    assert event.fields["winlog.user_data.xml_name"] == "LogFileCleared"
    assert event.fields["winlog.user_data.SubjectUserName"] == "admin"
    assert event.fields["winlog.user_data.Inner.Deep"] == "v"
    assert event.fields["winlog.user_data.Inner.Deep.Kind"] == "k"
    assert event.fields["user.name"] == "admin"
    assert event.fields["event.action"] == "audit-log-cleared"


def test_etw_event_without_channel_takes_its_provider_as_dataset() -> None:
    system = _system(Provider={"#attributes": {"Name": "Microsoft-Windows-RPC"}}, EventID=6)
    del system["Channel"]
    event = _parse({"System": system, "EventData": {"Endpoint": "lsass"}})
    assert event.dataset == "windows.rpc"
    assert "winlog.channel" not in event.fields


def test_other_json_shapes_of_system() -> None:
    xmltodict = {
        "Provider": {"@Name": "Microsoft-Windows-Sysmon"},
        "EventID": "1",
        "EventRecordID": "7",
        "TimeCreated": {"@SystemTime": "2024-03-01T01:02:03.1234567Z"},
        "Channel": "Microsoft-Windows-Sysmon/Operational",
        "Computer": "pc",
    }
    event = _parse({"System": xmltodict, "EventData": {"Data": [{"@Name": "Image", "#text": "C:\\a.exe"}]}})
    assert event.dataset == "windows.sysmon"
    assert event.fields["winlog.record_id"] == 7
    assert event.fields["process.executable"] == "C:\\a.exe"
    separate = _system(
        Provider=None,
        Provider_attributes={"Name": "P"},
        TimeCreated=None,
        TimeCreated_attributes={"SystemTime": "2024-03-01T01:02:03Z"},
    )
    event = _parse({"System": separate})
    assert event.fields["winlog.provider_name"] == "P"


def test_sysmon_network_and_dns() -> None:
    system = _system(
        Provider={"#attributes": {"Name": "Microsoft-Windows-Sysmon"}},
        Channel="Microsoft-Windows-Sysmon/Operational",
        EventID=3,
    )
    data = {
        "Image": "C:\\x.exe",
        "ProcessId": 10,
        "Protocol": "tcp",
        "Initiated": True,
        "SourceIp": "10.0.0.5",
        "SourcePort": 50000,
        "DestinationIp": "::ffff:203.0.113.9",
        "DestinationPort": 443,
        "User": "PC\\taro",
    }
    event = _parse({"System": system, "EventData": data})
    assert event.fields["source.ip"] == "10.0.0.5"
    assert event.fields["destination.ip"] == "203.0.113.9"
    assert event.fields["destination.port"] == 443
    assert event.fields["network.transport"] == "tcp"
    assert event.fields["network.direction"] == "egress"
    assert event.fields["user.name"] == "taro"
    system["EventID"] = 22
    event = _parse({"System": system, "EventData": {"QueryName": "Evil.Example.", "QueryResults": "-"}})
    assert event.fields["dns.question.name"] == "evil.example"


def test_failed_logon_is_failure_with_source_address() -> None:
    data = {
        "TargetUserName": "admin",
        "TargetDomainName": "PC",
        "LogonType": "10",
        "IpAddress": "198.51.100.7",
        "IpPort": "51234",
        "Status": "0xc000006d",
    }
    event = _parse({"System": _system(EventID=4625, Keywords="0x8010000000000000"), "EventData": data})
    assert event.fields["event.outcome"] == "failure"
    assert event.fields["user.name"] == "admin"
    assert event.fields["source.ip"] == "198.51.100.7"
    assert event.fields["source.port"] == 51234
    assert event.fields["winlog.logon.type"] == "RemoteInteractive"


def test_every_sample_record_parses() -> None:
    if not SAMPLES.is_dir():
        pytest.skip(f"sample data absent: {SAMPLES}")
    parsed = refused = 0
    for path in sorted(SAMPLES.rglob("*.evtx")):
        for _, data in reader.read(path):
            try:
                event = evtx.parse(record("evtx", data))
            except ParseError:
                refused += 1
                continue
            check_event(event)
            parsed += 1
    print(f"EVTX sample records: {parsed} parsed, {refused} refused")
    assert parsed > 4000
    assert refused == 0


HOSTILE = [
    b"",
    b"null",
    b"[]",
    b'"x"',
    b"{}",
    b'{"Event": null}',
    b'{"Event": {"System": []}}',
    b'{"Event": {"System": {}}}',
    b'{"Event": {"System": {"EventID": -1}}}',
    b'{"Event": {"System": {"EventID": 99999999999999999999}}}',
    b'{"Event": {"System": {"EventID": 1, "TimeCreated": {"#attributes": {"SystemTime": "0001-01-01T00:00:00+05:00"}}}}}',
    b'{"Event": {"System": {"EventID": 1, "TimeCreated": {"#attributes": {"SystemTime": 5}}}}}',
    b'{"Event": {"System": {"EventID": 1, "TimeCreated": {"#attributes": {"SystemTime": "2024-13-01T00:00:00Z"}}}}}',
    b'{"Event": ' * 2000 + b"1" + b"}" * 2000,
    b'{"Event": {"System": {"EventID": NaN}}}',
]


@pytest.mark.parametrize("data", HOSTILE)
def test_hostile_json_raises_only_parse_error(data: bytes) -> None:
    with contextlib.suppress(ParseError):
        check_event(evtx.parse(record("evtx", data)))


def _mutate(value: Any, rng: random.Random, depth: int = 0) -> Any:
    """Replace random parts of a document by values of other types."""
    choices: list[Any] = [
        None,
        True,
        -1,
        2**64 - 1,
        1.5,
        "",
        "\x00",
        [],
        {},
        [1, {"a": None}],
        {"#text": None},
        {"#attributes": 1},
        {"#attributes": {"Name": 5}},
        "9" * 30,
        {"@Name": []},
    ]
    if rng.random() < 0.15:
        return rng.choice(choices)
    if isinstance(value, dict) and depth < 8:
        return {k: _mutate(v, rng, depth + 1) for k, v in value.items()}
    if isinstance(value, list) and depth < 8:
        return [_mutate(v, rng, depth + 1) for v in value]
    return value


def test_type_confused_documents_raise_only_parse_error() -> None:
    rng = random.Random(20240301)
    lines = [
        line
        for name in GOLDEN
        for line in (Path(__file__).parents[2] / "data" / "parsers" / "evtx" / f"{name}.log")
        .read_bytes()
        .splitlines()
    ]
    for line in lines:
        doc = orjson.loads(line)
        for _ in range(40):
            data = orjson.dumps(_mutate(doc, rng))
            with contextlib.suppress(ParseError):
                check_event(evtx.parse(record("evtx", data)))


def test_nul_characters_are_replaced() -> None:
    event = _parse(
        {"System": _system(Computer="pc\x00"), "EventData": {"Na\x00me": "va\x00lue", "L": ["\x00"]}}
    )
    assert event.fields["winlog.event_data.Na\ufffdme"] == "va\ufffdlue"
    assert event.fields["winlog.event_data.L"] == ["\ufffd"]
    assert event.fields["host.name"] == "pc\ufffd"


def test_oversized_event_data_is_refused() -> None:
    data = {f"k{i}": "v" for i in range(5000)}
    with pytest.raises(ParseError, match="EventData"):
        evtx.parse(record("evtx", orjson.dumps({"Event": {"System": _system(), "EventData": data}})))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("SHA1=AB,MD5=CD,SHA256=EF,IMPHASH=01", {"hash.sha1": "ab", "hash.md5": "cd", "hash.sha256": "ef",
                                                 "pe.imphash": "01"}),
        (" sha1 = AB , md5=, Imphash=X ,other=1,=2,SHA256", {"hash.sha1": "ab", "pe.imphash": "x"}),
        ("", {}),
    ],
)  # fmt: skip
def test_sysmon_hashes(value: str, expected: dict[str, str]) -> None:
    for prefix in ("process", "file", "other"):
        fields: dict[str, Any] = {}
        values.hashes(fields, prefix, value)
        assert fields == {f"{prefix}.{name}": digest for name, digest in expected.items()}
