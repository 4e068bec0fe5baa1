"""c2-allowed: a PC with up-to-date endpoint antivirus still holds allowed sessions to C2 servers.

The pilot's lesson: antivirus alone is not enough; only the network view shows the allowed connection to
a known-bad address (and to a listed bullet-proof hosting range).
"""

from __future__ import annotations

from mimamori.sim.infrastructure import C2_ALLOWED_IP, C2_CIDR, C2_CIDR_HOST
from mimamori.sim.model import GroundTruth
from mimamori.sim.scenarios.base import MINUTE, SECOND, Scenario, ScenarioContext

PERIOD = 10 * MINUTE  # between two C2 sessions
RANGE_DELAY = 4 * MINUTE  # until the first session to the listed range


def run(ctx: ScenarioContext) -> list[GroundTruth]:
    """Allowed HTTPS sessions to the C2 IP and into the C2 range, with an antivirus update in between."""
    dev = ctx.pick_windows()
    t0 = ctx.start
    ctx.sink.traffic(
        t0 + 30 * SECOND, dev, "23.47.49.66", 443, 6, "HTTPS", "Japan", 2200, 850000, 12
    )  # AV update
    ctx.sink.traffic(t0 + RANGE_DELAY, dev, C2_CIDR_HOST, 443, 6, "HTTPS", "Reserved", 1600, 5200, 30)
    t = t0
    while True:
        ctx.sink.traffic(t, dev, C2_ALLOWED_IP, 443, 6, "HTTPS", "Reserved", 1900, 4100, 45)
        t += ctx.jitter(PERIOD)
        if t >= ctx.end:
            break
    return [
        ctx.truth(dev, t0, "indicator", C2_ALLOWED_IP, "allowed session to a C2 IP from a PC with antivirus"),
        ctx.truth(dev, t0 + RANGE_DELAY, "indicator", C2_CIDR, "allowed session into a listed C2 range"),
    ]


SCENARIO = Scenario(
    name="c2-allowed",
    title="ウイルス対策ソフト導入済みPCから悪性IPへの通信が許可されている",
    summary=__doc__ or "",
    run=run,
)
