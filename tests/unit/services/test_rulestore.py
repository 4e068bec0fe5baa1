"""RuleStore: versions on disk, current/previous pointers, rollback, pruning, defensive zip extraction."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from mimamori.errors import NotFoundError, ValidationError
from mimamori.services import rulestore
from mimamori.services.rulestore import RulesetInfo, RuleStore, content_hash, extract_rules, rule_files

RULE = "title: t\nid: {id}\nlogsource: {{product: windows}}\ndetection: {{sel: {{EventID: 1}}, condition: sel}}\n"


def _info(version: str, digest: str = "d") -> RulesetInfo:
    return RulesetInfo(version, "test", "2026-11-26T00:00:00+00:00", digest, 1, 1, 0, 1, 0, 0)


def _stage(store: RuleStore, name: str = "a.yml") -> Path:
    stage = store.staging() / "rules"
    stage.mkdir()
    (stage / name).write_text(RULE.format(id=name))
    return stage


def test_install_rollback_and_undo(tmp_path: Path) -> None:
    store = RuleStore(tmp_path / "sigma")
    assert store.current() is None
    assert store.installed() == []
    with pytest.raises(NotFoundError):
        store.rollback()
    store.install(_stage(store), _info("v1"))
    store.install(_stage(store, "b.yml"), _info("v2"))
    assert store.current() == _info("v2")
    assert store.previous() == _info("v1")
    assert (store.rules_dir("v2") / "b.yml").is_file()
    assert store.rollback().version == "v1"
    assert (store.current(), store.previous()) == (_info("v1"), _info("v2"))
    assert store.rollback().version == "v2"  # a second rollback undoes the first
    with pytest.raises(NotFoundError):
        store.info("../v1")
    with pytest.raises(ValidationError):
        store.install(_stage(store), _info("v2"))


def test_prune_keeps_current_and_previous(tmp_path: Path) -> None:
    store = RuleStore(tmp_path / "sigma", keep=2)
    for version in ("v1", "v2", "v3", "v4"):
        store.install(_stage(store), _info(version))
    assert [i.version for i in store.installed()] == ["v4", "v3"]
    store.rollback()  # current v3, previous v4
    store.install(_stage(store), _info("v5"))  # previous becomes v3: kept beyond the two newest
    assert [i.version for i in store.installed()] == ["v5", "v4", "v3"]
    store.install(_stage(store), _info("v6"))  # previous v5; v3 and v4 go
    assert [i.version for i in store.installed()] == ["v6", "v5"]


def test_content_hash_depends_on_names_and_bytes(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "a.yml").write_text("a")
    first = content_hash(tmp_path, rule_files(tmp_path))
    (tmp_path / "x" / "a.yml").write_text("b")
    assert content_hash(tmp_path, rule_files(tmp_path)) != first
    (tmp_path / "x" / "a.yml").write_text("a")
    assert content_hash(tmp_path, rule_files(tmp_path)) == first
    (tmp_path / "x" / "a.yml").rename(tmp_path / "x" / "c.yml")
    assert content_hash(tmp_path, rule_files(tmp_path)) != first


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
    return path


def test_extract_keeps_only_rules_and_licences(tmp_path: Path) -> None:
    archive = _zip(
        tmp_path / "r.zip",
        {
            "rules/windows/a.yml": b"x",
            "rules/b.yaml": b"y",
            "LICENSE.Detection.Rules.md": b"DRL",
            "tools/evil.py": b"import os",
            "rules/notes.txt": b"n",
        },
    )
    dest = tmp_path / "out"
    assert extract_rules(archive, dest) == 2
    found = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert found == ["LICENSE.Detection.Rules.md", "rules/b.yaml", "rules/windows/a.yml"]


@pytest.mark.parametrize("name", ["../escape.yml", "/abs/path.yml", "rules/../../x.yml", "C:/win.yml"])
def test_extract_refuses_unsafe_paths(tmp_path: Path, name: str) -> None:
    archive = _zip(tmp_path / "r.zip", {name: b"x"})
    with pytest.raises(ValidationError, match="unsafe"):
        extract_rules(archive, tmp_path / "out")
    assert not (tmp_path / "escape.yml").exists()


def test_extract_refuses_bombs_and_garbage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rulestore, "MAX_MEMBER_BYTES", 1000)
    bomb = _zip(tmp_path / "bomb.zip", {"rules/a.yml": b"\0" * 100_000})
    with pytest.raises(ValidationError, match="larger than a rule file"):
        extract_rules(bomb, tmp_path / "out")
    monkeypatch.setattr(rulestore, "MAX_MEMBERS", 3)
    many = _zip(tmp_path / "many.zip", {f"r{i}.yml": b"x" for i in range(5)})
    with pytest.raises(ValidationError, match="members"):
        extract_rules(many, tmp_path / "out2")
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip at all")
    with pytest.raises(ValidationError, match="not a readable zip"):
        extract_rules(junk, tmp_path / "out3")
