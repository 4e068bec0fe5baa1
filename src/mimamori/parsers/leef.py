"""IBM QRadar Log Event Extended Format (LEEF 1.0 and 2.0), bare or behind a syslog header.

``LEEF:1.0|Vendor|Product|Version|EventID|`` is followed by tab-separated ``key=value`` attributes;
LEEF 2.0 may add a delimiter field after EventID (a character, or its hex code as ``x09``/``0x5E``/``^``
written as ``x5E``). Values may contain the delimiter when a producer ignores the spec (PAN-OS writes
times with spaces under a space delimiter): a piece without ``=`` is joined to the value before it.
Predefined keys (src, dst, srcPort, usrName, proto, sev, devTime with devTimeFormat, ...) are renamed to
ECS; every other key stays as ``leef.<key>``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache

from mimamori.domain.models import Event, Fields, RawRecord
from mimamori.errors import ParseError
from mimamori.parsers import _device, syslog

FORMAT = "leef"

_START_RE = re.compile(r"LEEF: ?[12]\.0\|")
_HEX_RE = re.compile(r"(?:0?[xX])([0-9A-Fa-f]{1,4})")
_KEY_RE = re.compile(r"[A-Za-z_][\w.\-]{0,63}")
_JAVA_TOKEN_RE = re.compile(r"'[^']*'|y+|M+|d+|H+|h+|m+|s+|S+|a+|Z+|X+|z+|E+|[^A-Za-z']+")
_JAVA_MAP = {
    "yyyy": "%Y", "yy": "%y", "MMM": "%b", "MM": "%m", "M": "%m", "dd": "%d", "d": "%d", "HH": "%H",
    "H": "%H", "hh": "%I", "h": "%I", "mm": "%M", "m": "%M", "ss": "%S", "s": "%S", "a": "%p", "Z": "%z",
    "ZZ": "%z", "X": "%z", "XX": "%z", "XXX": "%z", "EEE": "%a",
}  # fmt: skip

_RENAMES = {
    "src": "source.ip", "dst": "destination.ip", "srcPostNAT": "source.nat.ip",
    "dstPostNAT": "destination.nat.ip", "srcPreNAT": "leef.srcPreNAT", "usrName": "user.name",
    "accountName": "user.name", "identHostName": "host.name",
    "identSrc": "host.ip", "domain": "user.domain", "url": "url.original", "action": "event.action",
    "policy": "rule.name", "resource": "leef.resource", "vSrcName": "source.domain", "msg": "message",
    "identGrpName": "group.name", "realm": "leef.realm", "role": "user.roles",
}  # fmt: skip
_INTS = {
    "srcPort": "source.port", "dstPort": "destination.port", "srcPostNATPort": "source.nat.port",
    "dstPostNATPort": "destination.nat.port", "srcBytes": "source.bytes", "dstBytes": "destination.bytes",
    "srcPackets": "source.packets", "dstPackets": "destination.packets", "totalPackets": "network.packets",
}  # fmt: skip
_PORT_KEYS = frozenset(("srcPort", "dstPort", "srcPostNATPort", "dstPostNATPort"))


def _delimiter(spec: str) -> str:
    """The attribute delimiter of a LEEF 2.0 header: one character, or its hex code."""
    if len(spec) == 1:
        return spec
    m = _HEX_RE.fullmatch(spec)
    if m is not None:
        code = int(m.group(1), 16)
        if 0 < code < 0x110000 and not 0xD800 <= code <= 0xDFFF:
            return chr(code)
    if spec in ("\\t", "tab"):
        return "\t"
    raise ParseError(f"bad LEEF delimiter {spec[:16]!r}")


def _attributes(text: str, delimiter: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    last: str | None = None
    for piece in text.split(delimiter):
        key, eq, value = piece.partition("=")
        if eq and _KEY_RE.fullmatch(key):
            pairs[key] = value.replace("\\=", "=") if "\\" in value else value
            last = key
        elif last is not None and piece:
            pairs[last] = f"{pairs[last]}{delimiter}{piece}"
    return pairs


@lru_cache(maxsize=64)
def _strptime_format(java: str) -> str | None:
    """Translate a Java ``SimpleDateFormat`` pattern (``devTimeFormat``) to ``strptime``, or ``None``."""
    out: list[str] = []
    seen: set[str] = set()
    for token in _JAVA_TOKEN_RE.findall(java):
        if token.startswith("'"):
            out.append(token.strip("'").replace("%", "%%"))
        elif token[0].isalpha():
            mapped = "%f" if token[0] == "S" else _JAVA_MAP.get(token)
            if mapped is None or mapped in seen:  # strptime refuses a directive twice
                return None
            seen.add(mapped)
            out.append(mapped)
        else:
            out.append(token.replace("%", "%%"))
    return "".join(out)


def _dev_time(value: str, fmt: str | None, tz: str, received_at: datetime) -> datetime | None:
    if fmt:
        pattern = _strptime_format(fmt[:64])
        if pattern is not None:
            raw = value
            if "%f" in pattern and "." in value:  # strptime's %f takes at most 6 digits
                head, _, frac = value.rpartition(".")
                digits = len(frac) - len(frac.lstrip("0123456789"))
                raw = f"{head}.{frac[: min(digits, 6)]}{frac[digits:]}"
            try:
                parsed = datetime.strptime(raw, pattern)
            except (ValueError, OverflowError, re.error):
                parsed = None
            if parsed is not None:
                if parsed.tzinfo is not None:
                    return parsed.astimezone(UTC)
                return _device.localize(parsed, tz)
    return _device.device_time(value, tz, received_at)


def _severity(fields: Fields, value: str) -> None:
    number = _device.to_int(value)
    if number is None or number > 10:
        fields["leef.sev"] = value
        return
    fields["event.severity"] = number
    fields["log.level"] = (
        "low" if number <= 3 else "medium" if number <= 6 else "high" if number <= 8 else "very-high"
    )


def _map(fields: Fields, pairs: dict[str, str]) -> None:
    for key, value in pairs.items():
        name = _RENAMES.get(key)
        if name is not None:
            if value:
                fields[name] = value
        elif key in _INTS:
            number = _device.to_port(value) if key in _PORT_KEYS else _device.to_int(value)
            if number is not None:
                fields[_INTS[key]] = number
            elif value:
                fields["leef." + key] = value
        elif key == "proto":
            if value:
                fields["network.transport"] = _device.transport(value)
        elif key in ("srcMAC", "dstMAC"):
            if value:
                fields["source.mac" if key == "srcMAC" else "destination.mac"] = _device.mac(value)
        elif key == "sev":
            _severity(fields, value)
        elif key not in ("devTime", "devTimeFormat") and value:
            fields["leef." + key] = value
    url = pairs.get("url")
    if url:
        _device.set_url(fields, url)
    action = pairs.get("action")
    if action:
        result = _device.outcome(action)
        if result is not None:
            fields["event.outcome"] = result


def parse_body(record: RawRecord, text: str, header: _device.Header) -> Event:
    """Parse ``text`` starting at ``LEEF:``; ``header`` gives the time and host when the body has none."""
    version = text[5:8] if text[5] != " " else text[6:9]
    parts = text.split("|", 5)
    if len(parts) < 6:
        raise ParseError(f"LEEF header has {len(parts)} of 6 parts")
    _, vendor, product, dev_version, event_id, rest = parts
    delimiter = "\t"
    if version == "2.0" and rest.startswith("||"):
        delimiter, rest = "|", rest[2:]
    elif version == "2.0":
        spec, bar, attrs = rest.partition("|")
        if bar and "=" not in spec and len(spec) <= 6:
            delimiter = _delimiter(spec)
            rest = attrs
    pairs = _attributes(rest, delimiter)
    fields: Fields = {
        "leef.version": version,
        "observer.vendor": vendor,
        "observer.product": product,
        "observer.version": dev_version,
        "event.code": event_id,
    }
    _map(fields, pairs)
    if header.hostname:
        fields["observer.hostname"] = header.hostname
    received_at = syslog.as_utc(record.received_at)
    timestamp = None
    dev_time = pairs.get("devTime")
    if dev_time:
        timestamp = _dev_time(dev_time, pairs.get("devTimeFormat"), record.timezone, received_at)
        if timestamp is None:
            fields["leef.devTime"] = dev_time
    return _device.make_event(record, "leef", fields, timestamp or header.timestamp)


def parse(record: RawRecord) -> Event | None:
    """Parse one LEEF record; an empty line carries no event, a line without a LEEF header raises."""
    text = syslog.decode(record.data)
    if not text.strip():
        return None
    m = _START_RE.search(text)
    if m is None:
        raise ParseError("no LEEF header found")
    prefix = text[: m.start()]
    received_at = syslog.as_utc(record.received_at)
    header = (
        _device.split_header(prefix, received_at, record.timezone)
        if prefix.strip()
        else _device.Header(None, None, None, "")
    )
    return parse_body(record, text[m.start() :], header)
