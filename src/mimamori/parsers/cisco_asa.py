"""Cisco ASA / Firepower Threat Defense (FTD) / PIX / FWSM ``%ASA-6-302013:``-style syslog messages.

Every message carries ``%<FAC>-<severity>-<message id>:``, optionally preceded by the device's own
timestamp (``logging timestamp``: ``Oct 03 2018 17:34:08``, device clock, sensor zone) and host name
(``logging device-id``), and by a relay's syslog header. ``event.code`` is the message id, ``log.level``
the severity name. The common message ids are mapped to ECS (``_KINDS``: connection build/teardown,
denies, NAT, AAA/VPN logins, threat detection, IPS); endpoints are taken from the documented
``[ifc:]ip[/port]`` forms after ``for|from|src|faddr`` and ``to|dst|laddr``. Unknown ids still give an
Event with the message text.
"""

from __future__ import annotations

import re
from datetime import datetime

from mimamori.domain.models import Event, Fields, RawRecord
from mimamori.errors import ParseError
from mimamori.parsers import _device, syslog

FORMAT = "cisco_asa"

_TAG_RE = re.compile(r"%(ASA|FTD|PIX|FWSM)(?:-[A-Za-z_]{1,16})?-([0-7])-(\d{6})(?::|\s|$) ?")
_DEVICE_TIME_RE = re.compile(
    r"(?:^|[\s>])([A-Z][a-z]{2} {1,2}\d{1,2}(?: \d{4})? \d{1,2}:\d{2}:\d{2}(?:\.\d{1,6})?"
    r"(?: [A-Z]{3,4})?|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})?):?(?:\s|$)"
)
_IP = r"[0-9A-Fa-f:.]{0,44}[0-9A-Fa-f]"
# An address is an IP or, with ``names``/objects configured, a name; it ends at "/", space, "(", ")" or ",".
_ADDR = rf"(?:{_IP}|[^\s:/(),]{{1,128}})(?=[/\s(),]|$)"
_IP_LIKE_RE = re.compile(r"[0-9A-Fa-f]{0,4}(?:[:.][0-9A-Fa-f]{0,4}){2,8}")
# "[ifc:]address[/port]" with an optional "(mapped ip/port)".
_ENDPOINT = rf"(?:([^\s:/()]{{1,64}}):)?({_ADDR})(?:/(\d{{1,5}}))?(?: \(({_IP})/(\d{{1,5}})\))?"
_FLOW_RE = re.compile(rf"\b(?:for|from|src|faddr) {_ENDPOINT}.{{0,160}}? (?:to|dst|laddr) {_ENDPOINT}")
_BUILT_RE = re.compile(r"Built (inbound|outbound) (\S+) connection (\d+)")
_TEARDOWN_RE = re.compile(r"duration (\d+):(\d{2}):(\d{2})(?: bytes (\d+))?")
_ACL_RE = re.compile(r'access-(?:group|list) "?([^"\s]{1,128})"?')
_ACL100_RE = re.compile(
    r"access-list (\S{1,128}) (permitted|denied|est-allowed) (\S{1,16}) "
    r"([^/\s]{1,64})/([^\s(]{1,45})\((\d{1,5})\)"
    r".{0,64}? ([^/\s]{1,64})/([^\s(]{1,45})\((\d{1,5})\)"
)
_USER_RE = re.compile(
    r"\b[Uu]ser(?:name)? = '?([^'\s,:]{1,128})|Uname: ([^\s,]{1,128})|\b[Uu]ser ['\"]([^'\"]{1,128})['\"]"
    r"|\bUser <([^>]{1,128})>|\bUser (\S{1,128}) locked out"
)
_AUTH_IP_RE = re.compile(r"(?:user IP|IP address|IP) ?[:=] ?<?([0-9A-Fa-f:.]{1,44}[0-9A-Fa-f])")
_GROUP_USER_RE = re.compile(r"Group <([^>]{0,128})> User <([^>]{0,128})> IP <([^>]{1,64})>")
_IPS_RE = re.compile(r"IPS:(\d{1,10}) (.{1,200}?) from (\S{1,64}) to (\S{1,64}) on interface (\S{1,64})")
_THREAT_RE = re.compile(r"\[\s*([^\]]{1,64}?)\s*\]")
_PROTO_RE = re.compile(r"\b(TCP|UDP|ICMP|icmp|tcp|udp|GRE|ESP|ICMP6|icmp6)\b")
_LEVELS = ("emergency", "alert", "critical", "error", "warning", "notification", "informational", "debug")

_CONN, _DENY, _AUTH, _THREAT = "network", "network", "authentication", "intrusion_detection"
# id -> (category, event.type, action, outcome); outcome None means "decided by the text".
_KINDS: dict[str, tuple[str, list[str], str, str | None]] = {
    **{i: (_CONN, ["connection", "start", "allowed"], "connection-built", "success")
       for i in ("302013", "302015", "302017", "302020", "302303", "302022", "302024", "302026")},
    **{i: (_CONN, ["connection", "end"], "connection-teardown", "success")
       for i in ("302014", "302016", "302018", "302021", "302304", "302023", "302025", "302027")},
    **{i: (_DENY, ["connection", "denied"], "deny", "failure")
       for i in ("106001", "106002", "106006", "106007", "106010", "106012", "106013", "106014", "106015",
                 "106016", "106017", "106018", "106020", "106021", "106022", "106023", "106027", "710003",
                 "710005", "313004", "313008", "733102", "401004", "419001", "419002", "500004")},
    "106100": (_DENY, ["connection"], "access-list", None),
    "305011": (_CONN, ["connection", "start"], "nat-built", "success"),
    "305012": (_CONN, ["connection", "end"], "nat-teardown", "success"),
    "305013": (_CONN, ["connection", "denied"], "nat-rejected", "failure"),
    "113004": (_AUTH, ["start"], "aaa-authentication", "success"),
    "113005": (_AUTH, ["start"], "aaa-authentication", "failure"),
    "113006": (_AUTH, ["info"], "account-locked", "failure"),
    "113008": (_AUTH, ["start"], "aaa-transaction", "success"),
    "113012": (_AUTH, ["start"], "aaa-authentication", "success"),
    "113015": (_AUTH, ["start"], "aaa-authentication", "failure"),
    "113039": (_AUTH, ["start"], "anyconnect-session-started", "success"),
    "722051": (_AUTH, ["start"], "vpn-address-assigned", "success"),
    "722037": (_AUTH, ["end"], "vpn-session-closed", None),
    "113019": (_AUTH, ["end"], "vpn-session-disconnected", None),
    "716001": (_AUTH, ["start"], "webvpn-session-started", "success"),
    "716002": (_AUTH, ["end"], "webvpn-session-terminated", None),
    "716039": (_AUTH, ["start"], "webvpn-authentication", "failure"),
    "611101": (_AUTH, ["start"], "user-authentication", "success"),
    "611102": (_AUTH, ["start"], "user-authentication", "failure"),
    "605004": (_AUTH, ["start"], "login", "failure"),
    "605005": (_AUTH, ["start"], "login", "success"),
    "502103": ("iam", ["change"], "privilege-changed", "success"),
    "111008": ("configuration", ["change"], "command-executed", "success"),
    "111010": ("configuration", ["change"], "command-executed", "success"),
    "733100": (_THREAT, ["info"], "threat-detected", None),
    "733101": (_THREAT, ["info"], "threat-detected", None),
    "733104": (_THREAT, ["info"], "threat-detected", None),
    "733105": (_THREAT, ["info"], "threat-detected", None),
    "338001": (_THREAT, ["connection"], "botnet-traffic-monitored", "success"),
    "338002": (_THREAT, ["connection"], "botnet-traffic-monitored", "success"),
    "338005": (_THREAT, ["connection", "denied"], "botnet-traffic-dropped", "failure"),
    "338006": (_THREAT, ["connection", "denied"], "botnet-traffic-dropped", "failure"),
    "338008": (_THREAT, ["connection", "denied"], "botnet-traffic-dropped", "failure"),
}  # fmt: skip


def _endpoints(fields: Fields, m: re.Match[str], swap: bool) -> None:
    sides = ("destination", "source") if swap else ("source", "destination")
    for n, side in enumerate(sides):
        ifc, ip, port, nat_ip, nat_port = m.group(5 * n + 1, 5 * n + 2, 5 * n + 3, 5 * n + 4, 5 * n + 5)
        fields[f"{side}.address"] = ip
        if _IP_LIKE_RE.fullmatch(ip):
            fields[f"{side}.ip"] = ip
        number = _device.to_port(port) if port else None
        if number is not None:
            fields[f"{side}.port"] = number
        if ifc:
            fields[f"cisco_asa.{side}_interface"] = ifc
        if nat_ip and nat_ip != ip:
            fields[f"{side}.nat.ip"] = nat_ip
            nat = _device.to_port(nat_port or "")
            if nat is not None:
                fields[f"{side}.nat.port"] = nat


def _flow(fields: Fields, code: str, text: str) -> None:
    """Endpoints, protocol, direction, duration and bytes of connection-like messages."""
    swap = False
    built = _BUILT_RE.match(text)
    if built is not None:
        direction, proto, conn = built.groups()
        fields["network.direction"] = "inbound" if direction == "inbound" else "outbound"
        fields["network.transport"] = _device.transport(proto)
        fields["cisco_asa.connection_id"] = conn
        swap = direction == "outbound"  # outbound: the "to" side (inside host) initiated
    elif code == "106100":
        acl = _ACL100_RE.match(text)
        if acl is not None:
            name, verdict, proto, s_ifc, s_ip, s_port, d_ifc, d_ip, d_port = acl.groups()
            fields["rule.name"] = name
            fields["event.action"] = verdict
            fields["event.outcome"] = "failure" if verdict == "denied" else "success"
            fields["event.type"] = ["connection", "denied" if verdict == "denied" else "allowed"]
            fields["network.transport"] = _device.transport(proto)
            fields["source.ip"], fields["destination.ip"] = s_ip, d_ip
            for side, ifc, port in (("source", s_ifc, s_port), ("destination", d_ifc, d_port)):
                fields[f"cisco_asa.{side}_interface"] = ifc
                number = _device.to_port(port)
                if number is not None:
                    fields[f"{side}.port"] = number
            return
    flow = _FLOW_RE.search(text)
    if flow is not None:
        _endpoints(fields, flow, swap)
    if "network.transport" not in fields:
        proto = _PROTO_RE.search(text)
        if proto is not None:
            fields["network.transport"] = _device.transport(proto.group(1))
    teardown = _TEARDOWN_RE.search(text)
    if teardown is not None:
        h, m, s, nbytes = teardown.groups()
        fields["event.duration"] = (int(h) * 3600 + int(m) * 60 + int(s)) * 10**9
        if nbytes is not None and len(nbytes) <= 18:
            fields["network.bytes"] = int(nbytes)
    acl = _ACL_RE.search(text)
    if acl is not None:
        fields["rule.name"] = acl.group(1)


def _details(fields: Fields, code: str, text: str, category: str) -> None:
    if category == _AUTH or code in ("502103", "111008", "111010", "113006"):
        vpn = _GROUP_USER_RE.search(text)
        if vpn is not None:
            group, user, ip = vpn.groups()
            fields["user.name"], fields["source.ip"] = user, ip
            if group:
                fields["group.name"] = group
        else:
            user = _USER_RE.search(text)
            if user is not None:
                fields["user.name"] = next(g for g in user.groups() if g)
            address = _AUTH_IP_RE.search(text)
            if address is not None and "source.ip" not in fields:
                fields["source.ip"] = address.group(1)
    if code.startswith("4000") or code == "400000":
        ips = _IPS_RE.search(text)
        if ips is not None:
            sig, name, src, dst, ifc = ips.groups()
            fields.update({"rule.id": sig, "threat.name": name, "source.ip": src, "destination.ip": dst})
            fields["observer.ingress.interface.name"] = ifc
    elif code.startswith("7331"):
        threat = _THREAT_RE.search(text)
        if threat is not None:
            fields["threat.name"] = threat.group(1)


def _header(text: str, start: int, record: RawRecord) -> tuple[datetime | None, str | None]:
    """The device time and host name before the ``%ASA-`` tag (after any relay header)."""
    prefix = text[:start]
    received_at = syslog.as_utc(record.received_at)
    tm = None
    for tm in _DEVICE_TIME_RE.finditer(prefix):  # noqa: B007 - the last match is the device's own time
        continue
    timestamp = _device.device_time(tm.group(1), record.timezone, received_at) if tm is not None else None
    tail = prefix[tm.end() if tm is not None else 0 :]
    if tail.startswith("<"):
        tail = tail.partition(">")[2]
    tokens = [token.strip(":") for token in tail.split(None, 4)[:4] if token.strip(":-")]
    return timestamp, tokens[0] if tokens else None


def parse(record: RawRecord) -> Event | None:
    """Parse one ASA/FTD syslog line; an empty line carries no event, a line without the tag raises."""
    text = syslog.decode(record.data)
    if not text.strip():
        return None
    tag = _TAG_RE.search(text)
    if tag is None:
        raise ParseError("no %ASA-/%FTD- message tag found")
    product, severity, code = tag.groups()
    body = text[tag.end() :].strip()
    fields: Fields = {
        "observer.vendor": "Cisco",
        "observer.product": product,
        "observer.type": "firewall",
        "event.code": code,
        "event.severity": int(severity),
        "log.level": _LEVELS[int(severity)],
        "message": body,
    }
    kind = _KINDS.get(code)
    category = kind[0] if kind is not None else ""
    if kind is not None:
        fields["event.category"] = [category]
        fields["event.type"] = list(kind[1])
        fields["event.action"] = kind[2]
        if kind[3] is not None:
            fields["event.outcome"] = kind[3]
        if category == _THREAT:
            fields["event.kind"] = "alert"
    if (kind is not None and category in (_CONN, _THREAT)) or code.startswith(
        ("106", "302", "305", "4000", "710", "605")
    ):
        _flow(fields, code, body)
    _details(fields, code, body, category)
    if code.startswith("4000"):
        fields["event.category"] = [_THREAT]
        fields["event.kind"] = "alert"
        fields["event.action"] = "ips-signature"
    timestamp, host = _header(text, tag.start(), record)
    if host:
        fields["observer.name"] = host
    dataset = "cisco_asa." + ("ftd" if product == "FTD" else "asa")
    return _device.make_event(record, dataset, fields, timestamp)
