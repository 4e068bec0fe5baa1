"""Wazuh manager alerts (``alerts.json``, one JSON object per line) to ECS-named Events.

An alert names its rule (``rule.id/level/description/groups/mitre``), the agent that sent the log
(``agent.id/name/ip``: the monitored host), the ``manager``, the ``decoder``, the fields the decoder
extracted (``data.srcip``, ``data.dstuser``... and ``data.win`` for Windows event channels), the log
line itself (``full_log``) and where it came from (``location``). Agent -> ``host.*``; rule ->
``rule.*``, ``event.severity`` (0-15) and ``log.level`` (low 0-6, medium 7-11, high 12-14, critical 15,
as Wazuh's dashboard groups them); MITRE -> ``threat.*``; ``data.*`` -> ``source.*``/``destination.*``/
``user.*``...; ``data.win`` -> ``winlog.*`` in the EVTX parser's shape (``winlog.event_data.TargetUserName``:
Wazuh writes the names camelCase). Every value is also kept under ``wazuh.<key>`` unless mapped.
"""

from __future__ import annotations

from typing import Any

from mimamori.domain.models import Event, Fields, RawRecord
from mimamori.errors import ParseError
from mimamori.parsers import _json

FORMAT = "wazuh"

_DATA_TEXT = {
    "srcip": "source.ip", "dstip": "destination.ip", "srcuser": "source.user.name", "dstuser": "user.name",
    "action": "event.action", "url": "url.original",
    "srcmac": "source.mac", "dstmac": "destination.mac", "hostname": "host.hostname",
    "system_name": "host.hostname",
}  # fmt: skip
# ``data.protocol`` is the transport in firewall decoders and the HTTP method in web access-log decoders.
_TRANSPORTS = frozenset(("tcp", "udp", "icmp", "icmpv6", "ipv6-icmp", "gre", "esp", "ah", "sctp"))
_METHODS = frozenset(
    ("GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE", "PROPFIND")
)
_DATA_PORT = {"srcport": "source.port", "dstport": "destination.port"}
_SUCCESS_GROUPS = frozenset(("authentication_success",))
_FAILURE_GROUPS = frozenset(
    ("authentication_failed", "authentication_failures", "access_denied", "firewall_drop")
)


def _level(level: int) -> str:
    return "low" if level <= 6 else "medium" if level <= 11 else "high" if level <= 14 else "critical"


def _texts(value: Any) -> list[str] | None:
    if type(value) is list and value and all(type(v) is str for v in value):
        return value
    return None


def _rule(fields: Fields, rule: dict[str, Any]) -> None:
    for key, name in (("id", "rule.id"), ("description", "rule.name")):
        if type(rule.get(key)) is str:
            fields[name] = rule[key]
    level = rule.get("level")
    if type(level) is int and 0 <= level <= 16:
        fields["event.severity"] = level
        fields["log.level"] = _level(level)
    groups = _texts(rule.get("groups"))
    if groups is not None:
        fields["tags"] = list(groups)
        if _FAILURE_GROUPS.intersection(groups):
            fields["event.outcome"] = "failure"
        elif _SUCCESS_GROUPS.intersection(groups):
            fields["event.outcome"] = "success"
        if any(g.startswith("authentication") for g in groups):
            fields["event.category"] = ["authentication"]
    mitre = rule.get("mitre")
    if type(mitre) is dict:
        for key, name in (("id", "threat.technique.id"), ("technique", "threat.technique.name"),
                          ("tactic", "threat.tactic.name")):  # fmt: skip
            values = _texts(mitre.get(key))
            if values is not None:
                fields[name] = list(values)
        if "threat.technique.id" in fields:
            fields["threat.framework"] = "MITRE ATT&CK"


def _agent(fields: Fields, agent: dict[str, Any]) -> None:
    for key, names in (("id", ("agent.id",)), ("name", ("host.name", "agent.name")), ("ip", ("host.ip",))):
        value = agent.get(key)
        if type(value) is str and value:
            for name in names:
                fields[name] = value


def _port(value: Any) -> int | None:
    if type(value) is str and value.isascii() and value.isdigit() and len(value) <= 5:
        value = int(value)
    return value if type(value) is int and 0 <= value <= 65535 else None


def _data(fields: Fields, data: dict[str, Any]) -> None:
    for key, value in data.items():
        name = _DATA_TEXT.get(key)
        if name is not None and type(value) is str and value:
            fields[name] = value
            continue
        if key == "protocol" and type(value) is str:
            if value.lower() in _TRANSPORTS:
                fields["network.transport"] = value.lower()
                continue
            if value in _METHODS:
                fields["http.request.method"] = value
                continue
        port = _port(value) if key in _DATA_PORT else None
        if port is not None:
            fields[_DATA_PORT[key]] = port
        elif key == "win" and type(value) is dict:
            _windows(fields, value)
        else:
            _json.flatten(fields, "wazuh.data." + key, value)


def _windows(fields: Fields, win: dict[str, Any]) -> None:
    """``data.win.system`` / ``data.win.eventdata`` (camelCase) to the EVTX parser's ``winlog.*`` names."""
    _json.flatten(fields, "wazuh.data.win", win)
    system = win.get("system")
    if type(system) is dict:
        event_id = system.get("eventID")
        if type(event_id) is str and event_id.isascii() and event_id.isdigit() and len(event_id) <= 9:
            fields["winlog.event_id"] = int(event_id)
            fields["event.code"] = event_id
        for key, name in (("channel", "winlog.channel"), ("computer", "winlog.computer_name"),
                          ("providerName", "winlog.provider_name")):  # fmt: skip
            if type(system.get(key)) is str:
                fields[name] = system[key]
    data = win.get("eventdata")
    if type(data) is dict:
        for key, value in data.items():
            if type(value) is str and key:
                fields["winlog.event_data." + key[0].upper() + key[1:]] = value


def parse(record: RawRecord) -> Event | None:
    """Parse one alerts.json line; a blank line gives ``None``, anything malformed raises ``ParseError``."""
    if not record.data.strip():
        return None
    alert = _json.load_object(record.data, "Wazuh alert")
    timestamp = alert.get("timestamp")
    rule = alert.get("rule")
    if type(timestamp) is not str or type(rule) is not dict:
        raise ParseError("not a Wazuh alert: no timestamp or rule")
    fields: Fields = {"observer.vendor": "Wazuh", "observer.product": "Wazuh", "event.kind": "alert"}
    for key, value in alert.items():
        if key == "rule":
            _rule(fields, value)
            _json.flatten(fields, "wazuh.rule", {k: v for k, v in value.items() if k not in _RULE_DONE})
        elif key == "agent" and type(value) is dict:
            _agent(fields, value)
        elif key == "data" and type(value) is dict:
            _data(fields, value)
        elif key == "manager" and type(value) is dict and type(value.get("name")) is str:
            fields["observer.name"] = value["name"]
        elif key == "full_log" and type(value) is str:
            fields["event.original"] = value
        elif key == "id" and type(value) is str:
            fields["event.id"] = value
        elif key == "location" and type(value) is str:
            fields["log.file.path" if value.startswith("/") else "wazuh.location"] = value
        elif key != "timestamp":
            _json.flatten(fields, "wazuh." + key, value)
    if b"\\u0000" in record.data:
        fields = _json.clean_nul(fields)
    return Event(
        timestamp=_json.iso_time(timestamp, record.timezone),
        tenant_id=record.tenant_id,
        sensor_id=record.sensor_id,
        dataset="wazuh.alerts",
        fields=fields,
    )


_RULE_DONE = frozenset(("id", "description", "level", "groups"))
