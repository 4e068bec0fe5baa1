"""Use cases shared by the API, the web pages and the CLI; the only layer that touches storage."""

from mimamori.storage import Database

__all__ = ["Database"]
