"""The pipeline's triage step over a whole batch: a few statements for every tenant of the batch at once.

``services.triage`` used to read and write alert by alert, incident by incident and tenant by tenant
through the per-tenant repositories: ~30 statements for a batch with findings of a few tenants, each
built anew by SQLAlchemy (most of the ~9 ms such a batch cost). Here every statement is built once, at
import, with its tenant filter and its ids as parameters (``scoping.scoped_in``/``scoped_param``), and
each step runs once per batch: one read for all the tenants' alerts, one executemany for all the
placements. A read asks for ``tenant → ids`` and keeps only the rows whose tenant is the one asked
for, so an id given under the wrong tenant is absent, as with the per-tenant methods.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, bindparam, insert, or_, select, update

from mimamori.domain.models import Alert
from mimamori.errors import NotFoundError
from mimamori.storage.bounded import fit
from mimamori.storage.dialect import insert_for
from mimamori.storage.repositories.alerts import ALERTS_BY_ID, ALERTS_OF_INCIDENTS, _alert
from mimamori.storage.repositories.incidents import RESOLVED, IncidentRow, SuppressionRule, _incident, _rule
from mimamori.storage.scoping import scoped_in, scoped_param, tenant_list
from mimamori.storage.tables import (
    alerts,
    incident_log,
    incidents,
    new_id,
    outbox,
    suppression_rules,
    tenant_settings,
    utcnow,
)

CHUNK = 500  # ids per IN list (SQLite allows 32,766 parameters, PostgreSQL 65,535)
# The columns ``refresh`` recomputes (one UPDATE, many parameter sets).
REFRESHED = ("title", "severity", "score", "category", "host", "opened_at", "last_seen", "reasons")
_TICK = timedelta(microseconds=1)


def _param(name: str, column: str) -> Any:
    return bindparam(f"b_{name}", type_=incidents.c[column].type)


_RULES = (
    select(suppression_rules)
    .where(
        scoped_in(suppression_rules, "tenants"),
        or_(suppression_rules.c.expires_at.is_(None), suppression_rules.c.expires_at > bindparam("at")),
    )
    .order_by(suppression_rules.c.created_at, suppression_rules.c.id)
)
_OPEN = select(incidents).where(
    scoped_in(incidents, "tenants"),
    incidents.c.device.in_(bindparam("ids", expanding=True)),
    incidents.c.status != RESOLVED,
    incidents.c.merged_into.is_(None),
)
_INCIDENTS = select(incidents).where(
    scoped_in(incidents, "tenants"), incidents.c.id.in_(bindparam("ids", expanding=True))
)
_SETTINGS = select(tenant_settings.c.tenant_id, tenant_settings.c.value).where(
    scoped_in(tenant_settings, "tenants"), tenant_settings.c.name == bindparam("name")
)
_PLACE = (
    update(alerts)
    .where(scoped_param(alerts, "b_tenant"), alerts.c.id == bindparam("b_id", type_=alerts.c.id.type))
    .values(incident_id=bindparam("b_incident", type_=alerts.c.incident_id.type))
)
_SUPPRESS = (
    update(alerts)
    .where(scoped_param(alerts, "b_tenant"), alerts.c.id == bindparam("b_id", type_=alerts.c.id.type))
    .values(suppressed_by=bindparam("b_rule", type_=alerts.c.suppressed_by.type))
)
_REFRESH = (
    update(incidents)
    .where(
        scoped_param(incidents, "b_tenant"), incidents.c.id == bindparam("b_id", type_=incidents.c.id.type)
    )
    .values({name: _param(name, name) for name in (*REFRESHED, "updated_at")})
)


def _chunks(ids: Iterable[str]) -> Iterable[list[str]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


def _wanted(wanted: Mapping[str, Collection[str]]) -> tuple[list[str], set[tuple[str, str]]]:
    """The tenants to bind (checked) and the exact ``(tenant, id)`` pairs asked for."""
    tenants = tenant_list(tenant for tenant, ids in wanted.items() if ids)
    return tenants, {(tenant, item) for tenant in tenants for item in wanted[tenant]}


class TriageRepository:
    """Batch reads and writes of the triage step on one connection (the caller owns the transaction)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def _select(
        self, statement: Select[Any], wanted: Mapping[str, Collection[str]], column: str
    ) -> list[Any]:
        """Rows of ``statement`` for ``tenant → ids`` (``ids`` bound in chunks); only the rows whose
        ``(tenant_id, column)`` pair was asked for, in the statement's order within each chunk."""
        tenants, pairs = _wanted(wanted)
        if not pairs:
            return []
        rows = []
        for chunk in _chunks(item for _, item in pairs):
            for row in self._connection.execute(statement, {"tenants": tenants, "ids": chunk}):
                if (row.tenant_id, row._mapping[column]) in pairs:
                    rows.append(row)
        return rows

    def alerts(self, wanted: Mapping[str, Collection[str]]) -> list[tuple[Alert, str | None]]:
        """The alerts ``wanted`` (tenant id → alert ids), oldest first within each tenant, each with the
        suppression rule that silenced it (None: not suppressed)."""
        rows = self._select(ALERTS_BY_ID, wanted, "id")
        rows.sort(key=lambda row: (row.first_seen, row.id))
        return [(_alert(row._mapping), row.suppressed_by) for row in rows]

    def placed_alerts(self, wanted: Mapping[str, Collection[str]]) -> list[Alert]:
        """The alerts placed in the incidents ``wanted`` (tenant id → incident ids), oldest first."""
        rows = self._select(ALERTS_OF_INCIDENTS, wanted, "incident_id")
        rows.sort(key=lambda row: (row.first_seen, row.id))
        return [_alert(row._mapping) for row in rows]

    def incidents(self, wanted: Mapping[str, Collection[str]]) -> dict[str, IncidentRow]:
        """The incidents ``wanted`` (tenant id → incident ids) by id; NotFoundError if one is missing."""
        found = {row.id: _incident(row._mapping) for row in self._select(_INCIDENTS, wanted, "id")}
        for ids in wanted.values():
            for incident_id in ids:
                if incident_id not in found:
                    raise NotFoundError(f"incident {incident_id} not found")
        return found

    def rules(self, tenant_ids: Collection[str], *, active_at: datetime) -> dict[str, list[SuppressionRule]]:
        """Each tenant's suppression rules not expired at ``active_at``, oldest first."""
        tenants = tenant_list(tenant_ids)
        out: dict[str, list[SuppressionRule]] = {}
        if tenants:
            for row in self._connection.execute(_RULES, {"tenants": tenants, "at": active_at}):
                out.setdefault(row.tenant_id, []).append(_rule(row._mapping))
        return out

    def open_incidents(self, devices: Mapping[str, Collection[str]]) -> list[IncidentRow]:
        """Unresolved, unmerged incidents on the devices of each tenant (tenant id → devices)."""
        return [_incident(row._mapping) for row in self._select(_OPEN, devices, "device")]

    def settings(self, tenant_ids: Collection[str], name: str) -> dict[str, dict[str, Any]]:
        """Each tenant's settings document ``name`` (tenants without one are absent)."""
        tenants = tenant_list(tenant_ids)
        if not tenants:
            return {}
        rows = self._connection.execute(_SETTINGS, {"tenants": tenants, "name": name})
        return {row.tenant_id: dict(row.value) for row in rows if isinstance(row.value, dict)}

    def create_incidents(self, rows: Sequence[tuple[str, Mapping[str, Any]]]) -> list[str]:
        """Insert one incident per ``(tenant id, values)``; their new ids, in order."""
        tenant_list(tenant for tenant, _ in rows)
        now = utcnow()
        values = [fit(incidents, {**v, "id": new_id(), "tenant_id": t, "updated_at": now}) for t, v in rows]
        if values:
            self._connection.execute(insert(incidents), values)
        return [v["id"] for v in values]

    def refresh_incidents(self, rows: Sequence[tuple[str, str, Mapping[str, Any]]]) -> None:
        """Set the ``REFRESHED`` columns of each ``(tenant id, incident id, values)``."""
        tenant_list(tenant for tenant, _, _ in rows)
        now = utcnow()
        params = []
        for tenant, incident_id, values in rows:
            cut = fit(incidents, {name: values[name] for name in REFRESHED})
            params.append(
                {"b_tenant": tenant, "b_id": incident_id, "b_updated_at": now}
                | {f"b_{name}": value for name, value in cut.items()}
            )
        if params:
            self._connection.execute(_REFRESH, params)

    def place(self, rows: Sequence[tuple[str, str, str]]) -> None:
        """Put each ``(tenant id, alert id, incident id)``'s alert in that incident."""
        self._updates(_PLACE, "b_incident", rows)

    def suppress(self, rows: Sequence[tuple[str, str, str]]) -> None:
        """Mark each ``(tenant id, alert id, rule id)``'s alert as silenced by that rule."""
        self._updates(_SUPPRESS, "b_rule", rows)

    def _updates(self, statement: Any, name: str, rows: Sequence[tuple[str, str, str]]) -> None:
        tenant_list(tenant for tenant, _, _ in rows)
        if rows:
            params = [{"b_tenant": tenant, "b_id": item, name: value} for tenant, item, value in rows]
            self._connection.execute(statement, params)

    def log(self, entries: Sequence[tuple[str, str, str, str, Mapping[str, Any]]]) -> None:
        """Append ``(tenant id, incident id, actor, action, detail)`` entries to the incidents' change
        logs, their times strictly increasing in the given order (the log is read in time order)."""
        tenant_list(entry[0] for entry in entries)
        rows = []
        at = utcnow()
        for tenant, incident_id, actor, action, detail in entries:
            now = utcnow()
            at = now if now > at else at + _TICK
            rows.append(
                {"id": new_id(), "tenant_id": tenant, "incident_id": incident_id, "at": at,
                 "actor": actor, "action": action, "detail": dict(detail)}
            )  # fmt: skip
        if rows:
            self._connection.execute(insert(incident_log), rows)

    def enqueue(self, messages: Sequence[tuple[str, str | None, str, Mapping[str, Any], str]]) -> None:
        """Outbox rows ``(tenant id, alert id, kind, payload, idempotency key)``; a key already queued is
        left as it is (``OutboxRepository.add`` for many)."""
        tenant_list(message[0] for message in messages)
        if not messages:
            return
        now = utcnow()
        rows = [
            {"id": new_id(), "tenant_id": tenant, "alert_id": alert_id, "kind": kind,
             "payload": dict(payload), "created_at": now, "attempts": 0, "idempotency_key": key}
            for tenant, alert_id, kind, payload, key in messages
        ]  # fmt: skip
        statement = insert_for(self._connection, outbox).on_conflict_do_nothing(
            index_elements=[outbox.c.idempotency_key]
        )
        self._connection.execute(statement, rows)
