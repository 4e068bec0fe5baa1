"""The choice between the compiled (mypyc) and the pure-Python parser modules.

The suite runs against whichever build is present; ``MIMAMORI_PURE=1`` forces the sources. These tests
pin the rules: a stale or partial compiled build is never used, and the switch really loads ``.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.machinery import EXTENSION_SUFFIXES, SourceFileLoader
from pathlib import Path

import pytest

from mimamori import parsers
from mimamori.parsers import _build, _compiled


def _tree(tmp_path: Path) -> Path:
    for name in _compiled.MODULES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x = 1\n")
    return tmp_path


def _compile_fake(source: Path, mtime: float) -> Path:
    stem = "__init__" if source.name == "__init__.py" else source.stem
    extension = source.with_name(stem + EXTENSION_SUFFIXES[0])
    extension.write_bytes(b"not really a shared object")
    os.utime(extension, (mtime, mtime))
    return extension


def test_no_extension_means_no_compiled_build(tmp_path: Path) -> None:
    assert _compiled.compiled_state(_tree(tmp_path)) is None


def test_a_complete_and_newer_build_is_current(tmp_path: Path) -> None:
    here = _tree(tmp_path)
    for name in _compiled.MODULES:
        _compile_fake(here / name, (here / name).stat().st_mtime + 10)
    assert _compiled.compiled_state(here) is True


def test_a_source_edited_after_compiling_makes_the_build_stale(tmp_path: Path) -> None:
    here = _tree(tmp_path)
    for name in _compiled.MODULES:
        _compile_fake(here / name, (here / name).stat().st_mtime + 10)
    edited = here / "zeek.py"
    later = edited.stat().st_mtime + 60
    os.utime(edited, (later, later))
    assert _compiled.compiled_state(here) is False


def test_a_partial_build_is_not_used(tmp_path: Path) -> None:
    here = _tree(tmp_path)
    _compile_fake(here / "zeek.py", (here / "zeek.py").stat().st_mtime + 10)
    assert _compiled.compiled_state(here) is False


def test_the_sources_finder_ignores_extensions(tmp_path: Path) -> None:
    (tmp_path / "fake.py").write_text("x = 1\n")
    _compile_fake(tmp_path / "fake.py", 0)
    finder = _compiled._SourcesOnly()
    spec = finder.find_spec("mimamori.parsers.fake", [str(tmp_path)])
    assert spec is not None
    assert isinstance(spec.loader, SourceFileLoader)
    assert spec.origin == str(tmp_path / "fake.py")
    assert finder.find_spec("other.fake", [str(tmp_path)]) is None  # only this package


def test_pure_switch_loads_the_sources() -> None:
    code = (
        "import mimamori.parsers as p, mimamori.parsers.zeek as z, mimamori.parsers.evtx as e;"
        "print(p.BUILD, z.__file__, e.__file__)"
    )
    env = {**os.environ, "MIMAMORI_PURE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[0] == "pure"
    assert out[1].endswith("zeek.py")
    assert out[2].endswith("__init__.py")


def test_build_in_use_is_reported() -> None:
    assert parsers.BUILD in {"pure", "compiled"}
    compiled = parsers.zeek.__file__ is not None and not parsers.zeek.__file__.endswith(".py")
    assert (parsers.BUILD == "compiled") == compiled


def test_build_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert _build.main(["status"]) == 0
    assert capsys.readouterr().out.startswith("compiled: ")
    assert _build.main(["compile-everything"]) == 2
    assert "usage" in capsys.readouterr().err
