"""Determinism, ground truth, cleanliness of benign traffic and syntax of the rendered lines."""

from __future__ import annotations

import ipaddress
import json
from datetime import UTC, timedelta
from pathlib import Path

import pytest

import mimamori
from mimamori.sim import SCENARIOS, SimRun, generate, indicator_lines

from .conftest import LINE, START, fields, matches

INDICATORS = [tuple(line.split("\t")[:2]) for line in indicator_lines() if not line.startswith("#")]
HEADER_KEYS = (
    "date",
    "time",
    "devname",
    "devid",
    "eventtime",
    "tz",
    "logid",
    "type",
    "subtype",
    "level",
    "vd",
)


def _small(seed: int, fmt: str = "fortigate") -> SimRun:
    return generate(
        tenants=2, seed=seed, scenarios=list(SCENARIOS), fmt=fmt, start=START, duration=timedelta(minutes=20)
    )


@pytest.mark.parametrize("fmt", ["fortigate", "zeek"])
def test_same_seed_gives_identical_bytes_and_other_seed_differs(fmt: str) -> None:
    one, two, other = _small(3, fmt), _small(3, fmt), _small(4, fmt)
    assert [r.line for r in one.records] == [r.line for r in two.records]
    assert one.truth == two.truth
    assert [r.line for r in one.records] != [r.line for r in other.records]


def test_records_are_sorted_and_stamped(fortigate_run: SimRun) -> None:
    stamps = [r.timestamp for r in fortigate_run.records]
    assert stamps == sorted(stamps)
    assert all(s.tzinfo is UTC for s in stamps[:100])
    assert all(r.format == "fortigate" and not r.line.endswith(b"\n") for r in fortigate_run.records)


def test_every_scenario_has_ground_truth(fortigate_run: SimRun) -> None:
    assert {t.scenario for t in fortigate_run.truth} == set(SCENARIOS)


def test_each_truth_is_backed_by_a_fortigate_line_from_its_host(fortigate_run: SimRun) -> None:
    kinds = dict(INDICATORS)
    for truth in fortigate_run.truth:
        lines = [
            fields(r.line)
            for r in fortigate_run.records
            if r.tenant_index == truth.tenant_index and r.timestamp >= truth.first_time - timedelta(seconds=1)
        ]
        own = [f for f in lines if truth.host_ip in (f.get("srcip"), f.get("dstip"))]
        assert own, truth
        if truth.indicator is not None:
            kind = kinds[truth.indicator]
            hit = [f for f in own if any(matches(v, truth.indicator, kind) for v in f.values())]
            assert hit, truth
            assert hit[0]["srcip"] == truth.host_ip


def test_zeek_sees_the_indicators(zeek_run: SimRun) -> None:
    kinds = dict(INDICATORS)
    for truth in zeek_run.truth:
        if truth.indicator is None:
            continue
        docs = [json.loads(r.line) for r in zeek_run.records if r.tenant_index == truth.tenant_index]
        values = [
            v for d in docs if d["id.orig_h"] == truth.host_ip for v in (d["id.resp_h"], d.get("query", ""))
        ]
        assert any(matches(v, truth.indicator, kinds[truth.indicator]) for v in values), truth


@pytest.mark.parametrize("fmt", ["fortigate", "zeek"])
def test_benign_traffic_never_touches_a_listed_indicator(fmt: str) -> None:
    run = generate(
        tenants=4, seed=11, fmt=fmt, start=START, duration=timedelta(hours=1), events_per_minute=60
    )
    assert not run.truth
    values: set[str] = set()
    for record in run.records:
        values.update(fields(record.line).values() if fmt == "fortigate" else _json_values(record.line))
    ips = {ind for ind, kind in INDICATORS if kind == "ip"}
    nets = [ipaddress.ip_network(ind) for ind, kind in INDICATORS if kind == "cidr"]
    domains = tuple(ind for ind, kind in INDICATORS if kind == "domain")
    for value in values:
        assert value not in ips
        host = value.split("://", 1)[-1].split("/", 1)[0].lower()
        assert not any(host == d or host.endswith("." + d) for d in domains), value
        if value[:1].isdigit() and value.count(".") == 3:
            try:
                address = ipaddress.ip_address(value)
            except ValueError:
                continue
            assert not any(address in net for net in nets), value


def _json_values(line: bytes) -> list[str]:
    doc = json.loads(line)
    return [str(v) for v in doc.values() if not isinstance(v, list)] + [
        str(a) for a in doc.get("answers", [])
    ]


def test_fortigate_lines_are_valid_key_values(fortigate_run: SimRun) -> None:
    logids = set()
    for record in fortigate_run.records:
        text = record.line.decode()
        assert LINE.match(text), text
        kv = fields(record.line)
        assert all(k in kv for k in HEADER_KEYS), text
        assert kv["tz"] == "+0900"
        assert len(kv["eventtime"]) == 19
        logids.add(kv["logid"])
    assert {"0000000013", "0001000014", "1501054802", "0316013056", "0211008192", "0510020491"} <= logids


def test_fortigate_local_time_matches_eventtime(fortigate_run: SimRun) -> None:
    record = fortigate_run.records[0]
    kv = fields(record.line)
    local = record.timestamp + timedelta(hours=9)
    assert (kv["date"], kv["time"]) == (local.strftime("%Y-%m-%d"), local.strftime("%H:%M:%S"))
    assert int(kv["eventtime"]) // 1000 == int(record.timestamp.timestamp() * 1e6)


def test_zeek_lines_are_json_with_path(zeek_run: SimRun) -> None:
    paths = set()
    for record in zeek_run.records:
        doc = json.loads(record.line)
        paths.add(doc["_path"])
        assert isinstance(doc["ts"], float)
        assert doc["uid"].startswith("C")
        assert {"id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto"} <= doc.keys()
        if doc["_path"] == "conn":
            assert {"conn_state", "history", "missed_bytes", "orig_pkts", "resp_ip_bytes"} <= doc.keys()
        else:
            assert {"query", "qclass", "qtype_name", "rcode_name", "AA", "RD"} <= doc.keys()
    assert paths == {"conn", "dns"}


def test_unknown_scenario_and_format_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown scenario"):
        generate(scenarios=["nope"], start=START)
    with pytest.raises(ValueError, match="unknown format"):
        generate(fmt="cef", start=START)


def test_bundled_indicator_file_agrees_with_the_simulator() -> None:
    path = Path(mimamori.__file__).parent / "content" / "indicators.txt"
    assert path.read_text(encoding="utf-8").splitlines() == indicator_lines()
    for line in indicator_lines():
        if not line.startswith("#"):
            value, kind, _ = line.split("\t")
            assert kind in ("ip", "cidr", "domain")
            assert value.endswith((".example", ".invalid")) or value.startswith(
                ("192.0.2.", "198.51.100.", "203.0.113.", "2001:db8:")
            )


def test_fortigate_and_zeek_views_of_one_world_agree_on_the_ground_truth() -> None:
    from datetime import UTC, datetime, timedelta

    from mimamori import sim

    start = datetime(2026, 1, 1, tzinfo=UTC)
    views = [
        sim.generate(
            tenants=3,
            seed=5,
            scenarios=tuple(sim.SCENARIOS),
            fmt=fmt,
            start=start,
            duration=timedelta(minutes=10),
        ).truth
        for fmt in ("fortigate", "zeek")
    ]
    fortigate, zeek = ([(t.scenario, t.host, t.host_ip, t.first_time) for t in view] for view in views)
    assert fortigate == zeek
