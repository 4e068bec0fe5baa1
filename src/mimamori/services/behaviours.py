"""The behaviour detectors' per-tenant policy and their state across restarts.

Per-tenant thresholds live in the tenant settings document ``"behaviour"``:
``{"thresholds": {"beacon": {"min_connections": 12}}, "mail_servers": ["192.168.1.25"]}``. The state of
every behaviour is saved as one gzip'd JSON file in the data directory (atomically: written beside and
renamed) every few minutes and at shutdown, and read back at start, so a restart does not forget what a
beacon's last connections were.
"""

from __future__ import annotations

import gzip
import ipaddress
import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mimamori.config import Settings
from mimamori.detection.behaviours import BEHAVIOURS, BehaviourDetector, BehaviourPolicy
from mimamori.domain import User
from mimamori.errors import ValidationError
from mimamori.services.alerts import visible_tenant
from mimamori.storage import Database, read_only, unit_of_work

DOCUMENT = "behaviour"
MAX_STATE_BYTES = 512 * 1024 * 1024  # a state file larger than this is not read (it is not ours)

log = logging.getLogger(__name__)


def state_path(settings: Settings) -> Path:
    return settings.data_dir / "state" / "behaviours.json.gz"


def policy_from(documents: Mapping[str, Mapping[str, Any]]) -> BehaviourPolicy:
    overrides: dict[str, dict[str, dict[str, Any]]] = {}
    servers: dict[str, frozenset[str]] = {}
    for tenant_id, document in documents.items():
        thresholds = document.get("thresholds")
        if isinstance(thresholds, Mapping):
            overrides[tenant_id] = {
                str(name): dict(values) for name, values in thresholds.items() if isinstance(values, Mapping)
            }
        mail = document.get("mail_servers")
        if isinstance(mail, list):
            servers[tenant_id] = frozenset(str(m) for m in mail)
    return BehaviourPolicy(overrides=overrides, mail_servers=servers)


def load_policy(db: Database) -> BehaviourPolicy:
    with read_only(db) as uow:
        return policy_from(uow.settings.all_of(DOCUMENT))


def refresh(detectors: Sequence[object], db: Database) -> None:
    """Hand a running behaviour detector the current per-tenant policy (applied at its next batch)."""
    for detector in detectors:
        if isinstance(detector, BehaviourDetector):
            detector.update_policy(load_policy(db))


def change_tenant_settings(
    db: Database,
    viewer: User | None,
    tenant_id: str,
    *,
    thresholds: Mapping[str, Mapping[str, Any]] | None = None,
    mail_servers: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Set some of a tenant's behaviour thresholds and/or its mail servers; returns the document."""
    if viewer is not None and not viewer.role.is_provider:
        raise ValidationError("behaviour thresholds are set by the provider")
    scope = visible_tenant(viewer, tenant_id)
    assert scope is not None
    with unit_of_work(db) as uow:
        uow.tenants.get(scope)
        document = uow.settings.get(scope, DOCUMENT) or {}
        if thresholds is not None:
            merged = {k: dict(v) for k, v in (document.get("thresholds") or {}).items()}
            for name, values in thresholds.items():
                if name not in BEHAVIOURS:
                    raise ValidationError(
                        f"unknown behaviour {name!r}; one of {', '.join(sorted(BEHAVIOURS))}"
                    )
                for key, value in values.items():
                    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                        raise ValidationError(f"{name}.{key}: a non-negative number")
                merged.setdefault(name, {}).update(values)
            document["thresholds"] = merged
        if mail_servers is not None:
            for address in mail_servers:
                try:
                    ipaddress.ip_address(address)
                except ValueError:
                    raise ValidationError(f"not an IP address: {address!r}") from None
            document["mail_servers"] = sorted(set(mail_servers))
        uow.settings.put(scope, DOCUMENT, document)
        return document


def save_state(detectors: Sequence[object], settings: Settings) -> bool:
    """Write the behaviours' state; False when there is no behaviour detector."""
    detector = next((d for d in detectors if isinstance(d, BehaviourDetector)), None)
    if detector is None:
        return False
    path = state_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_suffix(".tmp")
    with gzip.open(scratch, "wt", encoding="utf-8", compresslevel=3) as handle:
        json.dump(detector.snapshot(), handle, separators=(",", ":"))
    os.replace(scratch, path)
    return True


def load_state(detectors: Sequence[object], settings: Settings) -> int:
    """Give the behaviours their saved state back; returns how many took it (0 when there is none)."""
    detector = next((d for d in detectors if isinstance(d, BehaviourDetector)), None)
    path = state_path(settings)
    if detector is None or not path.is_file():
        return 0
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            data = json.loads(handle.read(MAX_STATE_BYTES))
    except (OSError, ValueError, EOFError) as error:
        log.warning("behaviour state %s unreadable (%s); starting fresh", path, error)
        return 0
    return detector.restore(data) if isinstance(data, dict) else 0
