"""Indicator store and matcher (IP addresses, CIDR ranges, domains)."""

from mimamori.detection.indicators.matcher import IndicatorDetector
from mimamori.detection.indicators.store import Indicator, IndicatorSet, load, parse_line

__all__ = ["Indicator", "IndicatorDetector", "IndicatorSet", "load", "parse_line"]
