"""Beaconing: a LAN host connecting to a rare external destination at a regular interval.

Per tenant and (LAN host, external address) the detector keeps the last ``2 × (MIN_CONNECTIONS − 1)``
inter-arrival times (connections closer than ``MERGE_GAP`` are one check-in). It fires once the pair has
at least ``MIN_CONNECTIONS`` check-ins spread over ``MIN_SPAN`` whose intervals are regular — all but
``MAX_OUTLIERS`` of the last ``MIN_CONNECTIONS − 1`` intervals lie within ``TOLERANCE`` of their median
(tolerant of malware's random jitter and of a missed or extra check-in), or, for implants that alternate
two delays (connect, retry), the sums of consecutive pairs of intervals do within ``PAIR_TOLERANCE`` —
and the destination is rare: at most ``RARE_MAX_HOSTS`` of the tenant's hosts ever talked to it, and
fewer than ``GLOBAL_POPULAR_TENANTS`` customers' networks did (a small office has too few hosts to tell
a cloud service from a C2 by itself; the other customers tell). Popular services (Windows Update,
Microsoft 365 / Google keep-alives, antivirus update checks) are contacted by many hosts; DNS, NTP,
DHCP and local discovery ports are ignored outright. Random (Poisson) traffic rarely looks periodic
with 11 intervals: 24 simulated hours of 20 SMEs (1.7 M events, printers and phones chatting every
~30 s) raised no finding.

A destination popular with the tenant's hosts is never judged, so its pairs are not tracked: the
``MAX_PAIRS`` kept are the rare destinations' (and the common event, a session to a popular service, costs
a look-up).

Memory per tenant at the limits: ``MAX_PAIRS`` pairs × ~0.7 KiB (22 floats and a few fields) ≈ 3 MiB,
plus ``MAX_DESTINATIONS`` destinations × ~0.2 KiB ≈ 1.6 MiB; shared by all tenants:
``MAX_GLOBAL_DESTINATIONS`` destinations × ~0.1 KiB ≈ 3 MiB.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mimamori.detection.behaviours._flows import (
    CONNECTION_DATASETS,
    EXTERNAL,
    MAX_TENANTS,
    TenantStates,
    is_connection,
)
from mimamori.detection.behaviours._view import Hot, Route, View
from mimamori.detection.behaviours.base import BehaviourPolicy, BoundedMap, finding
from mimamori.domain import Event, Finding, Severity
from mimamori.parsers import _native

NAME = "beacon"
MIN_CONNECTIONS = 12  # check-ins (connections) before a pair can be judged periodic
MIN_SPAN = 600.0  # seconds between the first and the last of those check-ins
TOLERANCE = 0.2  # ratio: an interval within ±20 % of the median interval counts as regular
PAIR_TOLERANCE = 0.1  # ratio: the same for sums of two consecutive intervals (alternating delays)
MAX_OUTLIERS = 1  # intervals: missed or extra check-ins allowed among those judged
MIN_PERIOD = 5.0  # seconds: faster repetition is a session's own traffic, not a beacon
MAX_PERIOD = 3 * 3600.0  # seconds: a longer silence starts the pair's history again
MERGE_GAP = 2.0  # seconds: connections closer than this are one check-in
RARE_MAX_HOSTS = 2  # hosts of the tenant: a destination contacted by more is popular, not a C2
GLOBAL_POPULAR_TENANTS = 5  # tenants: a destination that this many customers' hosts use is a service
COOLDOWN = 24 * 3600.0  # seconds: one finding per pair per day
MAX_HISTORY = 126  # intervals kept per pair at most: 2 × (min_connections − 1), min_connections ≤ 64
MAX_HOSTS_KEPT = 64  # hosts remembered per destination (enough to tell rare from popular)
MAX_PAIRS = 4096  # (host, destination) pairs per tenant
MAX_DESTINATIONS = 8192  # destinations whose contacting hosts are counted, per tenant
MAX_GLOBAL_DESTINATIONS = 32768  # destinations whose tenants are counted, across tenants (~3 MiB)
# DNS, NTP, DHCP, NetBIOS, SSDP, mDNS, LLMNR: periodic by design and never a C2 channel on their own port.
IGNORED_PORTS = frozenset((53, 67, 68, 123, 137, 138, 1900, 5353, 5355))
TAGS = ("attack.command-and-control", "attack.t1071", "attack.t1573")


class _Pair:
    __slots__ = ("alerted", "count", "first", "intervals", "last")

    def __init__(self, now: float) -> None:
        self.first = now
        self.last = now
        self.count = 1
        self.intervals: list[float] = []
        self.alerted = -1e18  # event time of the last finding

    def dump(self) -> list[Any]:
        """Compact: times to the millisecond (plenty for intervals of seconds to hours)."""
        return [
            round(self.first, 3),
            round(self.last, 3),
            self.count,
            [round(x, 3) for x in self.intervals],
            round(self.alerted, 3),
        ]

    def stale(self, latest: float, cooldown: float) -> bool:
        """Whether nothing of this pair matters any more at ``latest``: its history would restart and
        its cooldown is over."""
        return latest - self.last > MAX_PERIOD and latest - self.alerted > cooldown

    @classmethod
    def load(cls, data: Any) -> _Pair:
        first, last, count, intervals, alerted = data
        pair = cls(float(first))
        pair.last, pair.count, pair.alerted = float(last), int(count), float(alerted)
        pair.intervals = [float(x) for x in intervals][-MAX_HISTORY:]
        return pair


class _Tenant:
    __slots__ = (
        "cooldown",
        "global_popular",
        "history",
        "min_connections",
        "min_span",
        "pairs",
        "popularity",
        "rare_max",
        "tolerance",
    )

    def __init__(self, tenant_id: str, policy: BehaviourPolicy) -> None:
        wanted = policy.value(tenant_id, NAME, "min_connections", MIN_CONNECTIONS)
        self.min_connections = min(64, max(4, wanted))
        self.history = 2 * (self.min_connections - 1)  # intervals kept per pair (for the pair-sum test)
        self.min_span = policy.value(tenant_id, NAME, "min_span_seconds", MIN_SPAN)
        self.tolerance = policy.value(tenant_id, NAME, "tolerance", TOLERANCE)
        self.rare_max = min(
            MAX_HOSTS_KEPT - 1, policy.value(tenant_id, NAME, "rare_max_hosts", RARE_MAX_HOSTS)
        )
        self.global_popular = policy.value(tenant_id, NAME, "global_popular_tenants", GLOBAL_POPULAR_TENANTS)
        self.cooldown = policy.value(tenant_id, NAME, "cooldown_seconds", COOLDOWN)
        self.pairs: BoundedMap[str, _Pair] = BoundedMap(MAX_PAIRS)
        self.popularity: BoundedMap[str, list[str]] = BoundedMap(MAX_DESTINATIONS)


def regularity(intervals: list[float], tolerance: float) -> tuple[float, int]:
    """``(median, outliers)``: how many of ``intervals`` (non-empty) are off the median by > ``tolerance``."""
    ordered = sorted(intervals)
    n = len(ordered)
    median = (ordered[(n - 1) // 2] + ordered[n // 2]) / 2
    bound = tolerance * median
    return median, sum(1 for x in ordered if abs(x - median) > bound)


def periodic(intervals: list[float], judged: int, tolerance: float) -> tuple[float, int] | None:
    """``(period, outliers)`` when the last ``judged`` intervals (or pair sums) are regular, else None."""
    period, outliers = regularity(intervals[-judged:], tolerance)
    if outliers <= MAX_OUTLIERS:
        return period, outliers
    if len(intervals) >= 2 * judged:  # alternating delays: judge non-overlapping sums of two intervals
        tail = intervals[-2 * judged :]
        sums = [tail[i] + tail[i + 1] for i in range(0, len(tail), 2)]
        period, outliers = regularity(sums, tolerance * PAIR_TOLERANCE / TOLERANCE)
        if outliers <= MAX_OUTLIERS:
            return period / 2, outliers
    return None


class BeaconBehaviour:
    """Periodic connections from a LAN host to a rare external address (see the module docstring)."""

    name = NAME

    def __init__(self, policy: BehaviourPolicy | None = None) -> None:
        self.policy = policy or BehaviourPolicy()
        self.tenants: TenantStates[_Tenant] = TenantStates(lambda t: _Tenant(t, self.policy))
        # destination → the tenants (up to GLOBAL_POPULAR_TENANTS) whose hosts contacted it
        self.prevalence: BoundedMap[str, list[str]] = BoundedMap(MAX_GLOBAL_DESTINATIONS)

    def accepts(self, event: Event) -> bool:
        return is_connection(event)

    def route(self, dataset: str) -> Route:
        return dataset in CONNECTION_DATASETS

    HOT_CONSTANTS = (EXTERNAL, IGNORED_PORTS)  # what the C hot path reads

    def hot(self, dataset: str) -> Hot | None:
        """The C loop's hot path (``hot_beacon``: the early returns of ``see``, most of all a session
        to a destination popular with the tenant's hosts)."""
        return _native.hot_beacon

    def observe(self, event: Event) -> Iterable[Finding]:
        return self.see(View(event))

    def see(self, view: View) -> Iterable[Finding]:
        src, dst = view.src, view.dst
        if src is None or dst is None:
            return ()
        port = view.port
        if port in IGNORED_PORTS or view.dst_place != EXTERNAL or not view.src_lan:
            return ()
        tenant, event = view.tenant, view.event
        last = self.tenants.last
        state = last[1] if last is not None and last[0] == tenant else self.tenants.get(tenant)
        popularity = state.popularity.data  # (BoundedMap.get inlined: the hot path)
        hosts = popularity.get(dst)
        if hosts is None:  # first contact of this tenant with dst: count the tenant for dst's prevalence
            hosts = state.popularity.setdefault(dst, list)
            tenants = self.prevalence.setdefault(dst, list)
            if len(tenants) < GLOBAL_POPULAR_TENANTS and tenant not in tenants:
                tenants.append(tenant)
        else:
            popularity.move_to_end(dst)
        if len(hosts) > state.rare_max:
            return ()  # popular with the tenant's hosts: never judged, so its pairs are not tracked
        if src not in hosts:
            hosts.append(src)
        now = view.now
        key = f"{src}>{dst}"
        pairs = state.pairs.data
        pair = pairs.get(key)
        if pair is None:
            state.pairs.setdefault(key, lambda: _Pair(now))
            return ()
        pairs.move_to_end(key)
        gap = now - pair.last
        if gap < MERGE_GAP:  # same check-in (or an out-of-order late record): nothing new
            return ()
        pair.last = now
        if gap > MAX_PERIOD:
            pair.first, pair.count, pair.intervals = now, 1, []
            return ()
        pair.count += 1
        pair.intervals.append(gap)
        if len(pair.intervals) > state.history:
            del pair.intervals[0]
        if pair.count < state.min_connections or now - pair.alerted < state.cooldown:
            return ()
        if now - pair.first < state.min_span or len(hosts) > state.rare_max:
            return ()  # (this check-in made the destination popular)
        users = self.prevalence.get(dst)
        if users is not None and len(users) >= state.global_popular > 0:
            return ()  # a service many customers use (cloud, CDN, antivirus vendor)
        judged = state.min_connections - 1
        found = periodic(pair.intervals, judged, state.tolerance)
        if found is None or found[0] < MIN_PERIOD:
            return ()
        period, spread = found
        pair.alerted = now
        return (
            self._finding(
                event, src, dst, port=port, pair=pair, period=period, spread=spread, hosts=len(hosts)
            ),
        )

    def _finding(
        self,
        event: Event,
        src: str,
        dst: str,
        *,
        port: int,
        pair: _Pair,
        period: float,
        spread: int,
        hosts: int,
    ) -> Finding:
        return finding(
            NAME,
            event,
            key=f"beacon:{dst}",
            title=f"Periodic connections (beaconing) to {dst} every ~{round(period)} s",
            severity=Severity.MEDIUM,
            tags=TAGS,
            source_ip=src,
            destination_ip=dst,
            description=(
                "端末が外部の珍しい宛先へ一定間隔で接続を繰り返しています"
                " (マルウェアの C2 通信の疑い)。"
                " The device connects to a rare external address at a regular interval"
                " (possible C2 beaconing)."
            ),
            evidence={
                "destination.ip": dst,
                "destination.port": port,
                "connections": pair.count,
                "interval_median_s": round(period, 1),
                "irregular_intervals": spread,
                "span_s": round(pair.last - pair.first),
                "tenant_hosts_contacting": hosts,
            },
        )

    def snapshot(self) -> dict[str, Any]:
        return {
            "version": 1,
            "tenants": {
                tenant: {
                    "pairs": self._live_pairs(state),
                    "popularity": [[d, h] for d, h in state.popularity.items()],
                }
                for tenant, state in self.tenants.items()
            },
            "prevalence": [[d, t] for d, t in self.prevalence.items()],
        }

    @staticmethod
    def _live_pairs(state: _Tenant) -> list[list[Any]]:
        """The pairs worth saving: stale ones (silent for ``MAX_PERIOD``, out of cooldown) are left out."""
        pairs = list(state.pairs.items())
        latest = max((p.last for _, p in pairs), default=0.0)
        return [[k, p.dump()] for k, p in pairs if not p.stale(latest, state.cooldown)]

    def restore(self, state: Mapping[str, Any]) -> None:
        tenants = state.get("tenants") if isinstance(state, Mapping) and state.get("version") == 1 else None
        if not isinstance(tenants, Mapping):
            return
        for tenant_id, data in list(tenants.items())[-MAX_TENANTS:]:
            try:
                fresh = _Tenant(str(tenant_id), self.policy)
                for key, dumped in data["pairs"][-MAX_PAIRS:]:
                    fresh.pairs.setdefault(str(key), lambda d=dumped: _Pair.load(d))
                for dst, hosts in data["popularity"][-MAX_DESTINATIONS:]:
                    fresh.popularity.setdefault(
                        str(dst), lambda h=hosts: [str(x) for x in h][:MAX_HOSTS_KEPT]
                    )
            except (TypeError, ValueError, KeyError, AttributeError):
                continue  # a malformed tenant starts fresh
            self.tenants.set(str(tenant_id), fresh)
        prevalence = state.get("prevalence")
        if isinstance(prevalence, list):
            for item in prevalence[-MAX_GLOBAL_DESTINATIONS:]:
                if isinstance(item, list) and len(item) == 2 and isinstance(item[1], list):
                    names = [str(t) for t in item[1][:GLOBAL_POPULAR_TENANTS]]
                    self.prevalence.setdefault(str(item[0]), lambda n=names: n)


__all__ = ["NAME", "BeaconBehaviour", "periodic", "regularity"]
