"""Incidents, their change log and suppression rules; every method takes the tenant first.

Rows come back as the small frozen records below (the domain ``Incident`` predates triage and carries
none of the workflow fields); the services turn them into what users see.
"""

from __future__ import annotations

import builtins
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    RowMapping,
    Select,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from mimamori.storage.bounded import fit
from mimamori.storage.scoping import found, scoped, scoped_any, scoped_in, scoped_param, tenant_list
from mimamori.storage.tables import incident_log, incidents, new_id, suppression_rules, utcnow

RESOLVED = "resolved"
OPEN = "open"  # a status filter: anything not resolved
SORTS = ("recent", "severity", "newest")  # last activity; severity then oldest first; newest opened first
_RANK = {"high": 3, "medium": 2, "low": 1}
# Built once: the notifier reads incidents one by one, several times a second.
_GET = select(incidents).where(scoped_param(incidents, "b_tenant"), incidents.c.id == bindparam("b_id"))
_GET_MANY = select(incidents).where(
    scoped_in(incidents, "tenants"), incidents.c.id.in_(bindparam("ids", expanding=True))
)


@dataclass(frozen=True, slots=True)
class IncidentFilter:
    """What the SOC queue narrows incidents by; ``None`` leaves a criterion out.

    ``status`` is a state or ``"open"`` (not resolved); ``assignee`` an e-mail, or ``""`` for unassigned;
    ``text`` a case-insensitive substring of the title, host or device.
    """

    severity: str | None = None
    status: str | None = None
    assignee: str | None = None
    text: str | None = None


@dataclass(frozen=True, slots=True)
class IncidentRow:
    id: str
    tenant_id: str
    title: str
    severity: str
    score: int
    status: str
    category: str | None
    device: str | None
    host: str | None
    opened_at: datetime
    last_seen: datetime | None
    reasons: builtins.list[dict[str, Any]]
    assignee: str | None
    resolution: str | None
    merged_into: str | None
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class LogEntry:
    id: str
    incident_id: str
    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SuppressionRule:
    id: str
    tenant_id: str
    host: str | None
    detector: str | None
    key: str | None
    reason: str
    created_by: str
    created_at: datetime
    expires_at: datetime | None


class IncidentRepository:
    """Incident rows on one connection (the caller owns the transaction)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def create(self, tenant_id: str, values: Mapping[str, Any]) -> IncidentRow:
        row = fit(incidents, {**values, "id": new_id(), "tenant_id": tenant_id, "updated_at": utcnow()})
        statement = insert(incidents).values(**row).returning(*incidents.c)
        return _incident(self._connection.execute(statement).one()._mapping)

    def get(self, tenant_id: str, incident_id: str) -> IncidentRow:
        """The tenant's incident, or NotFoundError (also for another tenant's)."""
        (tenant,) = tenant_list([tenant_id])
        row = self._connection.execute(_GET, {"b_tenant": tenant, "b_id": incident_id}).first()
        return _incident(found(row, "incident", incident_id))

    def get_many(self, tenant_id: str, incident_ids: Collection[str]) -> dict[str, IncidentRow]:
        """The tenant's incidents among ``incident_ids``, by id (another tenant's are simply absent)."""
        if not incident_ids:
            return {}
        params = {"tenants": tenant_list([tenant_id]), "ids": sorted(set(incident_ids))}
        rows = (_incident(row._mapping) for row in self._connection.execute(_GET_MANY, params))
        return {row.id: row for row in rows}

    def update(self, tenant_id: str, incident_id: str, values: Mapping[str, Any]) -> IncidentRow:
        statement = (
            update(incidents)
            .where(scoped(incidents, tenant_id), incidents.c.id == incident_id)
            .values(**fit(incidents, values), updated_at=utcnow())
            .returning(*incidents.c)
        )
        return _incident(found(self._connection.execute(statement).first(), "incident", incident_id))

    def list(
        self, tenant_id: str, *, status: str | None = None, limit: int = 100, offset: int = 0
    ) -> builtins.list[IncidentRow]:
        """The tenant's incidents (merged ones left out), most recently active first."""
        return self._page(select(incidents).where(scoped(incidents, tenant_id)), status, limit, offset)

    def list_across_tenants(
        self,
        *,
        status: str | None = None,
        limit: int = 100,
        offset: int = 0,
        tenant_ids: Collection[str] | None = None,
    ) -> builtins.list[IncidentRow]:
        """Provider-wide: every tenant's incidents (the SOC queue), most recently active first."""
        query = select(incidents)
        if tenant_ids is not None:
            query = query.where(scoped_any(incidents, tenant_ids))
        return self._page(query, status, limit, offset)

    def search(
        self,
        tenant_id: str,
        filters: IncidentFilter,
        *,
        sort: str = "recent",
        limit: int = 100,
        offset: int = 0,
    ) -> builtins.list[IncidentRow]:
        """The tenant's incidents matching ``filters`` (merged ones left out), in ``sort`` order."""
        query = _filtered(select(incidents).where(scoped(incidents, tenant_id)), filters)
        return self._sorted_page(query, sort, limit, offset)

    def search_across_tenants(
        self,
        filters: IncidentFilter,
        *,
        tenant_ids: Collection[str] | None = None,
        sort: str = "recent",
        limit: int = 100,
        offset: int = 0,
    ) -> builtins.list[IncidentRow]:
        """Provider-wide (the SOC queue): incidents of every tenant, or of ``tenant_ids``, filtered."""
        query = select(incidents)
        if tenant_ids is not None:
            query = query.where(scoped_any(incidents, tenant_ids))
        return self._sorted_page(_filtered(query, filters), sort, limit, offset)

    def count_across_tenants(
        self, filters: IncidentFilter, *, tenant_ids: Collection[str] | None = None
    ) -> int:
        """Provider-wide: how many incidents ``search_across_tenants`` would page through."""
        query = select(func.count()).select_from(incidents)
        if tenant_ids is not None:
            query = query.where(scoped_any(incidents, tenant_ids))
        return int(self._connection.execute(_filtered(query, filters)).scalar_one())

    def open_counts_across_tenants(self) -> dict[str, int]:
        """Provider-wide: unresolved, unmerged incidents per tenant id (tenants with none are absent)."""
        query = (
            select(incidents.c.tenant_id, func.count())
            .where(incidents.c.status != RESOLVED, incidents.c.merged_into.is_(None))
            .group_by(incidents.c.tenant_id)
        )
        return {row[0]: int(row[1]) for row in self._connection.execute(query)}

    def _sorted_page(
        self, query: Select[Any], sort: str, limit: int, offset: int
    ) -> builtins.list[IncidentRow]:
        if sort not in SORTS:
            raise ValueError(f"unknown sort {sort!r}")
        if sort == "severity":
            rank = case(_RANK, value=incidents.c.severity, else_=0)
            query = query.order_by(rank.desc(), incidents.c.opened_at, incidents.c.id)
        elif sort == "newest":
            query = query.order_by(incidents.c.opened_at.desc(), incidents.c.id)
        else:
            query = query.order_by(incidents.c.last_seen.desc(), incidents.c.id)
        query = query.limit(limit).offset(offset)
        return [_incident(row._mapping) for row in self._connection.execute(query)]

    def open_for_devices(self, tenant_id: str, devices: Collection[str]) -> builtins.list[IncidentRow]:
        """The tenant's unresolved, unmerged incidents on ``devices`` (correlation candidates)."""
        if not devices:
            return []
        query = select(incidents).where(
            scoped(incidents, tenant_id),
            incidents.c.device.in_(sorted(set(devices))),
            incidents.c.status != RESOLVED,
            incidents.c.merged_into.is_(None),
        )
        return [_incident(row._mapping) for row in self._connection.execute(query)]

    def log(
        self, tenant_id: str, incident_id: str, actor: str, action: str, detail: Mapping[str, Any]
    ) -> None:
        """Append one entry to the incident's change log (never updated or deleted)."""
        self._connection.execute(
            insert(incident_log).values(
                id=new_id(),
                tenant_id=tenant_id,
                incident_id=incident_id,
                at=utcnow(),
                actor=actor,
                action=action,
                detail=dict(detail),
            )
        )

    def history(self, tenant_id: str, incident_id: str) -> builtins.list[LogEntry]:
        query = (
            select(incident_log)
            .where(scoped(incident_log, tenant_id), incident_log.c.incident_id == incident_id)
            .order_by(incident_log.c.at, incident_log.c.id)
        )
        return [
            LogEntry(r.id, r.incident_id, r.at, r.actor, r.action, dict(r.detail))
            for r in self._connection.execute(query)
        ]

    def add_rule(self, tenant_id: str, values: Mapping[str, Any]) -> SuppressionRule:
        row = {**values, "id": new_id(), "tenant_id": tenant_id, "created_at": utcnow()}
        statement = insert(suppression_rules).values(**row).returning(*suppression_rules.c)
        return _rule(self._connection.execute(statement).one()._mapping)

    def rules(self, tenant_id: str, *, active_at: datetime | None = None) -> builtins.list[SuppressionRule]:
        """The tenant's suppression rules; with ``active_at``, only those not expired at that time."""
        query = select(suppression_rules).where(scoped(suppression_rules, tenant_id))
        if active_at is not None:
            query = query.where(
                or_(suppression_rules.c.expires_at.is_(None), suppression_rules.c.expires_at > active_at)
            )
        query = query.order_by(suppression_rules.c.created_at, suppression_rules.c.id)
        return [_rule(row._mapping) for row in self._connection.execute(query)]

    def remove_rule(self, tenant_id: str, rule_id: str) -> bool:
        statement = delete(suppression_rules).where(
            scoped(suppression_rules, tenant_id), suppression_rules.c.id == rule_id
        )
        return self._connection.execute(statement).rowcount == 1

    def _page(
        self, query: Select[Any], status: str | None, limit: int, offset: int
    ) -> builtins.list[IncidentRow]:
        query = query.where(incidents.c.merged_into.is_(None))
        if status is not None:
            query = query.where(incidents.c.status == status)
        query = query.order_by(incidents.c.last_seen.desc(), incidents.c.id).limit(limit).offset(offset)
        return [_incident(row._mapping) for row in self._connection.execute(query)]


def _filtered(query: Select[Any], filters: IncidentFilter) -> Select[Any]:
    query = query.where(incidents.c.merged_into.is_(None))
    if filters.severity is not None:
        query = query.where(incidents.c.severity == filters.severity)
    if filters.status == OPEN:
        query = query.where(incidents.c.status != RESOLVED)
    elif filters.status is not None:
        query = query.where(incidents.c.status == filters.status)
    if filters.assignee == "":
        query = query.where(incidents.c.assignee.is_(None))
    elif filters.assignee is not None:
        query = query.where(incidents.c.assignee == filters.assignee)
    if filters.text:
        escaped = filters.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        query = query.where(
            or_(
                incidents.c.title.ilike(pattern, escape="\\"),
                incidents.c.host.ilike(pattern, escape="\\"),
                incidents.c.device.ilike(pattern, escape="\\"),
            )
        )
    return query


def _incident(row: RowMapping) -> IncidentRow:
    return IncidentRow(
        id=row["id"],
        tenant_id=row["tenant_id"],
        title=row["title"],
        severity=row["severity"],
        score=row["score"],
        status=row["status"],
        category=row["category"],
        device=row["device"],
        host=row["host"],
        opened_at=row["opened_at"],
        last_seen=row["last_seen"],
        reasons=list(row["reasons"] or []),
        assignee=row["assignee"],
        resolution=row["resolution"],
        merged_into=row["merged_into"],
        updated_at=row["updated_at"],
    )


def _rule(row: RowMapping) -> SuppressionRule:
    return SuppressionRule(
        id=row["id"],
        tenant_id=row["tenant_id"],
        host=row["host"],
        detector=row["detector"],
        key=row["key"],
        reason=row["reason"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
    )
