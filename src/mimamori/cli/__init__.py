"""The ``mimamori`` command line (Typer): thin commands over the services."""
