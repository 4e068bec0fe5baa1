"""Scans and lateral movement: one source touching many hosts or many ports in a short window.

Per LAN source and tumbling ``WINDOW`` (event time) the detector counts:

- ``sweep``: distinct LAN hosts contacted (a host sweep, ``SWEEP_MIN_HOSTS``) — medium;
- ``portscan``: distinct ports on one LAN host (``PORTSCAN_MIN_PORTS``) — medium;
- ``lateral``: distinct LAN hosts contacted on remote-administration ports (SMB 445/139, RPC 135,
  RDP 3389, WinRM 5985/5986, SSH 22) (``LATERAL_MIN_HOSTS``): a worm or ransomware spreading, an
  attacker moving from one workstation — high;
- ``outbound``: distinct Internet hosts contacted on those ports and a few more (telnet, SQL, VNC)
  (``OUTBOUND_MIN_HOSTS``): an infected PC scanning the Internet — medium.

Inbound attempts from the Internet (mostly dropped by the UTM: local-in denies) are everyday background:
they are counted per tenant and reported as one low-severity summary per ``INBOUND_WINDOW`` once there
are ``INBOUND_MIN_ATTEMPTS`` of them, never one finding per packet. Broadcast addresses and the sources
listed in the tenant's ``exempt_sources`` override (an IT-management server, a vulnerability scanner)
are left out. One finding per source and kind per ``COOLDOWN``.

Memory per tenant at the limits: ``MAX_SOURCES`` sources × (``MAX_HOSTS`` hosts + ``MAX_PORT_KEYS``
host:port pairs, ~60 B each) ≈ 2048 × 46 KiB worst case (a flood of scanners) ≈ 90 MiB; in practice a
few sources per window with a handful of entries each (≪ 1 MiB).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mimamori.detection.behaviours._flows import (
    CONNECTION_DATASETS,
    EXTERNAL,
    LAN,
    MAX_TENANTS,
    OTHER,
    TenantStates,
    is_connection,
)
from mimamori.detection.behaviours._view import Hot, Route, View
from mimamori.detection.behaviours.base import BehaviourPolicy, BoundedMap, finding
from mimamori.domain import Event, Finding, Severity
from mimamori.parsers import _native

NAME = "scan"
WINDOW = 300.0  # seconds: the tumbling window in which one source's targets are counted
SWEEP_MIN_HOSTS = 20  # distinct LAN hosts per source and window
PORTSCAN_MIN_PORTS = 30  # distinct ports on one LAN host per source and window
LATERAL_MIN_HOSTS = 8  # distinct LAN hosts on remote-administration ports per source and window
OUTBOUND_MIN_HOSTS = 30  # distinct Internet hosts on remote-administration ports per source and window
INBOUND_WINDOW = 24 * 3600.0  # seconds: one inbound-scan summary per tenant per window
INBOUND_MIN_ATTEMPTS = 20  # unsolicited inbound attempts from the Internet per tenant and window
COOLDOWN = 3600.0  # seconds: one finding per source and kind
MAX_SOURCES = 2048  # sources tracked per tenant
MAX_HOSTS = 256  # hosts counted per source and window (more than any threshold)
MAX_PORT_KEYS = 512  # host:port pairs counted per source and window
MAX_INBOUND_KEPT = 64  # distinct inbound sources/ports kept for the summary's evidence
ADMIN_PORTS = frozenset((22, 135, 139, 445, 3389, 5985, 5986))
REMOTE_PORTS = ADMIN_PORTS | frozenset((23, 1433, 3306, 5900))
_SEVERITY = {"sweep": Severity.MEDIUM, "portscan": Severity.MEDIUM, "lateral": Severity.HIGH}
_TAGS = {
    "sweep": ("attack.discovery", "attack.t1018", "attack.t1046"),
    "portscan": ("attack.discovery", "attack.t1046"),
    "lateral": ("attack.lateral-movement", "attack.t1021", "attack.t1210"),
    "outbound": ("attack.discovery", "attack.t1046"),
    "inbound": ("attack.reconnaissance", "attack.t1595"),
}
_TITLES = {
    "sweep": "Host sweep: {src} contacted {n} LAN hosts within {w} minutes",
    "portscan": "Port scan: {src} probed {n} ports on {dst} within {w} minutes",
    "lateral": "Lateral movement: {src} connected to {n} LAN hosts over SMB/RDP/WinRM within {w} minutes",
    "outbound": "Outbound scan: {src} probed {n} Internet hosts on remote-access ports within {w} minutes",
    "inbound": "Inbound scans from the Internet: {n} attempts (summary)",
}
_DESCRIPTIONS = {
    "sweep": "LAN 内の多数の端末へ短時間に接続しています (ネットワーク探索の疑い)。"
    " Many LAN hosts contacted in minutes.",
    "portscan": "1 台の端末の多数のポートへ接続しています (ポートスキャンの疑い)。"
    " Many ports probed on one host.",
    "lateral": (
        "1 台の端末から多数の端末へ SMB/RDP/WinRM で接続しています (感染拡大・横展開の疑い)。"
        " One workstation connects to many hosts over remote-administration protocols (spreading)."
    ),
    "outbound": (
        "端末がインターネット上の多数のホストへ遠隔操作用ポートで接続しています (感染端末の疑い)。"
        " The device probes many Internet hosts on remote-access ports (possible worm)."
    ),
    "inbound": (
        "インターネットからのスキャン (UTM で遮断されたものを含む) の集計です。通常は対応不要です。"
        " Summary of scans from the Internet (mostly blocked by the UTM); usually no action needed."
    ),
}


class _Source:
    __slots__ = ("alerted", "external", "hosts", "lateral", "per_host", "ports", "start")

    def __init__(self, start: float = -1e18) -> None:
        self.start = start
        self.hosts: set[str] = set()
        self.lateral: set[str] = set()
        self.external: set[str] = set()
        self.ports: set[str] = set()  # "host|port"
        self.per_host: dict[str, int] = {}  # host → distinct ports in ``ports``
        self.alerted: dict[str, float] = {}

    def reset(self, now: float) -> None:
        self.start = now
        self.hosts, self.lateral, self.external, self.ports = set(), set(), set(), set()
        self.per_host = {}

    def dump(self) -> list[Any]:
        return [
            self.start,
            sorted(self.hosts),
            sorted(self.lateral),
            sorted(self.external),
            sorted(self.ports),
            self.alerted,
        ]

    @classmethod
    def load(cls, data: Any) -> _Source:
        start, hosts, lateral, external, ports, alerted = data
        source = cls(float(start))
        source.hosts = {str(x) for x in hosts[:MAX_HOSTS]}
        source.lateral = {str(x) for x in lateral[:MAX_HOSTS]}
        source.external = {str(x) for x in external[:MAX_HOSTS]}
        source.ports = {str(x) for x in ports[:MAX_PORT_KEYS]}
        for pair in source.ports:
            host = pair.rpartition("|")[0]
            source.per_host[host] = source.per_host.get(host, 0) + 1
        source.alerted = {str(k): float(v) for k, v in list(alerted.items())[:8]}
        return source


class _Tenant:
    __slots__ = (
        "cooldown", "exempt", "inbound", "inbound_min", "inbound_sources", "inbound_start", "limits",
        "sources", "window",
    )  # fmt: skip

    def __init__(self, tenant_id: str, policy: BehaviourPolicy) -> None:
        def value(name: str, default: int) -> int:
            return max(2, policy.value(tenant_id, NAME, name, default))

        self.window = policy.value(tenant_id, NAME, "window_seconds", WINDOW)
        self.limits = {
            "sweep": value("sweep_min_hosts", SWEEP_MIN_HOSTS),
            "portscan": value("portscan_min_ports", PORTSCAN_MIN_PORTS),
            "lateral": value("lateral_min_hosts", LATERAL_MIN_HOSTS),
            "outbound": value("outbound_min_hosts", OUTBOUND_MIN_HOSTS),
        }
        self.inbound_min = value("inbound_min_attempts", INBOUND_MIN_ATTEMPTS)
        self.cooldown = policy.value(tenant_id, NAME, "cooldown_seconds", COOLDOWN)
        exempt: list[Any] = policy.value(tenant_id, NAME, "exempt_sources", [])
        self.exempt = frozenset(x for x in exempt if isinstance(x, str))
        self.sources: BoundedMap[str, _Source] = BoundedMap(MAX_SOURCES)
        self.inbound_start = -1e18
        self.inbound = 0  # attempts in the current inbound window; -1 once summarised
        self.inbound_sources: set[str] = set()


class ScanBehaviour:
    """Host sweeps, port scans, SMB/RDP fan-out and inbound-scan summaries (see the module docstring)."""

    name = NAME

    def __init__(self, policy: BehaviourPolicy | None = None) -> None:
        self.policy = policy or BehaviourPolicy()
        self.tenants: TenantStates[_Tenant] = TenantStates(lambda t: _Tenant(t, self.policy))

    def accepts(self, event: Event) -> bool:
        return is_connection(event)

    def route(self, dataset: str) -> Route:
        return dataset in CONNECTION_DATASETS

    HOT_CONSTANTS = (EXTERNAL, REMOTE_PORTS)  # what the C hot path reads

    def hot(self, dataset: str) -> Hot | None:
        """The C loop's hot path (``hot_scan``: the early returns of ``see``, most of all a LAN host's
        session to the Internet on an ordinary port)."""
        return _native.hot_scan

    def observe(self, event: Event) -> Iterable[Finding]:
        return self.see(View(event))

    def see(self, view: View) -> Iterable[Finding]:
        src, dst = view.src, view.dst
        if src is None or dst is None:
            return ()
        where = view.dst_place
        if where == OTHER or src == dst:
            return ()
        if not view.src_lan:
            return self._inbound(view, src, dst, to_lan=where == LAN)
        port = view.port
        if where == EXTERNAL and port not in REMOTE_PORTS:
            return ()  # browsing, mail, cloud: the bulk of the traffic, nothing to count
        tenant = view.tenant
        last = self.tenants.last
        state = last[1] if last is not None and last[0] == tenant else self.tenants.get(tenant)
        if src in state.exempt:
            return ()
        now = view.now
        source = state.sources.setdefault(src, _Source)
        if not 0 <= now - source.start <= state.window:
            source.reset(now)
        kinds: list[str] = []
        if where == LAN:
            if len(source.hosts) < MAX_HOSTS and dst not in source.hosts:
                source.hosts.add(dst)
                kinds.append("sweep")
            if port >= 0 and len(source.ports) < MAX_PORT_KEYS:
                pair = f"{dst}|{port}"
                if pair not in source.ports:
                    source.ports.add(pair)
                    source.per_host[dst] = source.per_host.get(dst, 0) + 1
                    kinds.append("portscan")
            if port in ADMIN_PORTS and len(source.lateral) < MAX_HOSTS and dst not in source.lateral:
                source.lateral.add(dst)
                kinds.append("lateral")
        elif len(source.external) < MAX_HOSTS and dst not in source.external:
            source.external.add(dst)
            kinds.append("outbound")
        return [f for kind in kinds if (f := self._check(view, state, source, kind, (src, dst))) is not None]

    def _check(
        self, view: View, state: _Tenant, source: _Source, kind: str, ends: tuple[str, str]
    ) -> Finding | None:
        src, dst = ends
        if kind == "sweep":
            count = len(source.hosts)
        elif kind == "lateral":
            count = len(source.lateral)
        elif kind == "outbound":
            count = len(source.external)
        else:
            count = source.per_host.get(dst, 0)
        now = view.now
        if count < state.limits[kind] or now - source.alerted.get(kind, -1e18) < state.cooldown:
            return None
        source.alerted[kind] = now
        minutes = max(1, round(state.window / 60))
        return finding(
            NAME,
            view.event,
            key=f"scan:{kind}",
            title=_TITLES[kind].format(src=src, dst=dst, n=count, w=minutes),
            severity=_SEVERITY.get(kind, Severity.MEDIUM),
            tags=_TAGS[kind],
            source_ip=src,
            destination_ip=dst,
            description=_DESCRIPTIONS[kind],
            evidence={"kind": kind, "count": count, "window_s": round(state.window), "last_target": dst},
        )

    def _inbound(self, view: View, src: str, dst: str, *, to_lan: bool) -> Iterable[Finding]:
        if not (to_lan or view.fields.get("event.outcome") == "failure"):
            return ()
        state = self.tenants.get(view.tenant)
        now = view.now
        if not 0 <= now - state.inbound_start <= INBOUND_WINDOW:
            state.inbound_start, state.inbound, state.inbound_sources = now, 0, set()
        if state.inbound < 0:
            return ()  # summarised already in this window
        state.inbound += 1
        if len(state.inbound_sources) < MAX_INBOUND_KEPT:
            state.inbound_sources.add(src)
        if state.inbound < state.inbound_min:
            return ()
        count, state.inbound = state.inbound, -1
        return (
            finding(
                NAME,
                view.event,
                key="scan:inbound",
                title=_TITLES["inbound"].format(n=count),
                severity=Severity.LOW,
                tags=_TAGS["inbound"],
                destination_ip=dst,
                description=_DESCRIPTIONS["inbound"],
                evidence={
                    "kind": "inbound",
                    "count": count,
                    "distinct_sources": len(state.inbound_sources),
                    "window_s": round(INBOUND_WINDOW),
                    "last_source": src,
                },
            ),
        )

    def snapshot(self) -> dict[str, Any]:
        return {
            "version": 1,
            "tenants": {
                tenant: {
                    "sources": [[src, s.dump()] for src, s in state.sources.items()],
                    "inbound": [state.inbound_start, state.inbound, sorted(state.inbound_sources)],
                }
                for tenant, state in self.tenants.items()
            },
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        tenants = state.get("tenants") if isinstance(state, Mapping) and state.get("version") == 1 else None
        if not isinstance(tenants, Mapping):
            return
        for tenant_id, data in list(tenants.items())[-MAX_TENANTS:]:
            try:
                fresh = _Tenant(str(tenant_id), self.policy)
                for src, dumped in data["sources"][-MAX_SOURCES:]:
                    fresh.sources.setdefault(str(src), lambda d=dumped: _Source.load(d))
                start, count, sources = data["inbound"]
                fresh.inbound_start, fresh.inbound = float(start), int(count)
                fresh.inbound_sources = {str(x) for x in sources[:MAX_INBOUND_KEPT]}
            except (TypeError, ValueError, KeyError, AttributeError):
                continue  # a malformed tenant starts fresh
            self.tenants.set(str(tenant_id), fresh)


__all__ = ["NAME", "ScanBehaviour"]
