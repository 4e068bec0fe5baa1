"""The prefilter never loses a rule: per-field texts, all groups at once, and real rules on real events.

The last test takes SigmaHQ's process-creation rules that name ``cmd``/``powershell``/``rundll32`` and the
Sysmon process creations of the EVTX attack samples (``/work/shared/data``, skipped without it), mutates
the events with the rules' own literals (in other fields, other case, lists, missing fields), and checks
that the indexed match equals the one-rule-at-a-time evaluation, and that every rule the naive path
matches was a candidate.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sigma.collection import SigmaCollection
from sigma.rule import SigmaRule

from mimamori.detection.sigma import CompiledRuleset, compile_ruleset
from mimamori.detection.sigma import prefilter as prefilter_module
from mimamori.detection.sigma.prefilter import Prefilter
from mimamori.detection.sigma.view import EventView
from mimamori.domain.models import FieldValue
from mimamori.parsers import _native

from .conftest import compile_yaml, make_rule, sysmon  # type: ignore[import-not-found]

PROC = "product: windows\ncategory: process_creation"
ROOT = Path(__file__).resolve().parents[4]
SHARED = Path(os.environ.get("MIMAMORI_SHARED_DATA", ROOT.parent / "shared" / "data"))
RULES = SHARED / "sigma" / "rules" / "windows" / "process_creation"
SAMPLES = SHARED / "evtx-attack-samples"


def _ids(ruleset: CompiledRuleset, fields: Mapping[str, FieldValue]) -> tuple[list[str], list[str]]:
    return [m.rule.id for m in ruleset.match(fields)], [m.rule.id for m in ruleset.match_naive(fields)]


def test_text_in_another_field_does_not_make_a_candidate() -> None:
    rules = compile_yaml(
        make_rule(
            "sel:\n    Image|endswith: '\\\\rundll32.exe'\n    CommandLine|contains: 'zzqdll'\ncondition: sel",
            PROC,
        )
    )
    prefilter = Prefilter(rules.rules)
    elsewhere = sysmon(1, Image="C:\\x\\a.exe", ParentImage="C:\\W\\RUNDLL32.EXE", CommandLine="zzqdll")
    assert prefilter.candidates(EventView(elsewhere)) == []
    there = sysmon(1, Image="C:\\W\\RunDll32.exe", CommandLine="x ZZQDLL y")
    assert prefilter.candidates(EventView(there)) == rules.rules
    assert _ids(rules, there)[0] == _ids(rules, there)[1] == [rules.rules[0].id]


def test_every_group_is_required_and_lists_are_searched_item_by_item() -> None:
    rules = compile_yaml(
        make_rule(
            "a:\n    CommandLine|contains: 'qqalpha'\nb:\n    ParentCommandLine|contains: 'qqbeta'\n"
            "condition: a and b",
            PROC,
        )
    )
    prefilter = Prefilter(rules.rules)
    assert prefilter.candidates(EventView(sysmon(1, CommandLine="qqalpha", ParentCommandLine="x"))) == []
    both = sysmon(1, CommandLine=["x", "QQALPHA"], ParentCommandLine=["qqBeta", "y"])
    assert prefilter.candidates(EventView(both)) == rules.rules
    assert _ids(rules, both)[0] == _ids(rules, both)[1] == [rules.rules[0].id]


def test_rare_single_character_makes_a_regex_rule_selective() -> None:
    rules = compile_yaml(make_rule("sel:\n    CommandLine|re: '\\w+`\\w+'\ncondition: sel", PROC))
    assert rules.rules[0].groups  # not evaluated on every event any more
    prefilter = Prefilter(rules.rules)
    assert prefilter.candidates(EventView(sysmon(1, CommandLine="iex (new-object x)"))) == []
    assert _ids(rules, sysmon(1, CommandLine="I`e`X x")) == ([rules.rules[0].id], [rules.rules[0].id])


def test_dotted_capital_i_is_lowered_as_the_rules_see_it() -> None:
    """``"İ".lower()`` is two characters; a literal ending in ``i`` is inside the lower-cased value."""
    rules = compile_yaml(make_rule("sel:\n    CommandLine|contains: 'run mi'\ncondition: sel", PROC))
    fields = sysmon(1, CommandLine="RUN Mİ now")  # "run mi\u0307 now" as the rules see it
    assert _ids(rules, fields) == ([rules.rules[0].id], [rules.rules[0].id])


@cache
def _real() -> tuple[CompiledRuleset, list[dict[str, FieldValue]], list[str]]:
    from datetime import UTC, datetime

    from mimamori.domain.models import RawRecord
    from mimamori.ingest.readers import evtx as reader
    from mimamori.parsers.evtx import parse

    names = ("cmd", "powershell", "rundll32", "susp_", "hktl_")
    paths = sorted(p for p in RULES.glob("*.yml") if any(n in p.name for n in names))[:260]
    ruleset = compile_ruleset(load_rules_from(paths))
    assert len(ruleset.rules) > 200
    events: list[dict[str, FieldValue]] = []
    for path in sorted(SAMPLES.rglob("*.evtx")):
        for _, data in reader.read(path):
            event = parse(RawRecord("t", "s", "evtx", data, datetime(2026, 1, 1, tzinfo=UTC)))
            if event is not None and event.fields.get("winlog.event_id") == 1:
                events.append(dict(event.fields))
        if len(events) >= 120:
            break
    literals = sorted({text for rule in ruleset.rules for group in rule.groups for text in group[0]})
    return ruleset, events, literals


def load_rules_from(paths: list[Path]) -> list[SigmaRule]:
    out: list[SigmaRule] = []
    for path in paths:
        try:
            rules = SigmaCollection.from_yaml(path.read_text(encoding="utf-8")).rules
        except Exception:  # a rule pySigma refuses is not what this test is about
            continue
        out.extend(r for r in rules if isinstance(r, SigmaRule))
    return out


_FIELDS = ("Image", "ParentImage", "CommandLine", "ParentCommandLine", "OriginalFileName", "User")


@pytest.mark.skipif(not (RULES.is_dir() and SAMPLES.is_dir()), reason=f"no Sigma rules/EVTX under {SHARED}")
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_real_rules_on_mutated_real_events(data: st.DataObject) -> None:
    ruleset, events, literals = _real()
    fields = dict(data.draw(st.sampled_from(events)))
    for _ in range(data.draw(st.integers(0, 4))):
        key = "winlog.event_data." + data.draw(st.sampled_from(_FIELDS))
        text = data.draw(st.sampled_from(literals))
        how = data.draw(st.sampled_from(["append", "replace", "upper", "list", "drop", "prefix"]))
        value = fields.get(key)
        current = value if isinstance(value, str) else ""
        if how == "append":
            fields[key] = current + " " + text
        elif how == "prefix":
            fields[key] = text + current
        elif how == "replace":
            fields[key] = text
        elif how == "upper":
            fields[key] = (current + text).upper()
        elif how == "list":
            fields[key] = [current, text.upper()]
        else:
            fields.pop(key, None)
    indexed, naive = _ids(ruleset, fields)
    assert indexed == naive
    bucket = ruleset._bucket(("microsoft-windows-sysmon/operational", 1))
    candidates = {r.id for r in bucket.candidates(EventView(fields))}
    assert set(naive) <= candidates


KEYWORDS = SHARED / "sigma" / "rules" / "windows" / "builtin" / "win_alert_mimikatz_keywords.yml"


@cache
def _with_keywords() -> tuple[CompiledRuleset, Prefilter, Prefilter]:
    """The process-creation rules and ``Mimikatz Use``; their Sysmon 1 bucket as built (with the C
    keyword scan) and again without it (RE2 over ``EventView.json``)."""
    paths = sorted(p for p in RULES.glob("*.yml") if any(n in p.name for n in ("cmd", "susp_")))[:150]
    compiled = compile_ruleset(load_rules_from([*paths, KEYWORDS]))
    bucket = compiled._bucket(("microsoft-windows-sysmon/operational", 1))
    saved = prefilter_module._literal_set
    prefilter_module._literal_set = None
    try:
        json_search = Prefilter(bucket.rules)
    finally:
        prefilter_module._literal_set = saved
    return compiled, bucket, json_search


@pytest.mark.skipif(_native.literal_set is None, reason="C speedups not built")
@pytest.mark.skipif(not (RULES.is_dir() and KEYWORDS.is_file()), reason=f"no Sigma rules under {SHARED}")
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_c_keyword_scan_gives_the_candidates_of_the_json_search(data: st.DataObject) -> None:
    """A bucket with keyword texts (``Mimikatz Use``) searches all values with ``_native.literal_scan``;
    the same bucket built without it must give the same candidates, and both must hold every rule the
    naive evaluation matches."""
    compiled, bucket, json_search = _with_keywords()
    assert bucket._scan is not None  # the C search is the one under test
    assert json_search._scan is None
    _, events, literals = _real()
    keywords = ["sekurlsa::", "Kerberos::PTT", "mimidrv.sys", "GENTILKIWI.COM", "misc::"]
    fields = dict(data.draw(st.sampled_from(events)))
    for _ in range(data.draw(st.integers(0, 4))):
        key = data.draw(st.sampled_from([*(f"winlog.event_data.{f}" for f in _FIELDS), "winlog.user.name"]))
        text = data.draw(st.one_of(st.sampled_from(keywords), st.sampled_from(literals)))
        value = fields.get(key)
        current = value if isinstance(value, str) else ""
        fields[key] = data.draw(
            st.sampled_from([current + text.upper(), text + current, [current, text], 4624, True])
        )
    c_candidates = [r.id for r in bucket.candidates(EventView(fields))]
    assert c_candidates == [r.id for r in json_search.candidates(EventView(fields))]
    assert {m.rule.id for m in compiled.match_naive(fields)} <= set(c_candidates)
