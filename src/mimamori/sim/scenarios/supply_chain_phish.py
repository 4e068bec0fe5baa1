"""supply-chain-phish: malware-laden mails from a hacked partner's real addresses hit several employees.

Seed 1-2 「サプライチェーン攻撃」: the partner's mail server was hacked and its addresses leaked; mails
posing as bonus and invoice payments carried malicious attachments. The UTM's email filter flags them and its
antivirus blocks the attachments; one employee still clicks the phishing link in the body.
"""

from __future__ import annotations

from mimamori.sim import catalog
from mimamori.sim.infrastructure import PARTNER_DOMAIN, PHISH_DOMAIN
from mimamori.sim.model import GroundTruth
from mimamori.sim.scenarios.base import SECOND, Scenario, ScenarioContext

RECIPIENTS = 3  # employees who receive the mail
GAP = 40 * SECOND  # between two recipients fetching their mail
VIRUS = "VBA/Agent.KDR!tr"
SUBJECTS = ("【賞与支払い】明細のご確認", "請求書のお支払いについて", "【至急】振込先変更のお知らせ")


def run(ctx: ScenarioContext) -> list[GroundTruth]:
    """Email-filter and antivirus logs per recipient, then a DNS lookup of the phishing domain."""
    protected = tuple(d for d in ctx.tenant.by_role("pc", "laptop")) or ctx.tenant.devices
    victims = [
        protected[(int(ctx.rng.random() * len(protected)) + i) % len(protected)] for i in range(RECIPIENTS)
    ]
    victims = list(dict.fromkeys(victims))
    server = catalog.DESTINATIONS[[d.host for d in catalog.DESTINATIONS].index("imap.gmail.com")]
    truths: list[GroundTruth] = []
    t = ctx.start
    for i, dev in enumerate(victims):
        sender = f"keiri{i + 1}@{PARTNER_DOMAIN}"
        subject = SUBJECTS[i % len(SUBJECTS)]
        ctx.sink.spam(
            t,
            dev,
            server.ip,
            sender,
            subject,
            msg="Email is tagged as suspicious: malicious attachment.",
            attachment="yes",
        )
        user = dev.name.lower()
        ctx.sink.virus(
            t + SECOND, dev, server.ip, "IMAPS", "", "meisai_2026.doc", VIRUS, sender=sender, recipient=user
        )
        truths.append(
            ctx.truth(dev, t, "utm_virus", None, f"malicious attachment from {PARTNER_DOMAIN} blocked")
        )
        t += ctx.jitter(GAP)
    clicker = victims[0]
    ctx.sink.dns(t, clicker, "8.8.8.8", f"www.{PHISH_DOMAIN}", ())
    truths.append(
        ctx.truth(clicker, t, "indicator", PHISH_DOMAIN, "lookup of the phishing link in the mail body")
    )
    return truths


SCENARIO = Scenario(
    name="supply-chain-phish",
    title="取引先のメールサーバー侵害によるマルウェア添付メールの集中受信",
    summary=__doc__ or "",
    run=run,
)
