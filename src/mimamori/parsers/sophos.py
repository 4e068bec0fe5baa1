"""Sophos Firewall (SFOS/XG, v17-v21) and Sophos UTM 9 key=value logs to ECS-named Events.

SFOS writes ``device="SFW" date=... time=... timezone="+09" ... log_type="Firewall" log_component=...
log_subtype="Allowed" ... src_ip=... dst_ip=...``; v19.5+ writes ``device_name=... timestamp="...+0900"
... severity=...`` and renames some keys (``bytes_sent``, ``src_zone``...). UTM 9 writes
``<30>2024:03:01-10:00:00 utm ulogd[123]: id="2001" severity="info" sys="SecureNet" sub="packetfilter"
name="Packet dropped" action="drop" ... srcip=... dstip=...``. Both are one tokenizer away from a dict;
keys with an ECS meaning are renamed (``_RENAMES``), the rest stay as ``sophos.<key>``. Sophos
devices write unterminated quotes at times, so the tokenizer is tolerant: a broken pair is dropped,
the rest of the line kept.
"""

from __future__ import annotations

import re
from datetime import datetime

from mimamori.domain.models import Event, Fields, RawRecord
from mimamori.errors import ParseError
from mimamori.parsers import _device, syslog

FORMAT = "sophos"

_BODY_RE = re.compile(r"(?:^|(?<= ))[A-Za-z_][\w\-.]{0,63}=")
_PAIR_RE = re.compile(r'([A-Za-z_][\w\-.]{0,63})=(?:"([^"]*+)"|([^\s"]*+))')
_UTM_TIME_RE = re.compile(r"(\d{4}:\d{2}:\d{2}-\d{2}:\d{2}:\d{2})")
_SAFE_RE = re.compile(r"[^a-z0-9]+")
_NOT_SET = frozenset(("", "N/A", "n/a", "0.0.0.0", "-"))  # noqa: S104 - "no address" values, not a bind

_RENAMES = {
    # SFOS (all versions)
    "src_ip": "source.ip", "dst_ip": "destination.ip", "user_name": "user.name", "fw_rule_id": "rule.id",
    "fw_rule_name": "rule.name", "in_interface": "observer.ingress.interface.name",
    "out_interface": "observer.egress.interface.name", "srczone": "observer.ingress.zone",
    "dstzone": "observer.egress.zone", "src_zone": "observer.ingress.zone",
    "dst_zone": "observer.egress.zone",
    "device_name": "observer.name", "device_id": "observer.serial_number",
    "device_serial_id": "observer.serial_number", "log_id": "event.code", "message": "message",
    "tran_src_ip": "source.nat.ip", "tran_dst_ip": "destination.nat.ip", "src_trans_ip": "source.nat.ip",
    "dst_trans_ip": "destination.nat.ip", "application": "network.application",
    "app_name": "network.application", "src_country_code": "source.geo.country_iso_code",
    "dst_country_code": "destination.geo.country_iso_code", "src_country": "source.geo.country_iso_code",
    "dst_country": "destination.geo.country_iso_code", "user_agent": "user_agent.original",
    "referer": "http.request.referrer", "virus": "threat.name", "virus_name": "threat.name",
    "threatname": "threat.name", "signature_msg": "rule.name", "signature_id": "rule.id",
    "filename": "file.name", "file_name": "file.name", "sender": "email.from.address",
    "from_email_address": "email.from.address", "recipient": "email.to.address",
    "to_email_address": "email.to.address", "subject": "email.subject", "email_subject": "email.subject",
    "src_host": "source.domain", "dst_host": "destination.domain",
    # UTM 9
    "srcip": "source.ip", "dstip": "destination.ip", "initf": "observer.ingress.interface.name",
    "outitf": "observer.egress.interface.name", "fwrule": "rule.id", "user": "user.name",
    "id": "event.code", "method": "http.request.method", "ua": "user_agent.original",
    "reason": "event.reason", "sid": "rule.id",
}  # fmt: skip
_INTS = {
    "src_port": "source.port", "dst_port": "destination.port", "tran_src_port": "source.nat.port",
    "tran_dst_port": "destination.nat.port", "src_trans_port": "source.nat.port",
    "dst_trans_port": "destination.nat.port", "status_code": "http.response.status_code",
    "srcport": "source.port", "dstport": "destination.port",
    "sent_bytes": "source.bytes", "recv_bytes": "destination.bytes", "bytes_sent": "source.bytes",
    "bytes_received": "destination.bytes", "sent_pkts": "source.packets", "recv_pkts": "destination.packets",
    "packets_sent": "source.packets", "packets_received": "destination.packets",
    "statuscode": "http.response.status_code", "size": "http.response.body.bytes",
}  # fmt: skip
_PORTS = frozenset(("source.port", "destination.port", "source.nat.port", "destination.nat.port"))
_MACS = {
    "src_mac": "source.mac",
    "dst_mac": "destination.mac",
    "srcmac": "source.mac",
    "dstmac": "destination.mac",
}
_CATEGORY = {
    "firewall": "network", "idp": "intrusion_detection", "ips": "intrusion_detection", "atp": "malware",
    "anti-virus": "malware", "antivirus": "malware", "sandstorm": "malware", "content filtering": "web",
    "web filter": "web", "waf": "web", "anti-spam": "email", "antispam": "email", "packetfilter": "network",
    "http": "web", "aua": "authentication", "auth": "authentication", "virus": "malware",
}  # fmt: skip
_OUTCOMES = {"successful": "success", "success": "success", "failed": "failure", "failure": "failure"}


def _pairs_exact(body: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for key, quoted, bare in _PAIR_RE.findall(body):
        pairs[key] = quoted or bare
    return pairs


def _pairs(body: str) -> dict[str, str]:
    """Split ``key=value`` pairs with C-level string methods; odd lines go to the tolerant regex."""
    parts = body.split('"')
    if len(parts) % 2 == 0 or "\\" in body:
        return _pairs_exact(body)
    quoted = parts[1::2]
    try:
        pairs = dict([word.split("=", 1) for word in "\x00".join(parts[0::2]).split()])
    except ValueError:
        return _pairs_exact(body)
    if quoted:
        filled = 0
        for key, value in pairs.items():
            if value == "\x00":
                pairs[key] = quoted[filled]
                filled += 1
        if filled != len(quoted):
            return _pairs_exact(body)
    return pairs


def _split(text: str) -> tuple[str, str]:
    """Return (header, body): the body starts at the first ``key=`` after any syslog header."""
    if text.startswith("<"):
        pri, rest = syslog.split_pri(text)
        if pri is not None and rest.startswith("1 "):
            env = syslog.envelope_from_text(text)
            return text[: len(text) - len(env.message)], env.message
    m = _BODY_RE.search(text)
    if m is None:
        raise ParseError("no key=value pairs found")
    return text[: m.start()], text[m.start() :]


def _timestamp(pairs: dict[str, str], header: str, record: RawRecord) -> datetime | None:
    tz = record.timezone
    received_at = syslog.as_utc(record.received_at)
    value = pairs.get("timestamp")
    if value:
        ts = _device.device_time(value, tz, received_at)
        if ts is not None:
            return ts
    date, time = pairs.get("date"), pairs.get("time")
    if date and time:
        zone = pairs.get("timezone", "")
        if zone and zone[0] in "+-" and len(zone) == 3:
            zone += "00"
        ts = _device.device_time(f"{date} {time}{' ' + zone if zone else ''}", tz, received_at)
        if ts is not None:
            return ts
    m = _UTM_TIME_RE.search(header)
    if m is not None:
        return _device.device_time(m.group(1), tz, received_at)
    return _device.split_header(header, received_at, tz).timestamp if header.strip() else None


def _map(pairs: dict[str, str]) -> Fields:
    fields: Fields = {}
    for key, value in pairs.items():
        name = _RENAMES.get(key)
        if name is not None:
            if value not in _NOT_SET:
                fields[name] = value
            continue
        name = _INTS.get(key)
        if name is not None:
            number = _device.to_int(value)
            if number is not None and (name not in _PORTS or number <= 65535):
                if number or name not in _PORTS:
                    fields[name] = number
            elif value:
                fields["sophos." + key] = value
        elif key in _MACS:
            if value:
                fields[_MACS[key]] = _device.mac(value)
        elif key in ("protocol", "proto"):
            if value:
                fields["network.transport"] = _device.transport(value)
        elif key == "url":
            if value:
                _device.set_url(fields, value)
        elif key in ("duration", "con_duration"):
            seconds = _device.to_int(value)
            if seconds is not None and seconds < 2**63 // 10**9:
                fields["event.duration"] = seconds * 10**9
        elif value:
            fields["sophos." + key] = value
    return fields


def _finish(fields: Fields, pairs: dict[str, str]) -> str:
    """Set observer, action, outcome and category; return the dataset name."""
    fields["observer.vendor"] = "Sophos"
    if "log_type" in pairs:
        fields["observer.product"] = "SFOS"
        log_type = pairs["log_type"]
        feature = log_type.lower()
        subtype = pairs.get("log_subtype", "")
        if subtype:
            fields["event.action"] = subtype.lower()
        words = (pairs.get("status", ""), subtype)
        if pairs.get("log_component", "").lower().find("authentication") >= 0 or subtype == "Authentication":
            feature = "auth"
        level = pairs.get("severity") or pairs.get("priority")
        dataset = "sophos.xg." + (_SAFE_RE.sub("_", log_type.lower()).strip("_") or "log")
    else:
        fields["observer.product"] = "UTM"
        feature = pairs.get("sub", "").lower()
        if pairs.get("action"):
            fields["event.action"] = pairs["action"].lower()
        name = pairs.get("name", "")
        if name and "message" not in fields:
            fields["message"] = name
        if feature == "ips" and pairs.get("reason"):
            fields["threat.name"] = pairs["reason"]
        words = (pairs.get("action", ""), name.rsplit(" ", 1)[-1])
        level = pairs.get("severity")
        dataset = "sophos.utm." + (_SAFE_RE.sub("_", feature).strip("_") or "log")
    if level:
        fields["log.level"] = level.lower()
    for word in words:
        result = _OUTCOMES.get(word.lower()) or _device.outcome(word)
        if result is not None:
            fields["event.outcome"] = result
            break
    category = _CATEGORY.get(feature)
    if category is not None:
        fields["event.category"] = [category]
    if "destination.domain" not in fields and pairs.get("domain"):
        fields["url.domain"] = _device.domain(pairs["domain"])
    return dataset


def parse(record: RawRecord) -> Event | None:
    """Parse one Sophos SFOS or UTM 9 line; an empty line carries no event, anything malformed raises."""
    text = syslog.decode(record.data)
    if not text.strip():
        return None
    header, body = _split(text)
    pairs = _pairs(body)
    if "log_type" not in pairs and not ("sys" in pairs and "sub" in pairs):
        raise ParseError("not a Sophos firewall log: no log_type (SFOS) or sys/sub (UTM) key")
    fields = _map(pairs)
    dataset = _finish(fields, pairs)
    return _device.make_event(record, dataset, fields, _timestamp(pairs, header, record))
