"""Per-group window state of the correlation engine and how a window is measured against a rule.

A group is one (correlation, tenant, group-by values) combination. It keeps a short, time-sorted
list of entries ``(event time, slot, value)``; the slot says which referenced rule matched and the
value is the counted field of a value_count correlation. Entries are bounded per group (``spec.cap``)
and deduplicated where the count allows it (see ``Dedupe``), so hostile volumes cost bounded memory.
"""

from __future__ import annotations

import bisect
import math
import operator
from dataclasses import dataclass, field

from mimamori.detection.sigma.correlation_compile import CorrelationSpec, Dedupe

Entry = tuple[float, int, str]
GroupKey = tuple[int, str, tuple[str, ...]]
"""(correlation number, tenant, group-by values)"""

MAX_CANDIDATE_WINDOWS = 32
"""A late event can complete several windows (one ending at each later entry); look at this many at most."""


@dataclass(slots=True)
class Group:
    """Window state of one group.

    ``newest``: latest event time seen (the sliding window's reference for pruning and lateness).
    ``anchor``: start of the current fixed window (closing conditions only).
    ``quiet_until``: a sliding window must end after this time to fire again (rising conditions only).
    """

    entries: list[Entry] = field(default_factory=list)
    newest: float = -math.inf
    anchor: float = -math.inf
    quiet_until: float = -math.inf


@dataclass(frozen=True, slots=True)
class Window:
    """What a window contains, measured for one correlation type."""

    count: int
    slots: frozenset[int]
    values: tuple[str, ...]
    first: float
    last: float


_time = operator.itemgetter(0)


def insert(spec: CorrelationSpec, group: Group, entry: Entry) -> int:
    """Add an entry in time order, replacing a duplicate and dropping the oldest beyond the cap.

    Returns the change in the number of stored entries (for the engine's global bound).
    """
    entries = group.entries
    before = len(entries)
    if spec.dedupe is not Dedupe.NONE:
        position = 1 if spec.dedupe is Dedupe.SLOT else 2
        for i, old in enumerate(entries):
            if old[position] == entry[position]:
                if old[0] >= entry[0]:
                    return 0  # an older sighting of something already seen later adds nothing
                del entries[i]
                break
    bisect.insort_right(entries, entry, key=_time)
    excess = len(entries) - spec.cap
    if excess > 0:
        del entries[:excess]
    return len(entries) - before


def prune(group: Group, horizon: float) -> int:
    """Drop entries older than ``horizon``; returns how many went."""
    cut = bisect.bisect_left(group.entries, horizon, key=_time)
    if cut:
        del group.entries[:cut]
    return cut


def _longest_ordered(slots: list[int]) -> int:
    """Length of the longest strictly increasing run of slot indices (rules matched in their listed order)."""
    tails: list[int] = []
    for slot in slots:
        i = bisect.bisect_left(tails, slot)
        if i == len(tails):
            tails.append(slot)
        else:
            tails[i] = slot
    return len(tails)


def measure(spec: CorrelationSpec, entries: list[Entry]) -> Window:
    """Count what the correlation type counts in these entries (assumed to be one window)."""
    present = frozenset(e[1] for e in entries)
    values: tuple[str, ...] = ()
    if spec.type == "event_count":
        count = len(entries)
    elif spec.type == "value_count":
        values = tuple(sorted({e[2] for e in entries}))
        count = len(values)
    elif spec.type == "temporal":
        count = len(present)
    else:  # temporal_ordered: same-time events may count in either order, hence the sort by slot
        count = _longest_ordered([e[1] for e in sorted(entries, key=lambda e: (e[0], e[1]))])
    first = entries[0][0] if entries else math.nan
    last = entries[-1][0] if entries else math.nan
    return Window(count, present, values, first, last)


def rising_window(spec: CorrelationSpec, group: Group, at: float) -> Window | None:
    """The first sliding window containing the event at ``at`` that satisfies the rule, if any.

    Windows are closed intervals ``[end - timespan, end]`` ending at a stored event. For an in-order
    event only the window ending at it is new; a late event also joins windows ending at later events.
    A window ending at or before ``quiet_until`` cannot fire (the previous finding covered it).
    """
    entries = group.entries
    span = spec.seconds
    if not entries:
        return None
    if at >= entries[-1][0]:
        ends = [at]  # in order: only the window ending at this event is new
    else:
        start = bisect.bisect_left(entries, at, key=_time)
        stop = bisect.bisect_right(entries, at + span, key=_time)
        ends = sorted({e[0] for e in entries[start:stop]})[:MAX_CANDIDATE_WINDOWS]
    for end in ends:
        if end <= group.quiet_until:
            continue
        lo = bisect.bisect_left(entries, end - span, key=_time)
        hi = bisect.bisect_right(entries, end, key=_time)
        if (
            spec.expression is None
            and spec.type != "temporal_ordered"
            and not spec.holds(hi - lo, frozenset())
        ):
            continue  # entries are one per event / distinct value / rule: the count is the slice's length
        window = measure(spec, entries[lo:hi])
        if spec.holds(window.count, window.slots):
            return window
    return None
