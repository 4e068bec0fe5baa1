"""Real data: the Feodo Tracker snapshot and a labelled Stratosphere Zeek capture (NjRAT, CTU-230-1).

The capture's flows labelled ``CC`` all go to one server. Recorded as observed values, then that
server listed by a feed "today": the retro-hunt finds the infected host once, and the live detector
flags exactly the labelled flows.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.unit.feeds.conftest import shared

from mimamori.detection import DetectorContext, build_engine
from mimamori.domain import RawRecord
from mimamori.ingest.readers import zeektsv
from mimamori.parsers import zeek
from mimamori.services import Database, feeds, tenants
from mimamori.services import indicators as ind
from mimamori.storage import read_only, unit_of_work

C2 = "41.108.179.197"


def records(path: Path) -> list[bytes]:
    return [r for r in zeektsv.read(iter([path.read_bytes()]), 65536) if isinstance(r, bytes)]


def test_feodo_snapshot_import_matches_its_own_addresses(db: Database) -> None:
    path = shared("abusech-feodo", "ipblocklist.csv")
    result = feeds.import_file(db, path, "feodo-csv", source="feodo")
    assert (result.indicators, result.errors) == (28, 0)
    store = ind.load_store(db)
    hit = store.match_ip("192.9.135.73")
    assert hit is not None
    assert (hit.threat, hit.source, hit.confidence) == ("Pikabot", "feodo", 90)


def test_stratosphere_njrat_capture_is_found_live_and_retrospectively(db: Database, tmp_path: Path) -> None:
    path = shared("stratosphere-zeek", "001-zeek-scenario-malicious", "labeled-conn.log")
    lines = records(path)
    labelled = sum(1 for line in lines if json.loads(line).get("label") == "Malicious")
    tenant = tenants.add_tenant(db, "CTU")
    now = datetime.now(UTC)
    shift = (now - timedelta(days=1)) - datetime(1970, 1, 1, tzinfo=UTC)
    events = [zeek.parse(RawRecord(tenant.id, "s", "zeek", line, now)) for line in lines]
    # The capture's clock starts at 0 (1970): move it to yesterday, inside the retro-hunt window.
    parsed = [replace(e, timestamp=e.timestamp + shift) for e in events if e is not None]
    # 1. before anyone lists the server: nothing found, but every external value is observed
    engine = build_engine(DetectorContext(indicators=ind.load_store(db)), {"indicator"})
    assert engine.run(parsed) == []
    with unit_of_work(db) as uow:
        ind.record(uow, engine, force=True)
    # 2. today a feed lists it: the retro-hunt raises one alert for the infected host
    listing = tmp_path / "today.txt"
    listing.write_text(f"{C2}\n", encoding="utf-8")
    result = feeds.import_file(db, listing, "plain", source="partner", options={"threat": "NjRAT"})
    assert result.retro_alerts == 1
    with read_only(db) as repos:
        (alert,) = repos.alerts.list(tenant.id)
    assert alert.evidence["indicator.retrospective"] is True
    assert alert.evidence["observed.value"] == C2
    # 3. live from now on: exactly the labelled C2 flows
    engine = build_engine(DetectorContext(indicators=ind.load_store(db)), {"indicator"})
    findings = engine.run(parsed)
    assert labelled > 200
    assert len(findings) == sum(1 for e in parsed if e.fields.get("destination.ip") == C2)
    assert {f.evidence["indicator.threat"] for f in findings} == {"NjRAT"}
    if not findings:
        pytest.fail("no live findings")
