"""Suricata EVE JSON (one object per line) to ECS-named Events.

Every event type shares the flow 5-tuple (``src_ip``, ``dest_port``, ``proto``...), ``flow_id``,
``app_proto`` and an ISO-8601 ``timestamp`` with offset (``2018-03-24T14:37:19.037299-0600``).
``alert``, ``dns`` (EVE v1 one record per query/answer, v2 ``answers``/``grouped``, v3 ``queries``),
``http``, ``tls``, ``fileinfo``, ``flow`` and ``anomaly`` objects get ECS names wherever they appear
(an alert carries the ``http``/``tls``/``dns`` object of its transaction too); any other key, and every
other event type (ssh, smtp, netflow, stats...), is kept flat as ``suricata.<key>...``. Alert action
``allowed`` gives ``event.outcome`` "success", ``blocked`` gives "failure" (an IPS drop). With the C
speedups built (``_native``) the key loops and ``flatten`` run in C, with the same results; and
``_speedups.suricata_event`` does all of ``parse`` for the common lines (the alert, http, tls, fileinfo,
flow and anomaly handlers in C, dns through its function here), leaving every other line (and the
first line of each event type) to ``_parse``.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from mimamori.domain.models import Event, Fields, RawRecord, Scalar
from mimamori.errors import ParseError
from mimamori.parsers import _json, _native

FORMAT = "suricata"

_SAFE_TYPE_RE = re.compile(r"[a-z0-9_]{1,32}")
_TLS_VERSION_RE = re.compile(r"(TLS|SSL|DTLS) ?v?(\d)\.?(\d?)")
_HTTP_VERSION_RE = re.compile(r"HTTP/(\d(?:\.\d)?)")
_OUTCOME = {"allowed": "success", "blocked": "failure", "pass": "success", "drop": "failure"}
_CATEGORY: dict[str, list[Scalar]] = {
    "alert": ["network", "intrusion_detection"], "dns": ["network"], "http": ["network", "web"],
    "tls": ["network"], "flow": ["network"], "netflow": ["network"], "fileinfo": ["file"],
    "anomaly": ["network"], "ssh": ["network"], "smtp": ["network", "email"],
}  # fmt: skip
_IP_TYPES = frozenset(("A", "AAAA"))

# Top-level scalars: EVE key -> (ECS name, required type).
_TOP: dict[str, tuple[str, type[Any]]] = {
    "src_ip": ("source.ip", str), "dest_ip": ("destination.ip", str), "src_port": ("source.port", int),
    "dest_port": ("destination.port", int), "app_proto": ("network.protocol", str),
    "community_id": ("network.community_id", str), "host": ("observer.name", str),
    "in_iface": ("observer.ingress.interface.name", str), "direction": ("network.direction", str),
}  # fmt: skip
_PREFIX = {kind: f"suricata.{kind}." for kind in ("alert", "http", "tls", "fileinfo", "flow", "anomaly")}
# Sub-objects with plain renames: EVE key -> (ECS name, required type); the rest stays suricata.<obj>.*
_PLAIN: dict[str, dict[str, tuple[str, type[Any]]]] = {
    "alert": {"signature": ("rule.name", str), "category": ("rule.category", str),
              "rev": ("rule.version", int), "severity": ("event.severity", int),
              "action": ("event.action", str)},
    "http": {"http_user_agent": ("user_agent.original", str), "http_method": ("http.request.method", str),
             "status": ("http.response.status_code", int), "length": ("http.response.body.bytes", int),
             "http_refer": ("http.request.referrer", str),
             "http_content_type": ("http.response.mime_type", str)},
    "tls": {"subject": ("tls.server.subject", str), "issuerdn": ("tls.server.issuer", str),
            "serial": ("tls.server.x509.serial_number", str), "notbefore": ("tls.server.not_before", str),
            "notafter": ("tls.server.not_after", str)},
    "fileinfo": {"filename": ("file.name", str), "md5": ("file.hash.md5", str),
                 "sha1": ("file.hash.sha1", str), "sha256": ("file.hash.sha256", str),
                 "size": ("file.size", int)},
    "flow": {"pkts_toserver": ("source.packets", int), "pkts_toclient": ("destination.packets", int),
             "bytes_toserver": ("source.bytes", int), "bytes_toclient": ("destination.bytes", int),
             "start": ("event.start", str), "end": ("event.end", str)},
    "anomaly": {"event": ("event.action", str)},
}  # fmt: skip


_flatten = _native.flatten or _json.flatten
_rename_into = _native.rename_into


def _rename(fields: Fields, obj: dict[str, Any], kind: str) -> None:
    """Known keys of the right type get their ECS name, everything else goes under ``suricata.<kind>.``."""
    renames, prefix = _PLAIN[kind], _PREFIX[kind]
    if _rename_into is not None:  # the same loop in C (``_native``)
        _rename_into(fields, obj, renames, prefix)
        return
    for key, value in obj.items():
        spec = renames.get(key)
        if spec is not None and type(value) is spec[1] and (spec[1] is not int or value <= _json.MAX_INT):
            fields[spec[0]] = value
        else:
            _flatten(fields, prefix + key, value)


def _domain(value: Any) -> str | None:
    return value.rstrip(".").lower() if type(value) is str and value else None


def _alert(fields: Fields, alert: dict[str, Any]) -> None:
    _rename(fields, alert, "alert")
    sid = alert.get("signature_id")
    if type(sid) is int:
        fields["rule.id"] = str(sid)
    action = alert.get("action")
    outcome = _OUTCOME.get(action) if isinstance(action, str) else None
    if outcome is not None:
        fields["event.outcome"] = outcome
    fields["event.kind"] = "alert"


def _http(fields: Fields, http: dict[str, Any]) -> None:
    _rename(fields, http, "http")
    host = _domain(http.get("hostname"))
    if host is not None:
        fields["url.domain"] = host
    url = http.get("url")
    if type(url) is str:
        fields["url.original"] = url
        path, _, query = url.partition("?")
        fields["url.path"] = path
        if query:
            fields["url.query"] = query
    protocol = http.get("protocol")
    if type(protocol) is str and (m := _HTTP_VERSION_RE.fullmatch(protocol)) is not None:
        fields["http.version"] = m[1]


def _tls(fields: Fields, tls: dict[str, Any]) -> None:
    _rename(fields, tls, "tls")
    sni = _domain(tls.get("sni"))
    if sni is not None:
        fields["tls.client.server_name"] = fields["tls.server.name"] = sni
    version = tls.get("version")
    if type(version) is str and (m := _TLS_VERSION_RE.fullmatch(version)) is not None:
        fields["tls.version"] = f"{m[2]}.{m[3]}" if m[3] else m[2]
        fields["tls.version_protocol"] = m[1].lower()
    fingerprint = tls.get("fingerprint")  # the certificate's SHA-1 as "aa:bb:..."
    if type(fingerprint) is str and len(fingerprint) == 59:
        fields["tls.server.hash.sha1"] = fingerprint.replace(":", "").upper()
    for key, name in (("ja3", "tls.client.ja3"), ("ja3s", "tls.server.ja3s")):
        ja = tls.get(key)
        digest = ja.get("hash") if type(ja) is dict else None
        if type(digest) is str:
            fields[name] = digest


def _dns(fields: Fields, dns: dict[str, Any]) -> None:
    """EVE DNS v1 (one rrname/rdata per record), v2 (``answers``/``grouped``) and v3 (``queries``)."""
    _flatten(fields, "suricata.dns", dns)
    queries = dns.get("queries") or dns.get("query")  # v3 and the v1 alert form carry lists
    first = queries[0] if type(queries) is list and queries and type(queries[0]) is dict else dns
    name = _domain(first.get("rrname"))
    if name is not None:
        fields["dns.question.name"] = name
    for key, field in (("rrtype", "dns.question.type"), ("rcode", "dns.response_code")):
        value = first.get(key) if key == "rrtype" else dns.get(key)
        if type(value) is str:
            fields[field] = value
    kind = dns.get("type")
    if type(kind) is str:
        fields["dns.type"] = {"request": "query", "response": "answer"}.get(kind, kind)
    if type(dns.get("id")) is int:
        fields["dns.id"] = str(dns["id"])
    answers: list[str] = []
    ips: list[Scalar] = []
    records = dns.get("answers")
    if type(records) is list:  # v2 and v3 detailed answers
        for answer in records[:1000]:
            if type(answer) is dict and type(answer.get("rdata")) is str:
                answers.append(answer["rdata"])
                if _is_ip_type(answer.get("rrtype")):
                    ips.append(answer["rdata"])
    grouped = dns.get("grouped")
    if type(grouped) is dict and not answers:  # v2 and v3 grouped answers: {"A": ["1.2.3.4"], ...}
        for rrtype, values in grouped.items():
            if type(values) is list:
                texts = [v for v in values[:1000] if type(v) is str]
                answers.extend(texts)
                if rrtype in _IP_TYPES:
                    ips.extend(texts)
    if type(dns.get("rdata")) is str:  # v1 answer record
        answers.append(dns["rdata"])
        if _is_ip_type(dns.get("rrtype")):
            ips.append(dns["rdata"])
    if answers:
        fields["dns.answers"] = [a.rstrip(".").lower() if " " not in a else a for a in answers]
    if ips:
        fields["dns.resolved_ip"] = ips


def _is_ip_type(rrtype: object) -> bool:
    """Whether a DNS record type carries an address; hostile input may put any JSON value there."""
    return type(rrtype) is str and rrtype in _IP_TYPES


def _fileinfo(fields: Fields, info: dict[str, Any]) -> None:
    _rename(fields, info, "fileinfo")
    name = fields.get("file.name")
    if type(name) is str and "/" in name:  # the name as the protocol sent it: an HTTP path, an SMB path...
        fields["file.path"] = name
        fields["file.name"] = name.rpartition("/")[2]


def _flow(fields: Fields, flow: dict[str, Any]) -> None:
    _rename(fields, flow, "flow")


def _anomaly(fields: Fields, anomaly: dict[str, Any]) -> None:
    _rename(fields, anomaly, "anomaly")


_OBJECTS = {"alert": _alert, "http": _http, "tls": _tls, "dns": _dns, "fileinfo": _fileinfo,
            "flow": _flow, "anomaly": _anomaly}  # fmt: skip
_SKIP = frozenset(("timestamp", "event_type", "proto", "flow_id"))
_object_fields = _native.object_fields
# Valid event types seen -> dataset name and event.category (copied per event: fields are mutable).
_DATASETS: dict[str, tuple[str, list[Scalar] | None]] = {}
_MAX_DATASETS = 256


def _fields(obj: dict[str, Any]) -> Fields:
    fields: Fields = {}
    if _object_fields is not None:  # the same loop in C (``_native``)
        _object_fields(fields, obj, _TOP, _OBJECTS, _SKIP, "suricata.")
    else:
        _top_fields(fields, obj)
    _fix(fields, obj)
    return fields


def _top_fields(fields: Fields, obj: dict[str, Any]) -> None:
    """Top-level keys: plain renames, the known sub-objects through their handler, the rest flat."""
    for key, value in obj.items():
        spec = _TOP.get(key)
        if spec is not None and type(value) is spec[1]:
            fields[spec[0]] = value
            continue
        handler = _OBJECTS.get(key)
        if handler is not None and type(value) is dict:
            handler(fields, value)
        elif key not in _SKIP:
            _flatten(fields, "suricata." + key, value)


def _fix(fields: Fields, obj: dict[str, Any]) -> None:
    """Ports out of range, transport, flow id and protocol spelling, after the keys are stored."""
    for name in ("source.port", "destination.port"):
        port = fields.get(name)
        if port is not None and not 0 <= port <= 65535:  # type: ignore[operator]
            fields[f"suricata.{name}"] = str(fields.pop(name))
    proto = obj.get("proto")
    if type(proto) is str:
        fields["network.transport"] = proto.lower()
    flow_id = obj.get("flow_id")
    if type(flow_id) is int:
        fields["suricata.flow_id"] = str(flow_id)  # up to 2^64: text, as Elastic does
    protocol = fields.get("network.protocol")
    if type(protocol) is str:
        fields["network.protocol"] = protocol.lower()


def parse(record: RawRecord) -> Event | None:
    """Parse one EVE JSON line; a blank line gives ``None``, anything malformed raises ``ParseError``."""
    if _suricata_event is not None:  # the whole of _parse in C for the common lines (``_native``)
        event = _suricata_event(record)
        if event is not None:
            return event
    return _parse(record)


def _parse(record: RawRecord) -> Event | None:
    data = record.data
    if data[:1] != b"{" and not data.strip():
        return None
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        obj = _json.load_object(data, "Suricata EVE")
    if type(obj) is not dict:
        raise ParseError("Suricata EVE line is not an object")
    event_type = obj.get("event_type")
    known = _DATASETS.get(event_type) if type(event_type) is str else None
    if known is None:
        if type(event_type) is not str or _SAFE_TYPE_RE.fullmatch(event_type) is None:
            raise ParseError("missing or invalid event_type")
        known = (f"suricata.{event_type}", _CATEGORY.get(event_type))
        if len(_DATASETS) < _MAX_DATASETS:  # hostile lines could name any number of types
            _DATASETS[event_type] = known
    dataset, category = known
    timestamp = obj.get("timestamp")
    if type(timestamp) is not str:
        raise ParseError("missing timestamp")
    fields = _fields(obj)
    if category is not None:
        fields["event.category"] = category.copy()
    if b"\\u0000" in data:
        fields = _json.clean_nul(fields)
    when = _json.iso_time(timestamp, record.timezone)
    return Event(when, record.tenant_id, dataset, fields, record.sensor_id)


# ``_native.suricata_event``: the sub-objects whose handler runs in C (the others call theirs above).
_C_KINDS = {"alert": 1, "http": 2, "fileinfo": 3, "flow": 4, "anomaly": 5, "tls": 6}
_suricata_event = _native.suricata_event
if _native.suricata_configure is not None:
    _native.suricata_configure(
        _DATASETS, _TOP, _OBJECTS, _SKIP, "suricata.", _C_KINDS,
        {code: (_PLAIN[kind], _PREFIX[kind]) for kind, code in _C_KINDS.items()}, _OUTCOME, _json.iso_time,
    )  # fmt: skip
