"""Build or remove the opt-in compiled (mypyc) parser modules: ``python -m mimamori.parsers._build``.

``build`` compiles ``_compiled.MODULES`` in place (C extensions beside the sources, which an editable
install imports); ``clean`` removes them; ``status`` says whether a build is present and current. See
``_compiled`` for when the compiled modules are used, and docs/performance.md for what they gain.
``speedups`` (re)builds the C speedups (``_speedups.c``, see ``_native``) in place, as ``pip install -e
.`` does, for an environment installed before them or after an edit of the C source.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

from mimamori.parsers._compiled import MODULES, compiled_state, extension

__all__ = ["build", "clean"]

HERE = Path(__file__).resolve().parent


def _extensions() -> list[Path]:
    found = [extension(HERE / name) for name in MODULES]
    groups = [p for suffix in EXTENSION_SUFFIXES for p in HERE.parents[1].glob(f"*__mypyc{suffix}")]
    return [p for p in found if p is not None] + groups


def clean() -> list[Path]:
    """Remove the compiled modules (and mypyc's shared library beside the package); return them."""
    removed = _extensions()
    for path in removed:
        path.unlink()
    return removed


def build() -> None:
    """Compile ``MODULES`` with mypyc in place; raises ``subprocess.CalledProcessError`` on failure."""
    root = HERE.parents[1]  # the directory holding the ``mimamori`` package
    clean()
    with tempfile.TemporaryDirectory(prefix="mimamori-mypyc-") as scratch:
        # mypyc writes its C files to ./build and builds in place: run it from the source root, and
        # move its build directory out afterwards.
        sources = [str((HERE / name).relative_to(root)) for name in MODULES]
        try:
            command = [sys.executable, "-m", "mypyc", "--cache-dir", os.devnull, *sources]
            subprocess.run(command, cwd=root, check=True)  # noqa: S603 - our interpreter, our files
        finally:
            if (root / "build").is_dir():
                shutil.move(str(root / "build"), scratch)


def speedups() -> Path:
    """Compile ``_speedups.c`` with setuptools and move the extension in place; return its path.

    The new file replaces the old one by a rename: a process that has the old one loaded keeps it.
    """
    from setuptools import Distribution, Extension  # type: ignore[import-untyped]  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="mimamori-speedups-") as scratch:
        ext = Extension("mimamori.parsers._speedups", sources=[str(HERE / "_speedups.c")])
        dist = Distribution({"name": "mimamori-speedups", "ext_modules": [ext]})
        dist.script_name = "setup.py"
        lib, objects = Path(scratch) / "lib", Path(scratch) / "objects"
        dist.script_args = ["build_ext", "--build-lib", str(lib), "--build-temp", str(objects)]
        dist.parse_command_line()
        dist.run_commands()
        built = extension(lib / "mimamori" / "parsers" / "_speedups.py")
        if built is None:
            raise RuntimeError("the C speedups were not built")
        target = HERE / built.name
        shutil.copy2(built, f"{target}.new")
        os.replace(f"{target}.new", target)
    return target


def main(argv: Sequence[str]) -> int:
    command = argv[0] if argv else "status"
    if command == "speedups":
        print(f"built {speedups()}")
        return 0
    if command == "build":
        build()
    elif command == "clean":
        for path in clean():
            print(f"removed {path}")
    elif command != "status":
        print("usage: python -m mimamori.parsers._build [build|clean|status|speedups]", file=sys.stderr)
        return 2
    state = compiled_state()
    print("compiled: none" if state is None else f"compiled: {'current' if state else 'STALE or partial'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
