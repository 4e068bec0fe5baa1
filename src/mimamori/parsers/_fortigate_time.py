"""FortiGate event times: the epoch ``eventtime``/``logtime`` (s, ms, µs or ns by magnitude), else
``date`` + ``time`` in ``tz`` or, without it, in the sensor's zone.

Split out of ``fortigate`` (which calls ``timestamp``); ``_speedups.fortigate_event`` does the same in C
for the common forms and leaves the rest here.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from mimamori.errors import ParseError
from mimamori.parsers._device import to_int as _to_int
from mimamori.parsers._device import zone as _zone

__all__ = ["timestamp"]

_TZ_RE = re.compile(r"([+-])(\d{2}):?(\d{2})")
_DATE_RE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_TIME_RE = re.compile(r"(\d{1,2}): ?(\d{1,2}):(\d{1,2})")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _epoch(value: str) -> datetime | None:
    """FortiOS ``eventtime``: epoch in s, ms, µs or ns depending on the version; detect by magnitude."""
    number = _to_int(value)
    if number is None:
        return None
    if number < 10**11:
        micros = number * 10**6
    elif number < 10**14:
        micros = number * 1000
    elif number < 10**17:
        micros = number
    else:
        micros = number // 1000
    try:
        return _EPOCH + timedelta(microseconds=micros)
    except OverflowError:  # past year 9999
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


def timestamp(pairs: dict[str, str], zone_name: str) -> datetime:
    """Prefer the epoch ``eventtime`` (or FortiOS 5 ``logtime``); else ``date`` + ``time`` in ``tz``, or
    without ``tz`` (FortiOS before 6.2 wrote none) in the sensor's zone ``zone_name``: the device's
    clock is local time."""
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
    tz = _tz(pairs["tz"]) if "tz" in pairs else _zone(zone_name)
    (year, month, day), (hour, minute, second) = map(int, date.groups()), map(int, clock.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=tz).astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise ParseError(f"bad date/time {pairs['date'][:16]!r} {pairs['time'][:16]!r}") from exc
