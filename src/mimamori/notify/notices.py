"""Notices from incidents, digests and silent sensors, in the recipient's language and for their audience.

A customer reads the guidance catalogue's plain words (what happened, what to do now); the provider's
on-call analyst reads the incident's technical title and note. Texts here are short fixed phrases in both
languages; the long texts come from the triage guidance (``incident["guidance"][language]``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from mimamori.notify.message import DigestItem, Fact, Notice, NoticeKind

JST = timezone(timedelta(hours=9))
MAX_TITLE = 90  # characters of a title (an e-mail subject stays readable on a phone)

TEXTS: dict[str, dict[str, str]] = {
    "device": {"ja": "機器", "en": "Device"},
    "time": {"ja": "日時", "en": "Time"},
    "customer": {"ja": "お客さま", "en": "Customer"},
    "score": {"ja": "スコア", "en": "Score"},
    "alerts": {"ja": "アラート数", "en": "Alerts"},
    "category": {"ja": "種類", "en": "Category"},
    "provider_does": {"ja": "私たちの対応", "en": "What we are doing"},
    "when_to_call": {"ja": "お電話いただきたいとき", "en": "When to call us"},
    "escalated": {"ja": "まだ確認されていません", "en": "Not acknowledged yet"},
    "escalated_note": {
        "ja": "最初のお知らせから%(minutes)s分たっても確認の連絡がありません。内容をご確認ください。",
        "en": "Nobody has acknowledged the first notice for %(minutes)s minutes. Please look at it now.",
    },
    "digest_title": {"ja": "本日のお知らせ（%(count)s件）", "en": "Today's summary (%(count)s)"},
    "digest_summary": {
        "ja": "急ぎではありませんが、確認していただきたいことが%(count)s件あります。",
        "en": "%(count)s things to look at when you have a moment; none is urgent.",
    },
    "sensor": {"ja": "監視機器", "en": "Sensor"},
    "last_seen": {"ja": "最後の受信", "en": "Last received"},
    "never": {"ja": "まだ受信していません", "en": "nothing received yet"},
    "silent_title": {"ja": "%(sensor)s からの記録が届いていません", "en": "No logs from %(sensor)s"},
    "silent_summary": {
        "ja": "%(minutes)s分以上、記録が届いていません。この間は監視ができていません。"
        "機器の電源やネットワークの接続をご確認ください。",
        "en": "Nothing has arrived for more than %(minutes)s minutes, so this site is not being watched. "
        "Please check that the device is on and connected.",
    },
    "silent_step": {
        "ja": "機器の電源が入っていて、ネットワークにつながっているか確かめてください。",
        "en": "Check that the device is switched on and connected to the network.",
    },
    "test_title": {"ja": "テスト通知", "en": "Test notification"},
    "test_summary": {
        "ja": "%(brand)s からのテスト通知です。このメッセージが届いていれば、設定は正しく動いています。",
        "en": "This is a test notification from %(brand)s. If you can read it, the settings work.",
    },
    "recovered_title": {
        "ja": "%(sensor)s からの記録が再開しました",
        "en": "Logs from %(sensor)s arrive again",
    },
    "recovered_summary": {
        "ja": "記録が再び届くようになり、監視を再開しました。",
        "en": "Logs arrive again and monitoring has resumed.",
    },
    "ticket_consult": {"ja": "相談", "en": "Call-back"},
    "ticket_onsite": {"ja": "駆け付け", "en": "On-site"},
    "ticket_title": {
        "ja": "%(tenant)s から%(what)sの依頼（%(number)s）",
        "en": "%(what)s request from %(tenant)s (%(number)s)",
    },
    "ticket_no_message": {"ja": "メッセージはありません。", "en": "No message."},
    "ticket_step": {
        "ja": "お客さまに折り返し電話し、SOCコンソールの依頼一覧で「対応を始める」を押してください。",
        "en": 'Call the customer back and press "Take it" in the SOC console\'s request list.',
    },
    "requester": {"ja": "依頼者", "en": "Requested by"},
    "phone": {"ja": "電話", "en": "Phone"},
    "preferred_time": {"ja": "希望時間", "en": "Preferred time"},
    "incident": {"ja": "関連する問題", "en": "Incident"},
}


def text(key: str, language: str, **values: Any) -> str:
    entry = TEXTS[key]
    template = entry.get(language) or entry["ja"]
    return template % values if values else template


def _one_line(value: Any, limit: int = MAX_TITLE) -> str:
    line = " ".join(str(value or "").split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _when(value: datetime | None) -> str:
    return value.astimezone(JST).strftime("%Y-%m-%d %H:%M") if value else "-"


def incident_notice(
    incident: Mapping[str, Any],
    *,
    audience: str,
    language: str,
    tenant_name: str,
    step: int = 0,
    escalation_minutes: int = 0,
    ack_url: str | None = None,
    portal_url: str | None = None,
    created_at: datetime | None = None,
) -> Notice:
    """The notice of an incident (``incident`` is the ``services.incidents`` view with guidance)."""
    guidance = (incident.get("guidance") or {}).get(language) or {}
    opened = datetime.fromisoformat(incident["opened_at"]) if incident.get("opened_at") else None
    device = str(incident.get("host") or incident.get("device") or "-")
    facts = [Fact(text("device", language), device), Fact(text("time", language), _when(opened))]
    if audience == "customer":
        title = _one_line(guidance.get("what") or incident.get("title"))
        summary = " ".join(str(guidance.get(k) or "") for k in ("what", "why")).strip()
        steps = tuple(str(s) for s in guidance.get("steps") or ())[:3]
        for key, field in (("provider_does", "provider"), ("when_to_call", "call")):
            if guidance.get(field):
                facts.append(Fact(text(key, language), str(guidance[field])))
    else:
        title = _one_line(f"{tenant_name}: {incident.get('title')}")
        summary = str(guidance.get("technical") or incident.get("title") or "")
        steps = ()
        facts = [Fact(text("customer", language), tenant_name), *facts]
        facts.append(Fact(text("score", language), str(incident.get("score", ""))))
        facts.append(Fact(text("alerts", language), str(len(incident.get("alerts") or ()))))
        facts.append(Fact(text("category", language), str(incident.get("category") or "-")))
    if step > 0:
        summary = text("escalated_note", language, minutes=escalation_minutes) + "\n" + summary
        title = _one_line(f"{text('escalated', language)}: {title}")
    return Notice(
        kind=NoticeKind.ESCALATION if step > 0 else NoticeKind.INCIDENT,
        language=language,
        tenant_id=str(incident["tenant_id"]),
        tenant_name=tenant_name,
        title=title,
        summary=summary,
        severity=str(incident.get("severity") or ""),
        steps=steps,
        facts=tuple(facts),
        incident_id=str(incident["id"]),
        ack_url=ack_url,
        portal_url=portal_url,
        escalation_step=step,
        created_at=created_at,
    )


def digest_notice(
    items: Sequence[DigestItem], *, language: str, tenant_id: str, tenant_name: str, portal_url: str | None
) -> Notice:
    return Notice(
        kind=NoticeKind.DIGEST,
        language=language,
        tenant_id=tenant_id,
        tenant_name=tenant_name,
        title=text("digest_title", language, count=len(items)),
        summary=text("digest_summary", language, count=len(items)),
        severity="medium",
        items=tuple(items),
        portal_url=portal_url,
    )


def sensor_notice(
    kind: NoticeKind,
    *,
    language: str,
    tenant_id: str,
    tenant_name: str,
    sensor_name: str,
    last_seen: datetime | None,
    minutes: int,
    portal_url: str | None,
) -> Notice:
    silent = kind is NoticeKind.SENSOR_SILENT
    name = _one_line(sensor_name, 60)
    facts = (
        Fact(text("customer", language), tenant_name),
        Fact(text("sensor", language), name),
        Fact(text("last_seen", language), _when(last_seen) if last_seen else text("never", language)),
    )
    return Notice(
        kind=kind,
        language=language,
        tenant_id=tenant_id,
        tenant_name=tenant_name,
        title=text("silent_title" if silent else "recovered_title", language, sensor=name),
        summary=text("silent_summary", language, minutes=minutes)
        if silent
        else text("recovered_summary", language),
        severity="high" if silent else "low",
        steps=(text("silent_step", language),) if silent else (),
        facts=facts,
        portal_url=portal_url,
    )


def trial_notice(*, language: str, brand: str, portal_url: str | None) -> Notice:
    """``mimamori notify test``: a harmless message that checks a channel's settings end to end."""
    return Notice(
        kind=NoticeKind.TEST,
        language=language,
        tenant_id=None,
        tenant_name="",
        title=text("test_title", language),
        summary=text("test_summary", language, brand=brand),
        severity="low",
        portal_url=portal_url,
    )


def ticket_notice(
    ticket: Mapping[str, Any], *, language: str, tenant_name: str, portal_url: str | None
) -> Notice:
    """A customer's request (``services.tickets.ticket_to_dict``) for the SOC on-call."""
    onsite = ticket["kind"] == "onsite"
    values = [
        (text("customer", language), tenant_name),
        (text("requester", language), ticket.get("requester_name")),
        (text("phone", language), ticket.get("phone")),
        (text("preferred_time", language), ticket.get("preferred_time")),
        (text("incident", language), ticket.get("incident_id")),
    ]
    return Notice(
        kind=NoticeKind.TICKET,
        language=language,
        tenant_id=ticket["tenant_id"],
        tenant_name=tenant_name,
        title=text(
            "ticket_title",
            language,
            tenant=_one_line(tenant_name, 40),
            what=text("ticket_onsite" if onsite else "ticket_consult", language),
            number=ticket["number"],
        ),
        summary=_one_line(ticket.get("message"), 500) or text("ticket_no_message", language),
        severity="high" if onsite else "medium",
        steps=(text("ticket_step", language),),
        facts=tuple(Fact(label, _one_line(value, 120)) for label, value in values if value),
        portal_url=portal_url,
        created_at=datetime.fromisoformat(ticket["created_at"]),
    )
