"""Security devices' own verdicts as findings: anti-virus (``utm_virus``) and intrusion (``ids_alert``).

Sources (normalised by the parsers):

* FortiGate ``utm/virus`` (``fortigate.utm.virus``: ``threat.name``, ``file.name``, ``event.action``
  blocked / passed / monitored) → ``utm_virus``; FortiGate ``utm/ips`` → ``ids_alert`` (a detected, not
  dropped, attack takes the signature's own severity: critical/high → high, medium, low/info → low).
* Suricata EVE ``alert`` (``suricata.alert``: ``rule.name``, ``event.severity`` 1-3 from the rule, 1 the
  worst; ``event.action`` allowed / blocked) → ``ids_alert``; policy, chat and protocol-decode rules
  (``ET POLICY``, ``ET INFO``, ``SURICATA ...``) are low whatever their priority.
* Wazuh alerts (``wazuh.alerts``: ``rule.name``, rule level ``event.severity`` 0-15) → ``ids_alert``
  (``utm_virus`` for its malware rule groups), from level ``WAZUH_MIN_LEVEL``.
* Microsoft Defender for Endpoint alerts (``mde.alert``: ``rule.name``, ``log.level``, ``rule.category``)
  → ``utm_virus`` for Malware / anti-virus detections, else ``ids_alert``; informational alerts and those
  resolved as false positives are skipped.

Severity: a verdict the device enforced (blocked, dropped, quarantined) is low — the defence worked, but it
still counts (who is being targeted, what keeps coming); a verdict that let the traffic or file through is
high (or the source's own severity when it has one: Suricata 1 → high, 2 → medium, 3 → low). Repeats are
aggregated: one finding per tenant, host and signature per ``WINDOW`` (``ENFORCED_WINDOW`` while the
device keeps blocking it: a day of the same blocked download is one story), unless a later repeat is more
severe (a blocked virus followed by a passed one of the same name raises again).

Memory at the limits: ``MAX_KEYS`` (host, signature) keys x ~150 B ~ 0.6 MB per tenant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mimamori.detection.behaviours._flows import address
from mimamori.detection.behaviours._view import Route, View
from mimamori.detection.behaviours.base import BehaviourPolicy, BoundedMap, finding
from mimamori.domain import Event, Finding, Severity

NAME = "utm_virus"  # anti-virus verdicts (the simulator's ground truth and triage's "malware" category)
IDS_NAME = "ids_alert"  # intrusion prevention / detection verdicts

WINDOW = 3600.0  # seconds: one finding per host and signature within this time
ENFORCED_WINDOW = 24 * 3600.0  # seconds: ... when the verdict was enforced (blocked) each time
WAZUH_MIN_LEVEL = 7  # Wazuh rule level (0-15) from which an alert becomes a finding
WAZUH_HIGH_LEVEL = 12  # ... and from which it is high (7-11 medium)
MAX_TENANTS = 10_000  # tenants tracked (LRU)
MAX_KEYS = 4_000  # (host, signature) keys remembered per tenant (LRU)
MAX_TEXT = 200  # characters of a signature or file name kept

DATASETS = frozenset(
    ("fortigate.utm.virus", "fortigate.utm.ips", "suricata.alert", "wazuh.alerts", "mde.alert")
)
HOST_DATASETS = frozenset(("wazuh.alerts", "mde.alert"))
# Suricata rules that report policy, chat or protocol oddities rather than attacks: low whatever their
# priority (ET POLICY rules often carry priority 1).
LOW_RULE_PREFIXES = ("ET POLICY", "ET INFO", "ET CHAT", "ET GAMES", "ET P2P", "SURICATA ")
LOW_RULE_CATEGORIES = frozenset(
    (
        "potential corporate privacy violation",
        "not suspicious traffic",
        "generic protocol command decode",
        "misc activity",
        "unknown traffic",
    )
)
ENFORCED = frozenset(
    ("blocked", "block", "dropped", "drop", "reset", "reject", "deny", "denied", "quarantine")
)
_AV_TAGS = ("attack.execution", "attack.t1204")
_IDS_TAGS = ("attack.initial-access", "attack.t1190")
# FortiGate IPS signature severity of a session it let through (unknown or missing: high).
_FORTIGATE_SEVERITY = {"medium": Severity.MEDIUM, "low": Severity.LOW, "info": Severity.LOW}
_MDE_SEVERITY = {"high": Severity.HIGH, "medium": Severity.MEDIUM, "low": Severity.LOW}


def _text(fields: Mapping[str, Any], name: str) -> str:
    value = fields.get(name)
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str)), None)
    return value[:MAX_TEXT] if isinstance(value, str) else ""


def _number(fields: Mapping[str, Any], name: str) -> int:
    value = fields.get(name)
    if type(value) is int:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 6:
        return int(value)
    return -1


def _enforced(fields: Mapping[str, Any]) -> bool:
    return _text(fields, "event.action").lower() in ENFORCED


def _attack_tags(fields: Mapping[str, Any], default: tuple[str, ...]) -> tuple[str, ...]:
    """ATT&CK tags from the source's own mapping (Wazuh, MDE), else ``default``."""
    tags: list[str] = []
    for name in ("threat.tactic.name", "wazuh.rule.mitre.tactic"):
        values = fields.get(name)
        for value in values if isinstance(values, list) else ():
            if isinstance(value, str) and 0 < len(value) < 40:
                tags.append("attack." + value.strip().lower().replace(" ", "-"))
    values = fields.get("threat.technique.id")
    for value in values if isinstance(values, list) else ():
        if isinstance(value, str) and 0 < len(value) < 16:
            tags.append("attack." + value.strip().lower())
    return tuple(dict.fromkeys(tags)) or default


class UtmVerdict:
    """Anti-virus and IDS/IPS verdicts of UTMs, Suricata, Wazuh and Defender for Endpoint as findings."""

    name = NAME

    def __init__(self, policy: BehaviourPolicy | None = None) -> None:
        self.policy = policy or BehaviourPolicy()
        self._seen: BoundedMap[str, BoundedMap[str, list[float]]] = BoundedMap(MAX_TENANTS)  # → [time, rank]

    def accepts(self, event: Event) -> bool:
        return event.dataset in DATASETS

    def route(self, dataset: str) -> Route:
        return dataset in DATASETS

    def observe(self, event: Event) -> Iterable[Finding]:
        return self.see(View(event))

    def see(self, view: View) -> Iterable[Finding]:
        event = view.event
        verdict = self._verdict(event)
        if verdict is None:
            return ()
        detector, signature, severity, tags = verdict
        fields = event.fields
        src, dst = view.src, view.dst
        lan = src if src is not None and view.src_lan else dst if dst is not None and view.dst_lan else None
        host_name = _text(fields, "host.name") or _text(fields, "agent.name") or None
        if event.dataset in HOST_DATASETS:  # an endpoint agent: the device is the agent's host
            host_ip = address(fields, "host.ip") or (None if host_name else lan)
        else:  # a network sensor: the device is the LAN side of the session
            host_ip = lan or address(fields, "host.ip")
        who = host_ip or host_name or "?"
        now = view.now
        keys = self._seen.setdefault(event.tenant_id, lambda: BoundedMap(MAX_KEYS))
        if _enforced(fields):
            window = self.policy.value(event.tenant_id, NAME, "enforced_window_seconds", ENFORCED_WINDOW)
        else:
            window = self.policy.value(event.tenant_id, NAME, "window_seconds", WINDOW)
        seen = keys.setdefault(f"{detector}|{who}|{signature}", lambda: [-1e18, 0.0])
        if abs(now - seen[0]) < window and severity.rank <= seen[1]:
            return ()
        seen[0], seen[1] = now, float(severity.rank)
        remote = dst if lan == src else src
        action = _text(fields, "event.action") or "-"
        file_name = _text(fields, "file.name")
        if detector == NAME:
            title = f"ウイルス検知: {signature} / Malware detected: {signature}"
        else:
            title = f"侵入検知: {signature} / Intrusion alert: {signature}"
        return [
            finding(
                detector,
                event,
                key=signature,
                title=title,
                severity=severity,
                tags=tags,
                evidence={
                    "signature": signature,
                    "action": action,
                    "enforced": _enforced(fields),
                    "source": event.dataset,
                    "file": file_name,
                    "url": _text(fields, "url.original"),
                    "sender": _text(fields, "email.from.address"),
                },
                host=host_name,
                source_ip=host_ip,
                destination_ip=remote,
                description=f"{event.dataset}: {signature} ({action}) on {who}",
            )
        ]

    def _verdict(self, event: Event) -> tuple[str, str, Severity, tuple[str, ...]] | None:
        """(detector, signature, severity, tags) of a verdict event, or None when it is not one to report."""
        fields = event.fields
        dataset = event.dataset
        enforced = _enforced(fields)
        if dataset == "fortigate.utm.virus":
            signature = _text(fields, "threat.name") or _text(fields, "file.name") or "virus"
            return NAME, signature, Severity.LOW if enforced else Severity.HIGH, _AV_TAGS
        if dataset == "fortigate.utm.ips":
            signature = _text(fields, "threat.name") or "ips"
            rated = _FORTIGATE_SEVERITY.get(_text(fields, "fortigate.severity").lower(), Severity.HIGH)
            return IDS_NAME, signature, Severity.LOW if enforced else rated, _IDS_TAGS
        if dataset == "suricata.alert":
            signature = _text(fields, "rule.name") or _text(fields, "rule.id") or "alert"
            level = _number(fields, "event.severity")
            severity = {1: Severity.HIGH, 2: Severity.MEDIUM}.get(level, Severity.LOW)
            category = _text(fields, "rule.category").lower()
            if enforced or signature.startswith(LOW_RULE_PREFIXES) or category in LOW_RULE_CATEGORIES:
                severity = Severity.LOW
            return IDS_NAME, signature, severity, _IDS_TAGS
        if dataset == "wazuh.alerts":
            level = _number(fields, "event.severity")
            if level < self.policy.value(event.tenant_id, NAME, "wazuh_min_level", WAZUH_MIN_LEVEL):
                return None
            signature = _text(fields, "rule.name") or _text(fields, "rule.id") or "wazuh"
            groups = fields.get("tags")
            malware = isinstance(groups, list) and any(g in ("virus", "malware", "rootcheck") for g in groups)
            severity = Severity.HIGH if level >= WAZUH_HIGH_LEVEL else Severity.MEDIUM
            tags = _attack_tags(fields, _AV_TAGS if malware else _IDS_TAGS)
            return (NAME if malware else IDS_NAME), signature, severity, tags
        if dataset == "mde.alert":
            return self._mde(fields)
        return None

    @staticmethod
    def _mde(fields: Mapping[str, Any]) -> tuple[str, str, Severity, tuple[str, ...]] | None:
        level = _MDE_SEVERITY.get(_text(fields, "log.level").lower())
        classification = _text(fields, "mde.classification").lower()
        if level is None or classification in ("falsepositive", "false_positive"):
            return None
        signature = _text(fields, "threat.software.name") or _text(fields, "rule.name") or "defender"
        category = _text(fields, "rule.category").lower()
        source = (_text(fields, "mde.detectionSource") or _text(fields, "mde.Source")).lower()
        malware = category == "malware" or source.replace(" ", "") in ("windowsdefenderav", "antivirus")
        remediated = (
            fields.get("mde.RemediationIsSuccess") is True or _text(fields, "mde.status") == "Resolved"
        )
        severity = Severity.LOW if malware and remediated else level
        tags = _attack_tags(fields, _AV_TAGS if malware else _IDS_TAGS)
        return (NAME if malware else IDS_NAME), signature, severity, tags

    def snapshot(self) -> dict[str, Any]:
        return {"version": 1, "seen": {t: {k: list(v) for k, v in m.items()} for t, m in self._seen.items()}}

    def restore(self, state: Mapping[str, Any]) -> None:
        self._seen = BoundedMap(MAX_TENANTS)
        try:
            if state.get("version") != 1:
                return
            for tenant, keys in dict(state["seen"]).items():
                table: BoundedMap[str, list[float]] = BoundedMap(MAX_KEYS)
                for key, (moment, rank) in list(dict(keys).items())[-MAX_KEYS:]:
                    saved = [float(moment), float(rank)]
                    table.setdefault(str(key), lambda v=saved: v)
                self._seen.setdefault(str(tenant), lambda t=table: t)
        except (KeyError, TypeError, ValueError, AttributeError):
            self._seen = BoundedMap(MAX_TENANTS)
