"""Zeek JSON logs (one object per line) to ECS-named Events.

Lines come either from JSON streaming (with ``_path``) or from per-log files (without it: the log type
is inferred from the fields present). ``conn`` and ``dns`` get a full ECS mapping; other logs map the
connection 4-tuple and keep everything else as ``zeek.<path>.<key>``. ``#`` lines (the header of Zeek's
TSV format) and blank lines carry no event; TSV data lines are not supported yet and are refused.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

import orjson

from mimamori.domain.models import Event, Fields, FieldValue, RawRecord, Scalar
from mimamori.errors import ParseError
from mimamori.parsers import syslog

FORMAT = "zeek"

_SAFE_PATH_RE = re.compile(r"[a-z0-9_]{1,32}")
_MAC_RE = re.compile(r"[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}")
_HOST_PORT_RE = re.compile(r"(?<=[^:]):\d{1,5}$")  # "example.com:8080" -> "example.com"
_MAX_INT = 2**63 - 1
_MAX_DEPTH = 4
_PLAIN = frozenset((str, bool, float))
_SKIP = frozenset(("_path", "ts"))

# Fields every Zeek log shares (the conn_id record and the connection uid).
_COMMON_STR = {"id.orig_h": "source.ip", "id.resp_h": "destination.ip", "uid": "zeek.session_id",
               "proto": "network.transport", "community_id": "network.community_id"}  # fmt: skip
_COMMON_PORT = {"id.orig_p": "source.port", "id.resp_p": "destination.port"}

_CONN_STR = {"service": "network.protocol", "conn_state": "zeek.conn.state",
             "history": "zeek.conn.history"}  # fmt: skip
_CONN_INT = {"orig_bytes": "source.bytes", "resp_bytes": "destination.bytes",
             "orig_pkts": "source.packets", "resp_pkts": "destination.packets"}  # fmt: skip
_CONN_MAC = {"orig_l2_addr": "source.mac", "resp_l2_addr": "destination.mac"}

_DNS_STR = {"qtype_name": "dns.question.type", "qclass_name": "dns.question.class",
            "rcode_name": "dns.response_code"}  # fmt: skip

_HTTP_STR = {"method": "http.request.method", "uri": "url.original", "user_agent": "user_agent.original",
             "referrer": "http.request.referrer", "username": "user.name"}  # fmt: skip
_HTTP_INT = {"status_code": "http.response.status_code",
             "request_body_len": "http.request.body.bytes",
             "response_body_len": "http.response.body.bytes"}  # fmt: skip
_SSL_STR = {"version": "tls.version_protocol", "cipher": "tls.cipher", "ja3": "tls.client.ja3",
            "ja3s": "tls.server.ja3s"}  # fmt: skip

# Inference for lines without _path: the first rule whose key is present wins.
_INFER = (
    ("conn_state", "conn"), ("qtype_name", "dns"), ("query", "dns"), ("rcode_name", "dns"),
    ("method", "http"), ("status_code", "http"), ("server_name", "ssl"), ("cipher", "ssl"),
    ("certificate.subject", "x509"), ("note", "notice"), ("auth_success", "ssh"),
    ("software_type", "software"), ("port_num", "known_services"), ("mime_type", "files"),
    ("share_type", "smb_mapping"), ("request_type", "kerberos"), ("assigned_addr", "dhcp"),
    ("server_nb_computer_name", "ntlm"), ("duration", "conn"),
)  # fmt: skip


def _scalar(value: Any) -> Scalar | None:
    """Keep JSON scalars that fit the Event model; big or non-finite numbers become text."""
    if isinstance(value, str | bool):
        return value
    if isinstance(value, int):
        return value if -_MAX_INT <= value <= _MAX_INT else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return None


def _put(fields: Fields, name: str, value: Any, depth: int = 0) -> None:
    """Store ``value`` flat under ``name``: lists of scalars stay lists, objects are flattened."""
    scalar = _scalar(value)
    if scalar is not None:
        fields[name] = scalar
    elif isinstance(value, list):
        items = [_scalar(v) for v in value]
        if all(v is not None for v in items):
            fields[name] = [v for v in items if v is not None]
        else:
            fields[name] = orjson.dumps(value).decode()
    elif isinstance(value, dict) and depth < _MAX_DEPTH:
        for key, inner in value.items():
            _put(fields, f"{name}.{key}", inner, depth + 1)
    elif value is not None:  # too deep an object: keep it as JSON text
        fields[name] = orjson.dumps(value).decode()


def _timestamp(value: Any) -> datetime:
    """``ts`` is epoch seconds (float) in Zeek's default JSON and ISO-8601 with ``json_iso8601``."""
    if isinstance(value, str):
        return syslog.parse_rfc3339(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise ParseError(f"ts out of range: {value!r}"[:80]) from exc
    raise ParseError("missing or non-time ts")


def _path(obj: dict[str, Any]) -> str:
    path = obj.get("_path")
    if path is None:
        for key, inferred in _INFER:
            if key in obj:
                return inferred
        if "id.orig_h" in obj and "proto" in obj:
            return "conn"
        raise ParseError("cannot infer the Zeek log type (no _path)")
    if not isinstance(path, str) or _SAFE_PATH_RE.fullmatch(path) is None:
        raise ParseError("invalid _path")
    return path


def _domain(value: Any) -> str | None:
    return value.rstrip(".").lower() if isinstance(value, str) and value else None


def _port(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 65535:
        return value
    return None


def _count(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_INT:
        return value
    return None


def _map(
    obj: dict[str, Any],
    path: str,
    strs: dict[str, str],
    ints: dict[str, str],
) -> Fields:
    """Rename known keys (type-checked; a wrong type keeps the value under ``zeek.<path>.<key>``)."""
    fields: Fields = {}
    prefix = f"zeek.{path}."
    for key, value in obj.items():
        if key in _COMMON_STR and isinstance(value, str):
            fields[_COMMON_STR[key]] = value
        elif key in _COMMON_PORT and _port(value) is not None:
            fields[_COMMON_PORT[key]] = value
        elif key in strs and isinstance(value, str):
            fields[strs[key]] = value
        elif key in ints and _count(value) is not None:
            fields[ints[key]] = value
        elif type(value) in _PLAIN:  # orjson floats are always finite
            fields[prefix + key] = value
        elif key not in _SKIP:
            _put(fields, prefix + key, value)
    fields.pop(prefix + "ts", None)
    fields.pop(prefix + "_path", None)
    return fields


def _conn(obj: dict[str, Any]) -> Fields:
    fields = _map(obj, "conn", _CONN_STR, _CONN_INT)
    duration = obj.get("duration")
    if isinstance(duration, int | float) and not isinstance(duration, bool) and 0 <= duration < 9e9:
        fields["event.duration"] = round(duration * 1e9)
        fields.pop("zeek.conn.duration", None)
    for key, name in _CONN_MAC.items():
        mac = obj.get(key)
        if isinstance(mac, str) and _MAC_RE.fullmatch(mac):
            fields[name] = mac.upper().replace(":", "-")
            fields.pop(f"zeek.conn.{key}", None)
    return fields


def _dns(obj: dict[str, Any]) -> Fields:
    fields = _map(obj, "dns", _DNS_STR, {})
    query = _domain(obj.get("query"))
    if query is not None:
        fields["dns.question.name"] = query
        fields.pop("zeek.dns.query", None)
    answers = obj.get("answers")
    if isinstance(answers, list) and all(isinstance(a, str) for a in answers):
        # Names and addresses are normalised; TXT answers ("TXT 16 v=spf1 ...") are kept as sent.
        fields["dns.answers"] = [a if " " in a else a.rstrip(".").lower() for a in answers]
        fields.pop("zeek.dns.answers", None)
    trans_id = _count(obj.get("trans_id"))
    if trans_id is not None:
        fields["dns.id"] = str(trans_id)
    return fields


def _other(obj: dict[str, Any], path: str) -> Fields:
    if path == "http":
        fields = _map(obj, path, _HTTP_STR, _HTTP_INT)
        host = obj.get("host")
        if isinstance(host, str) and host:
            fields["url.domain"] = _HOST_PORT_RE.sub("", host).rstrip(".").lower()
        return fields
    if path == "ssl":
        fields = _map(obj, path, _SSL_STR, {})
        server_name = _domain(obj.get("server_name"))
        if server_name is not None:
            fields["tls.client.server_name"] = server_name
        return fields
    return _map(obj, path, {}, {})


def _load(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        pass
    # orjson refuses invalid UTF-8: retry once on the replaced text before giving up.
    try:
        return orjson.loads(data.decode("utf-8", "replace"))
    except orjson.JSONDecodeError as exc:
        raise ParseError(f"invalid JSON: {str(exc)[:120]}") from exc


def _no_nul(value: FieldValue) -> FieldValue:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [v.replace("\x00", "\ufffd") if isinstance(v, str) else v for v in value]
    return value


def _clean_nul(fields: Fields) -> Fields:
    """Replace NUL characters (from ``\\u0000`` escapes) in names and text; databases refuse them."""
    return {key.replace("\x00", "\ufffd"): _no_nul(value) for key, value in fields.items()}


def parse(record: RawRecord) -> Event | None:
    """Parse one Zeek JSON line; ``#`` and blank lines give ``None``, anything malformed raises."""
    data = record.data.strip()
    if not data or data.startswith(b"#"):
        return None
    if not data.startswith(b"{"):
        raise ParseError("not a Zeek JSON object (TSV data lines are not supported)")
    obj = _load(data)
    if not isinstance(obj, dict):
        raise ParseError("Zeek JSON line is not an object")
    path = _path(obj)
    timestamp = _timestamp(obj.get("ts"))
    if path == "conn":
        fields = _conn(obj)
        fields["event.category"] = ["network"]
    elif path == "dns":
        fields = _dns(obj)
        fields["event.category"] = ["network"]
    else:
        fields = _other(obj, path)
    if b"\\u0000" in data:
        fields = _clean_nul(fields)
    return Event(
        timestamp=timestamp,
        tenant_id=record.tenant_id,
        sensor_id=record.sensor_id,
        dataset=f"zeek.{path}",
        fields=fields,
    )
