"""A pySigma rule to a ``CompiledRule``: metadata plus one closure over an ``EventView``.

The condition tree pySigma builds (selections resolved, ``1 of``/``all of``/``them`` expanded, modifiers
applied to the values) is first rewritten into a small tree of our own, where the values an ``OR`` tests
on one field are merged into one leaf, then turned into nested closures. While compiling, two facts are
derived for the index (``ruleset``): the event ids the rule can only match (``EventID: 4624`` under the
top ``AND``) and up to three literal groups, each a set of texts one of which any matching event
contains in the named fields (``prefilter``).

Semantics the specification fixes and SQL-based engines get wrong: a field the event does not have
makes every value test on it false, so ``not field: x`` is *true* for it; ``field: null`` is true when
the field is absent or empty; ``exists`` tests presence only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.rule import SigmaRule
from sigma.types import SigmaExists, SigmaFieldReference, SigmaNull, SigmaString, SpecialChars

from mimamori.detection.sigma.literals import best, rank
from mimamori.detection.sigma.logsource import Source, sources
from mimamori.detection.sigma.modifiers import Test, UnsupportedValue, matcher, tests_for
from mimamori.detection.sigma.view import EventView

__all__ = ["CompiledRule", "Predicate", "UnsupportedRule", "compile_rule"]

Predicate = Callable[[EventView], bool]
Evidence = tuple[tuple[str, Predicate], ...]
Group = tuple[frozenset[str], frozenset[str | None]]  # (texts, the Sigma fields they are in; None: any)
_LEVELS = ("informational", "low", "medium", "high", "critical")


class UnsupportedRule(ValueError):
    """A rule this engine cannot evaluate faithfully; the reason goes to ``CompiledRuleset.skipped``."""


@dataclass(frozen=True, slots=True, eq=False)
class CompiledRule:
    """A rule ready to run. ``matches(view)`` evaluates its condition on one event."""

    id: str
    name: str | None
    title: str
    level: str
    tags: tuple[str, ...]
    description: str
    logsource: tuple[str | None, str | None, str | None]  # product, category, service
    status: str | None
    path: str
    matches: Predicate = field(repr=False)
    sources: tuple[Source, ...] = field(repr=False)
    event_ids: frozenset[int] | None = field(repr=False)
    groups: tuple[Group, ...] = field(repr=False)
    placeholders: frozenset[str] = field(repr=False)
    evidence: Evidence = field(repr=False)


# --- the intermediate tree -----------------------------------------------------------------------


@dataclass(slots=True)
class _Leaf:
    name: str | None  # None: keyword (any value of the event)
    tests: list[Test]


@dataclass(slots=True)
class _Special:
    name: str
    predicate: Predicate


@dataclass(slots=True)
class _Op:
    kind: str  # and, or, not
    args: list[_Node]


_Node = _Leaf | _Special | _Op


@dataclass(slots=True)
class _Context:
    placeholders: set[str] = field(default_factory=set)


def _keyword_tests(value: Any) -> list[Test]:
    """Keyword values are full-text searches: a plain string matches anywhere inside a value."""
    if isinstance(value, SigmaString) and not value.contains_special():
        text = str(value).lower()
        return [Test("contains", text, frozenset((text,)) if text else None)]
    return tests_for(value)


def _placeholder_leaf(name: str, value: SigmaString, ctx: _Context) -> _Special:
    """``expand``: the placeholder's values come with each ``match`` call; compiled once per value set."""
    names = tuple(sorted({p.name for p in value.s if not isinstance(p, (str, SpecialChars))}))
    ctx.placeholders.update(names)
    cache: dict[tuple[tuple[str, ...], ...], Callable[[EventView], bool]] = {}

    def test(view: EventView) -> bool:
        lower = view.lower(name)
        if lower is None:
            return False
        key = tuple(tuple(view.placeholders.get(n, ())) for n in names)
        check = cache.get(key)
        if check is None:
            given = dict(zip(names, key, strict=True))
            expanded = value.replace_placeholders(lambda p: iter(given.get(p.name, ())))
            tests = [t for s in expanded for t in tests_for(s)]
            check = _leaf_predicate(_Leaf(name, tests)) if tests else (lambda view: False)
            if len(cache) < 64:
                cache[key] = check
        return check(view)

    return _Special(name, test)


def _field_leaf(name: str, value: Any, ctx: _Context) -> _Node:
    if isinstance(value, SigmaNull):
        return _Special(name, lambda v: (vals := v.lower(name)) is None or all(x == "" for x in vals))
    if isinstance(value, SigmaExists):
        if value.exists:
            return _Special(name, lambda v: v.raw(name) is not None)
        return _Special(name, lambda v: v.raw(name) is None)
    if isinstance(value, SigmaFieldReference):
        return _fieldref(name, value)
    if isinstance(value, SigmaString) and value.contains_placeholder():
        return _placeholder_leaf(name, value, ctx)
    return _Leaf(name, tests_for(value))


def _fieldref(name: str, ref: SigmaFieldReference) -> _Special:
    other = ref.field

    def test(view: EventView) -> bool:
        mine, theirs = view.lower(name), view.lower(other)
        if mine is None or theirs is None:
            return False
        if ref.starts_with:
            return any(a.startswith(b) for a in mine for b in theirs)
        if ref.ends_with:
            return any(a.endswith(b) for a in mine for b in theirs)
        return any(a == b for a in mine for b in theirs)

    return _Special(name, test)


def _tree(node: Any, ctx: _Context) -> _Node:
    if isinstance(node, ConditionAND):
        return _Op("and", [_tree(a, ctx) for a in node.args])
    if isinstance(node, ConditionOR):
        return _merge_or([_tree(a, ctx) for a in node.args])
    if isinstance(node, ConditionNOT):
        return _Op("not", [_tree(node.args[0], ctx)])
    if isinstance(node, ConditionFieldEqualsValueExpression):
        return _field_leaf(node.field, node.value, ctx)
    if isinstance(node, ConditionValueExpression):
        return _Leaf(None, _keyword_tests(node.value))
    raise UnsupportedRule(f"condition element {type(node).__name__}")


def _merge_or(args: list[_Node]) -> _Node:
    """OR of value tests on one field: one leaf (one pass over the value for all of them)."""
    flat: list[_Node] = []
    for arg in args:
        if isinstance(arg, _Op) and arg.kind == "or":
            flat.extend(arg.args)  # already merged at its own level
        else:
            flat.append(arg)
    merged: dict[str | None, _Leaf] = {}
    out: list[_Node] = []
    for node in flat:
        if isinstance(node, _Leaf):
            leaf = merged.get(node.name)
            if leaf is not None:
                leaf.tests.extend(node.tests)
                continue
            leaf = merged[node.name] = _Leaf(node.name, list(node.tests))
            out.append(leaf)
        else:
            out.append(node)
    return out[0] if len(out) == 1 else _Op("or", out)


# --- closures ------------------------------------------------------------------------------------


def _leaf_predicate(leaf: _Leaf) -> Predicate:
    check, raw_check = matcher(leaf.tests)
    name = leaf.name
    if name is None:
        if raw_check is None:
            return lambda v: check(v.everything()[0])
        return lambda v: check(v.everything()[0]) or raw_check(v.everything()[1])
    if raw_check is None:

        def test(view: EventView) -> bool:
            lower = view.lower(name)
            return lower is not None and check(lower)

        return test

    def test_raw(view: EventView) -> bool:
        lower = view.lower(name)
        if lower is None:
            return False
        return check(lower) or raw_check(view.raw(name) or ())

    return test_raw


def _all(preds: list[Predicate]) -> Predicate:
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        a, b = preds
        return lambda v: a(v) and b(v)
    return lambda v: all(p(v) for p in preds)


def _any(preds: list[Predicate]) -> Predicate:
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        a, b = preds
        return lambda v: a(v) or b(v)
    return lambda v: any(p(v) for p in preds)


def _cost(node: _Node) -> int:
    """Cheap tests first in an AND: exact values before substrings before regular expressions."""
    if isinstance(node, _Leaf):
        return (
            0
            if all(t.kind == "eq" for t in node.tests)
            else 2
            if any(t.kind == "raw" for t in node.tests)
            else 1
        )
    return 3


def _predicate(node: _Node, evidence: list[tuple[str, Predicate]], positive: bool) -> Predicate:
    if isinstance(node, _Leaf):
        pred = _leaf_predicate(node)
        if positive and node.name is not None:
            evidence.append((node.name, pred))
        return pred
    if isinstance(node, _Special):
        if positive:
            evidence.append((node.name, node.predicate))
        return node.predicate
    if node.kind == "not":
        inner = _predicate(node.args[0], evidence, not positive)
        return lambda v: not inner(v)
    args = sorted(node.args, key=_cost) if node.kind == "and" else node.args
    preds = [_predicate(a, evidence, positive) for a in args]
    return _all(preds) if node.kind == "and" else _any(preds)


# --- facts for the index -------------------------------------------------------------------------


MAX_GROUPS = 3
# Fields every event of a bucket shares values of: a group on them would select nothing.
_INDEXED = frozenset(("EventID", "Channel", "Provider_Name"))


def _groups(node: _Node) -> list[Group]:
    """Literal groups a matching event satisfies all of: one text of each group occurs in its values.

    With each group, the fields whose values contain its texts (None for a keyword search: any value).
    """
    if isinstance(node, _Leaf):
        sets = [t.literals for t in node.tests]
        if node.name in _INDEXED:
            return []
        if sets and all(sets):
            texts = frozenset().union(*(s for s in sets if s))
            if best([texts]) is not None:
                return [(texts, frozenset((node.name,)))]
        return []
    if isinstance(node, _Special) or node.kind == "not":
        return []
    found = [_groups(a) for a in node.args]
    if node.kind == "and":
        return [group for groups in found for group in groups]
    if any(not groups for groups in found):
        return []
    chosen = [_best_group(groups) for groups in found]
    texts = frozenset().union(*(g[0] for g in chosen))
    return [(texts, frozenset().union(*(g[1] for g in chosen)))] if best([texts]) is not None else []


def _best_group(groups: list[Group]) -> Group:
    by_texts = {g[0]: g for g in groups}
    chosen = best(list(by_texts))
    return by_texts[chosen] if chosen is not None else groups[0]


def _rule_groups(tree: _Node) -> tuple[Group, ...]:
    """The most selective groups (at most ``MAX_GROUPS``): the prefilter requires each of them."""
    groups = list({g[0]: g for g in _groups(tree)}.values())
    ranked = sorted(groups, key=lambda g: rank(g[0]), reverse=True)
    return tuple(ranked[:MAX_GROUPS])


def _event_ids(node: _Node) -> frozenset[int] | None:
    if isinstance(node, _Leaf):
        if (
            node.name == "EventID"
            and node.tests
            and all(t.kind == "eq" and t.arg.isascii() and t.arg.isdigit() for t in node.tests)
        ):
            return frozenset(int(t.arg) for t in node.tests)
        return None
    if isinstance(node, _Special) or node.kind == "not":
        return None
    found = [_event_ids(a) for a in node.args]
    if node.kind == "or":
        if any(f is None for f in found):
            return None
        return frozenset().union(*(f for f in found if f is not None))
    known = [f for f in found if f is not None]
    if not known:
        return None
    return frozenset.intersection(*known)


def compile_rule(rule: SigmaRule) -> CompiledRule:
    """Compile one rule; raises ``UnsupportedRule`` with the reason when it cannot be evaluated."""
    where = rule.source.path if rule.source is not None else None
    place = sources(rule.logsource)
    if place is None:
        ls = rule.logsource
        raise UnsupportedRule(f"log source not on Windows events: {ls.product}/{ls.category}/{ls.service}")
    ctx = _Context()
    trees: list[_Node] = []
    try:
        for condition in rule.detection.parsed_condition:
            parsed = condition.parse()
            if parsed is not None:
                trees.append(_tree(parsed, ctx))
    except UnsupportedValue as exc:
        raise UnsupportedRule(str(exc)) from exc
    except UnsupportedRule:
        raise
    except Exception as exc:  # pySigma condition errors
        raise UnsupportedRule(f"{type(exc).__name__}: {exc}") from exc
    if not trees:
        raise UnsupportedRule("empty condition")
    tree = trees[0] if len(trees) == 1 else _Op("or", trees)
    evidence: list[tuple[str, Predicate]] = []
    predicate = _predicate(tree, evidence, positive=True)
    level = rule.level.name.lower() if rule.level is not None else "medium"
    return CompiledRule(
        id=str(rule.id) if rule.id is not None else (str(where) if where else rule.title),
        name=rule.name,
        title=rule.title,
        level=level if level in _LEVELS else "medium",
        tags=tuple(f"{t.namespace}.{t.name}".lower() for t in rule.tags),
        description=rule.description or "",
        logsource=(rule.logsource.product, rule.logsource.category, rule.logsource.service),
        status=rule.status.name.lower() if rule.status is not None else None,
        path=str(where) if where else "",
        matches=predicate,
        sources=place,
        event_ids=_event_ids(tree),
        groups=_rule_groups(tree),
        placeholders=frozenset(ctx.placeholders),
        evidence=tuple(evidence),
    )
