"""Helpers for the Sigma engine tests: a rule from a detection block, events as Windows fields."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from sigma.collection import SigmaCollection

from mimamori.detection.sigma import CompiledRuleset, compile_ruleset
from mimamori.domain.models import FieldValue

RuleFactory = Callable[..., CompiledRuleset]
Matches = Callable[..., bool]


def make_rule(detection: str, logsource: str = "product: windows\nservice: security", **meta: Any) -> str:
    head = {"title": "Test rule", "id": "00000000-0000-0000-0000-000000000001", "level": "high", **meta}
    lines = [f"{key}: {value}" for key, value in head.items()]
    body = "\n".join(lines)
    return (
        f"{body}\nlogsource:\n{textwrap.indent(textwrap.dedent(logsource).strip(), '    ')}\n"
        f"detection:\n{textwrap.indent(textwrap.dedent(detection).strip(), '    ')}\n"
    )


def compile_yaml(text: str) -> CompiledRuleset:
    collection = SigmaCollection.from_yaml(text)
    return compile_ruleset(collection.rules)  # type: ignore[arg-type]


def security(event_id: int = 4688, **data: FieldValue) -> dict[str, FieldValue]:
    """A Security-channel event with ``data`` as its EventData items."""
    fields: dict[str, FieldValue] = {"winlog.channel": "Security", "winlog.event_id": event_id}
    fields.update({f"winlog.event_data.{name}": value for name, value in data.items()})
    return fields


def sysmon(event_id: int = 1, **data: FieldValue) -> dict[str, FieldValue]:
    fields: dict[str, FieldValue] = {
        "winlog.channel": "Microsoft-Windows-Sysmon/Operational",
        "winlog.event_id": event_id,
    }
    fields.update({f"winlog.event_data.{name}": value for name, value in data.items()})
    return fields


def both(ruleset: CompiledRuleset, fields: Mapping[str, FieldValue], **kwargs: Any) -> bool:
    """Whether the rule matches, asserting the indexed and the naive evaluation agree."""
    indexed = [m.rule.id for m in ruleset.match(fields, **kwargs)]
    naive = [m.rule.id for m in ruleset.match_naive(fields, **kwargs)]
    assert indexed == naive, f"index {indexed} != naive {naive}"
    return bool(indexed)


@pytest.fixture
def rule() -> RuleFactory:
    """``rule(detection_yaml, logsource=...)`` -> a compiled ruleset of that one rule."""

    def build(
        detection: str, logsource: str = "product: windows\nservice: security", **meta: Any
    ) -> CompiledRuleset:
        ruleset = compile_yaml(make_rule(detection, logsource, **meta))
        assert not ruleset.skipped, ruleset.skipped
        return ruleset

    return build


@pytest.fixture
def matches(rule: RuleFactory) -> Matches:
    """``matches(detection_yaml, fields)`` -> whether that rule matches that event (index == naive)."""

    def check(
        detection: str, fields: Mapping[str, FieldValue], logsource: str | None = None, **kwargs: Any
    ) -> bool:
        ruleset = rule(detection) if logsource is None else rule(detection, logsource)
        return both(ruleset, fields, **kwargs)

    return check
