"""Indicator, feed, allowlist, sighting and observation repositories, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from mimamori.domain.models import Tenant
from mimamori.storage import Repositories
from mimamori.storage.repositories import Observation

T0 = datetime(2026, 11, 26, 1, tzinfo=UTC)
DAY = T0.date()


def row(kind: str, value: str, expires: datetime | None = None, threat: str = "x") -> tuple:  # type: ignore[type-arg]
    return (kind, value, "ignored", threat, 70, "green", expires, "d", T0, T0)


def test_indicators_upsert_keys_stream_find_remove_and_prune(repos: Repositories) -> None:
    repos.indicators.upsert("feodo", [row("ip", "192.0.2.1"), row("domain", "evil.example", T0)])
    repos.indicators.upsert("feodo", [row("ip", "192.0.2.1", threat="Emotet")])  # refresh, no duplicate
    repos.indicators.upsert("other", [row("ip", "192.0.2.1")])
    assert repos.indicators.keys("feodo") == {("ip", "192.0.2.1"), ("domain", "evil.example")}
    assert repos.indicators.count_by_source() == {"feodo": 2, "other": 1}
    found = {(r[2], r[3]) for r in repos.indicators.find("ip", "192.0.2.1")}
    assert found == {("feodo", "Emotet"), ("other", "x")}
    streamed = sorted(repos.indicators.stream())
    assert len(streamed) == 3
    assert streamed[0][6] == T0  # expires_at round-trips as aware UTC
    loaded = {(r[0], r[1], r[2]): r for r in repos.indicators.load_rows()}
    assert loaded[("domain", "evil.example", "feodo")][6] == T0.timestamp()  # epoch seconds, from the driver
    assert loaded[("ip", "192.0.2.1", "feodo")][6] is None
    assert loaded[("ip", "192.0.2.1", "feodo")][3] == "Emotet"
    stamp = repos.indicators.stamp()
    assert stamp.startswith("3:")
    repos.indicators.upsert("other", [row("ip", "192.0.2.1", threat="changed")])
    assert repos.indicators.stamp() != stamp  # a refresh changes the stamp even at the same count
    assert repos.indicators.prune_expired(T0 + timedelta(seconds=1)) == 1
    assert repos.indicators.remove("feodo", [("ip", "192.0.2.1"), ("ip", "192.0.2.99")]) == 1
    assert repos.indicators.remove_source("other") == 1
    assert list(repos.indicators.stream()) == []


def test_feeds_state(repos: Repositories) -> None:
    repos.feeds.put("feodo", "feodo-csv", "https://x.example/a.csv", {"ttl_days": "7"})
    repos.feeds.record_attempt("feodo", error=None, success=True, count=28, etag='"e"', last_modified="m")
    repos.feeds.record_attempt("feodo", error="HTTP 500", success=False)
    feed = repos.feeds.get("feodo")
    assert (feed.indicator_count, feed.etag, feed.last_error, feed.options) == (
        28,
        '"e"',
        "HTTP 500",
        {"ttl_days": "7"},
    )
    assert feed.last_success_at is not None
    assert feed.last_attempt_at is not None
    repos.feeds.put("feodo", "feodo-json", "https://x.example/a.json", {})  # redefined: validators reset
    assert repos.feeds.get("feodo").etag is None
    assert [f.name for f in repos.feeds.list()] == ["feodo"]
    assert repos.feeds.remove("feodo")
    assert not repos.feeds.remove("feodo")


def test_allowlist_scoping(repos: Repositories, tenant_a: Tenant, tenant_b: Tenant) -> None:
    shared = repos.allowlist.add(None, "domain", "cdn.example", "shared CDN")
    own = repos.allowlist.add(tenant_a.id, "cidr", "192.0.2.0/24", "office")
    assert [e.id for e in repos.allowlist.list(tenant_a.id)] == [own.id]
    assert repos.allowlist.list(tenant_b.id) == []
    assert [e.id for e in repos.allowlist.list_provider()] == [shared.id]
    assert {e.id for e in repos.allowlist.list_across_tenants()} == {shared.id, own.id}
    assert not repos.allowlist.remove(own.id, tenant_b.id)  # another tenant's entry looks missing
    assert not repos.allowlist.remove(shared.id, tenant_a.id)  # a tenant cannot drop a provider entry
    assert repos.allowlist.remove(own.id, tenant_a.id)
    assert repos.allowlist.remove(shared.id)


def test_sightings_and_observations_add_up(repos: Repositories, tenant_a: Tenant, tenant_b: Tenant) -> None:
    later = T0 + timedelta(hours=3)
    earlier = T0 - timedelta(hours=1)
    repos.observations.record([Observation(tenant_a.id, DAY, "ip", "198.51.100.1", T0, T0, 2, None, False)])
    repos.observations.record(
        [Observation(tenant_a.id, DAY, "ip", "198.51.100.1", earlier, later, 3, "192.168.1.5", True)]
    )
    (obs,) = repos.observations.list(tenant_a.id, DAY)
    assert (obs.count, obs.first_seen, obs.last_seen, obs.device, obs.allowed) == (
        5,
        earlier,
        later,
        "192.168.1.5",
        True,
    )
    assert repos.observations.list(tenant_b.id, DAY) == []
    repos.sightings.record([Observation(tenant_a.id, DAY, "ip", "198.51.100.1", T0, T0, 1)])
    repos.sightings.record([Observation(tenant_a.id, DAY, "ip", "198.51.100.1", T0, later, 4)])
    (sighting,) = repos.sightings.list(tenant_a.id, DAY)
    assert (sighting.count, sighting.last_seen) == (5, later)
    assert repos.sightings.keys_across_tenants(DAY) == {(tenant_a.id, DAY, "ip", "198.51.100.1")}
    assert repos.sightings.totals_across_tenants(DAY) == {("ip", "198.51.100.1"): 5}
    assert [o.value for o in repos.observations.stream_across_tenants(DAY)] == ["198.51.100.1"]
    assert list(repos.observations.stream_across_tenants(DAY + timedelta(days=1))) == []
    assert repos.observations.prune(date(2026, 11, 27)) == 1
    assert repos.observations.prune_sightings(date(2026, 11, 27)) == 1
