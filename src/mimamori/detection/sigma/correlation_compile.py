"""Turns pySigma correlation rules into the flat, immutable specs the correlation engine evaluates.

Compiling once keeps the per-event path free of pySigma objects: the engine only looks up which
slots (referenced rules) an event's rule keys hit, which event field feeds each group-by entry
for that slot (aliases already applied), and how to compare a count with the condition.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from sigma.correlations import (
    CorrelationConditionAND,
    CorrelationConditionItem,
    CorrelationConditionNOT,
    CorrelationConditionOR,
    SigmaCorrelationCondition,
    SigmaCorrelationRule,
    SigmaCorrelationType,
    SigmaExtendedCorrelationCondition,
    SigmaRuleReference,
)

if TYPE_CHECKING:
    from sigma.rule import SigmaRuleBase

    from mimamori.domain.models import FieldValue

MAX_VALUE_CHARS = 256
"""A group-by or counted value longer than this is stored as a prefix plus a digest (bounded memory)."""
_PREFIX_CHARS = 160

SUPPORTED_TYPES = {
    SigmaCorrelationType.EVENT_COUNT: "event_count",
    SigmaCorrelationType.VALUE_COUNT: "value_count",
    SigmaCorrelationType.TEMPORAL: "temporal",
    SigmaCorrelationType.TEMPORAL_ORDERED: "temporal_ordered",
}

_OPS: dict[str, Callable[[float, float], bool]] = {
    "gt": lambda count, limit: count > limit,
    "gte": lambda count, limit: count >= limit,
    "lt": lambda count, limit: count < limit,
    "lte": lambda count, limit: count <= limit,
    "eq": lambda count, limit: count == limit,
    "neq": lambda count, limit: count != limit,
}
RISING_OPS = frozenset({"gt", "gte"})
"""Conditions that, once true inside a window, stay true as events are added: decided on the event."""


class UnsupportedCorrelationError(ValueError):
    """The correlation uses what this engine cannot evaluate faithfully; it is skipped with the reason."""


class Mode(Enum):
    """When a window is judged.

    RISING: on every event (``gt``/``gte`` and positive boolean expressions), the finding comes as soon
    as the condition becomes true. CLOSING: when the window is over (``lt``/``lte``/``eq``/``neq`` and
    expressions with ``not``), because an event still to come could make the condition false again.
    """

    RISING = "rising"
    CLOSING = "closing"


class Dedupe(Enum):
    """Which stored entry a new one replaces; keeps state small without changing the count."""

    NONE = "none"  # event_count, temporal_ordered: every event counts / the order matters
    VALUE = "value"  # value_count: only the newest sighting of each distinct value
    SLOT = "slot"  # temporal: only the newest event of each referenced rule


Expression = Callable[[frozenset[int]], bool]


@dataclass(frozen=True, slots=True)
class Slot:
    """One rule the correlation references: the keys it is known by and its event fields per group-by."""

    reference: str
    keys: frozenset[str]
    fields: tuple[str, ...]
    value_fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CorrelationSpec:
    """A correlation rule reduced to what evaluation needs."""

    key: str
    id: str | None
    name: str | None
    title: str
    level: str
    tags: tuple[str, ...]
    type: str
    seconds: float
    group_by: tuple[str, ...]
    slots: tuple[Slot, ...]
    op: str
    threshold: float
    expression: Expression | None
    mode: Mode
    dedupe: Dedupe
    cap: int
    generate: bool

    @property
    def keys(self) -> frozenset[str]:
        """The keys an outer correlation may use to reference this one."""
        return frozenset(k for k in (self.id, self.name) if k)

    def holds(self, count: int, slots: frozenset[int]) -> bool:
        """Whether a window with this count (and, for expressions, these rules present) satisfies the rule."""
        if self.expression is not None:
            return self.expression(slots)
        return _OPS[self.op](count, self.threshold)


def normalise(value: FieldValue | None) -> str | None:
    """A stable, bounded text for a group-by or counted value; None when the event lacks the field.

    Numbers and their text spell the same (4624 and "4624" group together); very long values keep a
    readable prefix and a digest of the whole, so a hostile 1 MB command line costs ~250 bytes of state.
    """
    if value is None:
        return None
    if isinstance(value, list):
        if not value:
            return None
        text = "\x1f".join(_scalar(v) for v in value)
    else:
        text = _scalar(value)
    if len(text) <= MAX_VALUE_CHARS:
        return text
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
    return f"{text[:_PREFIX_CHARS]}…#{digest}"


def _scalar(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    return str(value)


def rule_keys(rule: SigmaRuleBase) -> set[str]:
    """The id and name a rule is referenced by."""
    return {k for k in (str(rule.id) if rule.id else None, rule.name) if k}


def _resolved(reference: SigmaRuleReference) -> SigmaRuleBase | None:
    # pySigma leaves ``rule`` unset (AttributeError) when resolve_rule_references() was not called.
    return getattr(reference, "rule", None)


LEVELS = ("informational", "low", "medium", "high", "critical")
DEFAULT_LEVEL = "medium"


def _level(rule: SigmaCorrelationRule, references: list[SigmaRuleReference]) -> str:
    """The correlation's own level; without one, the highest of the rules it references (or medium)."""
    if rule.level is not None:
        return str(rule.level.name.lower())
    levels = [
        t.level.name.lower() for t in map(_resolved, references) if t is not None and t.level is not None
    ]
    known = [level for level in levels if level in LEVELS]
    return max(known, key=LEVELS.index) if known else DEFAULT_LEVEL


def _references(rule: SigmaCorrelationRule) -> list[SigmaRuleReference]:
    if rule.referenced_rules:
        return list(rule.referenced_rules)
    if rule.rules is not None:
        return list(rule.rules)
    if isinstance(rule.condition, SigmaExtendedCorrelationCondition):
        return [SigmaRuleReference(name) for name in rule.condition.get_referenced_rules()]
    return []


def _slot_of(aliases_for: dict[str, str], slot_keys: frozenset[str], reference: str) -> str | None:
    if reference in aliases_for:
        return aliases_for[reference]
    for key in slot_keys:
        if key in aliases_for:
            return aliases_for[key]
    return None


def _compile_expression(node: object, slot_index: dict[str, int]) -> tuple[Expression, bool]:
    """A boolean expression over the set of slots present; also says whether it contains ``not``."""
    if isinstance(node, SigmaRuleReference):
        index = slot_index[node.reference]
        return (lambda present: index in present), False
    if isinstance(node, CorrelationConditionItem):
        parts = [_compile_expression(arg, slot_index) for arg in node.args]
        funcs = [p[0] for p in parts]
        negated = any(p[1] for p in parts)
        if isinstance(node, CorrelationConditionNOT):
            inner = funcs[0]
            return (lambda present: not inner(present)), True
        if isinstance(node, CorrelationConditionAND):
            return (lambda present: all(f(present) for f in funcs)), negated
        if isinstance(node, CorrelationConditionOR):
            return (lambda present: any(f(present) for f in funcs)), negated
    raise UnsupportedCorrelationError(f"unknown condition element {type(node).__name__}")


def compile_correlation(rule: SigmaCorrelationRule, *, max_entries_per_group: int) -> CorrelationSpec:
    """Compile one pySigma correlation rule; raises UnsupportedCorrelationError with the reason."""
    if rule.errors:
        raise UnsupportedCorrelationError(f"rule has errors: {rule.errors[0]}")
    kind = SUPPORTED_TYPES.get(rule.type)
    if kind is None:
        raise UnsupportedCorrelationError(f"correlation type {rule.type.name.lower()} is not supported")
    references = _references(rule)
    if not references:
        raise UnsupportedCorrelationError("correlation references no rule")
    group_by = tuple(rule.group_by or ())
    aliases = {
        alias.alias: {ref.reference: name for ref, name in alias.mapping.items()} for alias in rule.aliases
    }
    condition = rule.condition
    counted: tuple[str, ...] = ()
    if isinstance(condition, SigmaCorrelationCondition) and condition.fieldref is not None:
        counted = (condition.fieldref,) if isinstance(condition.fieldref, str) else tuple(condition.fieldref)
    if kind == "value_count" and not counted:
        raise UnsupportedCorrelationError("value_count without condition field")

    slots: list[Slot] = []
    for reference in references:
        target = _resolved(reference)
        keys = frozenset({reference.reference} | (rule_keys(target) if target is not None else set()))
        fields = tuple(_slot_of(aliases.get(g, {}), keys, reference.reference) or g for g in group_by)
        values = tuple(_slot_of(aliases.get(f, {}), keys, reference.reference) or f for f in counted)
        slots.append(Slot(reference.reference, keys, fields, values))

    expression: Expression | None = None
    negated = False
    if isinstance(condition, SigmaExtendedCorrelationCondition):
        if kind != "temporal":
            raise UnsupportedCorrelationError("boolean conditions are only supported for temporal")
        index = {slot.reference: i for i, slot in enumerate(slots)}
        try:
            expression, negated = _compile_expression(condition.parsed, index)
        except KeyError as exc:
            raise UnsupportedCorrelationError(f"condition names an unreferenced rule {exc}") from None
        op, threshold = "expr", 0.0
    else:
        op, threshold = condition.op.name.lower(), float(condition.count)
        if op not in _OPS:
            raise UnsupportedCorrelationError(f"condition operator {op} is not supported")
    if threshold + 1 > max_entries_per_group:
        raise UnsupportedCorrelationError(
            f"threshold {threshold:g} exceeds the per-group state bound {max_entries_per_group}"
        )
    mode = Mode.CLOSING if negated or (expression is None and op not in RISING_OPS) else Mode.RISING
    dedupe = {"value_count": Dedupe.VALUE, "temporal": Dedupe.SLOT}.get(kind, Dedupe.NONE)
    # Counts only matter up to threshold + 1 (every condition is decided by then), so older entries beyond
    # that can go; the order-sensitive type keeps a few events per rule to find an ordered sequence.
    cap = int(threshold) + 2 if kind in ("event_count", "value_count") else max(len(slots) * 16, 64)
    rule_id = str(rule.id) if rule.id else None
    return CorrelationSpec(
        key=rule_id or rule.name or rule.title,
        id=rule_id,
        name=rule.name,
        title=rule.title,
        level=_level(rule, references),
        tags=tuple(str(tag) for tag in rule.tags),
        type=kind,
        seconds=float(rule.timespan.seconds),
        group_by=group_by,
        slots=tuple(slots),
        op=op,
        threshold=threshold,
        expression=expression,
        mode=mode,
        dedupe=dedupe,
        cap=min(cap, max_entries_per_group),
        generate=bool(rule.generate),
    )


def non_generating(specs: Sequence[CorrelationSpec]) -> set[str]:
    """Keys of rules referenced by some correlation and by no correlation with ``generate: true``.

    pySigma disables a rule's output as soon as one referencing correlation says false; asking for the
    rule in one correlation is taken here to keep it (a detection is never silently lost).
    """
    silenced: set[str] = set()
    kept: set[str] = set()
    for spec in specs:
        for slot in spec.slots:
            (kept if spec.generate else silenced).update(slot.keys)
    return silenced - kept
