"""Syslog envelopes (RFC 5424 and RFC 3164/BSD) and the generic ``syslog`` dataset.

``parse_envelope`` is shared by the vendor parsers whose logs arrive over syslog: it splits a line into
header fields and the message text without interpreting the message. ``parse`` turns the envelope into
an Event with ``log.syslog.*`` fields for devices that have no dedicated parser.

Every regex here is anchored and bounded so that hostile input (1 MB lines, unbalanced brackets) stays
linear in time; anything that breaks the grammar raises ``ParseError`` and nothing else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mimamori.domain.models import DEFAULT_TIMEZONE, Event, Fields, RawRecord
from mimamori.errors import ParseError

FORMAT = "syslog"

_PRI_RE = re.compile(r"<(\d{1,3})>")
# RFC 5424 HEADER after PRI: VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP
_HEADER_5424_RE = re.compile(r"(\d{1,2}) (\S{1,64}) (\S{1,255}) (\S{1,48}) (\S{1,128}) (\S{1,32})(?: |$)")
# One SD-ELEMENT: [SD-ID *(SP PARAM-NAME="PARAM-VALUE")]; values may contain \" \\ \] escapes.
_SD_ELEMENT_RE = re.compile(r'\[([^\s\]="]{1,32})((?: [^\s\]="]{1,32}="(?:[^"\\]++|\\.)*+")*+)\]')
_SD_PARAM_RE = re.compile(r' ([^\s\]="]{1,32})="((?:[^"\\]++|\\.)*+)"')
_SD_UNESCAPE_RE = re.compile(r'\\(["\\\]])')
# RFC 3164 / BSD timestamp "Mmm dd hh:mm:ss" (day may be space-padded), optionally with a leading year
# or fractional seconds as some relays add them; and an RFC 3339 timestamp as rsyslog forwards it.
_BSD_TS_RE = re.compile(
    r"(?:(\d{4}) )?(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) {1,2}(\d{1,2}) "
    r"(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?: |$)"
)
_ISO_TS_RE = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})?)(?: |$)")
_HOST_RE = re.compile(r"([^\s:\[\]]{1,255}) ")
_TAG_RE = re.compile(r"([^\s:\[\]]{1,48})(?:\[([^\s\]]{1,128})\])?: ?")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, 1)}
_MAX_PRI = 191


@dataclass(frozen=True, slots=True)
class Envelope:
    """The syslog header of one line; ``None`` where the sender sent no value (NILVALUE or BSD gaps)."""

    facility: int | None
    severity: int | None
    timestamp: datetime | None
    hostname: str | None
    app_name: str | None
    procid: str | None
    msgid: str | None
    structured_data: dict[str, dict[str, str]] = field(default_factory=dict)
    message: str = ""


def decode(data: bytes) -> str:
    """Bytes to text for every parser: invalid UTF-8 replaced, NUL replaced (databases refuse it)."""
    text = data.decode("utf-8", "replace")
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    return text.rstrip("\r\n")


def split_pri(text: str) -> tuple[int | None, str]:
    """Return the PRI value (0-191) and the rest of the line; ``None`` when the line has no PRI."""
    m = _PRI_RE.match(text)
    if m is None:
        return None, text
    pri = int(m.group(1))
    if pri > _MAX_PRI:
        raise ParseError(f"syslog PRI out of range: {pri}")
    return pri, text[m.end() :]


def parse_rfc3339(value: str, zone: tzinfo = UTC) -> datetime:
    """Parse an RFC 3339 timestamp to aware UTC; one without offset is read in ``zone`` (default UTC)."""
    try:
        ts = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ParseError(f"bad timestamp: {value[:64]!r}") from exc
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=zone)
    try:
        return ts.astimezone(UTC)
    except OverflowError as exc:
        raise ParseError(f"timestamp out of range: {value[:64]!r}") from exc


def as_utc(ts: datetime) -> datetime:
    """Make ``ts`` aware UTC; a naive value is taken as UTC (callers should not send one)."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _nil(value: str) -> str | None:
    return None if value == "-" else value


def _structured_data(text: str, pos: int) -> tuple[dict[str, dict[str, str]], int]:
    """Parse STRUCTURED-DATA starting at ``pos``; return the elements and the position after them."""
    if text.startswith("-", pos):
        return {}, pos + 1
    elements: dict[str, dict[str, str]] = {}
    while True:
        m = _SD_ELEMENT_RE.match(text, pos)
        if m is None:
            if not elements:
                raise ParseError("malformed RFC 5424 structured data")
            return elements, pos
        params = elements.setdefault(m.group(1), {})
        for name, value in _SD_PARAM_RE.findall(m.group(2)):
            params[name] = _SD_UNESCAPE_RE.sub(r"\1", value) if "\\" in value else value
        pos = m.end()


def _parse_5424(text: str, facility: int | None, severity: int | None) -> Envelope:
    m = _HEADER_5424_RE.match(text)
    if m is None:
        raise ParseError("malformed RFC 5424 header")
    version, ts, host, app, procid, msgid = m.groups()
    if version != "1":
        raise ParseError(f"unsupported syslog version {version}")
    sd, pos = _structured_data(text, m.end())
    if pos < len(text):
        if text[pos] != " ":
            raise ParseError("RFC 5424 structured data not followed by a space")
        pos += 1
    message = text[pos:]
    if message.startswith("\ufeff"):
        message = message[1:]
    return Envelope(
        facility=facility,
        severity=severity,
        timestamp=None if ts == "-" else parse_rfc3339(ts),
        hostname=_nil(host),
        app_name=_nil(app),
        procid=_nil(procid),
        msgid=_nil(msgid),
        structured_data=sd,
        message=message,
    )


@lru_cache(maxsize=256)
def device_zone(name: str | None) -> tzinfo:
    """The ``ZoneInfo`` of a sensor's clock; unknown or missing names fall back to Japan time (the default
    of sensor registration, which validates the name)."""
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def _bsd_timestamp(m: re.Match[str], received_at: datetime, zone: tzinfo = UTC) -> datetime:
    """Build the BSD timestamp in the device's ``zone``; without a year, take the year that puts it
    nearest before receipt."""
    year_s, mon, day, hh, mm, ss = m.groups()
    year = int(year_s) if year_s else received_at.year
    try:
        ts = datetime(year, _MONTHS[mon], int(day), int(hh), int(mm), int(ss), tzinfo=zone).astimezone(UTC)
        # A December line received early in January belongs to the previous year.
        if not year_s and ts - received_at > timedelta(days=1):
            ts = ts.replace(year=year - 1)
    except ValueError as exc:
        raise ParseError(f"bad BSD timestamp: {m.group(0)!r}") from exc
    return ts


def _parse_3164(
    text: str, facility: int | None, severity: int | None, received_at: datetime, zone: tzinfo = UTC
) -> Envelope:
    timestamp: datetime | None = None
    pos = 0
    m = _BSD_TS_RE.match(text)
    if m is not None:
        timestamp = _bsd_timestamp(m, received_at, zone)
        pos = m.end()
    else:
        iso = _ISO_TS_RE.match(text)
        if iso is not None:
            timestamp = parse_rfc3339(iso.group(1), zone)
            pos = iso.end()
    hostname = app_name = procid = None
    if timestamp is not None:
        # A host name follows the timestamp unless the sender went straight to "tag[pid]:".
        host = _HOST_RE.match(text, pos)
        if host is not None and _TAG_RE.match(text, pos) is None:
            hostname = host.group(1)
            pos = host.end()
    tag = _TAG_RE.match(text, pos)
    if tag is not None:
        app_name, procid = tag.group(1), tag.group(2)
        pos = tag.end()
    return Envelope(facility, severity, timestamp, hostname, app_name, procid, None, {}, text[pos:])


def parse_envelope(data: bytes, *, received_at: datetime | None = None, tz: tzinfo = UTC) -> Envelope:
    """Split a syslog line into its header and message.

    RFC 5424 is recognised by ``<PRI>1 ``; everything else is read as RFC 3164/BSD, with or without PRI.
    BSD timestamps carry no year and no zone: the year comes from ``received_at`` (default: now) and the
    time is read in ``tz``, the sending device's clock (``device_zone(record.timezone)``; UTC if not given).
    """
    return envelope_from_text(decode(data), received_at=received_at, tz=tz)


def envelope_from_text(text: str, *, received_at: datetime | None = None, tz: tzinfo = UTC) -> Envelope:
    """``parse_envelope`` for already decoded text (vendor parsers decode once)."""
    pri, rest = split_pri(text)
    facility = severity = None
    if pri is not None:
        facility, severity = divmod(pri, 8)
        if rest.startswith("1 "):
            return _parse_5424(rest, facility, severity)
    return _parse_3164(rest, facility, severity, as_utc(received_at or datetime.now(UTC)), tz)


def parse(record: RawRecord) -> Event | None:
    """Parse one syslog line into a ``syslog`` Event; an empty line carries no event."""
    text = decode(record.data)
    if not text.strip():
        return None
    env = envelope_from_text(text, received_at=record.received_at, tz=device_zone(record.timezone))
    fields: Fields = {"message": env.message}
    if env.facility is not None and env.severity is not None:
        fields["log.syslog.facility.code"] = env.facility
        fields["log.syslog.severity.code"] = env.severity
    if env.hostname is not None:
        fields["host.hostname"] = env.hostname
    if env.app_name is not None:
        fields["log.syslog.appname"] = env.app_name
    if env.procid is not None:
        fields["log.syslog.procid"] = env.procid
    if env.msgid is not None:
        fields["log.syslog.msgid"] = env.msgid
    for sd_id, params in env.structured_data.items():
        for name, value in params.items():
            fields[f"log.syslog.structured_data.{sd_id}.{name}"] = value
    return Event(
        timestamp=env.timestamp or as_utc(record.received_at),
        tenant_id=record.tenant_id,
        sensor_id=record.sensor_id,
        dataset="syslog",
        fields=fields,
    )
