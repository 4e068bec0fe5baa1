"""Translations for the web UI: Babel ``.po`` catalogues (ja first, en too), compiled in memory at start.

Message ids are English; the Japanese catalogue translates them. ``babel.cfg`` + ``pybabel extract``
keep the catalogues in step with the templates (see CONTRIBUTING.md).
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from importlib import resources

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES = ("ja", "en")
DEFAULT_LANGUAGE = "ja"


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalogue for ``language`` (English falls back to the message ids)."""
    if language not in LANGUAGES:
        language = DEFAULT_LANGUAGE
    po_path = resources.files("mimamori") / "web" / "locale" / language / "LC_MESSAGES" / "messages.po"
    if not po_path.is_file():
        return gettext.NullTranslations()
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def pick_language(requested: str | None, cookie: str | None) -> str:
    """Query parameter, then cookie, then Japanese.

    The browser's Accept-Language is deliberately ignored: the service is Japanese first, and an SME's
    shared office PC or a provider's English-language browser must not switch the portal by accident.
    """
    for candidate in (requested, cookie):
        if candidate in LANGUAGES:
            return candidate
    return DEFAULT_LANGUAGE
