"""Deciding what to send on a schedule: the daily digests and the silent-sensor warnings.

Like :mod:`.notify_plan`, each function runs in one transaction and only *queues* notifications.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from mimamori.config import Settings
from mimamori.notify.message import DigestItem, NoticeKind
from mimamori.notify.notices import digest_notice, sensor_notice
from mimamori.notify.policy import DOCUMENT, Mode, policy_from
from mimamori.notify.routing import CUSTOMER, dedupe, first_contacts, silence_recipients
from mimamori.services.notify_plan import STATE, NoticeQueue, PlanResult, default_policy, soc_fallback
from mimamori.storage import Database, unit_of_work

__all__ = ["check_sensors", "send_digests"]


def send_digests(db: Database, settings: Settings, now: datetime) -> PlanResult:
    """The daily digest of each tenant whose digest time has come (never repeating an earlier digest)."""
    result = PlanResult()
    base = settings.public_url.rstrip("/")
    with unit_of_work(db) as uow:
        queue = NoticeQueue(uow, settings, now, result)
        documents = uow.settings.all_of(DOCUMENT)
        states = uow.settings.all_of(STATE)
        for tenant in uow.tenants.list():
            policy = policy_from(documents.get(tenant.id), default_policy(settings))
            slot = policy.digest_slot(now)
            last = states.get(tenant.id, {}).get("last_digest")
            if last is not None and datetime.fromisoformat(last) >= slot:
                continue
            severities = [s for s in ("medium", "low") if policy.mode(s) is Mode.DIGEST]
            fresh = [(i, n) for i, n, done in uow.marks.digest_candidates(tenant.id, severities) if n > done]
            uow.settings.put(tenant.id, STATE, {**states.get(tenant.id, {}), "last_digest": slot.isoformat()})
            if not fresh:
                continue
            rows = [uow.incidents.get(tenant.id, incident_id) for incident_id, _ in fresh]
            for recipient in dedupe(first_contacts(uow.contacts.list(tenant.id, active_only=True))):
                items = [
                    DigestItem(
                        r.id,
                        r.severity,
                        r.title,
                        r.host or r.device or "-",
                        r.last_seen or r.opened_at,
                        f"{base}/portal",
                    )
                    for r in rows
                ]
                notice = digest_notice(
                    items,
                    language=recipient.language,
                    tenant_id=tenant.id,
                    tenant_name=tenant.name,
                    portal_url=f"{base}/portal",
                )
                queue.add(f"digest:{tenant.id}:{slot.isoformat()}", notice, recipient)
            for (incident_id, count), row in zip(fresh, rows, strict=True):
                uow.marks.put(
                    tenant.id, incident_id, "digest", severity=row.severity, alert_count=count, at=now
                )
            result.digests += 1
    return result


def check_sensors(db: Database, settings: Settings, now: datetime) -> PlanResult:
    """A sensor silent for longer than its limit raises a notification once; its return, another."""
    result = PlanResult()
    base = settings.public_url.rstrip("/")
    with unit_of_work(db) as uow:
        queue = NoticeQueue(uow, settings, now, result)
        shifts = uow.oncall.at(now)
        names = {t.id: t.name for t in uow.tenants.list()}
        for sensor in uow.sensors.all_sensors():
            limit = (
                settings.sensor_silence_minutes if sensor.silence_minutes is None else sensor.silence_minutes
            )
            seen = sensor.last_seen or sensor.created_at
            if limit <= 0 or seen is None:
                continue
            if sensor.silent_since is None and now - seen > timedelta(minutes=limit):
                kind, key = NoticeKind.SENSOR_SILENT, f"sensor_silent:{sensor.id}:{seen.isoformat()}"
                uow.sensors.mark_silent(sensor.tenant_id, sensor.id, now)
                result.silent += 1
            elif (
                sensor.silent_since is not None
                and sensor.last_seen
                and sensor.last_seen > sensor.silent_since
            ):
                kind, key = (
                    NoticeKind.SENSOR_RECOVERED,
                    f"sensor_recovered:{sensor.id}:{sensor.silent_since.isoformat()}",
                )
                uow.sensors.mark_silent(sensor.tenant_id, sensor.id, None)
                result.recovered += 1
            else:
                continue
            contacts = uow.contacts.list(sensor.tenant_id, active_only=True)
            for recipient in dedupe(silence_recipients(contacts, shifts, soc_fallback(settings))):
                portal = (
                    f"{base}/portal"
                    if recipient.audience == CUSTOMER
                    else f"{base}/tenants/{sensor.tenant_id}"
                )
                notice = sensor_notice(
                    kind,
                    language=recipient.language,
                    tenant_id=sensor.tenant_id,
                    tenant_name=names.get(sensor.tenant_id, ""),
                    sensor_name=sensor.name,
                    last_seen=sensor.last_seen,
                    minutes=limit,
                    portal_url=portal,
                )
                queue.add(key, notice, recipient)
    return result
