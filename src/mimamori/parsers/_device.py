"""Pieces shared by the network-device parsers (Yamaha RTX, pfSense, Cisco ASA, PAN-OS, Sophos, CEF, LEEF).

Each of those formats arrives as one syslog line whose header may be BSD, RFC 5424, a relay's prefix or
absent, and whose device clock usually carries no offset (then the sensor's zone, ``record.timezone``,
applies). Keeping header handling, device-time parsing and the small value normalisations (ports, IANA
protocol numbers, MAC notation, URLs) in one place keeps the parsers equal in what they accept. Every
function here raises ``ParseError`` or returns ``None`` for bad input, never anything else.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

from mimamori.domain.models import Event, Fields, RawRecord
from mimamori.errors import ParseError
from mimamori.parsers import syslog

_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
# "Mmm dd[ yyyy] hh:mm:ss[.fff][ ZONE]" (CEF rt, ASA, LEEF default), "yyyy-mm-dd[T ]hh:mm:ss[.f][Z|±hh[:mm]]",
# "yyyy/mm/dd hh:mm:ss" (PAN-OS, Yamaha) and "yyyy:mm:dd-hh:mm:ss" (Sophos UTM).
_TEXT_TIME_RE = re.compile(
    r"([A-Za-z]{3}) {1,2}(\d{1,2})(?: (\d{4}))? (\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(?: ?((?:GMT|UTC)?[+-]\d{2}:?\d{2}|[A-Za-z]{1,5}))?"
)
_NUM_TIME_RE = re.compile(
    r"(\d{4})[-/:](\d{1,2})[-/:](\d{1,2})[T -](\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?"
    r" ?(Z|[+-]\d{2}(?::?\d{2})?|[A-Za-z]{2,5})?"
)
_OFFSET_RE = re.compile(r"([+-])(\d{2}):?(\d{2})?")
_MAC_RE = re.compile(r"[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}")
_ZONE_NAMES = {
    "UTC": UTC,
    "GMT": UTC,
    "Z": UTC,
    "JST": timezone(timedelta(hours=9)),
    "KST": timezone(timedelta(hours=9)),
}
_MAX_INT = 2**63 - 1

# IANA protocol numbers as ECS ``network.transport`` names.
TRANSPORTS = {
    "1": "icmp", "2": "igmp", "4": "ipv4", "6": "tcp", "17": "udp", "41": "ipv6", "47": "gre", "50": "esp",
    "51": "ah", "58": "ipv6-icmp", "89": "ospf", "103": "pim", "112": "vrrp", "132": "sctp",
    "icmp6": "ipv6-icmp", "icmpv6": "ipv6-icmp", "ipv6-icmp": "ipv6-icmp",
}  # fmt: skip
SUCCESS_WORDS = frozenset((
    "accept", "accepted", "allow", "allowed", "pass", "passed", "permit", "permitted", "success",
    "succeeded", "successful", "alert", "detect", "detected", "continue", "override", "log", "notified",
    "monitor", "monitored", "est-allowed",
))  # fmt: skip
FAILURE_WORDS = frozenset((
    "block", "blocked", "deny", "denied", "drop", "dropped", "reject", "rejected", "discard", "discarded",
    "reset", "reset-both", "reset-client", "reset-server", "block-url", "block-ip", "block-continue",
    "block-override", "sinkhole", "failure", "failed", "fail", "prevented", "quarantined", "quarantine",
    "unauthorized",
))  # fmt: skip


class Header(NamedTuple):
    """What a syslog header said: time (aware UTC or ``None``), host, program, and the message after it."""

    timestamp: datetime | None
    hostname: str | None
    app_name: str | None
    message: str


@lru_cache(maxsize=64)
def zone(name: str) -> tzinfo:
    """The sensor's IANA zone; a name that is not one is a ``ParseError`` (misconfigured sensor)."""
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError) as exc:
        raise ParseError(f"unknown time zone {name[:64]!r}") from exc


def localize(ts: datetime, tz_name: str) -> datetime:
    """Read a naive device-clock time in the sensor's zone and return it as aware UTC."""
    try:
        return ts.replace(tzinfo=zone(tz_name)).astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise ParseError(f"timestamp out of range: {ts!r}") from exc


def _bsd_like(rest: str) -> bool:
    """True when the header timestamp carried no offset (BSD, or RFC 3339 without zone)."""
    if rest[:3].lower() in _MONTHS:
        return True
    if rest[:4].isdigit() and rest[4:5] == " ":
        return True
    token = rest.split(" ", 1)[0]
    return "T" in token and not (token.endswith("Z") or token[-6:-5] in ("+", "-"))


def split_header(text: str, received_at: datetime, tz_name: str) -> Header:
    """Strip any syslog header off ``text``; a header that cannot be read leaves the line as the message.

    Header timestamps without an offset are device-clock times and are read in ``tz_name``.
    """
    try:
        pri, rest = syslog.split_pri(text)
    except ParseError:
        return Header(None, None, None, text)
    try:
        env = syslog.envelope_from_text(text, received_at=received_at)
    except ParseError:
        return Header(None, None, None, rest)
    ts = env.timestamp
    if ts is not None and not (pri is not None and rest.startswith("1 ")) and _bsd_like(rest):
        ts = localize(ts.replace(tzinfo=None), tz_name)
    return Header(ts, env.hostname, env.app_name, env.message)


def _tz_of(token: str | None, tz_name: str) -> tzinfo:
    if not token:
        return zone(tz_name)
    if token[:3] in ("GMT", "UTC") and len(token) > 3:
        token = token[3:]
    known = _ZONE_NAMES.get(token.upper())
    if known is not None:
        return known
    m = _OFFSET_RE.fullmatch(token)
    if m is None:
        return zone(tz_name)
    sign, hours, minutes = m.group(1), int(m.group(2)), int(m.group(3) or 0)
    if hours > 23 or minutes > 59:
        raise ParseError(f"time zone offset out of range: {token[:16]!r}")
    offset = timedelta(hours=hours, minutes=minutes)
    return timezone(-offset if sign == "-" else offset)


def _build(parts: tuple[int, int, int, int, int, int], fraction: str | None, tz: tzinfo) -> datetime | None:
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        return datetime(*parts, micro, tzinfo=tz).astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def epoch(value: str) -> datetime | None:
    """Epoch seconds or milliseconds (chosen by magnitude) to aware UTC; ``None`` when it is not one."""
    if not (0 < len(value) <= 16 and value.isascii() and value.isdigit()):
        return None
    number = int(value)
    seconds, millis = (number, 0) if number < 10**11 else divmod(number, 1000)
    try:
        return datetime.fromtimestamp(seconds, UTC).replace(microsecond=millis * 1000)
    except (OverflowError, OSError, ValueError):
        return None


def device_time(value: str, tz_name: str, received_at: datetime | None = None) -> datetime | None:
    """Parse the date formats devices write in their bodies; ``None`` when ``value`` is none of them.

    A time without an offset or a known zone name is read in the sensor's zone; a time without a year
    takes the year that puts it nearest before ``received_at``.
    """
    value = value.strip()
    if not value or len(value) > 48:
        return None
    if value[0].isdigit():
        m = _NUM_TIME_RE.fullmatch(value)
        if m is None:
            return epoch(value)
        y, mo, d, h, mi, s, frac, tz = m.groups()
        return _build((int(y), int(mo), int(d), int(h), int(mi), int(s)), frac, _tz_of(tz, tz_name))
    m = _TEXT_TIME_RE.fullmatch(value)
    if m is None:
        return None
    mon, d, y, h, mi, s, frac, tz = m.groups()
    month = _MONTHS.get(mon.lower())
    if month is None:
        return None
    year = int(y) if y else (received_at or datetime.now(UTC)).year
    ts = _build((year, month, int(d), int(h), int(mi), int(s)), frac, _tz_of(tz, tz_name))
    if ts is not None and not y and received_at is not None and ts - received_at > timedelta(days=1):
        ts = _build((year - 1, month, int(d), int(h), int(mi), int(s)), frac, _tz_of(tz, tz_name))
    return ts


def to_int(value: str) -> int | None:
    """A non-negative decimal integer below 2^63, or ``None``."""
    if 0 < len(value) <= 19 and value.isascii() and value.isdigit():
        number = int(value)
        return number if number <= _MAX_INT else None
    return None


def to_port(value: str) -> int | None:
    number = to_int(value)
    return number if number is not None and number <= 65535 else None


def transport(value: str) -> str:
    """Protocol name or IANA number to the ECS ``network.transport`` spelling (lower-case)."""
    low = value.lower()
    return TRANSPORTS.get(low, low)


def outcome(word: str) -> str | None:
    low = word.lower()
    if low in SUCCESS_WORDS:
        return "success"
    if low in FAILURE_WORDS:
        return "failure"
    return None


def mac(value: str) -> str:
    """ECS notation: upper-case, hyphen-separated; anything else kept as sent."""
    return value.upper().replace(":", "-") if _MAC_RE.fullmatch(value) else value


def is_mac(value: str) -> bool:
    return _MAC_RE.fullmatch(value) is not None


def domain(value: str) -> str:
    return value.rstrip(".").lower()


def set_url(fields: Fields, url: str) -> None:
    """``url.original`` as sent, with ``url.domain``/``url.path``/``url.query`` split out of it."""
    fields["url.original"] = url
    rest = url
    scheme_end = url.find("://")
    if scheme_end > 0 or (scheme_end < 0 and not url.startswith("/") and "." in url.split("/", 1)[0]):
        rest = url[scheme_end + 3 :] if scheme_end > 0 else url
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
        if host:
            fields["url.domain"] = domain(host)
        rest = rest[host_end:]
    path, _, query = rest.partition("#")[0].partition("?")
    if path:
        fields["url.path"] = path
    if query:
        fields["url.query"] = query


def make_event(record: RawRecord, dataset: str, fields: Fields, timestamp: datetime | None) -> Event:
    return Event(
        timestamp=timestamp or syslog.as_utc(record.received_at),
        tenant_id=record.tenant_id,
        sensor_id=record.sensor_id,
        dataset=dataset,
        fields=fields,
    )
