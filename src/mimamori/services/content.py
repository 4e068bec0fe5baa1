"""The product's own content (bundled demo indicators) and loading it for the detectors."""

from __future__ import annotations

import logging
import shutil
from importlib import resources
from pathlib import Path

from mimamori.config import Settings
from mimamori.detection import DetectorContext
from mimamori.detection.behaviours import BehaviourPolicy
from mimamori.detection.indicators import load as load_indicators
from mimamori.services import behaviours, rules
from mimamori.services import indicators as indicator_store
from mimamori.storage import Database

log = logging.getLogger(__name__)


def bundled_indicators() -> Path:
    return Path(str(resources.files("mimamori") / "content" / "indicators.txt"))


def ensure_content(settings: Settings) -> None:
    """Seed the data directory with the bundled indicator list when it has none yet."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    target = settings.indicators_path
    if not target.exists():
        shutil.copyfile(bundled_indicators(), target)


def detector_context(
    settings: Settings, db: Database | None = None, *, sigma: bool = True
) -> DetectorContext:
    """The detectors' content: indicators, and the current Sigma ruleset with its policy (``db`` gives the
    per-tenant switches; without it only the provider-wide ones apply)."""
    if db is not None:  # the feeds' indicators (database, via the snapshot), the file and the allowlist
        indicators = indicator_store.load_store(db, settings)
    else:
        indicators, errors = load_indicators(settings.indicators_path)
        for error in errors[:20]:
            log.warning("indicator file: %s", error)
        if len(errors) > 20:
            log.warning("indicator file: %d more errors", len(errors) - 20)
        log.info("loaded %d indicators from %s", len(indicators), settings.indicators_path)
    behaviour = behaviours.load_policy(db) if db is not None else BehaviourPolicy()
    if not sigma:
        return DetectorContext(indicators=indicators, behaviour_policy=behaviour)
    policy = rules.load_policy(settings, db) if db is not None else rules.provider_policy(settings)
    return DetectorContext(
        indicators=indicators,
        sigma=rules.load_content(settings),
        sigma_policy=policy,
        behaviour_policy=behaviour,
    )
