"""Detection: the registry of detectors and the engine that runs them.

``DETECTORS`` is the one table of detector factories; each takes the ``DetectorContext`` (the loaded
content: indicators now, Sigma rules and behaviour policies in later issues) and returns a Detector.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from mimamori.detection.engine import DetectionEngine, Detector
from mimamori.detection.indicators import IndicatorDetector, IndicatorSet


@dataclass(frozen=True, slots=True)
class DetectorContext:
    indicators: IndicatorSet = field(default_factory=IndicatorSet)


DetectorFactory = Callable[[DetectorContext], Detector]

DETECTORS: dict[str, DetectorFactory] = {
    IndicatorDetector.name: lambda ctx: IndicatorDetector(ctx.indicators),
}


def build_engine(context: DetectorContext, enabled: set[str] | None = None) -> DetectionEngine:
    """An engine with every registered detector (or only ``enabled`` ones)."""
    chosen = [factory(context) for name, factory in DETECTORS.items() if enabled is None or name in enabled]
    return DetectionEngine(chosen)


__all__ = ["DETECTORS", "DetectionEngine", "Detector", "DetectorContext", "build_engine"]
