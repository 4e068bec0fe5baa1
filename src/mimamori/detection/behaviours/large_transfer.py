"""Large outbound transfer compared with the host's own baseline (possible exfiltration).

Bytes a LAN host sends to the Internet (FortiGate traffic ``sentbyte`` and Zeek conn ``orig_bytes``, both
normalised to ``source.bytes`` with the LAN host as ``source.ip``) are summed per clock hour. Each closed
hour in which the host sent anything updates an exponentially weighted mean and variance of the host's
hourly volume (idle hours are not counted: a PC's nights would drag the mean to zero). After
``LEARN_HOURS`` active hours, an hour whose running total passes
``max(FLOOR_BYTES, mean + K_SIGMA * sigma, RATIO * mean)`` raises one finding (then ``COOLDOWN``).

Backups to cloud storage are common and legitimate: when most of the hour's bytes go to a destination the
host has used in at least ``REGULAR_HOURS`` earlier hours, the finding is ranked down to low. A flagged hour
still feeds the baseline, so a new recurring job (a nightly backup) is medium on its first night, low once
its destination is regular, and silent once the baseline has grown to it.

Memory at the limits: ``MAX_HOSTS`` hosts x (``MAX_DESTINATIONS`` + ``MAX_REGULAR`` entries x ~100 B)
~ 1,000 x 5 KB = about 5 MB per tenant.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from mimamori.detection.behaviours._flows import CONNECTION_DATASETS
from mimamori.detection.behaviours._view import Hot, Route, View
from mimamori.detection.behaviours.base import BehaviourPolicy, BoundedMap, finding
from mimamori.domain import Event, Finding, Severity
from mimamori.parsers import _native

NAME = "large_transfer"

BUCKET = 3600.0  # seconds: volumes are summed per clock hour
LEARN_HOURS = 24  # active hours of a host before it can be flagged
ALPHA = 0.05  # weight of a new hour in the exponentially weighted mean and variance (~20-hour memory)
K_SIGMA = 4.0  # standard deviations above the mean
RATIO = 10.0  # ... and at least this many times the mean
FLOOR_BYTES = 200_000_000  # bytes per hour: never flag less than this (200 MB)
HIGH_FACTOR = 5.0  # times the threshold: to a new destination this is high, not medium
REGULAR_HOURS = 3  # earlier hours with traffic to a destination that make it "regular" (backups)
COOLDOWN = 12 * 3600.0  # seconds: one finding per host per episode
MAX_TENANTS = 10_000  # tenants tracked (LRU)
MAX_HOSTS = 1_000  # LAN hosts per tenant (LRU)
MAX_DESTINATIONS = 16  # destinations summed per host within the current hour (LRU)
MAX_REGULAR = 32  # destinations remembered per host with the hours they were used (LRU)
MAX_SESSION_BYTES = 1 << 44  # bytes: one session's count is capped here (16 TB; absurd values are junk)
_TAGS = ("attack.exfiltration", "attack.t1048", "attack.t1567")


class _Host:
    """A LAN host's baseline and its current hour."""

    __slots__ = ("bucket", "dests", "fired", "hours", "mean", "regular", "total", "var")

    def __init__(self, bucket: int) -> None:
        self.bucket = bucket
        self.total = 0
        self.dests: BoundedMap[str, list[int]] = BoundedMap(MAX_DESTINATIONS)  # → [bytes this hour]
        self.regular: BoundedMap[str, list[int]] = BoundedMap(MAX_REGULAR)  # → [earlier hours]
        self.hours = 0
        self.mean = 0.0
        self.var = 0.0
        self.fired = -math.inf  # time of the last finding

    def close(self, bucket: int) -> None:
        """Fold the finished hour into the baseline and start ``bucket``."""
        if self.total > 0:
            x = float(self.total)
            if self.hours == 0:
                self.mean = x
            else:
                diff = x - self.mean
                incr = ALPHA * diff
                self.mean += incr
                self.var = (1 - ALPHA) * (self.var + diff * incr)
            self.hours += 1
            for dest, _ in self.dests.items():
                self.regular.setdefault(dest, lambda: [0])[0] += 1
        self.bucket = bucket
        self.total = 0
        self.dests = BoundedMap(MAX_DESTINATIONS)

    def threshold(self, floor: int, k_sigma: float) -> float:
        return max(float(floor), self.mean + k_sigma * math.sqrt(max(self.var, 0.0)), RATIO * self.mean)


def _host_table() -> BoundedMap[str, _Host]:
    return BoundedMap(MAX_HOSTS)


def _counter() -> list[int]:
    return [0]


class LargeTransfer:
    """The ``large_transfer`` behaviour: hourly outbound volume above the host's own baseline."""

    name = NAME
    HOT_CONSTANTS = (BUCKET, MAX_SESSION_BYTES, COOLDOWN)  # what the C hot path reads

    def __init__(self, policy: BehaviourPolicy | None = None) -> None:
        self.policy = policy or BehaviourPolicy()
        self._tenants: BoundedMap[str, BoundedMap[str, _Host]] = BoundedMap(MAX_TENANTS)
        self._limits: dict[str, tuple[int, int, float]] = {}  # tenant → its thresholds

    def accepts(self, event: Event) -> bool:
        return event.dataset in CONNECTION_DATASETS and "source.bytes" in event.fields

    def route(self, dataset: str) -> Route:
        return "source.bytes" if dataset in CONNECTION_DATASETS else False

    def hot(self, dataset: str) -> Hot | None:
        """The C loop's hot path (``hot_large_transfer``: a session of a host and destination already
        counted this hour)."""
        return _native.hot_large_transfer

    def observe(self, event: Event) -> Iterable[Finding]:
        return self.see(View(event))

    def _thresholds(self, tenant: str) -> tuple[int, int, float]:
        """``(learn_hours, floor_bytes, k_sigma)`` of ``tenant`` (cached: the policy is fixed for this
        instance; a new policy builds new behaviours)."""
        found = self._limits.get(tenant)
        if found is None:
            if len(self._limits) >= MAX_TENANTS:
                self._limits.clear()
            value = self.policy.value
            found = self._limits[tenant] = (
                value(tenant, NAME, "learn_hours", LEARN_HOURS),
                value(tenant, NAME, "floor_bytes", FLOOR_BYTES),
                value(tenant, NAME, "k_sigma", K_SIGMA),
            )
        return found

    def see(self, view: View) -> Iterable[Finding]:
        sent = view.fields.get("source.bytes")
        source, dest = view.src, view.dst
        if type(sent) is not int or sent <= 0 or source is None or dest is None:
            return ()
        if not view.src_lan or view.dst_lan:
            return ()
        now = view.now
        bucket = int(now // BUCKET)
        tenant = view.tenant
        # (BoundedMap.get inlined: the hot path)
        hosts = self._tenants.data.get(tenant)
        if hosts is None:
            hosts = self._tenants.setdefault(tenant, _host_table)
        else:
            self._tenants.data.move_to_end(tenant)
        host = hosts.data.get(source)
        if host is None:
            host = hosts.setdefault(source, lambda: _Host(bucket))
        else:
            hosts.data.move_to_end(source)
        if bucket > host.bucket:  # (a late record of an earlier hour counts in the current one)
            host.close(bucket)
        if sent > MAX_SESSION_BYTES:  # noqa: PLR1730 (min() costs a call on the hot path)
            sent = MAX_SESSION_BYTES
        host.total += sent
        dests = host.dests.data
        counter = dests.get(dest)
        if counter is None:
            counter = host.dests.setdefault(dest, _counter)
        else:
            dests.move_to_end(dest)
        counter[0] += sent
        return self._judge(view, host)

    def _judge(self, view: View, host: _Host) -> Iterable[Finding]:
        """The finding, if any, once ``view``'s session is counted in ``host``'s hour (the C hot path
        calls it too, unless ``host`` is learning, in its cool-down or under the floor)."""
        now = view.now
        learn, floor, k_sigma = self._limits.get(view.tenant) or self._thresholds(view.tenant)
        if host.hours < learn or now - host.fired < COOLDOWN:
            return ()
        limit = host.threshold(floor, k_sigma)
        if host.total <= limit:
            return ()
        source, event = view.src, view.event
        host.fired = now
        top, (top_bytes,) = max(host.dests.items(), key=lambda item: item[1][0])
        used = (host.regular.get(top) or [0])[0]
        regular = used >= REGULAR_HOURS
        if regular:
            severity = Severity.LOW
        elif host.total >= HIGH_FACTOR * limit:
            severity = Severity.HIGH
        else:
            severity = Severity.MEDIUM
        mb = host.total / 1e6
        return [
            finding(
                NAME,
                event,
                key="hourly_volume",
                title=f"通常より大量の外部送信 ({mb:.0f} MB/時) / Unusually large upload ({mb:.0f} MB/h)",
                severity=severity,
                tags=_TAGS,
                evidence={
                    "bytes_this_hour": host.total,
                    "baseline_mean_bytes": round(host.mean),
                    "baseline_sigma_bytes": round(math.sqrt(max(host.var, 0.0))),
                    "threshold_bytes": round(limit),
                    "baseline_hours": host.hours,
                    "top_destination": top,
                    "top_destination_bytes": top_bytes,
                    "destination_regular": regular,
                    "destination_hours_used": used,
                },
                source_ip=source,
                destination_ip=top,
                description=f"{source} sent {host.total} bytes this hour (threshold {round(limit)})",
            )
        ]

    def snapshot(self) -> dict[str, Any]:
        tenants: dict[str, Any] = {}
        for tenant, hosts in self._tenants.items():
            tenants[tenant] = {
                ip: [
                    h.bucket,
                    h.total,
                    h.hours,
                    h.mean,
                    h.var,
                    h.fired if math.isfinite(h.fired) else None,
                    {d: v[0] for d, v in h.dests.items()},
                    {d: v[0] for d, v in h.regular.items()},
                ]
                for ip, h in hosts.items()
            }
        return {"version": 1, "tenants": tenants}

    def restore(self, state: Mapping[str, Any]) -> None:
        self._tenants = BoundedMap(MAX_TENANTS)
        try:
            if state.get("version") != 1:
                return
            for tenant, hosts in dict(state["tenants"]).items():
                table: BoundedMap[str, _Host] = BoundedMap(MAX_HOSTS)
                self._tenants.setdefault(str(tenant), lambda t=table: t)
                for ip, saved in list(dict(hosts).items())[-MAX_HOSTS:]:
                    bucket, total, hours, mean, var, fired, dests, regular = saved
                    host = _Host(int(bucket))
                    host.total, host.hours = int(total), int(hours)
                    host.mean, host.var = float(mean), float(var)
                    host.fired = -math.inf if fired is None else float(fired)
                    for dest, sent in list(dict(dests).items())[-MAX_DESTINATIONS:]:
                        host.dests.setdefault(str(dest), lambda v=int(sent): [v])
                    for dest, used in list(dict(regular).items())[-MAX_REGULAR:]:
                        host.regular.setdefault(str(dest), lambda v=int(used): [v])
                    table.setdefault(str(ip), lambda h=host: h)
        except (KeyError, TypeError, ValueError, AttributeError):
            self._tenants = BoundedMap(MAX_TENANTS)
