"""Receiver counters: what each sensor sent or lost, and which unknown senders tried to send.

Receivers count in memory (cheap, from the event loop or any thread); a service periodically calls
``snapshot_and_reset`` and adds the deltas to the sensor rows in the database, so the hot path never
touches storage. Pure Python on purpose: no storage imports.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = ["ReceiverStats", "SensorCounts", "StatsSnapshot", "UnknownSourceCounts"]


@dataclass(frozen=True, slots=True)
class SensorCounts:
    """Deltas for one sensor since the last snapshot; ``dropped_by_reason`` sums to ``dropped``."""

    received: int = 0
    dropped: int = 0
    last_seen: datetime | None = None
    dropped_by_reason: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class UnknownSourceCounts:
    """Rejected connections or datagrams from an address that no sensor could be found for.

    ``by_reason`` names the credential that failed (``unknown-address``, ``unknown-token``,
    ``unknown-certificate``) and sums to ``rejected``.
    """

    rejected: int
    last_seen: datetime
    by_reason: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StatsSnapshot:
    """Everything counted between two calls of ``snapshot_and_reset``.

    ``rejected`` counts what cannot be attributed to any sender (e.g. ``connection-limit``).
    """

    sensors: Mapping[str, SensorCounts]
    unknown_sources: Mapping[str, UnknownSourceCounts]
    rejected: Mapping[str, int]

    @property
    def empty(self) -> bool:
        return not (self.sensors or self.unknown_sources or self.rejected)


@dataclass(slots=True)
class _Sensor:
    received: int = 0
    last_seen: datetime | None = None
    dropped: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class _Unknown:
    last_seen: datetime
    rejected: dict[str, int] = field(default_factory=dict)


class ReceiverStats:
    """Thread-safe counters shared by all receivers of one process (syslog, HTTP, directory watch)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sensors: dict[str, _Sensor] = {}
        self._unknown: dict[str, _Unknown] = {}
        self._rejected: dict[str, int] = {}

    def received(self, sensor_id: str, count: int = 1, at: datetime | None = None) -> None:
        """``count`` records of ``sensor_id`` accepted at ``at`` (default: now)."""
        at = at or datetime.now(UTC)
        with self._lock:
            sensor = self._sensors.get(sensor_id)
            if sensor is None:
                sensor = self._sensors[sensor_id] = _Sensor()
            sensor.received += count
            if sensor.last_seen is None or at > sensor.last_seen:
                sensor.last_seen = at

    def dropped(self, sensor_id: str, reason: str, count: int = 1) -> None:
        """``count`` records of ``sensor_id`` lost for ``reason`` (``oversize``, ``backpressure``...)."""
        with self._lock:
            sensor = self._sensors.get(sensor_id)
            if sensor is None:
                sensor = self._sensors[sensor_id] = _Sensor()
            sensor.dropped[reason] = sensor.dropped.get(reason, 0) + count

    def unknown_source(
        self, address: str, at: datetime | None = None, *, reason: str = "unknown-address"
    ) -> None:
        """A connection or datagram from ``address`` was rejected: no sensor matches its credentials."""
        at = at or datetime.now(UTC)
        with self._lock:
            unknown = self._unknown.get(address)
            if unknown is None:
                unknown = self._unknown[address] = _Unknown(at)
            elif at > unknown.last_seen:
                unknown.last_seen = at
            unknown.rejected[reason] = unknown.rejected.get(reason, 0) + 1

    def rejected(self, reason: str, count: int = 1) -> None:
        """Input refused before its sender was known (e.g. too many connections)."""
        with self._lock:
            self._rejected[reason] = self._rejected.get(reason, 0) + count

    def snapshot_and_reset(self) -> StatsSnapshot:
        """The deltas since the previous call; the counters restart from zero."""
        with self._lock:
            sensors, self._sensors = self._sensors, {}
            unknown, self._unknown = self._unknown, {}
            rejected, self._rejected = self._rejected, {}
        return StatsSnapshot(
            sensors={
                sensor_id: SensorCounts(s.received, sum(s.dropped.values()), s.last_seen, s.dropped)
                for sensor_id, s in sensors.items()
            },
            unknown_sources={
                a: UnknownSourceCounts(sum(u.rejected.values()), u.last_seen, u.rejected)
                for a, u in unknown.items()
            },
            rejected=rejected,
        )
