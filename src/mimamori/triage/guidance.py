"""Plain-language guidance for an incident, in Japanese and English, from the versioned catalogue.

The catalogue (``content/guidance/catalogue.toml``) holds English message ids; translations live in the
Babel domain ``guidance`` (``content/guidance/locale/{ja,en}/LC_MESSAGES/guidance.po``), compiled in
memory once. Lookup goes from the most specific match to the generic entry, so an incident always gets
a text, never an empty message. Values are filled with ``%`` formatting from a dict that never raises:
a missing value shows as "-" rather than breaking a customer's page.
"""

from __future__ import annotations

import gettext
import io
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES = ("ja", "en")
DOMAIN = "guidance"
PLAIN_FIELDS = ("what", "why", "steps", "provider", "call")
MAX_STEPS = 3
MAX_VALUE = 200  # characters of one inserted value (host names and rule titles come from logs)


def _root() -> Traversable:
    return resources.files("mimamori") / "content" / "guidance"


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    match: tuple[str, ...]
    what: str
    why: str
    steps: tuple[str, ...]
    provider: str
    call: str
    technical: str

    def messages(self) -> tuple[str, ...]:
        return (self.what, self.why, *self.steps, self.provider, self.call, self.technical)


@dataclass(frozen=True, slots=True)
class Catalogue:
    version: str
    entries: tuple[Entry, ...]
    names: Mapping[str, str]
    departments: Mapping[str, str]
    kinds: Mapping[str, str]

    def find(self, keys: Iterable[str]) -> Entry:
        """The first entry matching one of ``keys`` (most specific first), else the generic one."""
        by_key: dict[str, Entry] = {}
        for entry in self.entries:
            for key in entry.match:
                by_key.setdefault(key, entry)
        for key in (*keys, "generic"):
            if key in by_key:
                return by_key[key]
        raise LookupError("the guidance catalogue has no generic entry")

    def messages(self) -> list[str]:
        """Every message id of the catalogue (for the translation check and the .pot)."""
        found = [m for e in self.entries for m in e.messages()]
        found += [*self.names.values(), *self.departments.values(), *self.kinds.values()]
        return list(dict.fromkeys(found))


@cache
def catalogue() -> Catalogue:
    data: dict[str, Any] = tomllib.loads((_root() / "catalogue.toml").read_text(encoding="utf-8"))
    entries = tuple(
        Entry(
            id=str(item["id"]),
            match=tuple(item["match"]),
            what=item["what"],
            why=item["why"],
            steps=tuple(item["steps"]),
            provider=item["provider"],
            call=item["call"],
            technical=item["technical"],
        )
        for item in data["entry"]
    )
    return Catalogue(str(data["version"]), entries, data["names"], data["departments"], data["kinds"])


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled ``guidance`` catalogue of ``language`` (unknown languages get Japanese)."""
    if language not in LANGUAGES:
        language = LANGUAGES[0]
    path = _root() / "locale" / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


class _Values(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "-"


def _clean(value: object) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def render(message: str, language: str, values: Mapping[str, object] | None = None) -> str:
    """``message`` translated to ``language`` with ``values`` filled in; never raises on values."""
    text = translations(language).gettext(message)
    if values is None:
        return text
    try:
        return text % _Values({k: _clean(v) for k, v in values.items()})
    except (TypeError, ValueError, KeyError):
        return text


_NAME_PART = re.compile(r"[a-z]+")


def friendly_name(host: str | None, address: str | None, language: str) -> str:
    """ "経理のパソコン PC-KEIRI-01" / "the accounting PC PC-KEIRI-01" from a host name like PC-KEIRI-01."""
    cat = catalogue()
    if not host:
        return render(cat.names["unknown"], language, {"host": address or "-"})
    parts = _NAME_PART.findall(host.lower())
    kind = next((cat.kinds[p] for p in parts if p in cat.kinds), cat.kinds["device"])
    department = next((cat.departments[p] for p in parts if p in cat.departments), None)
    values = {
        "host": host,
        "kind": render(kind, language),
        "department": render(department, language) if department else "",
    }
    key = "with_department" if department else "without_department"
    return render(cat.names[key], language, values)


def guidance_keys(
    detectors: Iterable[str], categories: Iterable[str], tactics: Iterable[str], *, blocked: bool
) -> list[str]:
    """The lookup keys of an incident, most specific first (the incident's own category leads)."""
    keys = ["outcome:blocked"] if blocked else []
    keys += [f"category:{c}" for c in categories]
    keys += [f"detector:{d}" for d in detectors]
    keys += [f"tactic:{t}" for t in tactics]
    return keys


def _sentence(message: str, language: str, values: Mapping[str, object]) -> str:
    text = render(message, language, values)
    return text[:1].upper() + text[1:] if language == "en" else text


def render_entry(entry: Entry, language: str, values: Mapping[str, object]) -> dict[str, Any]:
    """The entry in one language: the plain sections, at most three steps, and the technical note."""
    return {
        "entry": entry.id,
        "what": _sentence(entry.what, language, values),
        "why": _sentence(entry.why, language, values),
        "steps": [_sentence(step, language, values) for step in entry.steps[:MAX_STEPS]],
        "provider": _sentence(entry.provider, language, values),
        "call": _sentence(entry.call, language, values),
        "technical": _sentence(entry.technical, language, values),
    }
