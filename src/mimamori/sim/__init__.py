"""Simulator of SME networks and attack scenarios: demo data, test fixtures and load generator.

Deterministic from a seed. Renders FortiGate syslog and Zeek JSON; injects the pilot incidents of the IPA
Otasuketai reports (``SCENARIOS``) with their ground truth; sends to syslog or the HTTP ingest API.
"""

from __future__ import annotations

from mimamori.sim.generate import generate
from mimamori.sim.infrastructure import indicator_lines, indicator_values
from mimamori.sim.live import live
from mimamori.sim.model import FORMATS, GroundTruth, SimDevice, SimRecord, SimRun, SimTenant
from mimamori.sim.network import build_tenants
from mimamori.sim.scenarios import SCENARIOS, Scenario
from mimamori.sim.send import send, write

__all__ = [
    "FORMATS",
    "SCENARIOS",
    "GroundTruth",
    "Scenario",
    "SimDevice",
    "SimRecord",
    "SimRun",
    "SimTenant",
    "build_tenants",
    "generate",
    "indicator_lines",
    "indicator_values",
    "live",
    "send",
    "write",
]
