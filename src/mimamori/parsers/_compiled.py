"""Which build of the hot parser modules runs: the mypyc-compiled one (when present and current) or source.

The modules in ``MODULES`` are plain, ``mypy --strict`` typed Python. The opt-in compiled build
(mypyc ships with mypy, a dev dependency; it needs a C compiler; see docs/performance.md)::

    .venv/bin/python -m mimamori.parsers._build build    # or: clean, status

puts a C extension beside each ``.py`` (in the source tree, which an editable install imports from).
Python prefers such an extension to the source, so this module decides before the parsers are
imported, and makes the package import its sources when:

- ``MIMAMORI_PURE=1`` is set (a test run of the pure build on a machine that has the compiled one);
- a compiled build is only partial, or older than one of its sources (a developer edited a parser
  after compiling: running the old compiled code would be a silent lie).

Nothing here is needed without a compiled build: the sources are then what Python finds anyway, and
``pip install -e .`` never compiles anything.
"""

from __future__ import annotations

import importlib.abc
import logging
import os
import sys
from collections.abc import Sequence
from importlib.machinery import EXTENSION_SUFFIXES, SOURCE_SUFFIXES, FileFinder, ModuleSpec, SourceFileLoader
from pathlib import Path
from types import ModuleType

__all__ = ["MODULES", "choose", "compiled_state", "extension"]

log = logging.getLogger(__name__)

PACKAGE = "mimamori.parsers"
# Sources compiled by mypyc, relative to this package: the parsers whose speed has a target and the
# helpers they call on every event.
MODULES = (
    "_json.py",
    "_zeek_fields.py",
    "zeek.py",
    "suricata.py",
    "_fast.py",
    "_device.py",
    "syslog.py",
    "_fortigate_values.py",
    "fortigate.py",
    "evtx/__init__.py",
    "evtx/values.py",
    "evtx/channels.py",
    "evtx/ecs.py",
)
_HERE = Path(__file__).resolve().parent


class _SourcesOnly(importlib.abc.MetaPathFinder):
    """Finds this package's modules from their ``.py`` files only, never from a compiled extension."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        del target
        if not fullname.startswith(PACKAGE + ".") or path is None:
            return None
        for entry in path:
            spec = FileFinder(entry, (SourceFileLoader, SOURCE_SUFFIXES)).find_spec(fullname)
            if spec is not None:
                return spec
        return None


def extension(source: Path) -> Path | None:
    stem = source.parent / ("__init__" if source.name == "__init__.py" else source.stem)
    for suffix in EXTENSION_SUFFIXES:
        candidate = stem.with_name(stem.name + suffix)
        if candidate.is_file():
            return candidate
    return None


def compiled_state(here: Path = _HERE) -> bool | None:
    """True: every module has an extension newer than its source; None: there is no compiled build."""
    found = 0
    current = True
    for name in MODULES:
        source = here / name
        built = extension(source)
        if built is None:
            current = False
            continue
        found += 1
        if built.stat().st_mtime < source.stat().st_mtime:
            current = False
    if not found:
        return None
    return current


def choose() -> str:
    """Decide and return the build in use, ``"compiled"`` or ``"pure"``; call before importing parsers."""
    if any(isinstance(finder, _SourcesOnly) for finder in sys.meta_path):
        return "pure"
    state = compiled_state()
    if state is None:
        return "pure"
    if os.environ.get("MIMAMORI_PURE") == "1":
        reason = ""
    elif state:
        return "compiled"
    else:
        reason = "the compiled parsers are partial or older than their sources (rebuild them)"
    if reason:
        log.warning("mimamori.parsers: running the pure-Python parsers: %s", reason)
    sys.meta_path.insert(0, _SourcesOnly())
    return "pure"
