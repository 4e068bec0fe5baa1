"""A compiled ruleset and its index: which rules an event is even shown to.

``compile_ruleset(rules)`` compiles every rule once (those it cannot evaluate go to ``skipped`` with the
reason). ``match(fields)`` then finds the event's bucket, keyed by its channel and event id: the rules
whose log source admits that channel and id and whose condition does not require other event ids. A
bucket is built on first sight (its rules and its multi-pattern ``Prefilter``) and kept; inside it only
the prefilter's candidates are evaluated. ``match_naive`` evaluates every rule in turn: the baseline the
benchmark compares with, and the reference the tests check the index against.

Placeholders (``expand``): a rule that uses one is evaluated only when the ``placeholders`` mapping given
to ``match`` names all of them. An unset placeholder means the operator has not said what, say,
``%Admins_Workstations%`` is; evaluating the rule anyway would turn ``not User|expand: ...`` filters into
"everyone" and flood the console, so the rule is silent instead (the choice pySigma's
``WildcardPlaceholderTransformation`` does not make: it would match anything).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sigma.rule import SigmaRule

from mimamori.detection.sigma.compiler import CompiledRule, UnsupportedRule, compile_rule
from mimamori.detection.sigma.fields import lookup
from mimamori.detection.sigma.prefilter import Prefilter
from mimamori.detection.sigma.view import EventView
from mimamori.domain.models import FieldValue

__all__ = ["CompiledRuleset", "SigmaMatch", "compile_ruleset"]

log = logging.getLogger(__name__)

MAX_BUCKETS = 4096  # distinct (channel, event id) pairs kept; hostile ids cannot grow memory beyond this


@dataclass(frozen=True, slots=True)
class SigmaMatch:
    """One rule matching one event; ``matched``: Sigma field name -> the event value it matched on."""

    rule: CompiledRule
    matched: dict[str, FieldValue] = field(default_factory=dict)


def _evidence(rule: CompiledRule, view: EventView) -> dict[str, FieldValue]:
    matched: dict[str, FieldValue] = {}
    for name, predicate in rule.evidence:
        if name in matched:
            continue
        try:
            hit = predicate(view)
        except Exception:  # evidence is a courtesy; a failure here must not lose the match
            hit = False
        if hit:
            value = lookup(view.fields, name)
            if value is not None:
                matched[name] = value
    return matched


def _event_key(fields: Mapping[str, FieldValue]) -> tuple[str, int] | None:
    event_id = fields.get("winlog.event_id")
    if type(event_id) is not int:
        return None
    channel = fields.get("winlog.channel")
    return (channel.lower() if type(channel) is str else "", event_id)


class CompiledRuleset:
    """Compiled rules with a per-(channel, event id) index and a substring prefilter per bucket.

    The index is two tables built once: per channel, the rules that take any event id of it (``_wide``)
    and, per (channel, event id), the rules that name that id (``_specific``); the channel ``None`` holds
    the rules of any channel. A bucket is the union of four entries, so an event id never seen costs
    dictionary look-ups, not a pass over the rules, and buckets with the same rules share one
    ``Prefilter`` (a stream of made-up event ids in one channel all land on the channel-wide one).
    """

    def __init__(self, rules: Sequence[CompiledRule], skipped: Sequence[tuple[str, str]] = ()) -> None:
        self.rules: list[CompiledRule] = list(rules)
        self.skipped: list[tuple[str, str]] = list(skipped)
        self._wide: dict[str | None, set[int]] = {}
        self._specific: dict[tuple[str | None, int], set[int]] = {}
        for index, rule in enumerate(self.rules):
            for source in rule.sources:
                ids = source.event_ids
                if rule.event_ids is not None:
                    ids = rule.event_ids if ids is None else ids & rule.event_ids
                if ids is None:
                    self._wide.setdefault(source.channel, set()).add(index)
                else:
                    for event_id in ids:
                        self._specific.setdefault((source.channel, event_id), set()).add(index)
        self._buckets: dict[tuple[str, int], Prefilter] = {}
        self._prefilters: dict[tuple[int, ...], Prefilter] = {}
        self._errors = 0

    def bucket_rules(self, channel: str, event_id: int) -> list[CompiledRule]:
        """The rules that can match an event of this (lower-case) channel and event id, in rule order."""
        empty: set[int] = set()
        indexes = (
            self._wide.get(channel, empty)
            | self._wide.get(None, empty)
            | self._specific.get((channel, event_id), empty)
            | self._specific.get((None, event_id), empty)
        )
        return [self.rules[i] for i in sorted(indexes)]

    def _bucket(self, key: tuple[str, int]) -> Prefilter:
        bucket = self._buckets.get(key)
        if bucket is None:
            rules = self.bucket_rules(*key)
            ids = tuple(id(r) for r in rules)
            bucket = self._prefilters.get(ids)
            if bucket is None:
                if len(self._prefilters) >= MAX_BUCKETS:
                    self._prefilters.clear()
                bucket = self._prefilters[ids] = Prefilter(rules)
            if len(self._buckets) >= MAX_BUCKETS:
                self._buckets.clear()
            self._buckets[key] = bucket
        return bucket

    def _run(self, rules: Iterable[CompiledRule], view: EventView) -> list[SigmaMatch]:
        out: list[SigmaMatch] = []
        for rule in rules:
            if rule.placeholders and not all(p in view.placeholders for p in rule.placeholders):
                continue
            try:
                hit = rule.matches(view)
            except Exception:  # a bug in one rule's evaluation must not stop the others
                self._errors += 1
                if self._errors <= 5:
                    log.exception("sigma rule %s failed on an event", rule.id)
                continue
            if hit:
                out.append(SigmaMatch(rule, _evidence(rule, view)))
        return out

    def match(
        self, fields: Mapping[str, FieldValue], placeholders: Mapping[str, Sequence[str]] | None = None
    ) -> list[SigmaMatch]:
        """The rules matching one event (``Event.fields``), through the index and the prefilter."""
        event_id = fields.get("winlog.event_id")
        if type(event_id) is not int:
            return []
        channel = fields.get("winlog.channel")
        key = (channel.lower() if type(channel) is str else "", event_id)
        bucket = self._buckets.get(key) or self._bucket(key)
        if not bucket.rules:
            return []
        view = EventView(fields, placeholders)
        try:
            candidates = bucket.candidates(view)
        except Exception:  # never lose an event to a prefilter bug: evaluate the whole bucket instead
            log.exception("sigma prefilter failed on an event")
            candidates = list(bucket.rules)
        return self._run(candidates, view) if candidates else []

    def match_naive(
        self, fields: Mapping[str, FieldValue], placeholders: Mapping[str, Sequence[str]] | None = None
    ) -> list[SigmaMatch]:
        """Every rule, one at a time (log source tested per rule): the baseline of the benchmark."""
        key = _event_key(fields)
        if key is None:
            return []
        channel, event_id = key
        view = EventView(fields, placeholders)
        admitted = (r for r in self.rules if any(s.admits(channel, event_id) for s in r.sources))
        return self._run(admitted, view)


def compile_ruleset(rules: Iterable[SigmaRule]) -> CompiledRuleset:
    """Compile rules; one that cannot be compiled is listed in ``skipped`` as (path or id, reason)."""
    compiled: list[CompiledRule] = []
    skipped: list[tuple[str, str]] = []
    for rule in rules:
        try:
            compiled.append(compile_rule(rule))
        except UnsupportedRule as exc:
            where = str(rule.source.path) if rule.source is not None else str(rule.id or rule.title)
            skipped.append((where, str(exc)))
    return CompiledRuleset(compiled, skipped)
