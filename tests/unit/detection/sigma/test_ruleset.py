"""The compiled ruleset: metadata, skipped rules, evidence, the index agreeing with the naive evaluation,
and hostile events (nothing raises, nothing unbounded)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mimamori.detection.sigma import CompiledRuleset, SigmaMatch
from mimamori.detection.sigma.ruleset import MAX_BUCKETS

from .conftest import compile_yaml, make_rule, security, sysmon  # type: ignore[import-not-found]

PROC = "product: windows\ncategory: process_creation"
RULES = "\n---\n".join(
    [
        make_rule(
            "sel:\n    Image|endswith: '\\\\whoami.exe'\nfilter:\n    ParentImage|endswith: '\\\\explorer.exe'\n"
            "condition: sel and not filter",
            PROC,
            id="00000000-0000-0000-0000-00000000000a",
            title="Whoami",
            level="medium",
            tags="\n    - attack.discovery\n    - attack.t1033",
            description="Someone asked who they are",
            status="test",
        ),
        make_rule(
            "sel:\n    CommandLine|contains|all:\n        - 'sekurlsa'\n        - 'logonpasswords'\ncondition: sel",
            PROC,
            id="00000000-0000-0000-0000-00000000000b",
        ),
        make_rule(
            "sel:\n    CommandLine|re: '(?i)-e(nc|ncodedcommand)?\\s+[a-z0-9+/=]{20,}'\ncondition: sel",
            PROC,
            id="00000000-0000-0000-0000-00000000000c",
        ),
        make_rule(
            "sel:\n    EventID: 4625\n    LogonType: 3\ncondition: sel",
            id="00000000-0000-0000-0000-00000000000d",
        ),
        make_rule(
            "keywords:\n    - 'gentilkiwi'\nfilter:\n    EventID: 15\ncondition: keywords and not filter",
            "product: windows",
            id="00000000-0000-0000-0000-00000000000e",
        ),
        make_rule(
            "sel:\n    CommandLine|contains:\n        - '\U0001f600'\n        - '\u202e'\ncondition: sel",
            PROC,
            id="00000000-0000-0000-0000-00000000000f",
        ),
        make_rule(
            "sel:\n    CommandLine|contains:\n        - 'q\"x\\\\y'\n        - '\u00c9cho'\ncondition: sel",
            PROC,
            id="00000000-0000-0000-0000-000000000010",
        ),
    ]
)


def ruleset() -> CompiledRuleset:
    return compile_yaml(RULES)


def ids(matches: list[SigmaMatch]) -> list[str]:
    return [m.rule.id[-1] for m in matches]


def test_metadata() -> None:
    whoami = ruleset().rules[0]
    assert (whoami.id, whoami.title, whoami.level, whoami.status) == (
        "00000000-0000-0000-0000-00000000000a", "Whoami", "medium", "test"
    )  # fmt: skip
    assert whoami.tags == ("attack.discovery", "attack.t1033")
    assert whoami.description == "Someone asked who they are"
    assert whoami.logsource == ("windows", "process_creation", None)


def test_matches_with_evidence() -> None:
    found = ruleset().match(
        sysmon(1, Image="C:\\Windows\\System32\\whoami.exe", ParentImage="C:\\x\\cmd.exe")
    )
    assert ids(found) == ["a"]
    assert found[0].matched == {
        "Image": "C:\\Windows\\System32\\whoami.exe"
    }  # not the negated filter's field


def test_index_respects_log_source_and_event_ids() -> None:
    rules = ruleset()
    image = "C:\\Windows\\System32\\whoami.exe"
    assert ids(rules.match(sysmon(1, Image=image))) == ["a"]
    assert ids(rules.match(sysmon(11, Image=image))) == []  # file_event, not process creation
    assert ids(rules.match(security(4688, NewProcessName=image))) == ["a"]
    assert ids(rules.match(security(4625, LogonType="3"))) == ["d"]
    assert ids(rules.match(security(4624, LogonType="3"))) == []
    assert rules.match({"message": "not a windows event"}) == []


def test_keyword_rule_sees_every_channel() -> None:
    rules = ruleset()
    assert ids(rules.match(security(4663, ObjectName="C:\\gentilkiwi\\x"))) == ["e"]
    assert ids(rules.match(sysmon(15, TargetFilename="C:\\gentilkiwi\\x"))) == []


def test_prefilter_agrees_on_non_ascii_text() -> None:
    rules = ruleset()
    assert ids(rules.match(sysmon(1, CommandLine="İSTANBUL \u202ecod.exe"))) == ["f"]
    assert ids(rules.match(sysmon(1, CommandLine="powershell -ENC " + "A" * 30))) == ["c"]


_ALPHABET = list('abc sekurlsa logonpasswords whoami.exe\\İ\u202e-enc+=/ASDF0123"qxyÉéCHO\x01\u212a')
_text = st.text(st.sampled_from(_ALPHABET), max_size=60)


@settings(max_examples=100, deadline=None)
@given(
    image=_text,
    parent=st.one_of(st.none(), _text),
    command=_text,
    event_id=st.sampled_from([1, 11, 4625, 4688]),
    logon=st.sampled_from(["3", "2", 3]),
)
def test_index_and_naive_evaluation_agree(
    image: str, parent: str | None, command: str, event_id: int, logon: str | int
) -> None:
    rules = ruleset()
    data = {"Image": image, "CommandLine": command, "LogonType": logon}
    if parent is not None:
        data["ParentImage"] = parent
    for fields in (sysmon(event_id, **data), security(event_id, **data)):
        assert ids(rules.match(fields)) == ids(rules.match_naive(fields))


def test_hostile_values_do_not_raise() -> None:
    rules = ruleset()
    weird = [
        "\x00" * 10,
        "\ud800 lone surrogate",
        "A" * 200_000 + "sekurlsa logonpasswords",
        ["nested", 3, True, 2.5],
        2**63 - 1,
    ]
    for value in weird:
        fields = sysmon(1, CommandLine=value, Image=value)  # type: ignore[arg-type]
        assert ids(rules.match(fields)) == ids(rules.match_naive(fields))
    assert rules.match({"winlog.event_id": "4688", "winlog.channel": "Security"}) == []
    assert rules.match({"winlog.event_id": 4688, "winlog.channel": 7}) == []


def test_prefilter_finds_literals_with_json_escapes_and_non_ascii_case() -> None:
    rules = ruleset()
    assert ids(rules.match(sysmon(1, CommandLine='run q"x\\y now'))) == ["0"]
    assert ids(rules.match(sysmon(1, CommandLine="ÉCHO \x01"))) == ["0"]
    assert ids(rules.match(sysmon(1, CommandLine="\ud800 éCHO"))) == ["0"]


def test_long_value_still_matches() -> None:
    found = ruleset().match(sysmon(1, CommandLine="A" * 200_000 + " sekurlsa::logonpasswords"))
    assert ids(found) == ["b"]


def test_buckets_are_bounded() -> None:
    rules = ruleset()
    for event_id in range(MAX_BUCKETS + 10):
        rules.match(security(event_id))
    assert len(rules._buckets) <= MAX_BUCKETS
    assert len(rules._prefilters) == 1  # every one of these ids has the channel-wide rules only: shared


def test_rules_it_cannot_run_are_skipped_with_reason() -> None:
    text = "\n---\n".join(
        [
            make_rule("sel:\n    a: 1\ncondition: sel", "product: linux\ncategory: process_creation"),
            make_rule("sel:\n    EventID|minute: 5\ncondition: sel"),
            make_rule("sel:\n    EventID: 1\ncondition: sel", id="00000000-0000-0000-0000-0000000000aa"),
        ]
    )
    rules = compile_yaml(text)
    assert [r.id for r in rules.rules] == ["00000000-0000-0000-0000-0000000000aa"]
    reasons = [reason for _, reason in rules.skipped]
    assert any("log source" in r for r in reasons)
    assert any("timestamp" in r for r in reasons)
