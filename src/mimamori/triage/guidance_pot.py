"""Write the ``guidance`` domain's template (.pot) from the catalogue and the score reasons.

``pybabel extract`` cannot read TOML, so this module is the extractor:

    python -m mimamori.triage.guidance_pot /tmp/guidance.pot
    pybabel update -D guidance -i /tmp/guidance.pot -d src/mimamori/content/guidance/locale

then translate the new Japanese entries (a test fails while one is missing).
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from mimamori.triage.guidance import DOMAIN, catalogue
from mimamori.triage.scoring import MESSAGES, VALUE_WORDS


def messages() -> list[str]:
    """Every message id of the ``guidance`` domain, in a stable order."""
    return list(dict.fromkeys([*catalogue().messages(), *MESSAGES, *VALUE_WORDS]))


def template() -> Catalog:
    pot = Catalog(domain=DOMAIN, project="mimamori", version=catalogue().version)
    for message in messages():
        pot.add(message, flags=("python-format",) if "%(" in message else ())
    return pot


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else Path("guidance.pot")
    with target.open("wb") as handle:
        write_po(handle, template(), width=110)


if __name__ == "__main__":
    main()
