"""What a scenario is and what it gets to work with."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from mimamori.sim.model import GroundTruth, SimDevice, SimTenant
from mimamori.sim.sink import Sink

SECOND = 10**9  # ns
MINUTE = 60 * SECOND


def to_datetime(t: int) -> datetime:
    """Aware UTC datetime of ``t`` ns since the epoch (microsecond precision)."""
    return datetime.fromtimestamp(t // 1000 / 1e6, UTC)


@dataclass(frozen=True, slots=True)
class ScenarioContext:
    """One injection: the victim tenant, a private random stream, the sink, and the time window in ns.

    Periodic activity (beacons) continues until ``end``; a scenario always emits its first malicious
    record at ``start`` or shortly after.
    """

    name: str
    tenant: SimTenant
    rng: random.Random
    sink: Sink
    start: int
    end: int

    def truth(
        self, dev: SimDevice, t: int, detector: str, indicator: str | None, description: str
    ) -> GroundTruth:
        """A ground-truth entry for ``dev`` whose first malicious record is at ``t``."""
        return GroundTruth(
            scenario=self.name,
            tenant_index=self.tenant.index,
            host=dev.name,
            host_ip=dev.ip,
            first_time=to_datetime(t),
            detector=detector,
            indicator=indicator,
            description=description,
        )

    def pick(self, *roles: str) -> SimDevice:
        """A device of the first role the tenant has, else any device."""
        for role in roles:
            found = self.tenant.by_role(role)
            if found:
                return found[int(self.rng.random() * len(found))]
        return self.tenant.devices[0]

    def pick_windows(self) -> SimDevice:
        """A protected Windows PC or laptop (one with antivirus), else any PC."""
        found = tuple(d for d in self.tenant.by_role("pc", "laptop") if d.os_name == "Windows")
        return found[int(self.rng.random() * len(found))] if found else self.pick("pc", "laptop")

    def jitter(self, period: int, spread: float = 0.1) -> int:
        """``period`` ns, give or take ``spread`` of it."""
        return int(period * (1 - spread + 2 * spread * self.rng.random()))


@dataclass(frozen=True, slots=True)
class Scenario:
    """A named attack story from the seed; ``run`` emits its records and returns its ground truth."""

    name: str
    title: str
    summary: str
    run: Callable[[ScenarioContext], list[GroundTruth]]
    needs_role: str | None = None  # the victim tenant must own a device of this role
