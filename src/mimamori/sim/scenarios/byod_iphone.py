"""byod-iphone: an employee's own iPhone joins the office Wi-Fi and talks to a malware distribution server.

Seed 1-2 「私物端末の利用」: the iPhone was connected without permission and had contacted an attacker's
server used in the past to distribute malware and ransomware.
"""

from __future__ import annotations

from mimamori.sim.infrastructure import MALWARE_DIST_DOMAIN, MALWARE_DIST_HOST, MALWARE_DIST_IP
from mimamori.sim.model import GroundTruth, SimDevice
from mimamori.sim.network import private_mac
from mimamori.sim.scenarios.base import MINUTE, SECOND, Scenario, ScenarioContext

CONTACTS = 4  # HTTPS sessions to the distribution server, about two minutes apart


def run(ctx: ScenarioContext) -> list[GroundTruth]:
    """The unknown iPhone appears, resolves the distribution host and connects to it a few times."""
    prefix = ctx.tenant.devices[0].ip.rsplit(".", 1)[0]
    dev = SimDevice(
        name="Taro-no-iPhone",
        ip=f"{prefix}.{200 + int(ctx.rng.random() * 50)}",
        mac=private_mac(ctx.rng),
        os_name="iOS",
        os_version="16.1",
        device_type="iPhone",
        vendor="Apple",
        role="byod",
    )
    t0 = ctx.start
    ctx.sink.traffic(t0, dev, "17.253.85.201", 443, 6, "HTTPS", "Japan", 900, 5400, 1)
    t = t0 + 20 * SECOND
    ctx.sink.dns(t, dev, "8.8.8.8", MALWARE_DIST_HOST, (MALWARE_DIST_IP,))
    first_ip = t + SECOND
    t = first_ip
    for _ in range(CONTACTS):
        ctx.sink.traffic(t, dev, MALWARE_DIST_IP, 443, 6, "HTTPS", "Reserved", 1200, 250000, 6)
        t += ctx.jitter(2 * MINUTE)
    return [
        ctx.truth(dev, t0, "new_device", None, "unapproved personal iPhone appears on the office Wi-Fi"),
        ctx.truth(
            dev,
            t0 + 20 * SECOND,
            "indicator",
            MALWARE_DIST_DOMAIN,
            "DNS lookup of a malware distribution host",
        ),
        ctx.truth(
            dev, first_ip, "indicator", MALWARE_DIST_IP, "HTTPS sessions to the malware distribution server"
        ),
    ]


SCENARIO = Scenario(
    name="byod-iphone",
    title="私物iPhoneが無断で社内Wi-Fiに接続し、マルウェア配布サーバーと通信",
    summary=__doc__ or "",
    run=run,
)
