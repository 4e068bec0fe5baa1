"""FortiGate (FortiOS 5.x-7.x) key=value logs, as sent over syslog, to ECS-named Events.

A line may carry a syslog header (BSD, RFC 5424, a relay's prefix) or start directly with FortiOS's own
``<PRI>date=... time=... devname="..."``. Values are bare or double-quoted with ``\\"`` and ``\\\\`` escapes.
Keys with an ECS meaning are renamed (see ``_RENAMES`` and ``_build``); every other key is kept as
``fortigate.<key>`` so that nothing the device said is lost. Datasets: ``fortigate.traffic``,
``fortigate.utm.<subtype>`` (virus, webfilter, ips, app-ctrl, emailfilter, dns, anomaly...),
``fortigate.event`` and ``fortigate.<type>`` for other types.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from mimamori.domain.models import Event, Fields, RawRecord
from mimamori.errors import ParseError
from mimamori.parsers import syslog

FORMAT = "fortigate"

# One token: key=value (quoted, possibly unterminated -> detected, or bare) or a stray word. Possessive
# quantifiers and an always-matching quoted branch keep this linear on hostile input.
_TOKEN_RE = re.compile(r'([^\s="]++)=(?:"((?:[^"\\]++|\\.)*+)("?)|([^\s"]*+))|(\S+)')
# Where the key=value body starts after any header: the first `key=` at the start or after a space.
_BODY_RE = re.compile(r"(?:^|(?<= ))[A-Za-z_][\w\-.]{0,63}=")
_UNESCAPE_RE = re.compile(r'\\(["\\])')
_SAFE_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_\-]{0,31}")
_TZ_RE = re.compile(r"([+-])(\d{2}):?(\d{2})")
_DATE_RE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_TIME_RE = re.compile(r"(\d{1,2}): ?(\d{1,2}):(\d{1,2})")
_MAC_RE = re.compile(r"[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}")
_MAX_INT = 2**63 - 1
_NOT_SET = frozenset(("", "N/A", "n/a"))

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
# ECS fields where FortiOS writes "N/A" or "" for "no value": such a value is dropped.
_OPTIONAL = tuple(
    name
    for name in _RENAMES.values()
    if name.startswith(
        ("user.", "host.", "email.", "file.", "threat.", "rule.", "dns.", "source.nat", "network.")
    )
)


def _unquote(value: str) -> str:
    return _UNESCAPE_RE.sub(r"\1", value) if "\\" in value else value


def _tokens_exact(body: str) -> dict[str, str]:
    """Split the key=value body token by token: escapes, stray words and exact error reasons.

    An unterminated quote is malformed; a stray word (FortiOS 3 wrote ``time=10: 13:03``) extends the
    value before it.
    """
    pairs: dict[str, str] = {}
    last: str | None = None
    for key, quoted, closing, bare, stray in _TOKEN_RE.findall(body):
        if stray:
            if stray[0] == '"':
                raise ParseError("unbalanced quote in key=value body")
            if last is not None:
                pairs[last] = f"{pairs[last]} {stray}"
            continue
        if quoted or closing:
            if not closing:
                raise ParseError(f"unbalanced quote in value of {key[:64]!r}")
            pairs[key] = _unquote(quoted)
        elif bare.startswith('"'):
            raise ParseError(f"unbalanced quote in value of {key[:64]!r}")
        else:
            pairs[key] = bare
        last = key
    return pairs


def _tokens(body: str) -> dict[str, str]:
    """Split the key=value body with C-level string methods; odd lines go to ``_tokens_exact``.

    The fast path replaces each quoted value by a NUL marker (``decode`` removed real NULs), splits on
    whitespace and ``=``, then puts the quoted values back in order. It gives up (and the exact path
    decides) on escapes, stray words, empty keys, quotes inside a word or a quoted key seen twice; the
    two paths give the same pairs for every line the fast path accepts.
    """
    if "\\" in body:
        return _tokens_exact(body)
    parts = body.split('"')
    quoted = parts[1::2]
    if len(parts) % 2 == 0:
        return _tokens_exact(body)
    try:
        pairs = dict([word.split("=", 1) for word in "\x00".join(parts[0::2]).split()])
    except ValueError:  # a word without "="
        return _tokens_exact(body)
    if "" in pairs:
        return _tokens_exact(body)
    if quoted:
        filled = 0
        for key, value in pairs.items():
            if value == "\x00":
                pairs[key] = quoted[filled]
                filled += 1
        if filled != len(quoted):
            return _tokens_exact(body)
    return pairs


def _split(text: str, received_at: datetime) -> dict[str, str]:
    """Strip any syslog header and return the key=value pairs."""
    if text.startswith("<"):
        pri, rest = syslog.split_pri(text)
        if pri is not None and rest.startswith("1 "):
            text = syslog.envelope_from_text(text, received_at=received_at).message
        else:
            text = rest
    m = _BODY_RE.search(text)
    if m is None:
        raise ParseError("no key=value pairs found")
    pairs = _tokens(text[m.start() :])
    if "type" not in pairs:
        raise ParseError("not a FortiGate log: no type field")
    return pairs


def _to_int(value: str) -> int | None:
    if 0 < len(value) <= 19 and value.isascii() and value.isdigit():
        number = int(value)
        return number if number <= _MAX_INT else None
    return None


def _epoch(value: str) -> datetime | None:
    """FortiOS ``eventtime``: epoch in s, ms, µs or ns depending on the version; detect by magnitude."""
    number = _to_int(value)
    if number is None:
        return None
    if number < 10**11:
        seconds, fraction = number, 0
    elif number < 10**14:
        seconds, fraction = divmod(number, 1000)
        fraction *= 1000
    elif number < 10**17:
        seconds, fraction = divmod(number, 10**6)
    else:
        seconds, fraction = divmod(number, 10**9)
        fraction //= 1000
    try:
        return datetime.fromtimestamp(seconds, UTC).replace(microsecond=fraction)
    except (OverflowError, OSError, ValueError):
        return None


def _tz(value: str) -> timezone:
    if value in ("UTC", "GMT", "Z", "+0000"):
        return UTC
    m = _TZ_RE.fullmatch(value)
    if m is None:
        raise ParseError(f"unknown tz {value[:32]!r}")
    sign, hours, minutes = m.groups()
    offset = timedelta(hours=int(hours), minutes=int(minutes))
    if offset >= timedelta(hours=24):
        raise ParseError(f"tz out of range {value!r}")
    return timezone(-offset if sign == "-" else offset)


def _timestamp(pairs: dict[str, str]) -> datetime:
    """Prefer the epoch ``eventtime`` (or FortiOS 5 ``logtime``); else ``date`` + ``time`` in ``tz``."""
    for key in ("eventtime", "logtime"):
        value = pairs.get(key)
        if value is not None:
            ts = _epoch(value)
            if ts is not None:
                return ts
    date = _DATE_RE.fullmatch(pairs.get("date", ""))
    clock = _TIME_RE.fullmatch(pairs.get("time", ""))
    if date is None or clock is None:
        raise ParseError("no usable timestamp (eventtime or date+time)")
    tz = _tz(pairs["tz"]) if "tz" in pairs else UTC
    (year, month, day), (hour, minute, second) = map(int, date.groups()), map(int, clock.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=tz).astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise ParseError(f"bad date/time {pairs['date'][:16]!r} {pairs['time'][:16]!r}") from exc


def _domain(value: str) -> str:
    return value.rstrip(".").lower()


def _mac(value: str) -> str:
    """ECS notation for MAC addresses: upper-case, hyphen-separated; anything else kept as sent."""
    return value.upper().replace(":", "-") if _MAC_RE.fullmatch(value) else value


def _url(fields: Fields, url: str) -> None:
    """``url.original`` as sent; ``url.domain``/``url.path``/``url.query`` split out of it."""
    fields["url.original"] = url
    rest = url
    scheme_end = url.find("://")
    if scheme_end > 0:
        rest = url[scheme_end + 3 :]
        host_end = len(rest)
        for sep in "/?#":
            i = rest.find(sep)
            if 0 <= i < host_end:
                host_end = i
        host = rest[:host_end].rpartition("@")[2]
        if host.startswith("["):
            host = host[1 : host.find("]")] if "]" in host else host
        else:
            host = host.partition(":")[0]
        if host and "url.domain" not in fields:
            fields["url.domain"] = _domain(host)
        rest = rest[host_end:]
    path, _, query = rest.partition("#")[0].partition("?")
    if path:
        fields["url.path"] = path
    if query:
        fields["url.query"] = query


def _outcome(pairs: dict[str, str]) -> str | None:
    status = pairs.get("status")
    action = pairs.get("action") or pairs.get("utmaction") or ""
    for word in (status, action):
        if word in _SUCCESS:
            return "success"
        if word in _FAILURE:
            return "failure"
    return None


def _dataset(pairs: dict[str, str]) -> tuple[str, str]:
    """Return (dataset, feature): feature is the UTM subtype or the log type, used for categories."""
    log_type = pairs["type"].lower()
    subtype = pairs.get("subtype", "").lower()
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


def _fix_ints(fields: Fields, pairs: dict[str, str]) -> None:
    """Turn the integer fields into ints; a value that is not one goes back to ``fortigate.<key>``."""
    for key, name in _INTS.items():
        value = pairs.get(key)
        if value is None or fields.get(name) is not value:
            continue
        number = _to_int(value)
        if number is None or (name in _PORTS and number > 65535):
            del fields[name]
            fields["fortigate." + key] = value
        else:
            fields[name] = number


def _fix_specials(fields: Fields, pairs: dict[str, str]) -> None:
    """Normalise the renamed fields whose value needs more than a rename."""
    for name in _OPTIONAL:
        if fields.get(name) in _NOT_SET:
            del fields[name]
    value = pairs.get("hostname")
    if value:
        fields["url.domain"] = _domain(value)
    value = pairs.get("qname")
    if value:
        fields["dns.question.name"] = _domain(value)
    value = pairs.get("url")
    if value:
        _url(fields, value)
    for key, name in (("srcmac", "source.mac"), ("dstmac", "destination.mac")):
        value = pairs.get(key)
        if value:
            fields[name] = _mac(value)
    value = pairs.get("proto")
    if value:
        transport = _TRANSPORT.get(value)
        if transport is not None:
            fields["network.transport"] = transport
    value = pairs.get("service")
    if value:
        fields["network.protocol"] = value.lower()
    value = pairs.get("duration")
    if value is not None:
        seconds = _to_int(value)
        if seconds is not None and seconds < _MAX_INT // 10**9:
            fields["event.duration"] = seconds * 10**9
        else:
            del fields["event.duration"]
            fields["fortigate.duration"] = value
    value = pairs.get("ipaddr")
    if value:
        fields["dns.resolved_ip"] = [ip.strip() for ip in value.split(",") if ip.strip()]


def _build(pairs: dict[str, str], feature: str) -> Fields:
    """Rename every pair in one pass (unknown keys -> ``fortigate.<key>``), then fix types and extras."""
    names = _NAMES
    fields: Fields = {names.get(key) or "fortigate." + key: value for key, value in pairs.items()}
    fields["observer.vendor"] = "Fortinet"
    fields["observer.product"] = "FortiGate"
    _fix_ints(fields, pairs)
    _fix_specials(fields, pairs)
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
    text = syslog.decode(record.data)
    if not text.strip():
        return None
    received_at = syslog.as_utc(record.received_at)
    pairs = _split(text, received_at)
    dataset, feature = _dataset(pairs)
    return Event(
        timestamp=_timestamp(pairs),
        tenant_id=record.tenant_id,
        sensor_id=record.sensor_id,
        dataset=dataset,
        fields=_build(pairs, feature),
    )
