"""The indicator detector: events whose addresses, names, URLs, hashes or fingerprints are listed.

Severity follows the outcome, because an SME needs to know whether the defence worked: an allowed
connection to a listed server or a delivered malicious file is high (緊急度 高), a DNS lookup of a listed
name, a JA3 fingerprint (they collide between programs) or a mail from a listed sender is medium, and
anything the UTM blocked is low (it still counts in the monthly report). One event gives at most one
finding: the first listed value in the order of ``_candidates``. An allowlisted value (provider-wide or
the tenant's) is skipped. Every hit is counted as a sighting and every external value is recorded as an
observation for retro-hunting (see ``recorder``).
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any

from mimamori.detection.indicators import values as v
from mimamori.detection.indicators.presentation import KINDS, TITLES, indicator_evidence
from mimamori.detection.indicators.recorder import Key, Recorder, Tally, add
from mimamori.detection.indicators.store import Indicator, IndicatorSet
from mimamori.domain import Event, Finding, Severity
from mimamori.parsers import _native

NAME = "indicator"
TAGS = ("attack.command-and-control", "attack.t1071")
DOMAIN_FIELDS = (
    "dns.question.name",
    "url.domain",
    "tls.server.name",
    "tls.client.server_name",
    "destination.domain",
    "http.request.host",
)
HASH_FIELDS = (
    ("file.hash.sha256", v.SHA256),
    ("file.hash.sha1", v.SHA1),
    ("file.hash.md5", v.MD5),
    ("process.hash.sha256", v.SHA256),
    ("process.hash.sha1", v.SHA1),
    ("process.hash.md5", v.MD5),
)
CERT_FIELDS = ("tls.server.hash.sha1", "suricata.tls.fingerprint")
MAIL_FIELDS = ("email.from.address", "email.sender.address")
FAILURE = "failure"
MAX_ORIGINAL = 4096  # bytes of the raw log line quoted in an alert's evidence
MAX_VALUE = 2048  # longer field values are not looked up (nor recorded)


@lru_cache(maxsize=65536)
def is_internal(ip: str) -> bool:
    """Private, loopback or link-local: the customer's side of a connection (never an indicator)."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return addr.is_private or addr.is_loopback or addr.is_link_local


# Addresses that are never worth recording for retro-hunting: the LAN, loopback, multicast and the like.
# (``ipaddress.is_private`` would also drop the documentation ranges the demo's C2 servers live in.)
LOCAL_NETS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "224.0.0.0/3",
        "::/127",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    )
)


LOCAL_CACHE: dict[str, bool] = {}  # address -> is_local, a plain dict: cheaper than lru_cache per event
LOCAL_CACHE_SIZE = 65_536


def is_local(ip: str) -> bool:
    """Whether an address is on the customer's side or not routable (not recorded as an observation)."""
    cached = LOCAL_CACHE.get(ip)
    if cached is not None:
        return cached
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        local = True
    else:
        local = any(addr in net for net in LOCAL_NETS if net.version == addr.version)
    if len(LOCAL_CACHE) >= LOCAL_CACHE_SIZE:
        LOCAL_CACHE.clear()
    LOCAL_CACHE[ip] = local
    return local


Candidate = tuple[str, str, bool, str]  # (type, normalised value, outbound, field)
_address_scan = _native.address_scan


RARE_FIELDS = frozenset(
    (
        "url.original",
        *DOMAIN_FIELDS,
        *(n for n, _ in HASH_FIELDS),
        "tls.client.ja3",
        *CERT_FIELDS,
        *MAIL_FIELDS,
    )
)


DOMAIN_NAMES = frozenset(DOMAIN_FIELDS)
HASH_NAMES = frozenset(n for n, _ in HASH_FIELDS)
CERT_NAMES = frozenset(CERT_FIELDS)
MAIL_NAMES = frozenset(MAIL_FIELDS)


def candidates(fields: Mapping[str, object]) -> list[Candidate]:
    """Every value of an event worth looking up, in the order a finding prefers them."""
    found: list[Candidate] = []
    dst = fields.get("destination.ip")
    src = fields.get("source.ip")
    if isinstance(dst, str) and dst:
        found.append((v.IP, dst, True, "destination.ip"))
    if isinstance(src, str) and src:
        found.append((v.IP, src, False, "source.ip"))
    if not RARE_FIELDS.isdisjoint(fields):
        found.extend(rare_candidates(fields))
    return found


def rare_candidates(fields: Mapping[str, object]) -> list[Candidate]:
    """The names, URLs, hashes, fingerprints and senders of an event (most events carry none)."""
    found: list[Candidate] = []
    get = fields.get
    # One C pass over the (cold) event dict finds the few rare names present; a name that is absent
    # would be skipped below anyway, so only present ones are looked at.
    present = RARE_FIELDS.intersection(fields)
    if "url.original" in present:
        original = get("url.original")
        if isinstance(original, str) and len(original) <= MAX_VALUE:
            domain = get("url.domain")
            url = v.event_url(domain if isinstance(domain, str) else None, original)
            if url is not None:
                found.append((v.URL, url, True, "url.original"))
    seen = ""
    for name in DOMAIN_FIELDS if not DOMAIN_NAMES.isdisjoint(present) else ():
        if name not in present:
            continue
        value = get(name)
        if isinstance(value, str) and value and value != seen and len(value) <= v.MAX_DOMAIN:
            seen = value
            name_value = value.lower().rstrip(".") if not value.islower() or value.endswith(".") else value
            if "." in name_value and not ip_like(name_value):
                found.append((v.DOMAIN, name_value, True, name))
    for name, kind in HASH_FIELDS if not HASH_NAMES.isdisjoint(present) else ():
        value = get(name) if name in present else None
        if isinstance(value, str) and len(value) == v.HEX_LENGTHS[kind]:
            found.append((kind, value.lower(), False, name))
    if "tls.client.ja3" in present:
        ja3 = get("tls.client.ja3")
        if isinstance(ja3, str) and len(ja3) == v.HEX_LENGTHS[v.JA3]:
            found.append((v.JA3, ja3.lower(), True, "tls.client.ja3"))
    for name in CERT_FIELDS if not CERT_NAMES.isdisjoint(present) else ():
        value = get(name) if name in present else None
        if isinstance(value, str) and len(value) <= 64:
            cert = value.replace(":", "").lower()
            if len(cert) == v.HEX_LENGTHS[v.X509_SHA1]:
                found.append((v.X509_SHA1, cert, True, name))
                break
    for name in MAIL_FIELDS if not MAIL_NAMES.isdisjoint(present) else ():
        value = get(name) if name in present else None
        if isinstance(value, str) and "@" in value and len(value) <= v.MAX_EMAIL:
            found.append((v.EMAIL, value.strip().strip("<>").lower(), False, name))
            break
    return found


def rare_lookups(
    fields: Mapping[str, object],
    dst: object,
    src: object,
    listed: bool,
    in_ranges: Callable[[object], bool] | None,
) -> list[Candidate]:
    """``candidates`` of an event with rare fields, without the addresses when they cannot hit.

    ``listed``: an address is in the IP table. When it is not and neither is in a listed range,
    looking the addresses up (``IndicatorSet.match_ip``) would find nothing: they are left out. (A str
    subclass, which those exact-type tests skip, keeps the full lookup.)
    """
    exact = (dst.__class__ is str or not isinstance(dst, str)) and (
        src.__class__ is str or not isinstance(src, str)
    )
    if exact and not listed and not (in_ranges is not None and (in_ranges(dst) or in_ranges(src))):
        return rare_candidates(fields)
    return candidates(fields)


def scan_addresses(
    events: list[Event],
    ips: Mapping[str, object],
    in_ranges: Callable[[object], bool] | None,
    addresses: dict[tuple[str, str], list[Any]],
    observe: bool,
) -> list[int]:
    """The per-event part of ``detect`` that needs no look-up beyond the addresses, in event order.

    Tallies the observed external addresses into ``addresses`` (when ``observe``: [first, last, count,
    first internal device, any allowed] per (tenant, address)) and returns, as ``2 * index + rare``,
    the events that need more: those with a rare field, and those whose address is listed or in a
    range. ``_speedups.address_scan`` is this function in C.
    """
    codes: list[int] = []
    local_get = LOCAL_CACHE.get
    for index, event in enumerate(events):
        fields = event.fields
        # Addresses inline: most events are connections with nothing else to look up.
        dst = fields.get("destination.ip")
        src = fields.get("source.ip")
        dst_ok = dst.__class__ is str
        src_ok = src.__class__ is str
        if observe:
            # One cache lookup per address (the cache holds False for external addresses too).
            cached = not dst_ok or local_get(dst)  # type: ignore[arg-type]
            dst_local = is_local(dst) if cached is None else cached  # type: ignore[arg-type]
            cached = not src_ok or local_get(src)  # type: ignore[arg-type]
            src_local = is_local(src) if cached is None else cached  # type: ignore[arg-type]
            if not (dst_local and src_local):
                when, tenant = event.timestamp, event.tenant_id
                for ip in (src,) if dst_local else ((dst,) if src_local else (dst, src)):
                    # Plain lists keyed by (tenant, address): the cheapest aggregate per event; the
                    # day is the first occurrence's (a batch spans seconds).
                    seen = addresses.get((tenant, ip))  # type: ignore[arg-type]
                    if seen is None:
                        device = src if src_local and src_ok else (dst if dst_local and dst_ok else None)
                        allowed = fields.get("event.outcome") != FAILURE
                        addresses[(tenant, ip)] = [when, when, 1, device, allowed]  # type: ignore[index]
                    else:
                        seen[2] += 1
                        if when > seen[1]:
                            seen[1] = when
                        elif when < seen[0]:
                            seen[0] = when
                        if not seen[4] and fields.get("event.outcome") != FAILURE:
                            seen[4] = True  # one allowed occurrence makes the value "let through"
        rare = not RARE_FIELDS.isdisjoint(fields)  # a C loop over the (cold) dict's entries
        if rare:
            codes.append(2 * index + 1)
        elif (
            (dst_ok and dst in ips)
            or (src_ok and src in ips)
            or (in_ranges is not None and (in_ranges(dst) or in_ranges(src)))
        ):
            codes.append(2 * index)
    return codes


def ip_like(name: str) -> bool:
    """Whether a name field holds an address (FortiGate puts the server's IP in ``url.domain``)."""
    return (name[-1:].isdigit() and name.replace(".", "").isdigit()) or ":" in name


class IndicatorDetector:
    """Matches events against an ``IndicatorSet`` and records sightings and observed values."""

    name = NAME

    def __init__(self, indicators: IndicatorSet, *, observe: bool = True) -> None:
        self.indicators = indicators
        self.observe = observe
        self.recorder = Recorder()

    def detect(self, events: Sequence[Event]) -> Iterator[Finding]:
        store = self.indicators
        observe = self.observe
        if not len(store) and not observe:
            return
        now = time.time()
        ips = store.tables[v.IP]
        in_ranges = store.in_ranges if store.cidrs else None
        sightings: dict[Key, Tally] = {}
        observations: dict[Key, Tally] = {}
        addresses: dict[tuple[str, str], list[Any]] = {}
        batch = events if type(events) is list else list(events)
        codes = None
        if _address_scan is not None:  # the same pass in C (``parsers._native``)
            codes = _address_scan(
                batch, ips, LOCAL_CACHE, is_local, in_ranges, RARE_FIELDS, addresses, observe,
                store.range_cache,
            )  # fmt: skip
        if codes is None:
            codes = scan_addresses(batch, ips, in_ranges, addresses, observe)
        for code in codes:
            event = batch[code >> 1]
            fields = event.fields
            if code & 1:  # rare fields: look everything up, the addresses only if they can hit
                dst = fields.get("destination.ip")
                src = fields.get("source.ip")
                listed = (dst.__class__ is str and dst in ips) or (src.__class__ is str and src in ips)
                lookups = rare_lookups(fields, dst, src, listed, in_ranges)
                found = self._first_hit(event, lookups, now, sightings, observations)
            else:
                found = self._first_hit(event, candidates(fields), now, sightings, None)
            if found is not None:
                yield found
        if addresses:
            self.recorder.add_addresses(addresses, v.IP)
        if sightings or observations:
            self.recorder.merge(sightings, observations)

    def _first_hit(
        self,
        event: Event,
        found: list[Candidate],
        now: float,
        sightings: dict[Key, Tally],
        observations: dict[Key, Tally] | None,
    ) -> Finding | None:
        """The finding of the event's first listed, not allowlisted value; records the non-IP values."""
        store = self.indicators
        fields = event.fields
        allowed = fields.get("event.outcome") != FAILURE
        when = event.timestamp
        day = when.date()
        device: str | None = None  # internal_side, worked out only when a tally needs it (``known``)
        known = False
        finding: Finding | None = None
        for kind, value, outbound, field_name in found:
            if observations is not None and self.observe and kind != v.IP:
                key = (event.tenant_id, day, kind, value)
                held = observations.get(key)
                if not known and (held is None or held.device is None):
                    device, known = internal_side(fields), True
                add(observations, key, when, device, allowed)
            if finding is not None:
                continue
            hit = store.match(kind, value, now)
            if hit is None and kind == v.EMAIL:
                hit = store.match(v.EMAIL_DOMAIN, value.rpartition("@")[2], now)
            if hit is None or (store.allowlist and store.allowlist.reason(event.tenant_id, kind, value)):
                continue
            finding = self._finding(event, hit, outbound=outbound, matched_field=field_name)
            if not known:
                device, known = internal_side(fields), True
            add(sightings, (event.tenant_id, day, hit.type, hit.value), when, device, allowed)
        return finding

    def _finding(self, event: Event, hit: Indicator, *, outbound: bool, matched_field: str) -> Finding:
        fields = event.fields
        src = event.get_str("source.ip")
        dst = event.get_str("destination.ip")
        blocked = fields.get("event.outcome") == FAILURE
        kind = KINDS.get(hit.type, "address")
        dns_only = matched_field == "dns.question.name" and not event.dataset.endswith("traffic")
        if blocked:
            severity, context = Severity.LOW, "blocked"
        elif dns_only:
            severity, context = Severity.MEDIUM, "dns"
        elif kind in ("tls", "mail"):
            severity, context = Severity.MEDIUM, "connection"
        elif outbound or kind == "file" or (dst is not None and is_internal(dst)):
            severity, context = Severity.HIGH, "connection"
        else:
            severity, context = Severity.MEDIUM, "connection"
        internal = internal_side(fields) if kind in ("file", "mail") else (src if outbound else dst)
        host = event.get_str("host.name") if outbound else None
        template = TITLES[(context, kind, outbound)]
        evidence = dict(fields)
        for name in _device_only(fields):
            del evidence[name]
        evidence["title.template"] = template
        evidence.setdefault("event.dataset", event.dataset)
        if event.raw is not None:
            evidence["event.original"] = event.raw.data[:MAX_ORIGINAL].decode("utf-8", "replace")
            evidence["log.origin"] = event.raw.origin
        evidence.update(indicator_evidence(hit, matched_field))
        return Finding(
            tenant_id=event.tenant_id,
            detector=NAME,
            key=f"{hit.type}:{hit.value}",
            title=template % {"value": hit.value},
            severity=severity,
            timestamp=event.timestamp,
            host=host or internal,
            source_ip=src,
            destination_ip=dst,
            description=hit.description or hit.threat,
            tags=TAGS,
            evidence=evidence,
            device_ip=internal if internal and is_internal(internal) else None,
        )


_DEVICE_ONLY: dict[tuple[str, ...], tuple[str, ...]] = {}  # field names -> the fortigate.* ones
_DEVICE_ONLY_MAX = 1024  # key layouts remembered; cleared when full
_DEVICE_ONLY_CHARS = 4096  # layouts with longer names together are not remembered


def _device_only(fields: Mapping[str, object]) -> tuple[str, ...]:
    """The device-specific names (``fortigate.*``) an alert's evidence leaves out, per key layout: a
    FortiGate event has ~50 fields, and a test of each name costs more than the rest of the finding."""
    names = tuple(fields)
    found = _DEVICE_ONLY.get(names)
    if found is None:
        found = tuple(name for name in names if name.startswith("fortigate."))
        if sum(map(len, names)) <= _DEVICE_ONLY_CHARS:
            if len(_DEVICE_ONLY) >= _DEVICE_ONLY_MAX:
                _DEVICE_ONLY.clear()
            _DEVICE_ONLY[names] = found
    return found


def internal_side(fields: Mapping[str, object]) -> str | None:
    """The customer's device of an event: a LAN address of source or destination (source first), else
    any private one (the documentation ranges of the demo count as private to ``ipaddress``)."""
    internal = None
    for value in (fields.get("source.ip"), fields.get("destination.ip")):
        if isinstance(value, str) and is_internal(value):
            if is_local(value):
                return value
            if internal is None:
                internal = value
    return internal
