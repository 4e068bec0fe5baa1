"""Every fixed word of the notifications exists in Japanese and English (Babel domain ``notify``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

import mimamori
from mimamori.notify.render import KIND_TAGS, SEVERITIES, Labels, translations

NOTIFY = Path(mimamori.__file__).parent / "notify"
CALL = re.compile(r"""\bL\(\s*"((?:[^"\\]|\\.)*)"\s*[,)]""")


def used_labels() -> set[str]:
    found: set[str] = set(SEVERITIES.values()) | set(KIND_TAGS.values())
    sources = [*NOTIFY.glob("render.py"), *NOTIFY.glob("channels/*.py"), *NOTIFY.glob("templates/*")]
    for path in sources:
        found.update(CALL.findall(path.read_text(encoding="utf-8")))
    return found


def catalogue(language: str) -> dict[str, str]:
    with (NOTIFY / "locale" / language / "LC_MESSAGES" / "notify.po").open("rb") as handle:
        catalog = read_po(handle, locale=language, domain="notify")
    return {str(m.id): str(m.string) for m in catalog if m.id}


def test_the_scan_finds_the_labels() -> None:
    used = used_labels()
    assert {"I have seen this", "What to do now", "High", "[%(tags)s] %(title)s - %(brand)s"} <= used
    assert len(used) >= 25


@pytest.mark.parametrize("language", ["ja", "en"])
def test_every_label_is_translated(language: str) -> None:
    strings = catalogue(language)
    missing = sorted(label for label in used_labels() if not strings.get(label))
    assert missing == []
    unused = sorted(set(strings) - used_labels())
    assert unused == []


def test_japanese_differs_and_keeps_placeholders() -> None:
    ja = catalogue("ja")
    for msgid, text in ja.items():
        assert sorted(re.findall(r"%\(\w+\)s", msgid)) == sorted(re.findall(r"%\(\w+\)s", text)), msgid
        if re.search(r"[A-Za-z]{3}", re.sub(r"%\(\w+\)s", "", msgid)):
            assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", text), f"not Japanese: {msgid}"


def test_lookup_and_fallback() -> None:
    assert Labels("ja")("I have seen this") == "確認しました"
    assert Labels("en")("I have seen this") == "I have seen this"
    assert Labels("fr")("I have seen this") == "確認しました"
    assert translations("ja").gettext("High") == "緊急度 高"
    assert Labels("ja")("Nobody has acknowledged this yet (reminder %(step)s).", step=2) == (
        "まだ誰も確認していません(2 回目の再通知)。"
    )
    assert Labels("ja")("This is an urgent call from %(brand)s.", wrong=1) == "%(brand)s からの緊急連絡です。"
