"""Whole directories: every regular file below, in sorted order, hidden files and directories skipped.

Sorted so that two runs (and a resumed run) read files in the same order; hidden names (``.git``,
``.DS_Store``, editor swap files) are never logs. Symbolic links to files are followed, links to
directories are not (no loops).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path


def hidden(name: str) -> bool:
    """Dot-files, and the metadata folders macOS puts into archives."""
    return name.startswith(".") or name == "__MACOSX"


def files(root: Path) -> Iterator[Path]:
    """Every non-hidden regular file under ``root``, depth first, names sorted at each level."""
    try:
        entries = sorted(os.scandir(root), key=lambda entry: entry.name)
    except OSError:  # unreadable: handed on, so that opening it reports the reason
        yield root
        return
    for entry in entries:
        if hidden(entry.name):
            continue
        path = Path(entry.path)
        try:
            if entry.is_dir(follow_symlinks=False):
                yield from files(path)
            elif entry.is_file():
                yield path
        except OSError:
            continue
