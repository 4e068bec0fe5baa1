"""Yamaha RTX/NVR/FWX router syslog (``syslog host``) to ECS-named Events.

Yamaha routers are the commonest UTM-less edge of Japanese SMEs. Their syslog lines have no program tag
and, in ``show log`` dumps or LAS exports, a ``YYYY/MM/DD HH:MM:SS:`` device-clock prefix. Recognised:

- IP/MAC filter logs (``ip filter ... pass-log|reject-log``):
  ``PP[01] Rejected at IN(1011) filter: TCP 203.0.113.5:4431 > 198.51.100.2:445``,
  ``LAN2 Passed at OUT(200099) filter: UDP ...``, ``LAN1(port1) Rejected at IN(10) filter: <mac> > <mac> IP``.
  IPv6 endpoints are written ``addr.port``. Rejected -> failure, Passed -> success.
- dynamic filter (stateful inspection) sessions:
  ``[INSPECT] PP[01][out][101] TCP 192.168.100.2:1234 > 203.0.113.1:80 (2024/03/01 12:00:00)``.
- intrusion detection (``ip <if> intrusion detection``): ``[IDS]``/``[INTRUSION]`` lines and lines
  reporting an intrusion/attack: interface, ``[action]``, description and ``src > dst`` are extracted.
- DHCP server: ``[DHCPD] LAN1(port4) Allocates 192.168.1.4: 38:56:10:c6:f3:39`` (also Extends/Releases).
- logins: ``Login succeeded for HTTP: 192.168.1.2 admin``, ``'administrator' succeeded for TELNET: ...``,
  ``Login failed for SSH: ...``, ``Logout from HTTP: ...``.

Every other line (link up/down, tunnels, IKE, schedules...) becomes a ``yamaha_rtx.system`` Event.
"""

from __future__ import annotations

import re

from mimamori.domain.models import Event, Fields, RawRecord
from mimamori.parsers import _device, syslog

FORMAT = "yamaha_rtx"

_SHOWLOG_TIME_RE = re.compile(r"(\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}): ")
_FILTER_RE = re.compile(
    r"(\S{1,64}) (Rejected|Passed) at (IN|OUT)\(([^)\s]{1,16})\) filter: "
    r"(\S{1,64}) (\S{1,128}) (\S{1,128})(?: (.{0,256}))?"
)
_INSPECT_RE = re.compile(
    r"\[INSPECT\] (\S{1,64}?)\[(in|out)\]\[(\d{1,10})\] (\S{1,32}) (\S{1,128}) > (\S{1,128})"
    r"(?: \((\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2})\))?"
)
_IDS_RE = re.compile(r"\[(?:IDS|INTRUSION)\]|[Ii]ntrusion detected|\bATTACK\b")
_IDS_FLOW_RE = re.compile(r"(\S{1,128}) > (\S{1,128})(?:\s|$)")
_IDS_IF_RE = re.compile(
    r"((?:LAN|WAN|PP|TUNNEL|BRIDGE|VLAN|LOOPBACK|NULL|IPIP)[\w\[\]().:/]{0,32}?):?(?:\s|$)"
)
_IDS_DIR_RE = re.compile(r"\b(IN|OUT|in|out)\b[:]?")
_IDS_ACTION_RE = re.compile(r"\[(reject|discard|drop|ignore|pass|none|log)\]", re.IGNORECASE)
_DHCP_RE = re.compile(
    r"(?:\[DHCPD\]|DHCPD:) (?:(\S{1,64}) )?(Allocates|Extends|Releases|Assigns|Reallocates|Declines|Rejects)"
    r" ([0-9.]{7,15})(?:: ?([0-9A-Fa-f:.\-]{11,17}))?"
)
_LOGIN_RE = re.compile(
    r"(?:(Login)|'(\w{1,32})') (succeeded|failed)(?: as (\S{1,64}))? for (\w{1,16}): "
    r"(\S{1,64})(?: (\S{1,64}))?"
)
_LOGOUT_RE = re.compile(r"Logout (?:timer expired )?from (\w{1,16}): (\S{1,64})(?: (\S{1,64}))?")
_IFACE_RE = re.compile(r"([^()]{1,64})\((port\d{1,3})\)")
_IPV4_PORT_RE = re.compile(r"(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})")
_IPV6_PORT_RE = re.compile(r"([0-9A-Fa-f:]*:[0-9A-Fa-f:]*)\.(\d{1,5})")
_BRACKET_PORT_RE = re.compile(r"\[([0-9A-Fa-f:.]{2,45})\]:(\d{1,5})")


def _endpoint(fields: Fields, side: str, token: str) -> None:
    token = token.rstrip(":,")
    for regex in (_IPV4_PORT_RE, _BRACKET_PORT_RE, _IPV6_PORT_RE):
        m = regex.fullmatch(token)
        if m is not None:
            fields[f"{side}.ip"] = m.group(1)
            port = _device.to_port(m.group(2))
            if port is not None:
                fields[f"{side}.port"] = port
            return
    if _device.is_mac(token):
        fields[f"{side}.mac"] = _device.mac(token)
    elif token not in ("*", "-"):
        fields[f"{side}.ip" if "." in token or ":" in token else f"yamaha_rtx.{side}"] = token


def _interface(fields: Fields, name: str, direction: str) -> None:
    m = _IFACE_RE.fullmatch(name)
    if m is not None:
        name, port = m.groups()
        fields["yamaha_rtx.switch_port"] = port
    side = "ingress" if direction.lower() == "in" else "egress"
    fields[f"observer.{side}.interface.name"] = name
    fields["network.direction"] = side


def _filter(fields: Fields, m: re.Match[str]) -> str:
    iface, verdict, direction, number, first, second, third, extra = m.groups()
    _interface(fields, iface, direction)
    fields["rule.id"] = number
    passed = verdict == "Passed"
    fields["event.action"] = "pass" if passed else "reject"
    fields["event.outcome"] = "success" if passed else "failure"
    fields["event.category"] = ["network"]
    fields["event.type"] = ["connection", "allowed" if passed else "denied"]
    if second == ">" and _device.is_mac(first):  # MAC filter: "<src mac> > <dst mac> IP|IP6|ARP"
        fields["source.mac"] = _device.mac(first)
        fields["destination.mac"] = _device.mac(third)
        if extra:
            kind = extra.split(" ", 1)[0]
            fields["network.type"] = {"IP": "ipv4", "IP6": "ipv6"}.get(kind, kind.lower())
        return "yamaha_rtx.filter"
    dst, _, extra = (extra or "").partition(" ")
    if third != ">" or not dst:
        fields["yamaha_rtx.detail"] = " ".join(part for part in (first, second, third, dst, extra) if part)
        return "yamaha_rtx.filter"
    fields["network.transport"] = _device.transport(first)
    _endpoint(fields, "source", second)
    _endpoint(fields, "destination", dst)
    if extra:
        fields["yamaha_rtx.detail"] = extra.strip(" :")
    return "yamaha_rtx.filter"


def _inspect(fields: Fields, m: re.Match[str], tz: str) -> str:
    iface, direction, number, proto, src, dst, started = m.groups()
    _interface(fields, iface, direction)
    fields["rule.id"] = number
    fields["event.action"] = "inspect"
    fields["event.outcome"] = "success"
    fields["event.category"] = ["network"]
    fields["event.type"] = ["connection", "start", "allowed"]
    fields["network.transport"] = _device.transport(proto)
    _endpoint(fields, "source", src)
    _endpoint(fields, "destination", dst)
    if started:
        ts = _device.device_time(started, tz)
        if ts is not None:
            fields["event.start"] = ts.isoformat()
    return "yamaha_rtx.inspect"


def _ids(fields: Fields, message: str) -> str:
    fields["event.kind"] = "alert"
    fields["event.category"] = ["intrusion_detection"]
    fields["event.type"] = ["info"]
    rest = _IDS_RE.sub("", message, count=1).strip()
    flow = None
    for flow in _IDS_FLOW_RE.finditer(rest):  # noqa: B007 - the last "a > b" is the flow
        continue
    if flow is not None:
        _endpoint(fields, "source", flow.group(1))
        _endpoint(fields, "destination", flow.group(2))
        rest = rest[: flow.start()] + rest[flow.end() :]
    iface = _IDS_IF_RE.match(rest)
    if iface is not None:
        fields["observer.ingress.interface.name"] = iface.group(1)
        rest = rest[iface.end() :]
    rest = rest.lstrip("[ ")
    direction = _IDS_DIR_RE.match(rest)
    if direction is not None:
        fields["network.direction"] = "ingress" if direction.group(1).lower() == "in" else "egress"
        rest = rest[direction.end() :]
    action = _IDS_ACTION_RE.search(rest)
    if action is not None:
        word = action.group(1).lower()
        fields["event.action"] = word
        if word in ("reject", "discard", "drop"):
            fields["event.outcome"] = "failure"
        rest = rest[: action.start()] + rest[action.end() :]
    name = " ".join(rest.replace("[", " ").replace("]", " ").split()).strip(" :")
    if name:
        fields["threat.name"] = name
    return "yamaha_rtx.ids"


def _dhcp(fields: Fields, m: re.Match[str]) -> str:
    iface, verb, ip, hw = m.groups()
    if iface:
        _interface(fields, iface, "in")
        del fields["network.direction"]
    fields["event.action"] = verb.lower()
    fields["event.category"] = ["network"]
    fields["event.type"] = ["protocol", "info"]
    fields["network.protocol"] = "dhcp"
    fields["client.ip"] = ip
    if hw:
        fields["client.mac"] = _device.mac(hw)
    return "yamaha_rtx.dhcp"


def _login(fields: Fields, m: re.Match[str]) -> str:
    login, privilege, verdict, as_user, service, address, user = m.groups()
    fields["event.action"] = "login" if login else f"{privilege.lower()}-login"
    fields["event.outcome"] = "success" if verdict == "succeeded" else "failure"
    fields["event.category"] = ["authentication"]
    fields["event.type"] = ["start"]
    fields["network.protocol"] = service.lower()
    fields["source.ip"] = address
    name = user or as_user
    if name and name != "(noname)":
        fields["user.name"] = name
    return "yamaha_rtx.auth"


def _logout(fields: Fields, m: re.Match[str]) -> str:
    service, address, user = m.groups()
    fields.update({"event.action": "logout", "event.category": ["authentication"], "event.type": ["end"]})
    fields["network.protocol"] = service.lower()
    fields["source.ip"] = address
    if user:
        fields["user.name"] = user
    return "yamaha_rtx.auth"


def _classify(fields: Fields, message: str, tz: str) -> str:
    if " filter: " in message:
        m = _FILTER_RE.search(message)
        if m is not None:
            return _filter(fields, m)
    if message.startswith("[INSPECT]"):
        m = _INSPECT_RE.match(message)
        if m is not None:
            return _inspect(fields, m, tz)
    if "DHCPD" in message:
        m = _DHCP_RE.search(message)
        if m is not None:
            return _dhcp(fields, m)
    if "succeeded for " in message or "failed for " in message:
        m = _LOGIN_RE.search(message)
        if m is not None:
            return _login(fields, m)
    if message.startswith("Logout"):
        m = _LOGOUT_RE.match(message)
        if m is not None:
            return _logout(fields, m)
    if _IDS_RE.search(message) is not None:
        return _ids(fields, message)
    return "yamaha_rtx.system"


def parse(record: RawRecord) -> Event | None:
    """Parse one Yamaha router syslog line; an empty line carries no event. Never raises on content."""
    text = syslog.decode(record.data)
    if not text.strip():
        return None
    received_at = syslog.as_utc(record.received_at)
    header = _device.split_header(text, received_at, record.timezone)
    message = header.message.strip()
    if header.app_name is not None:  # Yamaha lines carry no tag: "LAN1: link up" is all message
        message = f"{header.app_name}: {message}"
    timestamp = header.timestamp
    shown = _SHOWLOG_TIME_RE.match(message)
    if shown is not None:
        timestamp = _device.device_time(shown.group(1), record.timezone) or timestamp
        message = message[shown.end() :]
    fields: Fields = {"observer.vendor": "Yamaha", "observer.product": "RTX", "observer.type": "router"}
    if header.hostname:
        fields["observer.name"] = header.hostname
    dataset = _classify(fields, message, record.timezone)
    fields["message"] = message
    return _device.make_event(record, dataset, fields, timestamp)
