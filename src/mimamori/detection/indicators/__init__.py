"""Threat-intelligence indicators: value normalisation, the in-memory store and the detector."""

from mimamori.detection.indicators.matcher import IndicatorDetector
from mimamori.detection.indicators.recorder import Recorder, Tally
from mimamori.detection.indicators.store import (
    Allowlist,
    Indicator,
    IndicatorSet,
    Meta,
    load,
    parse_line,
    read_file,
)

__all__ = [
    "Allowlist",
    "Indicator",
    "IndicatorDetector",
    "IndicatorSet",
    "Meta",
    "Recorder",
    "Tally",
    "load",
    "parse_line",
    "read_file",
]
