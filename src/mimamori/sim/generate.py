"""Batch generation: benign traffic of N tenants over a time window, with scenarios injected."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from operator import itemgetter

from mimamori.sim.benign import BenignTraffic
from mimamori.sim.fortigate import FortigateSink
from mimamori.sim.model import FORMATS, GroundTruth, SimRecord, SimRun, SimTenant
from mimamori.sim.network import build_tenants
from mimamori.sim.scenarios import SCENARIOS, ScenarioContext
from mimamori.sim.sink import Emitted, Sink
from mimamori.sim.zeek import ZeekSink

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ORDER = itemgetter(0)


def to_ns(moment: datetime) -> int:
    """ns since the epoch of an aware datetime (exact, no float rounding)."""
    if moment.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1000


def make_sink(fmt: str, tenant: SimTenant, rng: random.Random, out: list[Emitted]) -> Sink:
    """The renderer of ``fmt`` for ``tenant``."""
    if fmt == "fortigate":
        return FortigateSink(tenant, rng, out)
    if fmt == "zeek":
        return ZeekSink(tenant, rng, out)
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


def check_scenarios(names: Sequence[str]) -> None:
    """Raise ValueError naming the unknown scenarios, if any."""
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise ValueError(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")


def victim(tenants: Sequence[SimTenant], name: str, position: int) -> SimTenant:
    """The tenant a scenario is injected into: round robin, moved to one that has the device it needs."""
    chosen = tenants[position % len(tenants)]
    role = SCENARIOS[name].needs_role
    if role and not chosen.by_role(role):
        chosen = next((t for t in tenants if t.by_role(role)), chosen)
    return chosen


def inject(
    names: Sequence[str],
    tenants: Sequence[SimTenant],
    *,
    seed: int,
    fmt: str,
    start_ns: int,
    end_ns: int,
    out: list[Emitted],
    salt: str = "",
) -> list[GroundTruth]:
    """Run each named scenario once, starting between 10% and 50% into the window."""
    truths: list[GroundTruth] = []
    span = end_ns - start_ns
    for position, name in enumerate(names):
        tenant = victim(tenants, name, position)
        rng = random.Random(f"mimamori-sim-scenario:{seed}:{salt}{position}:{name}")  # noqa: S311  # simulation, not cryptography
        at = start_ns + int(span * (0.1 + 0.1 * (position % 5) + 0.05 * rng.random()))
        # The sink draws from its own stream, so the scenario's choices (victim device, its address, times)
        # are the same whichever format renders them: FortiGate and Zeek views of one world agree.
        sink_rng = random.Random(f"mimamori-sim-scenario-sink:{seed}:{salt}{position}:{name}:{fmt}")  # noqa: S311
        ctx = ScenarioContext(name, tenant, rng, make_sink(fmt, tenant, sink_rng, out), at, end_ns)
        truths.extend(SCENARIOS[name].run(ctx))
    return truths


def to_records(emitted: list[Emitted], fmt: str) -> list[SimRecord]:
    """Sort emitted lines by time (stable) and wrap them as SimRecords."""
    emitted.sort(key=_ORDER)
    fromts = datetime.fromtimestamp
    return [SimRecord(index, fmt, fromts(t // 1000 / 1e6, UTC), line) for t, index, line in emitted]


def generate(
    *,
    tenants: int = 3,
    seed: int = 1,
    scenarios: Sequence[str] = (),
    fmt: str = "fortigate",
    start: datetime,
    duration: timedelta = timedelta(hours=1),
    events_per_minute: int = 60,
) -> SimRun:
    """Simulate ``tenants`` SME networks for ``duration`` from ``start``, deterministically from ``seed``.

    ``events_per_minute`` is the mean benign rate per tenant. Each scenario in ``scenarios`` is injected
    once (round robin over tenants); periodic scenario activity continues to the end of the window, a few
    trailing records may fall just after it. Same arguments give byte-identical records.
    """
    check_scenarios(scenarios)
    tenant_list = build_tenants(tenants, seed)
    start_ns = to_ns(start)
    end_ns = start_ns + duration // timedelta(microseconds=1) * 1000
    out: list[Emitted] = []
    for tenant in tenant_list:
        rng = random.Random(f"mimamori-sim-benign:{seed}:{tenant.index}")  # noqa: S311  # simulation, not cryptography
        BenignTraffic(tenant, rng, make_sink(fmt, tenant, rng, out)).run(start_ns, end_ns, events_per_minute)
    truth = inject(scenarios, tenant_list, seed=seed, fmt=fmt, start_ns=start_ns, end_ns=end_ns, out=out)
    truth.sort(key=lambda g: (g.first_time, g.tenant_index, g.scenario))
    return SimRun(tenants=tenant_list, records=to_records(out, fmt), truth=truth)
