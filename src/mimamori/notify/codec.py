"""Notices to and from JSON, so a queued notification carries exactly what will be sent."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from mimamori.notify.message import DigestItem, Fact, Notice, NoticeKind


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def notice_to_dict(notice: Notice) -> dict[str, Any]:
    return {
        "kind": notice.kind.value,
        "language": notice.language,
        "tenant_id": notice.tenant_id,
        "tenant_name": notice.tenant_name,
        "title": notice.title,
        "summary": notice.summary,
        "severity": notice.severity,
        "steps": list(notice.steps),
        "facts": [[f.label, f.value] for f in notice.facts],
        "items": [
            {
                "incident_id": i.incident_id,
                "severity": i.severity,
                "title": i.title,
                "device": i.device,
                "when": i.when.isoformat(),
                "url": i.url,
            }
            for i in notice.items
        ],
        "incident_id": notice.incident_id,
        "ack_url": notice.ack_url,
        "portal_url": notice.portal_url,
        "escalation_step": notice.escalation_step,
        "created_at": notice.created_at.isoformat() if notice.created_at else None,
    }


def notice_from_dict(data: Mapping[str, Any]) -> Notice:
    items = []
    for i in data.get("items") or ():
        when = _time(i.get("when"))
        if when is not None:
            items.append(
                DigestItem(
                    str(i["incident_id"]),
                    str(i["severity"]),
                    str(i["title"]),
                    str(i["device"]),
                    when,
                    str(i["url"]),
                )
            )
    return Notice(
        kind=NoticeKind(data["kind"]),
        language=str(data.get("language") or "ja"),
        tenant_id=data.get("tenant_id"),
        tenant_name=str(data.get("tenant_name") or ""),
        title=str(data.get("title") or ""),
        summary=str(data.get("summary") or ""),
        severity=data.get("severity"),
        steps=tuple(str(s) for s in data.get("steps") or ()),
        facts=tuple(Fact(str(label), str(value)) for label, value in data.get("facts") or ()),
        items=tuple(items),
        incident_id=data.get("incident_id"),
        ack_url=data.get("ack_url"),
        portal_url=data.get("portal_url"),
        escalation_step=int(data.get("escalation_step") or 0),
        created_at=_time(data.get("created_at")),
    )
