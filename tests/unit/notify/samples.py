"""Notices and deliveries for the channel and rendering tests (some with hostile text from "logs")."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from mimamori.notify.message import ChannelName, Delivery, DigestItem, Fact, Notice, NoticeKind

WHEN = datetime(2026, 11, 26, 1, 30, tzinfo=UTC)  # 10:30 JST
ACK = "https://portal.example/ack/abc?sig=1&t=2"
PORTAL = "https://portal.example/incidents/inc-1"
SCRIPT = "<script>alert(1)</script>"
INJECTION = "invoice\r\nBcc: victim@evil.example\r\n\r\n<b>body</b>"


def incident(language: str = "ja", **changes: object) -> Notice:
    ja = language == "ja"
    notice = Notice(
        kind=NoticeKind.INCIDENT,
        language=language,
        tenant_id="t-1",
        tenant_name="山田商事" if ja else "Yamada Trading",
        title="経理のパソコンが危険なサイトと通信" if ja else "The accounting PC talked to a dangerous site",
        summary="経理のパソコン PC-KEIRI-01 が、攻撃に使われるサーバーと通信しました。"
        if ja
        else "The accounting PC PC-KEIRI-01 contacted a server used in attacks.",
        severity="high",
        steps=("LANケーブルを抜いてください", "パスワードを変えないでください", "お電話ください")
        if ja
        else ("Unplug the network cable", "Do not change passwords yet", "Call us"),
        facts=(Fact("機器" if ja else "Device", "PC-KEIRI-01"), Fact("時刻" if ja else "Time", "10:30")),
        incident_id="inc-1",
        ack_url=ACK,
        portal_url=PORTAL,
        created_at=WHEN,
    )
    return replace(notice, **changes)  # type: ignore[arg-type]


def digest(language: str = "ja") -> Notice:
    items = (
        DigestItem(
            "inc-2", "medium", "不審なログイン", "PC-SOUMU-02", WHEN, "https://portal.example/incidents/inc-2"
        ),
        DigestItem("inc-3", "medium", f"port scan {SCRIPT}", "FW-01", WHEN, "javascript:alert(1)"),
    )
    return Notice(
        kind=NoticeKind.DIGEST,
        language=language,
        tenant_id="t-1",
        tenant_name="山田商事",
        title="本日のまとめ (2件)" if language == "ja" else "Today's summary (2)",
        summary="中程度のインシデントが2件ありました。" if language == "ja" else "Two medium incidents.",
        items=items,
        portal_url=PORTAL,
    )


def every_kind(language: str) -> list[Notice]:
    base = incident(language)
    return [
        base,
        replace(base, kind=NoticeKind.ESCALATION, escalation_step=2),
        digest(language),
        replace(
            base, kind=NoticeKind.SENSOR_SILENT, severity=None, ack_url=None, steps=(), title="sensor FW-01"
        ),
        replace(base, kind=NoticeKind.SENSOR_RECOVERED, severity=None, ack_url=None, steps=()),
        replace(base, kind=NoticeKind.TEST, tenant_id=None, severity=None, ack_url=None, facts=(), steps=()),
    ]


def delivery(
    channel: ChannelName, address: str, notice: Notice | None = None, key: str = "key-1", **extra: str
) -> Delivery:
    return Delivery(
        id=f"d-{key}",
        channel=channel,
        address=address,
        notice=notice or incident(),
        idempotency_key=key,
        extra=dict(extra),
    )
