"""The screenshot script's code path (tests/browser/screenshots.py) on real pages, so it cannot rot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.browser.screenshots import OUT, SHOTS, Sessions, capture
from tests.browser.world import QUIET, World

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
PNG = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG, f"{path} is not a PNG"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@pytest.mark.parametrize("name", ["login", "portal-home"])
def test_capture_saves_a_phone_sized_png(world: World, browser: Any, tmp_path: Path, name: str) -> None:
    shot = next(s for s in SHOTS if s.name == name)
    sessions = Sessions(lambda page, _who: world.login(page, QUIET))
    path = capture(browser, world.base, shot, tmp_path, sessions)
    assert path == tmp_path / f"{name}.png"
    width, height = png_size(path)
    assert width == 375  # phone width, nothing wider than the viewport
    assert height >= 300


def test_every_shot_is_listed_in_the_readme() -> None:
    names = [s.name for s in SHOTS]
    assert len(names) == len(set(names))
    readme = (OUT / "README.md").read_text(encoding="utf-8")
    assert [n for n in names if f"{n}.png" not in readme] == []
