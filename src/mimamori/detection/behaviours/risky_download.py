"""Executable or archive downloads from rare or non-reputable sites (trojanised freeware, droppers).

A download is "risky" by what it is — a file name extension of an executable, script, disk image or
archive in the URL path or file name (``.exe .msi .scr .js .vbs .hta .iso .img .zip .rar .7z .lnk .docm``
...) or a MIME type such as ``application/x-dosexec`` (Zeek http/files, Suricata http) — and by where it
comes from:

* non-reputable: an IP-literal URL, a free dynamic-DNS or tunnel suffix (``duckdns.org``, ``ngrok.io``...),
  or a web-filter category that says "new / unrated / malicious" (FortiGate ``Newly Observed Domain``);
* rare: fewer than ``RARE_HOSTS`` of the tenant's hosts had looked up or visited its registered domain
  (popularity is learnt from the tenant's own DNS and web events, bounded per tenant).

Severity: an executable from a non-reputable site is high, an archive from one medium; from a merely rare
site low. A download the device blocked, or one that carries an anti-virus verdict, is not a finding here (the
``utm_verdict`` detector reports verdicts).
One finding per host and registered domain per ``COOLDOWN``.

Memory at the limits: ``MAX_DOMAINS`` domains x ~200 B + ``MAX_FIRED`` cooldown keys x ~100 B
~ 1.2 MB per tenant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mimamori.detection.behaviours._dns_names import registered
from mimamori.detection.behaviours._view import Hot, Route, View
from mimamori.detection.behaviours.base import BehaviourPolicy, BoundedMap, finding
from mimamori.domain import Event, Finding, Severity
from mimamori.parsers import _native

NAME = "risky_download"

RARE_HOSTS = 2  # a domain fewer than this many of the tenant's hosts used before is rare
COOLDOWN = 24 * 3600.0  # seconds: one finding per host and registered domain
MAX_RARE_HOSTS = 16  # highest per-tenant override of RARE_HOSTS (hosts remembered per domain)
MAX_TENANTS = 10_000  # tenants tracked (LRU)
MAX_DOMAINS = 5_000  # registered domains whose visiting hosts are remembered per tenant (LRU)
MAX_FIRED = 2_000  # (host, domain) cooldown entries per tenant (LRU)
MAX_TEXT = 2048  # characters of a URL or file name looked at
MAX_LOOKUPS = 8192  # query names whose registered domain is cached

# fmt: off
EXECUTABLE = frozenset((
    ".exe", ".msi", ".scr", ".pif", ".bat", ".cmd", ".ps1", ".js", ".jse", ".vbs", ".vbe", ".wsf",
    ".hta", ".jar", ".lnk", ".dll", ".cpl", ".msix", ".appx", ".apk", ".dmg", ".pkg", ".docm", ".xlsm",
    ".pptm", ".one", ".iso", ".img", ".vhd", ".vhdx",
))
# fmt: on
ARCHIVE = frozenset(
    (".zip", ".rar", ".7z", ".gz", ".tgz", ".bz2", ".xz", ".cab", ".ace", ".arj", ".lzh", ".z")
)
# fmt: off
RISKY_MIME = (
    "application/x-dosexec", "application/x-msdownload", "application/x-msdos-program",
    "application/x-executable", "application/vnd.microsoft.portable-executable", "application/x-msi",
    "application/x-ms-installer", "application/hta", "application/x-iso9660-image",
    "application/java-archive", "application/vnd.android.package-archive", "application/x-ms-shortcut",
)
ARCHIVE_MIME = (
    "application/zip", "application/x-zip-compressed", "application/x-rar", "application/vnd.rar",
    "application/x-7z-compressed", "application/gzip", "application/x-gzip",
)
# fmt: on
# Free dynamic-DNS, tunnel and throwaway hosting suffixes (a registered domain or its parent).
# fmt: off
NON_REPUTABLE_SUFFIXES = (
    ".duckdns.org", ".no-ip.org", ".no-ip.com", ".noip.me", ".ddns.net", ".hopto.org", ".zapto.org",
    ".sytes.net", ".servegame.com", ".serveftp.com", ".myftp.org", ".dyndns.org", ".dynu.net",
    ".freedns.afraid.org", ".mooo.com", ".ngrok.io", ".ngrok-free.app", ".trycloudflare.com",
    ".000webhostapp.com", ".duckdns.jp", ".f5.si", ".mydns.jp", ".ddo.jp", ".dip.jp", ".ieserver.net",
)
# fmt: on
# Web-filter categories (FortiGuard and others) that mean "unknown or bad".
# fmt: off
BAD_CATEGORIES = (
    "newly observed", "newly registered", "unrated", "malicious", "phishing", "spam url", "dynamic dns",
    "suspicious",
)
# fmt: on
_TAGS = ("attack.initial-access", "attack.execution", "attack.t1204.002", "attack.t1105")


def _text(fields: Mapping[str, Any], name: str) -> str:
    value = fields.get(name)
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str)), None)
    return value[:MAX_TEXT].lower() if isinstance(value, str) else ""


def _kind_of_name(path: str) -> str:
    """ "executable", "archive" or "" from the extension of a URL path or file name."""
    path = path.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    if "://" in path:  # a whole URL: only its path counts (``http://example.com`` is not a .com file)
        rest = path.split("://", 1)[1]
        path = rest[rest.find("/") :] if "/" in rest else ""
    dot = path.rfind(".")
    if dot < 0 or dot < path.rfind("/"):
        return ""
    extension = path[dot:]
    if extension in EXECUTABLE:
        return "executable"
    return "archive" if extension in ARCHIVE else ""


def _kind_of_mime(fields: Mapping[str, Any]) -> str:
    for name in ("file.mime_type", "http.response.mime_type", "zeek.http.resp_mime_types"):
        mime = _text(fields, name)
        if mime.startswith(RISKY_MIME):
            return "executable"
        if mime.startswith(ARCHIVE_MIME):
            return "archive"
    return ""


def _is_ip(host: str) -> bool:
    return bool(host) and (host.replace(".", "").isdigit() or ":" in host or host.startswith("["))


# A look-up, a URL or a file: what this behaviour reads (``accepts``; ``route``, checked without a call)
_READS = frozenset(("dns.question.name", "url.domain", "url.path", "file.mime_type", "file.name"))


def _downloads(fields: Mapping[str, Any]) -> bool:
    return not fields.keys().isdisjoint(_READS)


def _domain_table() -> BoundedMap[str, set[str]]:
    return BoundedMap(MAX_DOMAINS)


class RiskyDownload:
    """The ``risky_download`` behaviour: executables and archives from rare or non-reputable sites."""

    name = NAME

    def __init__(self, policy: BehaviourPolicy | None = None) -> None:
        self.policy = policy or BehaviourPolicy()
        # tenant → registered domain → up to RARE_HOSTS + 1 LAN hosts that used it
        self._seen: BoundedMap[str, BoundedMap[str, set[str]]] = BoundedMap(MAX_TENANTS)
        self._fired: BoundedMap[str, BoundedMap[str, list[float]]] = BoundedMap(MAX_TENANTS)  # → [time]
        self._rare: dict[str, int] = {}  # tenant → its rare_hosts
        self._lookups: dict[str, str] = {}  # DNS query name as logged → its registered domain (or "")

    def accepts(self, event: Event) -> bool:
        return _downloads(event.fields)

    def route(self, dataset: str) -> Route:
        return _READS

    HOT_CONSTANTS = (MAX_RARE_HOSTS,)  # what the C hot path reads

    def hot(self, dataset: str) -> Hot | None:
        """The C loop's hot path (``hot_risky_download``: a DNS look-up of a cached name by a host of a
        known tenant and domain)."""
        return _native.hot_risky_download

    def _rare_hosts(self, tenant: str) -> int:
        """``tenant``'s ``rare_hosts`` (cached: a new policy builds new behaviours)."""
        found = self._rare.get(tenant)
        if found is None:
            if len(self._rare) >= MAX_TENANTS:
                self._rare.clear()
            found = self._rare[tenant] = self.policy.value(tenant, NAME, "rare_hosts", RARE_HOSTS)
        return found

    def _lookup_domain(self, raw: str) -> str:
        """The registered domain (or address) ``see`` counts for a look-up of ``raw`` ("" for none),
        cached (bounded: cleared when full; overlong names are not kept)."""
        site = raw[:MAX_TEXT].lower().rstrip(".").strip("[]")
        domain = site if _is_ip(site) else registered(site)
        if len(raw) <= 512:
            if len(self._lookups) >= MAX_LOOKUPS:
                self._lookups.clear()
            self._lookups[raw] = domain
        return domain

    def _remember(self, tenant: str, domain: str, host: str, rare_hosts: int) -> int:
        """Count ``host`` as a user of ``domain``; the number of other hosts seen (up to ``rare_hosts``)."""
        seen = self._seen.data  # (BoundedMap.get inlined: data.get, then move_to_end when found)
        domains = seen.get(tenant)
        if domains is None:
            domains = self._seen.setdefault(tenant, _domain_table)
        else:
            seen.move_to_end(tenant)
        hosts = domains.data.get(domain)
        if hosts is None:
            hosts = domains.setdefault(domain, set)
        else:
            domains.data.move_to_end(domain)
        before = len(hosts) - (1 if host in hosts else 0)
        if len(hosts) <= min(rare_hosts, MAX_RARE_HOSTS):
            hosts.add(host)
        return before

    def observe(self, event: Event) -> Iterable[Finding]:
        return self.see(View(event))

    def see(self, view: View) -> Iterable[Finding]:
        fields = view.fields
        if fields.get("dns.type") == "answer":  # Suricata: the query record already counted the client
            return ()
        src, dst = view.src, view.dst
        # The LAN host: the client (Zeek files logs put the sending server first).
        host = src if src is not None and view.src_lan else dst if dst is not None and view.dst_lan else None
        if host is None:
            return ()
        tenant = view.tenant
        raw = fields.get("dns.question.name")
        if type(raw) is str and "url.domain" not in fields:  # a plain look-up: popularity only
            domains = self._lookups
            domain = domains[raw] if raw in domains else self._lookup_domain(raw)
            if domain:
                rare_hosts = self._rare.get(tenant) or self._rare_hosts(tenant)
                self._remember(tenant, domain, host, rare_hosts)
                return ()
            if raw:  # (a name that reduces to nothing still counts as a look-up)
                return ()
        qname = _text(fields, "dns.question.name")
        site = _text(fields, "url.domain") or qname or (dst if host == src else src) or ""
        site = site.rstrip(".").strip("[]")
        domain = site if _is_ip(site) else registered(site)
        rare_hosts = self._rare.get(tenant) or self._rare_hosts(tenant)
        users_before = self._remember(tenant, domain, host, rare_hosts) if domain else 0
        if qname:
            return ()  # a lookup: popularity only
        kind = (
            _kind_of_name(_text(fields, "url.path") or _text(fields, "url.original"))
            or _kind_of_name(_text(fields, "file.name"))
            or _kind_of_mime(fields)
        )
        if not kind or not domain or _is_blocked(fields) or "threat.name" in fields:
            return ()
        reasons = self._reasons(fields, site)
        rare = users_before < rare_hosts
        if not reasons and not rare:
            return ()
        now = view.now
        event = view.event
        fired = self._fired.setdefault(tenant, lambda: BoundedMap(MAX_FIRED))
        key = f"{host}|{domain}"
        last = fired.setdefault(key, lambda: [-COOLDOWN * 2])
        if abs(now - last[0]) < COOLDOWN:
            return ()
        last[0] = now
        severity = (Severity.HIGH if kind == "executable" else Severity.MEDIUM) if reasons else Severity.LOW
        url = (_text(fields, "url.original") or _text(fields, "url.path") or _text(fields, "file.name"))[:300]
        return [
            finding(
                NAME,
                event,
                key=f"download:{domain}",
                title=f"不審なサイトからの実行ファイル等の入手 ({domain}) / Risky download from {domain}",
                severity=severity,
                tags=_TAGS,
                evidence={
                    "file_kind": kind,
                    "site": site[:253],
                    "url": url,
                    "reasons": ",".join(reasons) or "rare",
                    "tenant_hosts_before": users_before,
                    "category": _text(fields, "url.category")[:100],
                },
                source_ip=host,
                destination_ip=dst if host == src else src,
                description=f"{host} downloaded a {kind} from {site[:253]} ({', '.join(reasons) or 'rare'})",
            )
        ]

    def _reasons(self, fields: Mapping[str, Any], site: str) -> list[str]:
        reasons: list[str] = []
        if _is_ip(site):
            reasons.append("ip-address-url")
        elif ("." + site).endswith(tuple(NON_REPUTABLE_SUFFIXES)):
            reasons.append("dynamic-dns")
        category = _text(fields, "url.category") or _text(fields, "fortigate.catdesc")
        if category and any(word in category for word in BAD_CATEGORIES):
            reasons.append("category:" + category[:60])
        return reasons

    def snapshot(self) -> dict[str, Any]:
        return {
            "version": 1,
            "seen": {t: {d: sorted(h) for d, h in m.items()} for t, m in self._seen.items()},
            "fired": {t: {k: v[0] for k, v in m.items()} for t, m in self._fired.items()},
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        self._seen = BoundedMap(MAX_TENANTS)
        self._fired = BoundedMap(MAX_TENANTS)
        try:
            if state.get("version") != 1:
                return
            for tenant, domains in dict(state["seen"]).items():
                table: BoundedMap[str, set[str]] = BoundedMap(MAX_DOMAINS)
                for domain, hosts in list(dict(domains).items())[-MAX_DOMAINS:]:
                    users = {str(h) for h in list(hosts)[: MAX_RARE_HOSTS + 1]}
                    table.setdefault(str(domain), lambda u=users: u)
                self._seen.setdefault(str(tenant), lambda t=table: t)
            for tenant, keys in dict(state["fired"]).items():
                fired: BoundedMap[str, list[float]] = BoundedMap(MAX_FIRED)
                for key, moment in list(dict(keys).items())[-MAX_FIRED:]:
                    fired.setdefault(str(key), lambda m=float(moment): [m])
                self._fired.setdefault(str(tenant), lambda f=fired: f)
        except (KeyError, TypeError, ValueError, AttributeError):
            self._seen = BoundedMap(MAX_TENANTS)
            self._fired = BoundedMap(MAX_TENANTS)


def _is_blocked(fields: Mapping[str, Any]) -> bool:
    action = fields.get("event.action")
    return isinstance(action, str) and action.lower() in (
        "blocked",
        "block",
        "deny",
        "denied",
        "dropped",
        "reset",
    )
