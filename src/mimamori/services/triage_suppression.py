"""Suppression rules: known-harmless alerts (a tenant, host, rule or indicator) open no incident.

A rule names any of host / detector / key (none = the whole tenant), a reason and an optional expiry.
Before adding one, the analyst sees how many past alerts it would have suppressed (``preview``), so a
too-broad rule is noticed before it hides real attacks. Alerts stay stored and countable; they are only
kept out of incidents from the moment the rule exists.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from mimamori.domain import User
from mimamori.errors import NotFoundError, PermissionDeniedError, ValidationError
from mimamori.services.alerts import visible_tenant
from mimamori.storage import Database, read_only, unit_of_work
from mimamori.storage.repositories import SuppressionRule

KINDS = ("tenant", "host", "rule", "indicator")


def _fields(kind: str, host: str | None, value: str | None) -> dict[str, str | None]:
    """The rule's matching fields: ``rule`` is a Sigma rule id, ``indicator`` an indicator key."""
    if kind not in KINDS:
        raise ValidationError(f"unknown suppression kind {kind!r}; one of {', '.join(KINDS)}")
    if kind == "host":
        if not host:
            raise ValidationError("a host suppression needs --host")
        return {"host": host, "detector": None, "key": None}
    if kind in ("rule", "indicator"):
        if not value:
            raise ValidationError(f"a {kind} suppression needs the {kind} (its alert key)")
        return {"host": host or None, "detector": "sigma" if kind == "rule" else "indicator", "key": value}
    return {"host": None, "detector": None, "key": None}


def _scope(viewer: User | None, tenant_id: str) -> str:
    scope = visible_tenant(viewer, tenant_id)  # first: another tenant's is a 404, not a 403
    if viewer is not None and not viewer.role.is_provider:
        raise PermissionDeniedError("only the provider's staff manage suppression rules")
    assert scope is not None
    return scope


def rule_to_dict(rule: SuppressionRule, preview: int | None = None) -> dict[str, Any]:
    data = asdict(rule)
    data["created_at"] = rule.created_at.isoformat()
    data["expires_at"] = rule.expires_at.isoformat() if rule.expires_at else None
    if preview is not None:
        data["preview"] = preview
    return data


def preview(
    db: Database,
    viewer: User | None,
    tenant_id: str,
    kind: str,
    *,
    host: str | None = None,
    value: str | None = None,
) -> int:
    """How many of the tenant's past alerts the rule would have suppressed."""
    scope = _scope(viewer, tenant_id)
    fields = _fields(kind, host, value)
    with read_only(db) as uow:
        uow.tenants.get(scope)
        return uow.alerts.count_matching(
            scope, host=fields["host"], detector=fields["detector"], key=fields["key"]
        )


def add_rule(
    db: Database,
    viewer: User | None,
    tenant_id: str,
    kind: str,
    *,
    reason: str,
    host: str | None = None,
    value: str | None = None,
    expires_at: datetime | None = None,
) -> dict[str, Any]:
    """Create a rule (with its preview count); a reason is required, an expiry must lie ahead."""
    scope = _scope(viewer, tenant_id)
    fields = _fields(kind, host, value)
    reason = reason.strip()
    if not reason:
        raise ValidationError("a suppression rule needs a reason")
    if expires_at is not None:
        if expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=UTC)
        if expires_at <= datetime.now(UTC):
            raise ValidationError("the expiry must be in the future")
    with unit_of_work(db) as uow:
        uow.tenants.get(scope)
        count = uow.alerts.count_matching(
            scope, host=fields["host"], detector=fields["detector"], key=fields["key"]
        )
        rule = uow.incidents.add_rule(
            scope,
            {
                **fields,
                "reason": reason[:2000],
                "created_by": "cli" if viewer is None else viewer.email,
                "expires_at": expires_at,
            },
        )
    return rule_to_dict(rule, count)


def list_rules(
    db: Database, viewer: User | None, tenant_id: str, *, active_only: bool = False
) -> list[dict[str, Any]]:
    scope = _scope(viewer, tenant_id)
    with read_only(db) as uow:
        uow.tenants.get(scope)
        rules = uow.incidents.rules(scope, active_at=datetime.now(UTC) if active_only else None)
    return [rule_to_dict(r) for r in rules]


def remove_rule(db: Database, viewer: User | None, tenant_id: str, rule_id: str) -> None:
    scope = _scope(viewer, tenant_id)
    with unit_of_work(db) as uow:
        if not uow.incidents.remove_rule(scope, rule_id):
            raise NotFoundError(f"suppression rule {rule_id} not found")
