"""Every UI string has a Japanese translation; catalogues load."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

import mimamori
from mimamori.detection.indicators.presentation import TITLES
from mimamori.web.i18n import pick_language, translations
from mimamori.web.titles import HEADLINES

PACKAGE = Path(mimamori.__file__).parent
MSGID = re.compile(r"""_\(\s*"((?:[^"\\]|\\.)*)"\s*\)""")


def template_strings() -> set[str]:
    found: set[str] = set()
    for path in (PACKAGE / "web" / "templates").glob("*.html"):
        found.update(MSGID.findall(path.read_text(encoding="utf-8")))
    return found | set(TITLES.values()) | set(HEADLINES.values()) | {"high", "medium", "low"}


def test_every_ui_string_is_translated_to_japanese() -> None:
    with (PACKAGE / "web/locale/ja/LC_MESSAGES/messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="ja")
    missing = sorted(s for s in template_strings() if not (catalog.get(s) and catalog.get(s).string))
    assert missing == []


def test_translations_compile_and_fall_back() -> None:
    assert translations("ja").gettext("Safe") == "安全"
    assert translations("en").gettext("Safe") == "Safe"
    assert translations("xx").gettext("Safe") == "安全"


def test_language_choice_order() -> None:
    assert pick_language("en", "ja") == "en"
    assert pick_language(None, "en") == "en"
    assert pick_language("fr", None) == "ja"
    assert pick_language(None, None) == "ja"
