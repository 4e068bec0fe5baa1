"""The attack scenarios of the seed document, one module each, registered in ``SCENARIOS``."""

from __future__ import annotations

from mimamori.sim.scenarios import (
    byod_iphone,
    c2_allowed,
    emotet_hotel_wifi,
    freeware_malware,
    supply_chain_phish,
    xp_malware,
)
from mimamori.sim.scenarios.base import Scenario, ScenarioContext

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        xp_malware.SCENARIO,
        byod_iphone.SCENARIO,
        emotet_hotel_wifi.SCENARIO,
        supply_chain_phish.SCENARIO,
        freeware_malware.SCENARIO,
        c2_allowed.SCENARIO,
    )
}

__all__ = ["SCENARIOS", "Scenario", "ScenarioContext"]
