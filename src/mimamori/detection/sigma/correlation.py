"""Sigma correlation rules (event_count, value_count, temporal, temporal_ordered) over an event stream.

The base-rule engine tells this one which rules matched an event (their ids and names), the event
time and how to read a Sigma field; the correlation engine keeps windows per tenant and group-by
values and returns the correlations that fire. Semantics, chosen where the specification is silent:

* **Time** is event time, never the wall clock. Windows are closed intervals of ``timespan``.
* **Rising conditions** (``gt``/``gte``, boolean expressions without ``not``) slide: a finding comes
  on the event that makes some window ``[end - timespan, end]`` satisfy the condition. The group then
  stays quiet until a window ending more than ``timespan`` after that one satisfies it again, so one
  sustained burst gives one finding per timespan and no event counts towards two findings.
* **Closing conditions** (``lt``/``lte``/``eq``/``neq``, expressions with ``not``) can only be decided
  once the window is over, since one more event may falsify them. Their window is fixed: it opens at
  a group's first event and closes at ``first + timespan``; it is judged when a later event of the same
  group arrives or when ``flush(now)`` passes its end. A group with no event has no window, so "fewer
  than N" means "between 1 and N-1 events in the window".
* **Out of order**: an event up to ``timespan + lateness`` older than the newest of its group still
  counts (sliding windows: it also completes windows ending at later events); anything older is
  dropped and counted in ``stats["late"]``. Offline hunting over several files should feed events in
  time order.
* **Group-by**: an event lacking a group-by field (after aliases) does not count
  (``stats["missing_field"]``), as in the SIEM queries backends generate. Values compare exactly.
* **Counting**: an event matching several rules of one count correlation counts once (per rule: temporal).
* **Chains**: a correlation referencing another one receives the inner finding as an event at the
  inner finding's last time, with the inner group-by values as its fields.
* **generate**: pySigma reads ``generate`` inside the ``correlation`` section (default false). A rule
  (base or correlation) referenced only by correlations with ``generate: false`` produces no finding
  of its own: ``non_generating()`` lists base rules for the detector; an inner correlation's findings
  are fed to the outer one but not returned.
* **Bounds**: at most ``max_groups`` groups and ``max_entries`` stored entries (least recently updated
  groups are evicted, ``stats["evicted"]``; an evicted closing window is not judged). A group keeps
  entries within ``timespan + lateness`` of its newest event: event_count/value_count at most
  threshold + 2 (the count only matters up to there), value_count and temporal one per distinct value
  or rule (its newest sighting), temporal_ordered 16 per rule (64 at least). Long values: prefix + digest.
  A threshold above ``max_entries_per_group`` is refused (``skipped``).
* **Not supported** (listed in ``skipped`` with the reason): value_sum/value_avg/value_percentile/
  value_median (not in specification 2.0), boolean conditions on temporal_ordered. Ranges such as
  ``gt: 100`` + ``lte: 200`` are refused by pySigma 2.0.1 itself when the rule is read; so is a
  ``generate`` outside the ``correlation`` section (pySigma drops it, the rule counts as not generating).
"""

from __future__ import annotations

import heapq
import logging
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from mimamori.detection.sigma.correlation_compile import (
    CorrelationSpec,
    Mode,
    UnsupportedCorrelationError,
    compile_correlation,
    non_generating,
    normalise,
)
from mimamori.detection.sigma.correlation_snapshot import dump, load
from mimamori.detection.sigma.correlation_state import (
    Entry,
    Group,
    GroupKey,
    Window,
    insert,
    measure,
    prune,
    rising_window,
)

if TYPE_CHECKING:
    from sigma.correlations import SigmaCorrelationRule

    from mimamori.domain.models import FieldValue

log = logging.getLogger(__name__)

MAX_CHAIN_DEPTH = 8
"""Correlations of correlations deeper than this are not followed (also stops reference cycles)."""
MAX_REPORTED_VALUES = 32
"""A value_count finding lists at most this many of the distinct values it counted."""

ValueOf = Callable[[str], "FieldValue | None"]


@dataclass(frozen=True, slots=True)
class CorrelationMatch:
    """One firing of a correlation rule for one tenant and group.

    ``id`` is the correlation's id (or name, or title when it has neither); ``rules`` the references of
    the rules whose events are in the window; ``values`` the distinct values a value_count counted
    (at most MAX_REPORTED_VALUES); ``first``/``last`` the times of the window's first and last event.
    """

    id: str
    title: str
    level: str
    tags: tuple[str, ...]
    type: str
    tenant_id: str
    group: dict[str, str]
    count: int
    values: tuple[str, ...]
    first: datetime
    last: datetime
    rules: tuple[str, ...]


def _epoch(moment: datetime) -> float:
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).timestamp()


def _moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class CorrelationEngine:
    """Evaluates compiled correlation rules over the matches of the base rules, per tenant and group."""

    def __init__(
        self,
        correlations: Sequence[SigmaCorrelationRule],
        *,
        max_groups: int = 100_000,
        max_entries: int = 1_000_000,
        max_entries_per_group: int = 10_000,
        lateness: timedelta = timedelta(minutes=1),
    ) -> None:
        self.max_groups = max_groups
        self.max_entries = max_entries
        self.lateness = lateness.total_seconds()
        self.specs: list[CorrelationSpec] = []
        self.skipped: dict[str, str] = {}
        for rule in correlations:
            try:
                spec = compile_correlation(rule, max_entries_per_group=max_entries_per_group)
            except UnsupportedCorrelationError as exc:
                self.skipped[str(rule.id or rule.name or rule.title)] = str(exc)
                log.warning("Sigma correlation %r skipped: %s", rule.title, exc)
                continue
            if any(s.key == spec.key for s in self.specs):
                spec = replace(spec, key=f"{spec.key}#{len(self.specs)}")
            self.specs.append(spec)
        self._index: dict[str, list[tuple[int, int]]] = {}
        for number, spec in enumerate(self.specs):
            for slot_number, slot in enumerate(spec.slots):
                for key in slot.keys:
                    self._index.setdefault(key, []).append((number, slot_number))
        self._silent_keys = non_generating(self.specs)
        self._silent = {n for n, spec in enumerate(self.specs) if spec.keys & self._silent_keys}
        self._spec_keys = set().union(*(spec.keys for spec in self.specs))
        self._groups: OrderedDict[GroupKey, Group] = OrderedDict()
        self._deadlines: list[tuple[float, int, str, tuple[str, ...]]] = []
        self._entries = 0
        self.stats: dict[str, int] = dict.fromkeys(
            ("fired", "late", "missing_field", "evicted", "value_errors", "expired"), 0
        )

    # -- what the detector needs to know -------------------------------------------------------------
    def referenced(self) -> set[str]:
        """Rule ids/names some correlation needs: the detector passes only these to ``observe``."""
        return set(self._index) - self._spec_keys

    def non_generating(self) -> set[str]:
        """Ids/names of base rules that must not produce findings of their own (``generate: false``)."""
        return self._silent_keys - self._spec_keys

    @property
    def group_count(self) -> int:
        return len(self._groups)

    # -- the stream ------------------------------------------------------------------------------------
    def observe(
        self, tenant_id: str, rule_keys: Sequence[str], timestamp: datetime, value: ValueOf
    ) -> list[CorrelationMatch]:
        """Account for one event that matched the given base rules; returns the correlations it fires."""
        fired: list[tuple[int, CorrelationMatch]] = []
        self._feed(tenant_id, rule_keys, _epoch(timestamp), value, fired=fired, depth=0)
        return [match for number, match in fired if number not in self._silent]

    def flush(self, now: datetime) -> list[CorrelationMatch]:
        """Judge the fixed windows that ended before ``now`` (event time) and free idle groups.

        Call it periodically with the stream's event-time watermark minus the tolerated lateness
        (or the wall clock, live); ``lt``/``lte``/``eq``/``neq`` correlations fire from here.
        """
        limit = _epoch(now)
        fired: list[tuple[int, CorrelationMatch]] = []
        while self._deadlines and self._deadlines[0][0] < limit:
            end, number, tenant, values = heapq.heappop(self._deadlines)
            key = (number, tenant, values)
            group = self._groups.get(key)
            spec = self.specs[number]
            if group is None or group.anchor + spec.seconds != end:
                continue  # stale deadline: the window was already judged by a later event or evicted
            match = self._judge_closed(number, tenant, values, group)
            self._drop(key)
            if match is not None:
                self._emit(number, match, fired, 0)
        idle: list[GroupKey] = []
        for key, group in self._groups.items():
            spec = self.specs[key[0]]
            if spec.mode is Mode.CLOSING:
                continue
            if group.newest + spec.seconds + self.lateness >= limit:
                break  # best effort: groups are in update order, the rest were most likely touched later
            idle.append(key)
        for key in idle:
            self._drop(key)
        self.stats["expired"] += len(idle)
        return [match for number, match in fired if number not in self._silent]

    def _feed(
        self,
        tenant: str,
        rule_keys: Iterable[str],
        at: float,
        value: ValueOf,
        *,
        fired: list[tuple[int, CorrelationMatch]],
        depth: int,
    ) -> None:
        hits: dict[int, set[int]] = {}
        for key in rule_keys:
            for number, slot_number in self._index.get(key, ()):
                hits.setdefault(number, set()).add(slot_number)
        cache: dict[str, str | None] = {}
        for number, slots in hits.items():
            spec = self.specs[number]
            counted: set[tuple[str, ...]] = set()
            for slot_number in sorted(slots):
                slot = spec.slots[slot_number]
                group = tuple(self._read(value, field, cache) for field in slot.fields)
                counted_value = self._counted(slot.value_fields, value, cache)
                if None in group or counted_value is None:
                    self.stats["missing_field"] += 1
                    continue
                values = tuple(v for v in group if v is not None)
                if spec.type in ("event_count", "value_count"):
                    if values in counted:
                        continue  # one event counts once per group
                    counted.add(values)
                match = self._apply(number, tenant, values, (at, slot_number, counted_value))
                if match is not None:
                    self._emit(number, match, fired, depth)

    def _emit(
        self, number: int, match: CorrelationMatch, fired: list[tuple[int, CorrelationMatch]], depth: int
    ) -> None:
        self.stats["fired"] += 1
        fired.append((number, match))
        keys = self.specs[number].keys
        if keys and depth < MAX_CHAIN_DEPTH:
            group = match.group
            self._feed(match.tenant_id, keys, _epoch(match.last), group.get, fired=fired, depth=depth + 1)

    def _read(self, value: ValueOf, field: str, cache: dict[str, str | None]) -> str | None:
        if field not in cache:
            try:
                cache[field] = normalise(value(field))
            except Exception:  # a lookup bug on a hostile event must not stop detection
                self.stats["value_errors"] += 1
                cache[field] = None
        return cache[field]

    def _counted(self, fields: tuple[str, ...], value: ValueOf, cache: dict[str, str | None]) -> str | None:
        if not fields:
            return ""
        parts = [self._read(value, field, cache) for field in fields]
        if any(p is None for p in parts):
            return None
        return normalise("\x1e".join(p for p in parts if p is not None))

    def _apply(
        self, number: int, tenant: str, values: tuple[str, ...], entry: Entry
    ) -> CorrelationMatch | None:
        spec = self.specs[number]
        key = (number, tenant, values)
        at = entry[0]
        group = self._groups.get(key)
        if group is None:
            group = Group(newest=at, anchor=at)
            self._groups[key] = group
            if spec.mode is Mode.CLOSING:
                self._push_deadline(at + spec.seconds, number, tenant, values)
        else:
            self._groups.move_to_end(key)
        match: CorrelationMatch | None = None
        if spec.mode is Mode.RISING:
            if at < group.newest - spec.seconds - self.lateness:
                self.stats["late"] += 1
                return None
            self._entries += insert(spec, group, entry)
            group.newest = max(group.newest, at)
            self._entries -= prune(group, group.newest - spec.seconds - self.lateness)
            window = rising_window(spec, group, at)
            if window is not None:
                group.quiet_until = window.last + spec.seconds
                match = self._match(spec, tenant, values, window)
        else:
            if at > group.anchor + spec.seconds:
                match = self._judge_closed(number, tenant, values, group)
                self._entries -= len(group.entries)
                group.entries.clear()
                group.anchor = at
                self._push_deadline(at + spec.seconds, number, tenant, values)
            elif at < group.anchor - self.lateness:
                self.stats["late"] += 1
                return None
            self._entries += insert(spec, group, entry)
            group.newest = max(group.newest, at)
        self._evict()
        return match

    def _push_deadline(self, end: float, number: int, tenant: str, values: tuple[str, ...]) -> None:
        heapq.heappush(self._deadlines, (end, number, tenant, values))
        if len(self._deadlines) > 2 * len(self._groups) + 1024:  # stale deadlines pile up without flush()
            self._rebuild_deadlines()

    def _rebuild_deadlines(self) -> None:
        self._deadlines = [
            (group.anchor + self.specs[key[0]].seconds, *key)
            for key, group in self._groups.items()
            if self.specs[key[0]].mode is Mode.CLOSING
        ]
        heapq.heapify(self._deadlines)

    def _judge_closed(
        self, number: int, tenant: str, values: tuple[str, ...], group: Group
    ) -> CorrelationMatch | None:
        spec = self.specs[number]
        if not group.entries:
            return None
        window = measure(spec, group.entries)
        if not spec.holds(window.count, window.slots):
            return None
        return self._match(spec, tenant, values, window)

    def _match(
        self, spec: CorrelationSpec, tenant: str, values: tuple[str, ...], window: Window
    ) -> CorrelationMatch:
        return CorrelationMatch(
            id=spec.key,
            title=spec.title,
            level=spec.level,
            tags=spec.tags,
            type=spec.type,
            tenant_id=tenant,
            group=dict(zip(spec.group_by, values, strict=True)),
            count=window.count,
            values=window.values[:MAX_REPORTED_VALUES],
            first=_moment(window.first),
            last=_moment(window.last),
            rules=tuple(spec.slots[s].reference for s in sorted(window.slots)),
        )

    def _drop(self, key: GroupKey) -> None:
        group = self._groups.pop(key, None)
        if group is not None:
            self._entries -= len(group.entries)

    def _evict(self) -> None:
        while self._groups and (len(self._groups) > self.max_groups or self._entries > self.max_entries):
            _, group = self._groups.popitem(last=False)
            self._entries -= len(group.entries)
            self.stats["evicted"] += 1

    # -- moving state between workers --------------------------------------------------------------------
    def snapshot(self, tenants: Collection[str] | None = None) -> bytes:
        """The window state as JSON (orjson), all of it or only these tenants' (one partition)."""
        groups = self._groups
        if tenants is not None:
            wanted = set(tenants)
            groups = OrderedDict((key, group) for key, group in groups.items() if key[1] in wanted)
        return dump(self.specs, groups, self.stats)

    def restore(self, data: bytes) -> None:
        """Merge a snapshot into the state: its groups replace the same groups here, others stay.

        Groups of correlations this engine does not run are ignored; counters are added. Raises
        ValueError when the data is not a snapshot ``snapshot()`` wrote (nothing is changed then).
        """
        groups, stats = load(self.specs, data)
        for key, group in groups.items():
            self._drop(key)
            self._groups[key] = group
            self._entries += len(group.entries)
        self._rebuild_deadlines()
        for name, count in stats.items():
            if name in self.stats:
                self.stats[name] += count
        self._evict()

    def forget(self, tenants: Collection[str]) -> None:
        """Drop these tenants' state (after their partition moved to another worker)."""
        wanted = set(tenants)
        for key in [key for key in self._groups if key[1] in wanted]:
            self._drop(key)
        self._rebuild_deadlines()
