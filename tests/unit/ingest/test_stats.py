"""ReceiverStats: deltas per sensor and per unknown source, reset on snapshot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mimamori.ingest import ReceiverStats

T0 = datetime(2024, 5, 1, tzinfo=UTC)


def test_snapshot_returns_deltas_and_resets() -> None:
    stats = ReceiverStats()
    stats.received("s1", 10, T0)
    stats.received("s1", 5, T0 - timedelta(seconds=1))  # last_seen never goes back
    stats.dropped("s1", "oversize")
    stats.dropped("s1", "backpressure", 3)
    stats.unknown_source("192.0.2.9", T0)
    stats.unknown_source("192.0.2.9", T0 + timedelta(seconds=1))
    stats.rejected("connection-limit")

    snapshot = stats.snapshot_and_reset()
    s1 = snapshot.sensors["s1"]
    assert (s1.received, s1.dropped, s1.last_seen) == (15, 4, T0)
    assert s1.dropped_by_reason == {"oversize": 1, "backpressure": 3}
    assert snapshot.unknown_sources["192.0.2.9"].rejected == 2
    assert snapshot.unknown_sources["192.0.2.9"].last_seen == T0 + timedelta(seconds=1)
    assert snapshot.rejected == {"connection-limit": 1}
    assert stats.snapshot_and_reset().empty


def test_unknown_sources_are_counted_by_the_credential_that_failed() -> None:
    stats = ReceiverStats()
    stats.unknown_source("192.0.2.9", T0, reason="unknown-token")
    stats.unknown_source("192.0.2.9", T0 - timedelta(seconds=1))  # last_seen never goes back
    stats.unknown_source("192.0.2.9", T0, reason="unknown-token")
    unknown = stats.snapshot_and_reset().unknown_sources["192.0.2.9"]
    assert (unknown.rejected, unknown.last_seen) == (3, T0)
    assert unknown.by_reason == {"unknown-token": 2, "unknown-address": 1}
