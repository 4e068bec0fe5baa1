"""Alerts: findings deduplicated by (tenant, fingerprint), written in batches by the pipeline.

``record`` is the hot path. It folds a batch in memory first (a thousand findings typically collapse to a few
dozen fingerprints), then writes one multi-row ``INSERT ... ON CONFLICT DO UPDATE``, so two workers recording
the same fingerprint at the same moment both land in one alert with the summed count, on SQLite and
PostgreSQL alike. Rows are written in (tenant, fingerprint) order so concurrent batches lock in one order.
"""

from __future__ import annotations

import builtins
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    RowMapping,
    Select,
    bindparam,
    case,
    func,
    or_,
    select,
    update,
)

from mimamori.domain.models import Alert, AlertStatus, Finding, Severity
from mimamori.storage.bounded import fit
from mimamori.storage.dialect import built_once, greatest, insert_for, least
from mimamori.storage.scoping import found, scoped, scoped_any, scoped_in, tenant_list
from mimamori.storage.tables import alerts, new_id


@dataclass(frozen=True, slots=True)
class AlertChange:
    """What ``record`` did to one alert: ``created`` is False when findings were added to an existing one."""

    alert_id: str
    tenant_id: str
    fingerprint: str
    created: bool


@dataclass(slots=True)
class _Group:
    """The findings of one fingerprint within a batch, folded into the values of one row."""

    first: Finding
    count: int
    first_seen: datetime
    last_seen: datetime
    severity: Severity
    tags: dict[str, None] = field(default_factory=dict)  # ordered set

    def add(self, finding: Finding) -> None:
        self.count += 1
        self.first_seen = min(self.first_seen, finding.timestamp)
        self.last_seen = max(self.last_seen, finding.timestamp)
        if finding.severity.rank > self.severity.rank:
            self.severity = finding.severity
        self.tags.update(dict.fromkeys(finding.tags))


def _rank(column: ColumnElement[Any]) -> ColumnElement[int]:
    """Severity text as its rank in SQL, so an update can compare and keep the higher one."""
    return case({severity.value: severity.rank for severity in Severity}, value=column, else_=0)


class AlertRepository:
    """Alerts on one connection (the caller owns the transaction)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def record(self, items: Sequence[tuple[str, Finding]]) -> builtins.list[AlertChange]:
        """Upsert a batch of ``(fingerprint, finding)`` pairs; one change per distinct (tenant, fingerprint).

        A new fingerprint becomes an alert with ``count`` = its findings and ``first_seen``/``last_seen`` =
        their min/max; an existing one gets ``count += n``, the wider time span and the higher severity.
        Descriptive fields (title, host, evidence...) come from the first finding that created the alert.
        """
        groups: dict[tuple[str, str], _Group] = {}
        for fingerprint, finding in items:
            group = groups.get((finding.tenant_id, fingerprint))
            if group is None:
                groups[(finding.tenant_id, fingerprint)] = _Group(
                    first=finding,
                    count=1,
                    first_seen=finding.timestamp,
                    last_seen=finding.timestamp,
                    severity=finding.severity,
                    tags=dict.fromkeys(finding.tags),
                )
            else:
                group.add(finding)
        if not groups:
            return []
        rows = [  # cut to the column lengths: a host name from a log may be of any length
            fit(alerts, _row(tenant_id, fingerprint, groups[(tenant_id, fingerprint)]))
            for tenant_id, fingerprint in sorted(groups)
        ]
        statement = built_once(_UPSERTS, self._connection, _upsert)
        changes: dict[tuple[str, str], AlertChange] = {}
        for alert_id, tenant_id, fingerprint, count in self._connection.execute(statement, rows):
            # Existing alerts had count >= 1 before adding n: count == n exactly when this insert made it.
            created = count == groups[(tenant_id, fingerprint)].count
            changes[(tenant_id, fingerprint)] = AlertChange(alert_id, tenant_id, fingerprint, created)
        return [changes[key] for key in groups]

    def get(self, tenant_id: str, alert_id: str) -> Alert:
        """The tenant's alert, or NotFoundError (also for another tenant's alert)."""
        query = select(alerts).where(scoped(alerts, tenant_id), alerts.c.id == alert_id)
        return _alert(found(self._connection.execute(query).first(), "alert", alert_id))

    def list(
        self,
        tenant_id: str,
        *,
        limit: int = 100,
        offset: int = 0,
        severity: Severity | None = None,
        status: AlertStatus | None = None,
    ) -> builtins.list[Alert]:
        """The tenant's alerts, most recently seen first (the customer portal's list)."""
        query = _filtered(select(alerts).where(scoped(alerts, tenant_id)), severity, status)
        return self._page(query, limit, offset)

    def count(self, tenant_id: str) -> int:
        """How many alerts the tenant has."""
        query = select(func.count()).select_from(alerts).where(scoped(alerts, tenant_id))
        return int(self._connection.execute(query).scalar_one())

    def list_across_tenants(
        self,
        *,
        limit: int = 100,
        offset: int = 0,
        severity: Severity | None = None,
        status: AlertStatus | None = None,
        tenant_ids: Collection[str] | None = None,
    ) -> builtins.list[Alert]:
        """Provider-wide: every tenant's alerts, most recently seen first (the SOC queue).

        ``tenant_ids`` narrows the view to some customers; an empty collection yields nothing.
        """
        query = select(alerts)
        if tenant_ids is not None:
            query = query.where(scoped_any(alerts, tenant_ids))
        return self._page(_filtered(query, severity, status), limit, offset)

    def set_status(self, tenant_id: str, alert_id: str, status: AlertStatus) -> Alert:
        """Acknowledge, resolve or reopen the tenant's alert; NotFoundError for another tenant's alert."""
        statement = (
            update(alerts)
            .where(scoped(alerts, tenant_id), alerts.c.id == alert_id)
            .values(status=AlertStatus(status).value)
            .returning(*alerts.c)
        )
        return _alert(found(self._connection.execute(statement).first(), "alert", alert_id))

    def get_many(self, tenant_id: str, alert_ids: Collection[str]) -> builtins.list[Alert]:
        """The tenant's alerts among ``alert_ids`` (others' ids are silently absent), oldest first."""
        return self._of(ALERTS_BY_ID, tenant_id, alert_ids)

    def of_incidents(self, tenant_id: str, incident_ids: Collection[str]) -> builtins.list[Alert]:
        """The tenant's alerts placed in ``incident_ids``, oldest first (the incidents' timelines)."""
        return self._of(ALERTS_OF_INCIDENTS, tenant_id, incident_ids)

    def _of(self, query: Select[Any], tenant_id: str, ids: Collection[str]) -> builtins.list[Alert]:
        tenants = tenant_list([tenant_id])
        if not ids:
            return []
        rows = self._connection.execute(query, {"tenants": tenants, "ids": sorted(set(ids))})
        return [_alert(row._mapping) for row in rows]

    def place(self, tenant_id: str, alert_ids: Collection[str], incident_id: str | None) -> int:
        """Put the tenant's alerts in an incident (or take them out with None); returns how many."""
        if not alert_ids:
            return 0
        statement = (
            update(alerts)
            .where(scoped(alerts, tenant_id), alerts.c.id.in_(sorted(set(alert_ids))))
            .values(incident_id=incident_id)
        )
        return int(self._connection.execute(statement).rowcount)

    def suppress(self, tenant_id: str, alert_ids: Collection[str], rule_id: str) -> int:
        """Mark the tenant's alerts as silenced by suppression rule ``rule_id``."""
        if not alert_ids:
            return 0
        statement = (
            update(alerts)
            .where(scoped(alerts, tenant_id), alerts.c.id.in_(sorted(set(alert_ids))))
            .values(suppressed_by=rule_id)
        )
        return int(self._connection.execute(statement).rowcount)

    def count_matching(
        self,
        tenant_id: str,
        *,
        host: str | None = None,
        detector: str | None = None,
        key: str | None = None,
        since: datetime | None = None,
    ) -> int:
        """How many of the tenant's alerts match a suppression rule's fields (its preview)."""
        query = select(func.count()).select_from(alerts).where(scoped(alerts, tenant_id))
        if host is not None:
            query = query.where(or_(alerts.c.host == host, alerts.c.source_ip == host))
        if detector is not None:
            query = query.where(alerts.c.detector == detector)
        if key is not None:
            query = query.where(alerts.c.key == key)
        if since is not None:
            query = query.where(alerts.c.last_seen >= since)
        return int(self._connection.execute(query).scalar_one())

    def _page(self, query: Select[Any], limit: int, offset: int) -> builtins.list[Alert]:
        query = query.order_by(alerts.c.last_seen.desc(), alerts.c.id).limit(limit).offset(offset)
        return [_alert(row._mapping) for row in self._connection.execute(query)]


def _upsert(connection: Connection) -> Any:
    """``record``'s statement for the connection's backend (built once per backend: building it costs
    more than running it)."""
    insert = insert_for(connection, alerts)
    new = insert.excluded
    return insert.on_conflict_do_update(
        index_elements=[alerts.c.tenant_id, alerts.c.fingerprint],
        set_={
            "count": alerts.c.count + new.count,
            "first_seen": least(connection, alerts.c.first_seen, new.first_seen),
            "last_seen": greatest(connection, alerts.c.last_seen, new.last_seen),
            "severity": case(
                (_rank(new.severity) > _rank(alerts.c.severity), new.severity), else_=alerts.c.severity
            ),
        },
    ).returning(alerts.c.id, alerts.c.tenant_id, alerts.c.fingerprint, alerts.c.count)


_UPSERTS: dict[str, Any] = {}  # backend name -> ``_upsert``
# Built once (triage and the notifier run them for every batch and round): tenants and ids are bound.
ALERTS_BY_ID = (
    select(alerts)
    .where(scoped_in(alerts, "tenants"), alerts.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(alerts.c.first_seen, alerts.c.id)
)
ALERTS_OF_INCIDENTS = (
    select(alerts)
    .where(scoped_in(alerts, "tenants"), alerts.c.incident_id.in_(bindparam("ids", expanding=True)))
    .order_by(alerts.c.first_seen, alerts.c.id)
)


def _filtered(query: Select[Any], severity: Severity | None, status: AlertStatus | None) -> Select[Any]:
    if severity is not None:
        query = query.where(alerts.c.severity == Severity(severity).value)
    if status is not None:
        query = query.where(alerts.c.status == AlertStatus(status).value)
    return query


def _row(tenant_id: str, fingerprint: str, group: _Group) -> dict[str, Any]:
    finding = group.first
    return {
        "id": new_id(),
        "tenant_id": tenant_id,
        "fingerprint": fingerprint,
        "detector": finding.detector,
        "key": finding.key,
        "title": finding.title,
        "severity": group.severity.value,
        "status": AlertStatus.OPEN.value,
        "host": finding.host,
        "source_ip": finding.source_ip,
        "destination_ip": finding.destination_ip,
        "description": finding.description,
        "tags": list(group.tags),
        "evidence": finding.evidence,
        "first_seen": group.first_seen,
        "last_seen": group.last_seen,
        "count": group.count,
        "incident_id": None,
    }


def _alert(row: RowMapping) -> Alert:
    return Alert(
        id=row["id"],
        tenant_id=row["tenant_id"],
        fingerprint=row["fingerprint"],
        detector=row["detector"],
        key=row["key"],
        title=row["title"],
        severity=Severity(row["severity"]),
        first_seen=row["first_seen"],
        last_seen=row["last_seen"],
        count=row["count"],
        status=AlertStatus(row["status"]),
        host=row["host"],
        source_ip=row["source_ip"],
        destination_ip=row["destination_ip"],
        description=row["description"],
        tags=tuple(row["tags"]),
        evidence=dict(row["evidence"]),
        incident_id=row["incident_id"],
    )
