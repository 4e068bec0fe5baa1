"""Detection: the registry of detectors and the engine that runs them.

``DETECTORS`` is the one table of detector factories; each takes the ``DetectorContext`` (the loaded
content: indicators, the Sigma ruleset and its policy, the behaviours' per-tenant policy) and returns a
Detector, or None when its content is absent (no Sigma ruleset loaded: no Sigma detector).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from mimamori.detection.behaviours import BehaviourDetector, BehaviourPolicy
from mimamori.detection.engine import DetectionEngine, Detector
from mimamori.detection.indicators import IndicatorDetector, IndicatorSet
from mimamori.detection.sigma.detector import SigmaContent, SigmaDetector, SigmaPolicy


@dataclass(frozen=True, slots=True)
class DetectorContext:
    indicators: IndicatorSet = field(default_factory=IndicatorSet)
    sigma: SigmaContent | None = None
    sigma_policy: SigmaPolicy = field(default_factory=SigmaPolicy)
    behaviour_policy: BehaviourPolicy = field(default_factory=BehaviourPolicy)


DetectorFactory = Callable[[DetectorContext], Detector | None]

DETECTORS: dict[str, DetectorFactory] = {
    IndicatorDetector.name: lambda ctx: IndicatorDetector(ctx.indicators),
    SigmaDetector.name: lambda ctx: None if ctx.sigma is None else SigmaDetector(ctx.sigma, ctx.sigma_policy),
    BehaviourDetector.name: lambda ctx: BehaviourDetector.build(ctx.behaviour_policy),
}


def build_engine(context: DetectorContext, enabled: set[str] | None = None) -> DetectionEngine:
    """An engine with every registered detector whose content is loaded (or only ``enabled`` ones)."""
    built = (factory(context) for name, factory in DETECTORS.items() if enabled is None or name in enabled)
    return DetectionEngine([detector for detector in built if detector is not None])


__all__ = ["DETECTORS", "DetectionEngine", "Detector", "DetectorContext", "build_engine"]
