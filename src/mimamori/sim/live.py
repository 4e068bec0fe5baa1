"""Real-time pacing for the demo: benign traffic now, scenarios injected every few minutes."""

from __future__ import annotations

import asyncio
import heapq
import random
import time
from collections.abc import AsyncIterator, Callable, Sequence

from mimamori.sim.benign import BenignTraffic
from mimamori.sim.generate import check_scenarios, inject, make_sink, to_records
from mimamori.sim.model import GroundTruth, SimRecord
from mimamori.sim.network import build_tenants
from mimamori.sim.sink import Emitted

MINUTE_NS = 60 * 10**9


async def live(
    *,
    tenants: int = 3,
    seed: int = 1,
    scenarios: Sequence[str] = (),
    fmt: str = "fortigate",
    events_per_minute: int = 60,
    scenario_every_minutes: float = 10.0,
    tick_seconds: float = 1.0,
    on_truth: Callable[[GroundTruth], None] | None = None,
    clock: Callable[[], int] = time.time_ns,
) -> AsyncIterator[SimRecord]:
    """Yield records as their time comes: ``events_per_minute`` benign records per tenant, and each of
    ``scenarios`` injected at start and then every ``scenario_every_minutes`` (ground truth goes to
    ``on_truth``). Timestamps are the wall clock (``clock``, ns). Runs until the consumer stops iterating.
    """
    check_scenarios(scenarios)
    tenant_list = build_tenants(tenants, seed)
    scratch: list[Emitted] = []
    benign = []
    for tenant in tenant_list:
        rng = random.Random(f"mimamori-sim-live:{seed}:{tenant.index}")  # noqa: S311  # simulation, not cryptography
        benign.append(BenignTraffic(tenant, rng, make_sink(fmt, tenant, rng, scratch)))
    pending: list[Emitted] = []
    last = clock()
    next_injection = last
    round_no = 0
    while True:
        now = clock()
        for traffic in benign:
            traffic.run(last, now, events_per_minute)
        if scenarios and now >= next_injection:
            end = now + int(scenario_every_minutes * MINUTE_NS)
            truths = inject(
                scenarios,
                tenant_list,
                seed=seed,
                fmt=fmt,
                start_ns=now,
                end_ns=end,
                out=scratch,
                salt=f"live{round_no}:",
            )
            next_injection, round_no = end, round_no + 1
            for truth in truths:
                if on_truth:
                    on_truth(truth)
        for item in scratch:
            heapq.heappush(pending, item)
        scratch.clear()
        due: list[Emitted] = []
        while pending and pending[0][0] <= now:
            due.append(heapq.heappop(pending))
        for record in to_records(due, fmt):
            yield record
        last = now
        await asyncio.sleep(tick_seconds)
