"""Correlation: alerts of one tenant and one device within a time window become one incident.

Pure functions over domain objects, so the rule is property-tested without a database: every alert is
placed exactly once, only with incidents of its own tenant and device, and only within the window. The
pipeline calls ``correlate`` with the batch's unplaced alerts and the tenant's open incidents.

The device is the customer's LAN address when the alert has one (a FortiGate log naming the PC and a Zeek
log with only its address land together), else the host name. Across detectors and kill-chain stages
nothing else is required: phishing mail, PowerShell, beacon and mail burst on one PC are one story.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from mimamori.domain import Alert
from mimamori.domain.network import is_lan as _is_lan

WINDOW = timedelta(hours=24)  # an alert this long after the incident's last activity opens a new one


def device_of(alert: Alert) -> str:
    """The identity of the customer's device the alert is about ("" when unknown)."""
    for address in (alert.source_ip, alert.destination_ip):
        if address and _is_lan(address):
            return address
    return alert.host or alert.source_ip or ""


@dataclass(frozen=True, slots=True)
class OpenIncident:
    """What correlation needs to know of an existing, not yet resolved incident."""

    id: str
    tenant_id: str
    device: str
    first_seen: datetime
    last_seen: datetime


@dataclass(slots=True)
class Group:
    """The alerts placed in one incident by this call; ``incident_id`` is None for a new incident."""

    tenant_id: str
    device: str
    first_seen: datetime
    last_seen: datetime
    incident_id: str | None = None
    alert_ids: list[str] = field(default_factory=list)

    def covers(self, alert: Alert, window: timedelta) -> bool:
        return alert.first_seen <= self.last_seen + window and alert.last_seen >= self.first_seen - window


def correlate(
    alerts: Iterable[Alert], open_incidents: Sequence[OpenIncident], window: timedelta = WINDOW
) -> list[Group]:
    """Place each alert in an open incident of its tenant and device, or in a new one.

    Alerts are taken in time order; an alert within ``window`` of a group's activity joins the group that
    was active last, and widens its span. Groups that received no alert are not returned.
    """
    by_key: dict[tuple[str, str], list[Group]] = {}
    for incident in open_incidents:
        by_key.setdefault((incident.tenant_id, incident.device), []).append(
            Group(incident.tenant_id, incident.device, incident.first_seen, incident.last_seen, incident.id)
        )
    touched: dict[int, Group] = {}
    for alert in sorted(alerts, key=lambda a: (a.first_seen, a.id)):
        device = device_of(alert)
        groups = by_key.setdefault((alert.tenant_id, device), [])
        candidates = [g for g in groups if g.covers(alert, window)]
        if candidates:
            group = max(candidates, key=lambda g: g.last_seen)
            group.first_seen = min(group.first_seen, alert.first_seen)
            group.last_seen = max(group.last_seen, alert.last_seen)
        else:
            group = Group(alert.tenant_id, device, alert.first_seen, alert.last_seen)
            groups.append(group)
        group.alert_ids.append(alert.id)
        touched[id(group)] = group
    return [replace(g, alert_ids=list(g.alert_ids)) for g in touched.values()]
