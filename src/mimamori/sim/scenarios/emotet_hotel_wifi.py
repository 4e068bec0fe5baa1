"""emotet-hotel-wifi: a laptop infected with Emotet on a hotel Wi-Fi comes back and spams partners.

Seed 1-2 「ホテルWi-Fiの利用」: a spoofed mail opened on a business trip infected the laptop; back in the
office it reports to Emotet C2 nodes, then mails many partners' servers in the company's name.
"""

from __future__ import annotations

from mimamori.sim.infrastructure import EMOTET_C2_IPS
from mimamori.sim.model import GroundTruth
from mimamori.sim.scenarios.base import MINUTE, SECOND, Scenario, ScenarioContext

C2_CHECKINS = 5  # C2 connections before the spam run, about a minute apart
SPAM_DELAY = 6 * MINUTE  # from the first C2 contact to the first outgoing spam mail
SPAM_SESSIONS = 60  # SMTP sessions to distinct external mail servers
SPAM_SPACING = 3 * SECOND  # mean gap between two spam sessions


def run(ctx: ScenarioContext) -> list[GroundTruth]:
    """C2 check-ins on 8080/443, then a burst of SMTP (25/587) to many external servers."""
    dev = ctx.pick("laptop", "pc")
    t = first = ctx.start
    for i in range(C2_CHECKINS):
        ip = EMOTET_C2_IPS[i % 2]
        port, service = (8080, "tcp/8080") if i % 2 == 0 else (443, "HTTPS")
        ctx.sink.traffic(t, dev, ip, port, 6, service, "Reserved", 2400, 48000 if i == 0 else 1200, 3)
        t += ctx.jitter(MINUTE)
    t = burst = first + SPAM_DELAY
    for _ in range(SPAM_SESSIONS):
        # partners' mail servers: RFC 2544 addresses, neither real nor listed
        ip = f"198.19.{int(ctx.rng.random() * 256)}.{1 + int(ctx.rng.random() * 254)}"
        port = 25 if ctx.rng.random() < 0.7 else 587
        ctx.sink.traffic(
            t, dev, ip, port, 6, "SMTP", "Reserved", 35000 + int(ctx.rng.random() * 9000), 900, 2
        )
        t += ctx.jitter(SPAM_SPACING, 0.9)
    return [
        ctx.truth(
            dev, first, "indicator", EMOTET_C2_IPS[0], "laptop back from a business trip contacts Emotet C2"
        ),
        ctx.truth(
            dev, burst, "smtp_burst", None, f"{SPAM_SESSIONS} SMTP sessions to external servers in minutes"
        ),
    ]


SCENARIO = Scenario(
    name="emotet-hotel-wifi",
    title="出張先ホテルWi-FiでEmotetに感染したPCが取引先へ成りすましメールを大量送信",
    summary=__doc__ or "",
    run=run,
)
