"""FortiGate (FortiOS 5.x-7.x) key=value logs, as sent over syslog, to ECS-named Events.

A line may carry a syslog header (BSD, RFC 5424, a relay's prefix) or start directly with FortiOS's own
``<PRI>date=... time=... devname="..."``. Values are bare or double-quoted with ``\\"`` and ``\\\\`` escapes.
Keys with an ECS meaning are renamed (see ``_RENAMES`` and ``_build``); every other key is kept as
``fortigate.<key>`` so that nothing the device said is lost. Datasets: ``fortigate.traffic``,
``fortigate.utm.<subtype>`` (virus, webfilter, ips, app-ctrl, emailfilter, dns, anomaly...),
``fortigate.event`` and ``fortigate.<type>`` for other types.

Speed (FortiGate is the bulk of the traffic): canonical bodies are split by ``_fast.kv_pairs`` (str
methods + orjson, ~4x faster than a regex) and renamed through a cached per-layout ``_Layout``, because
one device repeats a few hundred key layouts; anything unusual goes through ``_tokens_exact``. Both
paths give the same pairs, which a property test checks. With the C speedups built (``_native``) the
canonical split (``kv_split``), the rename, the integer and the ``N/A`` passes run in C, with the same
results (``tests/unit/parsers/test_speedups.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter

from mimamori.domain.models import Event, Fields, RawRecord, Scalar
from mimamori.errors import ParseError
from mimamori.parsers import _fast, _native, syslog
from mimamori.parsers._device import to_int as _to_int
from mimamori.parsers._fast import BoundedCache
from mimamori.parsers._fast import kv_pairs_exact as _tokens_exact
from mimamori.parsers._fortigate_time import timestamp as _timestamp
from mimamori.parsers._fortigate_values import MACS as _MACS
from mimamori.parsers._fortigate_values import domain as _domain
from mimamori.parsers._fortigate_values import mac as _mac
from mimamori.parsers._fortigate_values import url as _url

FORMAT = "fortigate"

# Where the key=value body starts after any header: the first `key=` at the start or after a space.
_BODY_RE = re.compile(r"(?:^|(?<= ))[A-Za-z_][\w\-.]{0,63}=")
_SAFE_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_\-]{0,31}")
_MAX_INT = 2**63 - 1
_NOT_SET = frozenset(("", "N/A", "n/a"))
_MAX_PRI = 191

# fmt: off
_SUCCESS = frozenset((
    "accept", "close", "timeout", "server-rst", "client-rst", "pass", "passthrough", "monitored",
    "allow", "allowed", "permit", "detected", "log-only", "exempt", "success",
))
_FAILURE = frozenset((
    "deny", "block", "blocked", "dropped", "drop", "reset", "reject", "clear_session", "redirect",
    "failed", "failure",
))
_TRANSPORT = {"1": "icmp", "2": "igmp", "6": "tcp", "17": "udp", "47": "gre", "50": "esp", "58": "ipv6-icmp",
              "132": "sctp"}
# fmt: on
_OUTCOMES: dict[str | None, str] = {
    word: "failure" if word in _FAILURE else "success" for word in _SUCCESS | _FAILURE
}
# Legacy FortiOS types that are UTM features today (FortiOS 4/5 wrote type=virus, type=anomaly...).
_UTM_TYPES = frozenset(
    ("virus", "webfilter", "ips", "anomaly", "app-ctrl", "emailfilter", "spam", "dlp", "dns", "waf", "ssl")
)
_CATEGORY = {
    "traffic": "network", "virus": "malware", "webfilter": "web", "ips": "intrusion_detection",
    "anomaly": "intrusion_detection", "app-ctrl": "network", "emailfilter": "email", "dns": "network",
    "waf": "web", "ssl": "network", "dlp": "file",
}  # fmt: skip

# Plain renames: FortiOS key -> ECS name; the value stays text. Legacy FortiOS 3/4 names included.
_RENAMES = {
    "srcip": "source.ip", "src": "source.ip", "dstip": "destination.ip", "dst": "destination.ip",
    "devname": "observer.name", "devid": "observer.serial", "device_id": "observer.serial",
    "action": "event.action", "msg": "message", "policyid": "rule.id", "policyname": "rule.name",
    "user": "user.name", "level": "log.level", "virus": "threat.name", "attack": "threat.name",
    "filename": "file.name", "srcname": "host.name", "devtype": "host.type", "osname": "host.os.name",
    "osversion": "host.os.version", "srchwvendor": "host.vendor", "from": "email.from.address",
    "to": "email.to.address", "sender": "email.sender.address",
    "subject": "email.subject", "qtype": "dns.question.type", "qclass": "dns.question.class",
    "app": "network.application", "srcintf": "observer.ingress.interface.name",
    "dstintf": "observer.egress.interface.name",
    "srccountry": "source.geo.country_name", "dstcountry": "destination.geo.country_name",
    "agent": "user_agent.original", "logid": "event.code",
    "xid": "dns.id", "transip": "source.nat.ip", "tranip": "destination.nat.ip",
}  # fmt: skip
# Integer fields: FortiOS key -> ECS name; a value that is not a 0..2^63 integer stays as fortigate.<key>.
_INTS = {
    "srcport": "source.port", "src_port": "source.port", "dstport": "destination.port",
    "dst_port": "destination.port", "sentbyte": "source.bytes", "sent": "source.bytes",
    "rcvdbyte": "destination.bytes", "rcvd": "destination.bytes", "sentpkt": "source.packets",
    "rcvdpkt": "destination.packets", "transport": "source.nat.port", "tranport": "destination.nat.port",
}  # fmt: skip
_PORTS = frozenset(("source.port", "destination.port", "source.nat.port", "destination.nat.port"))
# Keys whose value is normalised after the rename (see ``_fix_specials``).
_SPECIAL_NAMES = {
    "hostname": "url.domain", "qname": "dns.question.name", "url": "url.original", "srcmac": "source.mac",
    "dstmac": "destination.mac", "proto": "network.iana_number", "service": "network.protocol",
    "duration": "event.duration", "ipaddr": "dns.resolved_ip",
}  # fmt: skip
_NAMES = {**_RENAMES, **_INTS, **_SPECIAL_NAMES}
# The order in which ``_fix_specials`` handles them (hostname before url: url.domain from hostname wins).
_SPECIALS = ("hostname", "qname", "url", "srcmac", "dstmac", "proto", "service", "duration", "ipaddr")
# ECS fields where FortiOS writes "N/A" or "" for "no value": such a value is dropped.
_OPTIONAL = tuple(
    name
    for name in _RENAMES.values()
    if name.startswith(
        ("user.", "host.", "email.", "file.", "threat.", "rule.", "dns.", "source.nat", "network.")
    )
)


# The C speedups when built (same results, see ``_native``), else the str-methods + orjson versions.
_kv_pairs = _native.kv_split or _fast.kv_pairs
_to_ints = _native.to_ints or _fast.to_ints
_rename_values = _native.rename_values
_drop_unset = _native.drop_unset
_fortigate_ints = _native.fortigate_ints


def _tokens(body: str) -> dict[str, str]:
    """The pairs of the key=value body: the fast path for canonical bodies, else the exact one."""
    return _kv_pairs(body) or _tokens_exact(body)


def _split(text: str, received_at: datetime) -> dict[str, str]:
    """Strip any syslog header (as ``syslog.split_pri`` + ``envelope_from_text``) and return the pairs."""
    line = text
    if text.startswith("<"):
        end = text.find(">", 1, 5)
        digits = text[1:end] if end > 1 else ""
        if digits.isdecimal():  # the same digits (Unicode Nd) as syslog's `<(\d{1,3})>`
            pri = int(digits)
            if pri > _MAX_PRI:
                raise ParseError(f"syslog PRI out of range: {pri}")
            text = text[end + 1 :]
            if text.startswith("1 "):
                text = syslog.envelope_from_text(line, received_at=syslog.as_utc(received_at)).message
    if not text.startswith("date="):  # FortiOS's own first key; else find where the pairs start
        m = _BODY_RE.search(text)
        if m is None:
            raise ParseError("no key=value pairs found")
        text = text[m.start() :]
    pairs = _tokens(text)
    if "type" not in pairs:
        raise ParseError("not a FortiGate log: no type field")
    return pairs


def _outcome(pairs: dict[str, str]) -> str | None:
    """``status`` decides, else ``action`` (``utmaction`` when it is empty or absent)."""
    found = _OUTCOMES.get(pairs.get("status"))
    if found is None:
        found = _OUTCOMES.get(pairs.get("action") or pairs.get("utmaction") or "")
    return found


def _dataset(log_type: str, subtype: str) -> tuple[str, str]:
    """Return (dataset, feature): feature is the UTM subtype or the log type, used for categories."""
    log_type, subtype = log_type.lower(), subtype.lower()
    if log_type in _UTM_TYPES:  # legacy FortiOS: the UTM feature was the type
        log_type, subtype = "utm", subtype if subtype in _UTM_TYPES else log_type
    if subtype == "spam":
        subtype = "emailfilter"
    if _SAFE_NAME_RE.fullmatch(log_type) is None:
        raise ParseError(f"unexpected FortiGate log type {log_type[:32]!r}")
    if log_type == "utm":
        if _SAFE_NAME_RE.fullmatch(subtype) is None:
            return "fortigate.utm", "utm"
        return f"fortigate.utm.{subtype}", subtype
    return f"fortigate.{log_type}", log_type


_DATASETS: BoundedCache[tuple[str, str], tuple[str, str]] = BoundedCache(1024)


@dataclass(frozen=True, slots=True)
class _Layout:
    """What a line's key layout (its keys in order) implies, computed once per layout and cached.

    ``names``: the field name of each key (``dict(zip(names, values))`` is the renamed dict, the last of
    keys sharing a name winning as in a dict comprehension); ``ints``: the ``_INTS`` keys that win their
    name and their names, ports first (also as ``int_keys`` and ``int_names``), with ``int_values``
    fetching their values in one call; ``optional``: the ``_OPTIONAL`` names present; ``specials``:
    the ``_SPECIALS`` keys present, in that order.
    """

    names: tuple[str, ...]
    ints: tuple[tuple[str, str], ...]
    int_keys: tuple[str, ...]
    int_names: tuple[str, ...]
    ports: int
    int_values: Callable[[dict[str, str]], tuple[str, ...]]
    optional: tuple[str, ...]
    specials: tuple[str, ...]
    # What ``_speedups.fortigate_build`` reads: the above, and each special's index in ``_SPECIALS``.
    plan: tuple[object, ...] = ()

    @classmethod
    def of(cls, keys: tuple[str, ...]) -> _Layout:
        names = tuple(_NAMES.get(key) or "fortigate." + key for key in keys)
        winner = dict(zip(names, keys, strict=True))
        ints = sorted(
            ((key, name) for key, name in _INTS.items() if winner.get(name) == key),
            key=lambda item: item[1] not in _PORTS,
        )
        getter = itemgetter(*(key for key, _ in ints)) if len(ints) > 1 else None
        ports = sum(name in _PORTS for _, name in ints)
        optional = tuple(dict.fromkeys(name for name in _OPTIONAL if name in winner))
        int_names = tuple(name for _, name in ints)
        int_keys = tuple(key for key, _ in ints)
        specials = tuple(key for key in _SPECIALS if key in keys)
        codes = tuple(_SPECIALS.index(key) for key in specials)
        return cls(
            names,
            tuple(ints),
            int_keys,
            int_names,
            ports,
            getter or (lambda p: tuple(p[k] for k, _ in ints)),
            optional,
            specials,
            (names, int_keys, int_names, ports, optional, specials, codes),
        )


_LAYOUTS: BoundedCache[tuple[str, ...], _Layout] = BoundedCache(2048)
_CACHED_KEYS_CHARS = 4096  # 2,048 layouts of at most 4 KiB of keys: memory stays bounded (~16 MiB)


def _fix_ints(fields: Fields, pairs: dict[str, str], layout: _Layout) -> None:
    """Turn the integer fields into ints; a value that is not one goes back to ``fortigate.<key>``."""
    if _fortigate_ints is not None:  # the common case, all at once in C (else the loop below)
        if _fortigate_ints(fields, pairs, layout.int_keys, layout.int_names, layout.ports, _MAX_INT):
            return
    else:
        numbers = _to_ints(layout.int_values(pairs), _MAX_INT)
        if numbers is not None and (not layout.ports or max(numbers[: layout.ports]) <= 65535):
            fields.update(zip(layout.int_names, numbers, strict=True))
            return
    values = layout.int_values(pairs)
    for (key, name), value in zip(layout.ints, values, strict=True):
        number = _to_int(value)
        if number is None or (name in _PORTS and number > 65535):
            del fields[name]
            fields["fortigate." + key] = value
        else:
            fields[name] = number


def _fix_specials(fields: Fields, pairs: dict[str, str], layout: _Layout) -> None:
    """Normalise the renamed fields whose value needs more than a rename."""
    if _drop_unset is not None:
        _drop_unset(fields, layout.optional, _NOT_SET)
    else:
        for name in layout.optional:
            if fields.get(name) in _NOT_SET:
                del fields[name]
    for key in layout.specials:  # the keys of _SPECIALS present, in that order
        value = pairs[key]
        if key == "proto":
            if value and (transport := _TRANSPORT.get(value)) is not None:
                fields["network.transport"] = transport
        elif key == "srcmac":
            if value:
                fields["source.mac"] = _MACS.get(value) or _mac(value)
        elif key == "service":
            if value:
                fields["network.protocol"] = value.lower()
        elif key == "duration":
            if 0 < len(value) <= 9 and value.isdigit() and value.isascii():  # the common case, inline
                fields["event.duration"] = int(value) * 10**9
                continue
            seconds = _to_int(value)
            if seconds is not None and seconds < _MAX_INT // 10**9:
                fields["event.duration"] = seconds * 10**9
            else:
                del fields["event.duration"]
                fields["fortigate.duration"] = value
        elif not value:
            continue
        elif key == "hostname":
            fields["url.domain"] = _domain(value)
        elif key == "qname":
            fields["dns.question.name"] = _domain(value)
        elif key == "url":
            _url(fields, value)
        elif key == "dstmac":
            fields["destination.mac"] = _MACS.get(value) or _mac(value)
        else:  # ipaddr
            fields["dns.resolved_ip"] = _ip_list(value)


def _ip_list(value: str) -> list[Scalar]:
    """``ipaddr``: the resolved addresses of a DNS log, comma-separated."""
    return [ip.strip() for ip in value.split(",") if ip.strip()]


def _build(pairs: dict[str, str], feature: str) -> Fields:
    """Rename every pair in one pass (unknown keys -> ``fortigate.<key>``), then fix types and extras."""
    keys = tuple(pairs)
    layout = _LAYOUTS.get(keys)
    if layout is None:
        layout = _Layout.of(keys)
        if sum(map(len, keys)) <= _CACHED_KEYS_CHARS:  # hostile giant keys are not kept
            _LAYOUTS.put(keys, layout)
    if _rename_values is not None:
        fields = _rename_values(layout.names, pairs)
    else:
        fields = dict(zip(layout.names, pairs.values(), strict=True))
    fields["observer.vendor"] = "Fortinet"
    fields["observer.product"] = "FortiGate"
    if layout.ints:
        _fix_ints(fields, pairs, layout)
    _fix_specials(fields, pairs, layout)
    if feature == "webfilter" and "catdesc" in pairs:
        fields["url.category"] = pairs["catdesc"]
    if "recipient" in pairs and "to" not in pairs:
        fields["email.to.address"] = pairs["recipient"]
    if feature == "traffic" and "event.action" not in fields and "status" in pairs:
        fields["event.action"] = pairs["status"]  # FortiOS 3/4 traffic logs: status=accept|deny
    outcome = _outcome(pairs)
    if outcome is not None:
        fields["event.outcome"] = outcome
    category = _CATEGORY.get(feature)
    if category is not None:
        fields["event.category"] = [category]
    return fields


def parse(record: RawRecord) -> Event | None:
    """Parse one FortiGate syslog line; an empty line carries no event, anything else malformed raises."""
    if _fortigate_event is not None:  # all but ``_build`` in C for the common lines (``_native``)
        event = _fortigate_event(record)
        if event is not None:
            return event
    return _parse(record)


def _parse(record: RawRecord) -> Event | None:
    text = syslog.decode(record.data)
    if not text or text.isspace():
        return None
    pairs = _split(text, record.received_at)
    kind = (pairs["type"], pairs.get("subtype", ""))
    found = _DATASETS.get(kind)
    if found is None:
        found = _dataset(*kind)
        if len(kind[0]) + len(kind[1]) <= 64:
            _DATASETS.put(kind, found)
    dataset, feature = found
    when = _timestamp(pairs, record.timezone)
    return Event(when, record.tenant_id, dataset, _build(pairs, feature), record.sensor_id)


_fortigate_event = _native.fortigate_event
if _native.fortigate_configure is not None:
    _native.fortigate_configure(_DATASETS, _build)
if _native.fortigate_build_configure is not None:  # ``_build`` in C for the cached layouts
    _native.fortigate_build_configure(
        _LAYOUTS, _fix_ints, _MACS, _mac, _TRANSPORT, _NOT_SET, _OUTCOMES, _CATEGORY, _url, _ip_list,
        _domain, _MAX_INT,
    )  # fmt: skip
