"""DNS anomalies of one LAN host: algorithmically generated names, NXDOMAIN bursts and DNS tunnelling.

* ``dga``: malware that finds its C2 through a domain generation algorithm looks up many random-looking
  names (Simda: ``qekynuq.com``, ``vopyret.com`` ...). One odd name proves nothing; many distinct
  registered domains that all look random, from one host within ``WINDOW``, do — at least half of them not
  resolving (a DGA mostly hits unregistered names), or twice as many when they resolve (ad networks).
  "Random-looking" is a cheap character test of the registered domain's own label: the mean cost of its
  letter bigrams under a small English + romanised-Japanese table (``_dns_bigrams``) and its character
  entropy. CDN and anti-virus lookup domains, whose labels are hashes by design, are never scored.
* ``nxdomain``: many distinct names that do not exist (a DGA probing, or a worm guessing hosts).
* ``tunnel``: data carried in query names — many queries to one registered domain with long, encoded
  subdomains, or a very large number of distinct subdomains of one domain (counted approximately with a
  256-bit linear-counting sketch, so the state stays a few integers per domain).

Per-tenant settings (``BehaviourPolicy``) override every threshold by its lower-case name
(``dga_min_names``, ``nx_min_names``, ``tunnel_min_queries``...) and take two lists: ``allow_domains``
(registered domains never judged) and ``ignore_hosts`` (a LAN resolver that forwards every client's
queries, which would otherwise sum them all).

Windows are tumbling, measured on the events' own timestamps from the host's first query; each kind fires
once per host (per domain for ``tunnel``) and is then quiet for ``COOLDOWN``.

Memory at the limits: ``MAX_HOSTS`` hosts x (``MAX_DOMAINS`` domains x ~150 B + sets of at most
``DGA_MIN_NAMES + NX_MIN_NAMES`` names x ~80 B) ~ 1,000 x 8 KB = about 8 MB per tenant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mimamori.detection.behaviours._dns_names import (
    _DISTINCT,
    ALLOWED_DOMAINS,
    DGA_MIN_ENTROPY,
    DGA_MIN_LETTERS,
    DGA_SCORE,
    LOCAL_SUFFIXES,
    MAX_NAME,
    NOT_JUDGED,
    SECOND_LEVEL,
    TUNNEL_LABEL_ENTROPY,
    TUNNEL_LABEL_LEN,
    TUNNEL_SUBDOMAIN_LEN,
    _distinct,
    _Name,
    bigram_cost,
    entropy,
    judge_name,
    looks_encoded,
    looks_generated,
    registered,
    registered_domain,
)
from mimamori.detection.behaviours._view import Hot, Route, View
from mimamori.detection.behaviours.base import BehaviourPolicy, BoundedMap, finding
from mimamori.domain import Event, Finding, Severity
from mimamori.parsers import _native

NAME = "dns_anomaly"

WINDOW = 600.0  # seconds: the tumbling window in which a host's names are counted
COOLDOWN = 6 * 3600.0  # seconds: quiet time after a finding, per host and kind (and domain for tunnels)
DGA_MIN_NAMES = 8  # distinct random-looking registered domains from one host per window, half not resolving
DGA_RESOLVED_FACTOR = 2  # ... or this many times as many when they resolve (ad and tracking domains)
NX_MIN_NAMES = 20  # distinct non-existent names (NXDOMAIN) from one host per window
TUNNEL_MIN_QUERIES = 30  # queries with an encoded-looking subdomain to one registered domain per window
TUNNEL_DISTINCT = 300  # distinct subdomains of one registered domain from one host per window
MAX_TENANTS = 10_000  # tenants tracked (LRU)
MAX_HOSTS = 1_000  # LAN hosts per tenant (LRU)
MAX_DOMAINS = 32  # registered domains with subdomain traffic tracked per host (LRU)
MAX_NAMES = 8192  # names whose judgement is cached (``_Name``): a LAN looks up a few hundred names

_FULL = (1 << 256) - 1
_TAGS = {
    "dga": ("attack.command-and-control", "attack.t1568.002"),
    "nxdomain": ("attack.command-and-control", "attack.t1568"),
    "tunnel": ("attack.command-and-control", "attack.exfiltration", "attack.t1071.004", "attack.t1048.003"),
}


def _failed(fields: Mapping[str, Any]) -> bool:
    """Whether a lookup did not resolve: an error code, or no response and no answer at all."""
    rcode = fields.get("dns.response_code")
    if isinstance(rcode, str):
        return rcode != "NOERROR"
    return "dns.resolved_ip" not in fields and "dns.answers" not in fields


def _zeros() -> list[int]:
    return [0, 0]


class _Host:
    """One LAN host's counters in the current window."""

    __slots__ = ("dga", "dga_failed", "domains", "fired", "nx", "start")

    def __init__(self, start: float) -> None:
        self.start = start
        self.dga: set[str] = set()
        self.dga_failed = 0  # how many of ``dga`` did not resolve
        self.nx: set[str] = set()
        self.domains: BoundedMap[str, list[int]] = BoundedMap(MAX_DOMAINS)  # [encoded queries, bitmap]
        self.fired: dict[str, float] = {}  # kind or "tunnel:<domain>" → time of the last finding

    def reset(self, start: float) -> None:
        self.start = start
        self.dga.clear()
        self.dga_failed = 0
        self.nx.clear()
        self.domains = BoundedMap(MAX_DOMAINS)


class _Limits:
    """One tenant's thresholds and lists (``BehaviourPolicy`` values, read once)."""

    __slots__ = ("allow", "dga_min", "dga_score", "ignore", "nx_min", "tunnel_distinct", "tunnel_min")

    def __init__(self, policy: BehaviourPolicy, tenant: str) -> None:
        def value(threshold: str, default: Any) -> Any:
            return policy.value(tenant, NAME, threshold, default)

        self.allow, self.ignore = value("allow_domains", []), value("ignore_hosts", [])
        self.dga_score, self.dga_min = value("dga_score", DGA_SCORE), value("dga_min_names", DGA_MIN_NAMES)
        self.nx_min = value("nx_min_names", NX_MIN_NAMES)
        self.tunnel_min = value("tunnel_min_queries", TUNNEL_MIN_QUERIES)
        self.tunnel_distinct = value("tunnel_distinct", TUNNEL_DISTINCT)


def _host_table() -> BoundedMap[str, _Host]:
    return BoundedMap(MAX_HOSTS)


class DnsAnomaly:
    """The ``dns_anomaly`` behaviour: DGA lookups, NXDOMAIN bursts and DNS tunnelling per LAN host."""

    name = NAME

    def __init__(self, policy: BehaviourPolicy | None = None) -> None:
        self.policy = policy or BehaviourPolicy()
        self._tenants: BoundedMap[str, BoundedMap[str, _Host]] = BoundedMap(MAX_TENANTS)
        self._cache: dict[str, _Limits] = {}  # tenant → its thresholds
        self._names: dict[str, _Name | None] = {}  # query name as logged → judged once (``judge_name``)

    def accepts(self, event: Event) -> bool:
        return "dns.question.name" in event.fields

    def route(self, dataset: str) -> Route:
        return "dns.question.name"

    HOT_CONSTANTS = (WINDOW, _DISTINCT)  # what the C hot path reads

    def hot(self, dataset: str) -> Hot | None:
        """The C loop's hot path (``hot_dns_anomaly``: a judged name from a known host in its window that
        fires nothing)."""
        return _native.hot_dns_anomaly

    def _limits(self, tenant: str) -> _Limits:
        """``tenant``'s thresholds (cached: a new policy builds new behaviours)."""
        found = self._cache.get(tenant)
        if found is None:
            if len(self._cache) >= MAX_TENANTS:
                self._cache.clear()
            found = self._cache[tenant] = _Limits(self.policy, tenant)
        return found

    def observe(self, event: Event) -> Iterable[Finding]:
        return self.see(View(event))

    def _judged(self, raw: str) -> _Name | None:
        """``judge_name(raw)``, cached (bounded: cleared when full; overlong names are not kept)."""
        if len(raw) > 2 * MAX_NAME:
            return judge_name(raw)
        names = self._names
        if len(names) >= MAX_NAMES:
            names.clear()
        found = names[raw] = judge_name(raw)
        return found

    def see(self, view: View) -> Iterable[Finding]:
        fields = view.fields
        raw = fields.get("dns.question.name")
        # The client: Suricata logs answers as records of their own, sent by the resolver.
        if fields.get("dns.type") == "answer":
            source, local = view.dst, view.dst_lan
        else:
            source, local = view.src, view.src_lan
        if not isinstance(raw, str) or source is None or not local:
            return ()
        names = self._names
        judged = names[raw] if raw in names else self._judged(raw)
        if judged is None:
            return ()
        domain = judged.domain
        tenant = view.tenant
        limits = self._cache.get(tenant) or self._limits(tenant)
        if limits.allow and domain in limits.allow:
            return ()
        if limits.ignore and source in limits.ignore:  # the LAN's own resolver forwarding for all
            return ()
        now = view.now
        # (BoundedMap.get inlined: data.get, then move_to_end when found)
        tenants = self._tenants.data
        hosts = tenants.get(tenant)
        if hosts is None:
            hosts = self._tenants.setdefault(tenant, _host_table)
        else:
            tenants.move_to_end(tenant)
        host = hosts.data.get(source)
        if host is None:
            host = hosts.setdefault(source, lambda: _Host(now))
        else:
            hosts.data.move_to_end(source)
        if now - host.start >= WINDOW or now < host.start - WINDOW:
            host.reset(now)
        found: list[Finding] = []
        if judged.score >= limits.dga_score and domain not in host.dga:
            found += self._dga(view, host, limits, source=source, domain=domain)
        if fields.get("dns.response_code") == "NXDOMAIN" and judged.name not in host.nx:
            found += self._nxdomain(view, host, limits, source=source, name=judged.name, domain=domain)
        if judged.subdomain:
            # (BoundedMap.setdefault inlined for a known domain)
            state = host.domains.data.get(domain)
            if state is None:
                state = host.domains.setdefault(domain, _zeros)
            else:
                host.domains.data.move_to_end(domain)
            if judged.encoded:
                state[0] += 1
            state[1] |= judged.bit
            if state[0] >= limits.tunnel_min or _DISTINCT[state[1].bit_count()] >= limits.tunnel_distinct:
                found += self._tunnel(view.event, host, now=now, source=source, judged=judged, state=state)
        return found

    def _dga(self, view: View, host: _Host, limits: _Limits, *, source: str, domain: str) -> list[Finding]:
        """A random-looking registered domain new to the host's window: counted, and judged."""
        host.dga.add(domain)
        host.dga_failed += _failed(view.fields)
        need, seen = limits.dga_min, len(host.dga)
        if (seen >= need and 2 * host.dga_failed >= seen) or seen >= DGA_RESOLVED_FACTOR * need:
            host.dga.clear()
            host.dga_failed = 0
            return self._fire(
                view.event, host, kind="dga", now=view.now, source=source, domain=domain, count=seen
            )
        return []

    def _nxdomain(
        self, view: View, host: _Host, limits: _Limits, *, source: str, name: str, domain: str
    ) -> list[Finding]:
        """A non-existent name new to the host's window: counted, and judged."""
        host.nx.add(name)
        count = len(host.nx)
        if count < limits.nx_min:
            return []
        host.nx.clear()
        return self._fire(
            view.event, host, kind="nxdomain", now=view.now, source=source, domain=domain, count=count
        )

    def _tunnel(
        self, event: Event, host: _Host, *, now: float, source: str, judged: _Name, state: list[int]
    ) -> list[Finding]:
        """A tunnel past a threshold: its domain's counters start again, and the finding (if not in its
        cool-down)."""
        domain = judged.domain
        host.domains.pop(domain)
        count = max(state[0], _DISTINCT[state[1].bit_count()])
        return self._fire(
            event, host, kind="tunnel", now=now, source=source, domain=domain, count=count,
            example=judged.subdomain,
        )  # fmt: skip

    def _fire(
        self,
        event: Event,
        host: _Host,
        *,
        kind: str,
        now: float,
        source: str,
        domain: str,
        count: int,
        example: str = "",
    ) -> list[Finding]:
        episode = f"tunnel:{domain}" if kind == "tunnel" else kind
        last = host.fired.get(episode)
        if last is not None and abs(now - last) < COOLDOWN:
            return []
        if len(host.fired) >= 8:  # bounded: forget the oldest episode
            host.fired.pop(min(host.fired, key=host.fired.__getitem__))
        host.fired[episode] = now
        titles = {
            "dga": "自動生成されたようなドメイン名の大量問い合わせ / Lookups of generated domain names (DGA)",
            "nxdomain": "存在しないドメインへの大量問い合わせ / Burst of lookups for non-existent domains",
            "tunnel": f"DNSトンネリングの疑い ({domain}) / Possible DNS tunnelling to {domain}",
        }
        evidence: dict[str, Any] = {
            "kind": kind,
            "count": count,
            "window_seconds": int(WINDOW),
            "example": (example + "." + domain if example else domain)[:MAX_NAME],
        }
        return [
            finding(
                NAME,
                event,
                key=episode,
                title=titles[kind],
                severity=Severity.MEDIUM if kind == "nxdomain" else Severity.HIGH,
                tags=_TAGS[kind],
                evidence=evidence,
                source_ip=source,
                description=f"{count} {kind} lookups from {source} within {int(WINDOW)} s",
            )
        ]

    def snapshot(self) -> dict[str, Any]:
        tenants: dict[str, Any] = {}
        for tenant, hosts in self._tenants.items():
            tenants[tenant] = {
                ip: {
                    "start": h.start,
                    "dga": sorted(h.dga),
                    "dga_failed": h.dga_failed,
                    "nx": sorted(h.nx),
                    "domains": {d: list(v) for d, v in h.domains.items()},
                    "fired": dict(h.fired),
                }
                for ip, h in hosts.items()
            }
        return {"version": 1, "tenants": tenants}

    def restore(self, state: Mapping[str, Any]) -> None:
        self._tenants = BoundedMap(MAX_TENANTS)
        try:
            if state.get("version") != 1:
                return
            for tenant, hosts in dict(state["tenants"]).items():
                table: BoundedMap[str, _Host] = self._tenants.setdefault(
                    str(tenant), lambda: BoundedMap(MAX_HOSTS)
                )
                for ip, saved in dict(hosts).items():
                    host = _Host(float(saved["start"]))
                    host.dga = {str(d) for d in list(saved["dga"])[: DGA_RESOLVED_FACTOR * DGA_MIN_NAMES]}
                    host.dga_failed = min(int(saved["dga_failed"]), len(host.dga))
                    host.nx = {str(n) for n in list(saved["nx"])[:NX_MIN_NAMES]}
                    for domain, (encoded, bitmap) in list(dict(saved["domains"]).items())[-MAX_DOMAINS:]:
                        counters = [int(encoded), int(bitmap) & _FULL]
                        host.domains.setdefault(str(domain), lambda c=counters: c)
                    host.fired = {str(k): float(v) for k, v in list(dict(saved["fired"]).items())[-8:]}
                    table.setdefault(str(ip), lambda h=host: h)
        except (KeyError, TypeError, ValueError, AttributeError):
            self._tenants = BoundedMap(MAX_TENANTS)


# (the name judgements live in ``_dns_names``; these are re-exported for the module's users)
__all__ = [
    "ALLOWED_DOMAINS",
    "DGA_MIN_ENTROPY",
    "DGA_MIN_LETTERS",
    "DGA_SCORE",
    "LOCAL_SUFFIXES",
    "MAX_NAME",
    "NAME",
    "NOT_JUDGED",
    "SECOND_LEVEL",
    "TUNNEL_LABEL_ENTROPY",
    "TUNNEL_LABEL_LEN",
    "TUNNEL_SUBDOMAIN_LEN",
    "_DISTINCT",
    "DnsAnomaly",
    "_Name",
    "_distinct",
    "bigram_cost",
    "entropy",
    "judge_name",
    "looks_encoded",
    "looks_generated",
    "registered",
    "registered_domain",
]
