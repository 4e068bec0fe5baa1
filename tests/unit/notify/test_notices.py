"""Notices from incidents, digests and sensors, for customers and for the SOC, and their JSON form."""

from __future__ import annotations

from datetime import UTC, datetime

from mimamori.notify.codec import notice_from_dict, notice_to_dict
from mimamori.notify.message import DigestItem, NoticeKind
from mimamori.notify.notices import TEXTS, digest_notice, incident_notice, sensor_notice, trial_notice

INCIDENT = {
    "id": "i1",
    "tenant_id": "t1",
    "title": "Connection to C2 203.0.113.66",
    "severity": "high",
    "score": 80,
    "host": "PC-KEIRI-01",
    "category": "c2",
    "opened_at": "2026-11-26T01:00:00+00:00",
    "alerts": ["a1", "a2"],
    "guidance": {
        "ja": {
            "what": "経理のパソコンが危険なサーバーと通信しました。" * 5,
            "why": "情報が盗まれるおそれ。",
            "steps": ["LANケーブルを抜く", "電源は切らない", "窓口に電話", "4つめ"],
            "provider": "調査中",
            "call": "すぐに",
            "technical": "C2 203.0.113.66 (indicator)",
        },
        "en": {
            "what": "The accounting PC talked to a dangerous server.",
            "why": "Data may be stolen.",
            "steps": ["Unplug the LAN cable"],
            "provider": "Investigating",
            "call": "Now",
            "technical": "C2 203.0.113.66",
        },
    },
}


def test_every_fixed_text_has_both_languages() -> None:
    for key, entry in TEXTS.items():
        assert entry.get("ja"), key
        assert entry.get("en"), key


def test_customer_notice_speaks_plainly_with_at_most_three_steps() -> None:
    notice = incident_notice(
        INCIDENT, audience="customer", language="ja", tenant_name="A社", ack_url="https://x/ack/t"
    )
    assert notice.kind is NoticeKind.INCIDENT
    assert notice.severity == "high"
    assert notice.title.startswith("経理のパソコン")
    assert len(notice.title) <= 90
    assert len(notice.steps) == 3
    assert "C2" not in notice.summary
    assert {f.label for f in notice.facts} >= {"機器", "日時", "私たちの対応"}
    assert "2026-11-26 10:00" in {f.value for f in notice.facts}  # JST


def test_provider_notice_is_technical_and_names_the_customer() -> None:
    notice = incident_notice(INCIDENT, audience="provider", language="en", tenant_name="A社")
    assert notice.title == "A社: Connection to C2 203.0.113.66"
    assert notice.summary == "C2 203.0.113.66"
    assert ("Customer", "A社") in {(f.label, f.value) for f in notice.facts}


def test_escalation_says_nobody_acknowledged() -> None:
    notice = incident_notice(
        INCIDENT, audience="customer", language="en", tenant_name="A", step=2, escalation_minutes=15
    )
    assert notice.kind is NoticeKind.ESCALATION
    assert notice.escalation_step == 2
    assert notice.title.startswith("Not acknowledged yet")
    assert "15 minutes" in notice.summary


def test_round_trip_through_json() -> None:
    when = datetime(2026, 11, 26, 1, tzinfo=UTC)
    notices = [
        incident_notice(INCIDENT, audience="customer", language="ja", tenant_name="A社", created_at=when),
        digest_notice(
            [DigestItem("i1", "medium", "t", "PC", when, "https://p/portal")],
            language="en",
            tenant_id="t1",
            tenant_name="A",
            portal_url="https://p/portal",
        ),
        sensor_notice(
            NoticeKind.SENSOR_SILENT,
            language="ja",
            tenant_id="t1",
            tenant_name="A社",
            sensor_name="utm\r\nBcc: x",
            last_seen=None,
            minutes=60,
            portal_url=None,
        ),
        trial_notice(language="en", brand="Otasuke", portal_url=None),
    ]
    for notice in notices:
        assert notice_from_dict(notice_to_dict(notice)) == notice


def test_sensor_notice_keeps_one_line_names() -> None:
    notice = sensor_notice(
        NoticeKind.SENSOR_SILENT,
        language="ja",
        tenant_id="t",
        tenant_name="A社",
        sensor_name="utm\r\nBcc: evil@x.example",
        last_seen=None,
        minutes=60,
        portal_url=None,
    )
    assert "\n" not in notice.title
    assert "\r" not in notice.title
    assert "まだ受信していません" in {f.value for f in notice.facts}
