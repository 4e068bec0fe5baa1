"""What every command needs: the settings and the migrated database."""

from __future__ import annotations

from mimamori.config import Settings
from mimamori.services import Database
from mimamori.services.runtime import open_database


def settings() -> Settings:
    return Settings.load()


def database(current: Settings | None = None) -> Database:
    return open_database(current or settings())
