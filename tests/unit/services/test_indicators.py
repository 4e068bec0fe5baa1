"""Indicators as a feature: the detector's load, the pipeline hook, manual entries, the allowlist."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mimamori.detection import DetectorContext, build_engine
from mimamori.domain import Event
from mimamori.errors import NotFoundError, ValidationError
from mimamori.feeds import FeedEntry
from mimamori.services import Database, tenants
from mimamori.services import indicators as ind
from mimamori.storage import read_only, unit_of_work

NOW = datetime.now(UTC)


def store_rows(db: Database, source: str, entries: list[FeedEntry], ttl_days: int | None = 30) -> None:
    converted = ind.convert(entries, source, ttl_days=ttl_days)
    with unit_of_work(db) as uow:
        ind.replace_source(uow, source, converted.rows)


def test_convert_normalises_and_reports_bad_values() -> None:
    converted = ind.convert(
        [
            FeedEntry("", "HTTP://Evil.Example/x"),
            FeedEntry("ip", "300.1.1.1"),
            FeedEntry("domain", "evil.example", confidence=None, tlp="GREEN"),
            FeedEntry("domain", "EVIL.example."),  # the same value twice: one row
        ],
        "f",
        ttl_days=10,
        now=NOW,
    )
    assert [(r[0], r[1]) for r in converted.rows] == [("url", "evil.example/x"), ("domain", "evil.example")]
    assert converted.error_count == 1
    assert converted.rows[0][6] == NOW + timedelta(days=10)
    assert converted.rows[1][4:6] == (50, "clear")  # the later duplicate wins: no TLP given


def test_load_store_merges_file_database_and_allowlist_and_skips_expired(
    db: Database, tmp_path: Path
) -> None:
    path = tmp_path / "indicators.txt"
    path.write_text("203.0.113.66\tip\tdemo C2\n", encoding="utf-8")
    store_rows(db, "feed", [FeedEntry("domain", "evil.example", threat="Emotet")])
    store_rows(db, "old", [FeedEntry("ip", "192.0.2.9", expires_at=NOW - timedelta(seconds=1))])
    tenant = tenants.add_tenant(db, "A社")
    ind.allow(db, tenant.id, "", "192.0.2.0/24", "our office")
    ind.allow(db, None, "domain", "cdn.example", "shared CDN")
    store = ind.load_store(db, extra=path)
    assert store.counts() == {"ip": 1, "domain": 1}
    assert store.match_domain("a.evil.example").threat == "Emotet"  # type: ignore[union-attr]
    assert store.allowlist.reason(tenant.id, "ip", "192.0.2.5") == "our office"
    assert store.allowlist.reason("other", "domain", "x.cdn.example") == "shared CDN"


def test_record_writes_sightings_and_observations_in_the_callers_transaction(db: Database) -> None:
    tenant = tenants.add_tenant(db, "A社")
    store_rows(db, "feed", [FeedEntry("ip", "203.0.113.66")])
    engine = build_engine(DetectorContext(indicators=ind.load_store(db)))
    when = datetime(2026, 11, 26, 1, tzinfo=UTC)
    batch = [
        Event(when, tenant.id, "zeek.conn", {"source.ip": "192.168.1.5", "destination.ip": "203.0.113.66"}),
        Event(
            when, tenant.id, "zeek.dns", {"source.ip": "192.168.1.5", "dns.question.name": "www.example.org"}
        ),
    ]
    for _ in range(2):
        assert len(engine.run(batch)) == 1
        with unit_of_work(db) as uow:
            ind.record(uow, engine, force=True)
    with read_only(db) as repos:
        (sighting,) = repos.sightings.list(tenant.id, when.date())
        observed = {(o.type, o.value): o for o in repos.observations.list(tenant.id, when.date())}
    assert (sighting.value, sighting.count) == ("203.0.113.66", 2)
    assert set(observed) == {("ip", "203.0.113.66"), ("domain", "www.example.org")}
    assert observed[("ip", "203.0.113.66")].count == 2
    assert observed[("ip", "203.0.113.66")].device == "192.168.1.5"


def test_manual_entries(db: Database) -> None:
    assert ind.add_manual(db, "", "HTTP://Bad.Example/x", threat="phishing") == ("url", "bad.example/x")
    (row,) = ind.lookup(db, "url", "http://bad.example/x")
    assert (row[2], row[3], row[5]) == ("manual", "phishing", "amber")
    ind.remove_manual(db, "url", "bad.example/x")
    assert ind.lookup(db, "url", "bad.example/x") == []
    with pytest.raises(NotFoundError):
        ind.remove_manual(db, "url", "bad.example/x")
    with pytest.raises(ValidationError):
        ind.add_manual(db, "ip", "not-an-ip")


def test_allowlist_needs_a_reason_and_a_known_tenant(db: Database) -> None:
    with pytest.raises(ValidationError):
        ind.allow(db, None, "domain", "cdn.example", "  ")
    with pytest.raises(NotFoundError):
        ind.allow(db, "no-such-tenant", "domain", "cdn.example", "x")
    entry = ind.allow(db, None, "", "cdn.example", "shared CDN")
    assert [e.value for e in ind.allowlist(db)] == ["cdn.example"]
    with pytest.raises(NotFoundError):
        ind.disallow(db, entry.id, "some-tenant")  # a tenant cannot remove a provider-wide entry
    ind.disallow(db, entry.id)
    assert ind.allowlist(db) == []


def test_housekeeping_prunes_expired_indicators_and_old_observations(db: Database) -> None:
    from mimamori.storage.repositories import Observation

    tenant = tenants.add_tenant(db, "A社")
    store_rows(
        db,
        "f",
        [FeedEntry("ip", "192.0.2.1", expires_at=NOW - timedelta(days=1)), FeedEntry("ip", "192.0.2.2")],
    )
    old, recent = NOW - timedelta(days=40), NOW - timedelta(days=2)
    with unit_of_work(db) as uow:
        uow.observations.record(
            [Observation(tenant.id, d.date(), "ip", "198.51.100.1", d, d, 1) for d in (old, recent)]
        )
    assert ind.housekeeping(db) == {"indicators_expired": 1, "observations_pruned": 1}


def test_snapshot_is_used_while_the_table_is_unchanged(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mimamori.storage.repositories.indicators import IndicatorRepository

    snapshot = tmp_path / "snap.json"
    store_rows(
        db, "feed", [FeedEntry("ip", "192.0.2.1", threat="Emotet"), FeedEntry("cidr", "198.51.100.0/24")]
    )
    first = ind.load_store(db, snapshot=snapshot)
    assert snapshot.exists()

    def no_database(self: IndicatorRepository) -> None:
        raise AssertionError("the snapshot should have been used")

    monkeypatch.setattr(IndicatorRepository, "load_rows", no_database)
    second = ind.load_store(db, snapshot=snapshot)
    assert second.counts() == first.counts() == {"ip": 1, "cidr": 1}
    assert second.match_ip("198.51.100.7") is not None
    assert second.match_ip("192.0.2.1").threat == "Emotet"  # type: ignore[union-attr]
    monkeypatch.undo()
    store_rows(db, "other", [FeedEntry("domain", "new.example")])  # the table changed: the DB again
    assert ind.load_store(db, snapshot=snapshot).counts() == {"ip": 1, "cidr": 1, "domain": 1}
    snapshot.write_bytes(b'{"format": 1, "stamp": "x", "groups": [[1]]')  # damaged: ignored
    assert len(ind.load_store(db, snapshot=snapshot)) == 3
