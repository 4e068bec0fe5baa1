"""Loading rule files: directories and zips, bad rules skipped with their path and reason."""

from __future__ import annotations

import zipfile
from pathlib import Path

from mimamori.detection.sigma import load_rules

from .conftest import make_rule  # type: ignore[import-not-found]

GOOD = make_rule("sel:\n    EventID: 4624\ncondition: sel", name="logon")
BAD_CONDITION = make_rule("sel:\n    EventID: 4624\ncondition: sel and missing")
CORRELATION = """
title: Many logons
id: 00000000-0000-0000-0000-0000000000c1
correlation:
    type: event_count
    rules:
        - logon
    group-by:
        - TargetUserName
    timespan: 5m
    condition:
        gte: 10
"""


def test_directory_with_good_bad_and_correlation_rules(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "good.yml").write_text(GOOD)
    (tmp_path / "sub" / "corr.yaml").write_text(CORRELATION)
    (tmp_path / "broken.yml").write_text("title: [unclosed\n")
    (tmp_path / "bad.yml").write_text(BAD_CONDITION)
    (tmp_path / "regex.yml").write_text(make_rule("sel:\n    CommandLine|re: 'a(?=b)'\ncondition: sel"))
    (tmp_path / "notes.txt").write_text("not a rule")
    result = load_rules(tmp_path)
    assert result.files == 5
    assert [r.title for r in result.rules] == ["Test rule", "Test rule"]  # bad.yml parses; compile refuses
    assert [c.title for c in result.correlations] == ["Many logons"]
    skipped = dict(result.skipped)
    assert set(skipped) == {str(tmp_path / "broken.yml"), str(tmp_path / "regex.yml")}
    assert "invalid" in skipped[str(tmp_path / "regex.yml")].lower()


def test_correlation_with_unknown_rule_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "corr.yml").write_text(CORRELATION)
    result = load_rules(tmp_path)
    assert result.correlations == []
    assert len(result.skipped) == 1


def test_zip_archive(tmp_path: Path) -> None:
    archive = tmp_path / "rules.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("sigma/rules/windows/good.yml", GOOD)
        handle.writestr("sigma/rules/windows/empty.yml", "")
        handle.writestr("README.md", "x")
    result = load_rules(archive)
    assert result.files == 2
    assert len(result.rules) == 1
    assert result.rules[0].source is not None
    assert str(result.rules[0].source.path).endswith("rules.zip!sigma/rules/windows/good.yml")


def test_oversize_and_unreadable_inputs_do_not_raise(tmp_path: Path) -> None:
    (tmp_path / "huge.yml").write_bytes(b"#" * 1_000_001)
    (tmp_path / "binary.yml").write_bytes(b"\xff\xfe\x00garbage")
    result = load_rules(tmp_path)
    assert result.rules == []
    assert {Path(p).name for p, _ in result.skipped} == {"huge.yml", "binary.yml"}
    missing = load_rules(tmp_path / "nope.zip")
    assert missing.rules == []
    assert missing.skipped
