"""Reading alerts, scoped to what the viewer may see."""

from __future__ import annotations

from typing import Any

from mimamori.domain import Alert, Severity, User
from mimamori.errors import NotFoundError, PermissionDeniedError
from mimamori.storage import Database, read_only


def visible_tenant(viewer: User | None, tenant_id: str | None) -> str | None:
    """The tenant a query must be limited to. ``viewer=None`` is the local operator (CLI).

    Customer users are always limited to their own tenant; asking for another one is answered as if it
    did not exist. An empty tenant id (``?tenant_id=``) names no tenant: NotFoundError for everyone.
    """
    if tenant_id == "":
        raise NotFoundError("no such tenant")
    if viewer is None or viewer.role.is_provider:
        return tenant_id
    if viewer.tenant_id is None:
        raise PermissionDeniedError("customer account without a tenant")
    if tenant_id is not None and tenant_id != viewer.tenant_id:
        raise NotFoundError("no such tenant")
    return viewer.tenant_id


def list_alerts(
    db: Database,
    viewer: User | None,
    tenant_id: str | None = None,
    *,
    severity: Severity | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Alert]:
    scope = visible_tenant(viewer, tenant_id)
    with read_only(db) as uow:
        if scope is None:
            return uow.alerts.list_across_tenants(limit=limit, offset=offset, severity=severity)
        uow.tenants.get(scope)
        return uow.alerts.list(scope, limit=limit, offset=offset, severity=severity)


def get_alert(db: Database, viewer: User | None, tenant_id: str, alert_id: str) -> Alert:
    scope = visible_tenant(viewer, tenant_id)
    assert scope is not None
    with read_only(db) as uow:
        return uow.alerts.get(scope, alert_id)


def alert_to_dict(alert: Alert) -> dict[str, Any]:
    """The scripting shape of an alert (``mimamori alerts list --json`` and the API): keep it stable."""
    return {
        "id": alert.id,
        "tenant_id": alert.tenant_id,
        "severity": alert.severity.value,
        "severity_label": alert.severity.label_ja,
        "title": alert.title,
        "detector": alert.detector,
        "key": alert.key,
        "host": alert.host,
        "source_ip": alert.source_ip,
        "destination_ip": alert.destination_ip,
        "first_seen": alert.first_seen.isoformat(),
        "last_seen": alert.last_seen.isoformat(),
        "count": alert.count,
        "status": alert.status.value,
        "description": alert.description,
        "tags": list(alert.tags),
    }
