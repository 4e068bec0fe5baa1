"""A migrated SQLite database and a pipeline with a small indicator set."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import operational_url

from mimamori.detection import DetectorContext, build_engine
from mimamori.detection.indicators import Indicator, IndicatorSet
from mimamori.services import Database
from mimamori.services.pipeline import Pipeline

C2 = "203.0.113.66"


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(operational_url(tmp_path))
    database.migrate()
    return database


@pytest.fixture
def pipeline(db: Database) -> Pipeline:
    indicators = IndicatorSet.from_indicators([Indicator(C2, "ip", "test C2")])
    return Pipeline(db, build_engine(DetectorContext(indicators=indicators)), max_record=4096)
