"""pfSense / OPNsense ``filterlog`` CSV (pf packet filter) and the other lines of these firewalls.

The filterlog body is, per Netgate's "Filter Log Format" (pfSense 2.2+, also OPNsense):
``rule,subrule,anchor,tracker,interface,reason,action,direction,ipversion,`` then for IPv4
``tos,ecn,ttl,id,offset,flags,protoid,protoname,length,src,dst,`` and for IPv6
``class,flowlabel,hoplimit,protoname,protoid,length,src,dst,``, then per protocol: TCP
``srcport,dstport,datalen,flags,seq,ack,window,urg,options``, UDP ``srcport,dstport,datalen``, ICMP a
type and type-specific values, CARP ``type,ttl,vhid,version,advbase,advskew``. The line carries no time:
the syslog header's (device clock, sensor zone) or the receipt time is used. Lines of other programs
(dhcpd, sshd, openvpn...) become ``pfsense.log`` events with their message.
"""

from __future__ import annotations

from mimamori.domain.models import Event, Fields, RawRecord
from mimamori.errors import ParseError
from mimamori.parsers import _device, syslog

FORMAT = "pfsense"

_ACTIONS = {"pass": "success", "block": "failure", "reject": "failure", "match": None}
_ICMP_EXTRA = {
    "request": ("id", "seq"), "reply": ("id", "seq"), "unreachproto": ("destination", "proto"),
    "unreachport": ("destination", "proto", "port"), "unreach": ("description",),
    "timexceed": ("description",), "paramprob": ("description",), "redirect": ("description",),
    "maskreply": ("mask",), "needfrag": ("destination", "mtu"), "tstamp": ("id", "seq"),
    "tstampreply": ("id", "seq", "otime", "rtime", "ttime"),
}  # fmt: skip


def _int(fields: Fields, name: str, value: str, *, port: bool = False) -> None:
    number = _device.to_port(value) if port else _device.to_int(value)
    if number is not None:
        fields[name] = number


def _protocol(fields: Fields, proto: str, rest: list[str]) -> None:
    """Map the protocol-specific tail of the CSV."""
    if proto in ("tcp", "udp"):
        if len(rest) >= 2:
            _int(fields, "source.port", rest[0], port=True)
            _int(fields, "destination.port", rest[1], port=True)
        if len(rest) >= 3:
            _int(fields, "pfsense.data_length", rest[2])
        if proto == "tcp" and len(rest) >= 4:
            for key, value in zip(
                ("tcp_flags", "sequence", "ack", "window", "urg", "options"), rest[3:], strict=False
            ):
                if value:
                    fields["pfsense.tcp." + key] = value
    elif proto in ("icmp", "ipv6-icmp"):
        if rest and rest[0]:
            icmp_type = rest[0]
            if "=" in icmp_type:  # some versions write datalength=N in place of the type
                key, _, value = icmp_type.partition("=")
                fields["pfsense.icmp." + key] = value
                return
            fields["pfsense.icmp.type"] = icmp_type
            for key, value in zip(_ICMP_EXTRA.get(icmp_type, ()), rest[1:], strict=False):
                if value:
                    fields["pfsense.icmp." + key] = value
    elif proto == "carp":
        for key, value in zip(("type", "ttl", "vhid", "version", "advbase", "advskew"), rest, strict=False):
            if value:
                fields["pfsense.carp." + key] = value
    elif rest and any(rest):
        fields["pfsense.extra"] = ",".join(rest)


def _filterlog(body: str) -> Fields:
    f = body.split(",")
    if len(f) < 9:
        raise ParseError(f"filterlog line has {len(f)} fields, at least 9 expected")
    rule, subrule, anchor, tracker, interface, reason, action, direction, ipver = f[:9]
    if not rule.isdigit() or not ipver.isdigit():
        raise ParseError("filterlog line does not start with a rule number")
    fields: Fields = {
        "observer.vendor": "Netgate",
        "observer.product": "pfSense",
        "observer.type": "firewall",
        "rule.id": tracker or rule,
        "pfsense.rule_number": rule,
        "event.reason": reason,
        "event.action": action,
        "event.category": ["network"],
    }
    if len(tracker) == 32 and all(c in "0123456789abcdef" for c in tracker):  # OPNsense rule label hash
        fields["observer.vendor"], fields["observer.product"] = "Deciso", "OPNsense"
    if subrule:
        fields["pfsense.sub_rule_number"] = subrule
    if anchor:
        fields["pfsense.anchor"] = anchor
    if interface:
        side = "ingress" if direction == "in" else "egress"
        fields[f"observer.{side}.interface.name"] = interface
    if direction in ("in", "out"):
        fields["network.direction"] = "ingress" if direction == "in" else "egress"
    result = _ACTIONS.get(action)
    if result is not None:
        fields["event.outcome"] = result
        fields["event.type"] = ["connection", "allowed" if result == "success" else "denied"]
    if ipver == "4" and len(f) >= 20:
        tos, ecn, ttl, ident, offset, flags, protoid, proto, length, src, dst = f[9:20]
        fields["network.type"] = "ipv4"
        for key, value in (
            ("tos", tos),
            ("ecn", ecn),
            ("ttl", ttl),
            ("id", ident),
            ("offset", offset),
            ("flags", flags),
        ):
            if value:
                fields["pfsense.ip." + key] = value
        rest = f[20:]
    elif ipver == "6" and len(f) >= 17:
        klass, flowlabel, hoplimit, proto, protoid, length, src, dst = f[9:17]
        fields["network.type"] = "ipv6"
        for key, value in (("class", klass), ("flow_label", flowlabel), ("hop_limit", hoplimit)):
            if value:
                fields["pfsense.ip." + key] = value
        rest = f[17:]
    else:
        raise ParseError(f"filterlog IP version {ipver[:8]!r} with {len(f)} fields")
    proto = _device.transport(proto) if proto else _device.transport(protoid)
    fields["network.transport"] = proto
    _int(fields, "network.iana_number", protoid)
    _int(fields, "network.bytes", length)
    if src:
        fields["source.ip"] = src
    if dst:
        fields["destination.ip"] = dst
    _protocol(fields, proto, rest)
    return fields


def parse(record: RawRecord) -> Event | None:
    """Parse one pfSense/OPNsense line; an empty line carries no event, a malformed filterlog raises."""
    text = syslog.decode(record.data)
    if not text.strip():
        return None
    header = _device.split_header(text, syslog.as_utc(record.received_at), record.timezone)
    message = header.message.strip()
    if header.app_name == "filterlog" or (
        header.app_name is None and message[:1].isdigit() and "," in message
    ):
        fields = _filterlog(message)
        dataset = "pfsense.firewall"
    else:
        fields = {"observer.vendor": "Netgate", "observer.product": "pfSense", "message": message}
        if header.app_name:
            fields["process.name"] = header.app_name
        dataset = "pfsense.log"
    if header.hostname:
        fields["observer.name"] = header.hostname
    return _device.make_event(record, dataset, fields, header.timestamp)
