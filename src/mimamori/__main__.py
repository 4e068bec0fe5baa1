"""``python -m mimamori`` is the ``mimamori`` command."""

from mimamori.cli.main import main

main()
