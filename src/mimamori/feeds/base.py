"""What every feed format module shares: the entry it yields, the result, and tolerant helpers.

Feed modules are pure: bytes in, entries out, no network and no database (``services.feeds`` fetches and
stores). An entry carries the value as the feed spells it and a type name (``ip``, ``domain``, ``url``,
``sha256`` ...); the services normalise it with ``detection.indicators.values`` and drop what does not
normalise. A bad row is an error string (bounded), never an exception; a document that is not the format
at all raises ``FeedError``, so a malformed download never replaces a feed's last good data.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

MAX_ERRORS = 100  # error strings kept per parse; the rest are only counted
MAX_FIELD = 4096  # characters of one CSV field (csv's own default limit is 128 KiB)


class FeedError(ValueError):
    """The whole document is not in the feed's format (wrong file, truncated JSON, an HTML error page)."""


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One indicator as a feed states it (not yet normalised)."""

    type: str
    value: str
    threat: str = ""
    description: str = ""
    confidence: int | None = None
    tlp: str | None = None
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    expires_at: datetime | None = None


@dataclass(slots=True)
class ParseResult:
    entries: list[FeedEntry] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    error_count: int = 0

    def error(self, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(message[:300])


Options = Mapping[str, str]
Parser = Callable[[bytes, Options], ParseResult]


@dataclass(frozen=True, slots=True)
class FeedFormat:
    """A registered format: its parser and what the provider reads in ``mimamori feeds formats``."""

    name: str
    parse: Parser
    description: str
    url: str = ""  # the feed's public address, when it has one


def text(data: bytes) -> str:
    """Feed bytes as text: UTF-8 (BOM tolerated), undecodable bytes replaced rather than fatal."""
    return data.decode("utf-8-sig", errors="replace")


def comment_free_lines(data: bytes, comments: str = "#") -> Iterator[tuple[int, str]]:
    """``(line number, line)`` of the non-blank lines that do not start with a comment character."""
    for number, line in enumerate(text(data).splitlines(), start=1):
        stripped = line.strip()
        if stripped and stripped[0] not in comments:
            yield number, stripped


def csv_rows(lines: Iterator[tuple[int, str]], delimiter: str = ",") -> Iterator[tuple[int, list[str]]]:
    """CSV rows of (numbered) lines; a row with an over-long field is cut, never an exception."""
    for number, line in lines:
        try:
            row = next(csv.reader(io.StringIO(line[: MAX_FIELD * 16]), delimiter=delimiter))
        except (csv.Error, StopIteration):
            continue
        yield number, [cell.strip()[:MAX_FIELD] for cell in row]


def header_comment_columns(data: bytes) -> list[str]:
    """The column names of abuse.ch CSVs, which put the header in the last ``#`` comment line."""
    columns: list[str] = []
    for line in text(data[:8192]).splitlines():
        stripped = line.strip()
        if not stripped.startswith("#"):
            break
        candidate = stripped.lstrip("#").strip()
        if "," in candidate:
            columns = [c.strip().strip('"') for c in candidate.split(",")]
    return columns


def when(value: object) -> datetime | None:
    """A feed's time stamp as aware UTC: ISO 8601, ``YYYY-MM-DD HH:MM:SS[ UTC]``, a date, epoch seconds."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return _epoch(float(value))
    if not isinstance(value, str):
        return None
    stamp = value.strip()
    if stamp.isascii() and stamp.isdigit():
        return _epoch(float(stamp))
    if stamp.endswith(" UTC"):
        stamp = stamp[:-4]
    try:
        parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _epoch(seconds: float) -> datetime | None:
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def int_or_none(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return max(0, min(100, value))
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return max(0, min(100, int(value.strip())))
    return None


def days(count: int) -> timedelta:
    return timedelta(days=count)
