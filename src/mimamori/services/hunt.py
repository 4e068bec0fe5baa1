"""Offline hunting: Sigma rules over EVTX and JSON-lines files, without the database (``mimamori hunt``).

``hunt(paths, rules)`` loads and compiles the rules once, walks the paths with the ingest readers (files,
directories, archives; EVTX decoded by the same reader the importer uses), parses each record with the
EVTX parser, or for JSON lines the EVTX parser when the line is an ``evtx_dump`` document (``{"Event":
...}``) and the ECS parser otherwise (Winlogbeat / Elastic Agent), and matches every event. Each match
is handed to ``on_match`` as a ``HuntMatch``; the ``HuntReport`` counts per rule, like Hayabusa's or
Zircolite's summary. A file or record that cannot be read is counted and reported, never fatal.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mimamori.detection.sigma import CompiledRuleset, SigmaMatch, compile_ruleset, load_rules
from mimamori.domain.models import DEFAULT_TIMEZONE, Event, FieldValue, RawRecord
from mimamori.errors import ParseError, ValidationError
from mimamori.ingest import readers
from mimamori.ingest.readers.directory import files as directory_files
from mimamori.ingest.readers.source import ByteProgress
from mimamori.parsers import ecs, evtx

__all__ = ["HuntMatch", "HuntReport", "hunt", "load_ruleset", "total_bytes"]

Progress = Callable[[int, str], None]  # (bytes of the inputs read so far, what is being read)
_RECEIVED_AT = datetime(1970, 1, 1, tzinfo=UTC)  # no receiver: EVTX and ECS carry their own times
_LEVEL_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "informational": 4}


@dataclass(frozen=True, slots=True)
class HuntMatch:
    """One rule matching one event of one file."""

    rule_id: str
    rule_title: str
    level: str
    tags: tuple[str, ...]
    file: str  # the file's base name (an archive member's own name)
    origin: str  # where it was read, for people (``logs/a.zip!b.evtx``)
    event_record_id: int | None
    timestamp: str
    computer: str | None
    channel: str | None
    event_id: int | None
    matched: dict[str, FieldValue]

    def to_json(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "rule_title": self.rule_title,
            "level": self.level,
            "tags": list(self.tags),
            "file": self.file,
            "event_record_id": self.event_record_id,
            "timestamp": self.timestamp,
            "computer": self.computer,
            "channel": self.channel,
            "event_id": self.event_id,
            "matched": self.matched,
            "origin": self.origin,
        }


@dataclass(slots=True)
class HuntReport:
    """Totals of one hunt, and the matches per rule: ``counts[(rule_id, title, level)]``."""

    rules: int = 0
    rules_skipped: list[tuple[str, str]] = field(default_factory=list)
    files: int = 0
    events: int = 0
    unparsed: int = 0
    matches: int = 0
    errors: list[str] = field(default_factory=list)
    counts: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    load_seconds: float = 0.0
    seconds: float = 0.0

    def summary(self) -> list[tuple[str, str, str, int]]:
        """(rule id, title, level, count), most severe level first, then most frequent."""
        rows = [(rid, title, level, count) for (rid, title, level), count in self.counts.items()]
        return sorted(rows, key=lambda r: (_LEVEL_ORDER.get(r[2], 5), -r[3], r[1]))


def total_bytes(paths: Iterable[Path]) -> int:
    """Bytes of every file the hunt will open (the progress bar's total)."""
    total = 0
    for path in paths:
        for target in directory_files(path) if path.is_dir() else (path,):
            try:
                total += target.stat().st_size
            except OSError:
                continue
    return total


def load_ruleset(rules: Path) -> tuple[CompiledRuleset, list[tuple[str, str]], int]:
    """Load and compile the rules under ``rules``: (ruleset, skipped with reasons, files read)."""
    if not rules.exists():
        raise ValidationError(f"no rules at {rules}")
    loaded = load_rules(rules)
    ruleset = compile_ruleset(loaded.rules)
    return ruleset, [*loaded.skipped, *ruleset.skipped], loaded.files


def _parse(data: bytes, fmt: str | None) -> Event | None:
    record = RawRecord("hunt", "hunt", fmt or "ecs", data, _RECEIVED_AT, timezone=DEFAULT_TIMEZONE)
    if fmt == readers.EVTX_FORMAT or (fmt is None and b'"Event"' in data[:256]):
        return evtx.parse(record)
    return ecs.parse(record)


def _base_name(origin: str) -> str:
    return os.path.basename(origin.rpartition("!")[2].rstrip("/")) or origin


def _record_id(fields: dict[str, FieldValue]) -> int | None:
    value = fields.get("winlog.record_id")
    return value if type(value) is int else None


def _text(fields: dict[str, FieldValue], name: str) -> str | None:
    value = fields.get(name)
    return value if type(value) is str else None


def _found(event: Event, match: SigmaMatch, leaf: readers.Leaf) -> HuntMatch:
    rule = match.rule
    event_id = event.fields.get("winlog.event_id")
    return HuntMatch(
        rule_id=rule.id,
        rule_title=rule.title,
        level=rule.level,
        tags=rule.tags,
        file=_base_name(leaf.origin),
        origin=leaf.origin,
        event_record_id=_record_id(event.fields),
        timestamp=event.timestamp.isoformat(),
        computer=_text(event.fields, "winlog.computer_name") or _text(event.fields, "host.name"),
        channel=_text(event.fields, "winlog.channel"),
        event_id=event_id if type(event_id) is int else None,
        matched=match.matched,
    )


def hunt(
    paths: Sequence[Path],
    rules: Path | CompiledRuleset,
    *,
    on_match: Callable[[HuntMatch], None] | None = None,
    progress: Progress | None = None,
    every: int = 2000,
) -> HuntReport:
    """Match every event under ``paths`` against the rules (a directory/zip, or a compiled ruleset)."""
    report = HuntReport()
    started = time.perf_counter()
    if isinstance(rules, CompiledRuleset):
        ruleset = rules
    else:
        ruleset, report.rules_skipped, _ = load_ruleset(rules)
    report.rules = len(ruleset.rules)
    report.load_seconds = time.perf_counter() - started
    started = time.perf_counter()
    advance = ByteProgress(progress)
    for item in readers.walk(paths):
        if isinstance(item, readers.Failure):
            report.errors.append(f"{item.origin}: {item.message}")
            continue
        report.files += 1
        advance(item)
        fmt = item.implies
        try:
            for count, data in enumerate(item.open(0), 1):
                if count % every == 0:
                    advance(item)
                if not isinstance(data, bytes):  # an oversize record
                    report.unparsed += 1
                    continue
                try:
                    event = _parse(data, fmt)
                except ParseError:
                    report.unparsed += 1
                    continue
                if event is None:
                    continue
                report.events += 1
                for match in ruleset.match(event.fields):
                    report.matches += 1
                    report.counts[(match.rule.id, match.rule.title, match.rule.level)] += 1
                    if on_match is not None:
                        on_match(_found(event, match, item))
        except readers.READ_ERRORS as exc:
            report.errors.append(f"{item.origin}: {readers.reason(exc)}")
        advance(item)
    report.seconds = time.perf_counter() - started
    return report
