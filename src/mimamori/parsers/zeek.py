"""Zeek JSON logs (one object per line) to ECS-named Events.

Lines come either from JSON streaming (with ``_path``) or from per-log files (without it: the log type
is inferred from the fields present). conn, dns, http, ssl, files, notice, dhcp, software, smb_files,
smb_mapping, x509, known_hosts, known_services, weird, ntlm, kerberos and ssh get ECS names for their
useful fields (``SPECS``); every other key, and every other log, is kept as ``zeek.<path>.<key>``.
``#`` lines (the header of Zeek's TSV format) and blank lines carry no event. A TSV *data* line is
refused: without its ``#fields`` header its columns cannot be named; the file importer converts TSV
files to JSON with that header.

Hot path: one ``orjson.loads``; the few keys that need a conversion (``ts``, ``query``, MACs...) are
handled one by one; if every other value is a scalar of the type its ECS field needs, all of them are
renamed at once through a per-log ``key -> name`` table (unknown keys learned, bounded). A sensor
repeats a few key layouts (its keys in order), so that decision is made once per layout (``_Plan``): a
line whose value types are exactly those of its layout's first line takes the plan (handlers by
position, one ``dict.update`` for the rest). Otherwise, and on lines with an integer literal of 19+
digits (beyond 64 bits), the keys are checked (``Renamer``) or taken one by one. All paths give the
same fields. With the C speedups built (``_native``), ``_speedups.zeek_fields`` does that whole step
(check, bulk rename or key by key, the same handlers) in one call and the plans are not used; and
``_speedups.zeek_event`` does all of ``parse`` (decode, table, time, fields, Event) for the common
lines from ``_TABLES`` (``_Table.native``), leaving every other line (and the first line of each log
type) to ``_parse``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from itertools import compress
from typing import Any

import orjson

from mimamori.domain.models import Event, Fields, RawRecord
from mimamori.errors import ParseError
from mimamori.parsers import _json, _native
from mimamori.parsers._fast import BoundedCache
from mimamori.parsers._zeek_fields import CATEGORY, COMMON, SPECS, X509, Handler, count, flag, port, text
from mimamori.parsers._zeek_fields import NATIVE as NATIVE_HANDLERS

FORMAT = "zeek"

_SAFE_PATH_RE = re.compile(r"[a-z0-9_]{1,32}")
_MAX_TABLES = 256  # log types cached (Zeek has ~60; packages add a few)
_MAX_PLANS = 512  # key layouts remembered per log type
_PLAN_KEYS_CHARS = 4096  # a layout whose keys are longer than this is not remembered (hostile lines)
_PLAIN = _json.SCALARS
_SKIP = frozenset(("ts", "_path"))
_MISSING = object()
_PORTS = ("source.port", "destination.port")
_flatten = _native.flatten or _json.flatten

_DIRECTION = {(True, True): "internal", (True, False): "outbound", (False, True): "inbound",
              (False, False): "external"}  # fmt: skip
# Inference for lines without _path: the first rule whose key is present wins.
_INFER = (
    ("conn_state", "conn"), ("qtype_name", "dns"), ("query", "dns"), ("rcode_name", "dns"),
    ("method", "http"), ("status_code", "http"), ("server_name", "ssl"), ("cipher", "ssl"),
    ("certificate.subject", "x509"), ("note", "notice"), ("auth_success", "ssh"),
    ("software_type", "software"), ("port_num", "known_services"), ("mime_type", "files"),
    ("share_type", "smb_mapping"), ("request_type", "kerberos"), ("assigned_addr", "dhcp"),
    ("server_nb_computer_name", "ntlm"), ("duration", "conn"),
)  # fmt: skip


class _Plan:
    """One key layout of one log type on the bulk path, made from the first line with that layout.

    ``types``: that line's value types, which a line must repeat exactly to use the plan (then its
    plain values have the types the bulk path needs); ``handled``: (position, key) of the keys with a
    handler, in ``_Table.popped`` order; ``mask`` and ``names``: which values are renamed in bulk and
    their field names, in line order.
    """

    __slots__ = ("handled", "mask", "names", "types")

    def __init__(
        self,
        types: tuple[type, ...],
        handled: tuple[tuple[int, str], ...] = (),
        mask: tuple[bool, ...] = (),
        names: tuple[str, ...] = (),
    ) -> None:
        self.types, self.handled, self.mask, self.names = types, handled, mask, names


_NO_PLAN = _Plan((_Plan,))  # a layout not on the bulk path: no JSON value has this type


def _make_plan(table: _Table, keys: tuple[str, ...], types: tuple[type, ...]) -> _Plan:
    """The plan of a layout, or ``_NO_PLAN`` when ``Renamer.rename`` would refuse this line."""
    popped = set(table.popped)
    plain = {key: kind for key, kind in zip(keys, types, strict=True) if key not in popped}
    if not set(plain.values()) <= _PLAIN:
        return _NO_PLAN
    required = zip(table.renamer.keys, table.renamer.types, strict=True)
    if not all(plain.get(key, kind) is kind for key, kind in required):
        return _NO_PLAN
    return _Plan(
        types,
        tuple((keys.index(key), key) for key in table.popped if key in keys and key not in _SKIP),
        tuple(key not in popped for key in keys),
        tuple(table.renamer.names[key] for key in keys if key not in popped),
    )


class _Table:
    """The compiled mapping of one log type, built on first use.

    ``renamer`` renames in bulk the keys whose value is stored as it is (and learns unknown keys);
    ``popped`` keys always take their handler; ``plans``: per key layout, see ``_Plan``.
    """

    __slots__ = (
        "category", "dataset", "known", "native", "path", "plans", "popped", "prefix", "renamer", "slow",
    )  # fmt: skip

    def __init__(self, path: str) -> None:
        self.path = path
        self.prefix = f"zeek.{path}."
        self.dataset = f"zeek.{path}"
        self.category = CATEGORY.get(path)
        specs = {**COMMON, **SPECS.get(path, {})}
        plain: dict[Handler, type] = {text: str, count: int, flag: bool, port: int}
        self.slow = specs
        self.renamer = _json.Renamer(
            self.prefix, {k: (n, plain[h]) for k, (n, h) in specs.items() if h in plain}
        )
        converted = (k for k, (_, h) in specs.items() if h not in plain)
        self.popped = tuple(dict.fromkeys(("ts", "_path", *converted)))
        # For the C path: a popped key -> None, a bulk-renamed known key -> the type its value must have.
        self.known: dict[str, type[Any] | None] = {
            **dict(zip(self.renamer.keys, self.renamer.types, strict=True)),
            **dict.fromkeys(self.popped),
        }
        self.plans: BoundedCache[tuple[str, ...], _Plan] = BoundedCache(_MAX_PLANS)
        # For ``_native.zeek_event`` (finish: 0 none, 1 conn's direction in C, 2 ``_finish``).
        finish = 1 if path == "conn" else 2 if path in _FINISHED else 0
        self.native = (
            self.popped, _SKIP, self.known, self.renamer.names, self.slow, self.prefix, self.dataset,
            self.category, finish,
        )  # fmt: skip

    def handle(self, fields: Fields, key: str, value: Any) -> None:
        """The slow path for one key: conversions, wrong types, lists, objects, huge integers."""
        spec = self.slow.get(key)
        if spec is not None and spec[1](fields, spec[0], value):
            return
        _flatten(fields, self.prefix + key, value)


_TABLES: dict[str, _Table] = {}


def _table(path: str) -> _Table:
    table = _TABLES.get(path)
    if table is None:
        if _SAFE_PATH_RE.fullmatch(path) is None:
            raise ParseError("invalid _path")
        table = _Table(path)
        if len(_TABLES) < _MAX_TABLES:  # hostile lines could name any number of log types
            _TABLES[path] = table
    return table


def _path(obj: dict[str, Any]) -> str:
    path = obj.get("_path")
    if path is None:
        for key, inferred in _INFER:
            if key in obj:
                return inferred
        if "id.orig_h" in obj and "proto" in obj:
            return "conn"
        raise ParseError("cannot infer the Zeek log type (no _path)")
    if type(path) is not str:
        raise ParseError("invalid _path")
    return path


def _timestamp(value: Any, tz: str) -> datetime:
    """``ts`` is epoch seconds in Zeek's default JSON and ISO-8601 (``Z``) with ``json_iso8601``."""
    if type(value) is float or type(value) is int:
        return _json.epoch_time(value)
    if type(value) is str:
        return _json.iso_time(value, tz)
    raise ParseError("missing or non-time ts")


def _planned(obj: dict[str, Any], table: _Table) -> Fields | None:
    """The fields by the plan of the line's layout, or None when the line does not fit one."""
    keys = tuple(obj)
    values = tuple(obj.values())
    types = tuple(map(type, values))
    plan = table.plans.get(keys)
    if plan is None:
        plan = _make_plan(table, keys, types)
        if sum(map(len, keys)) <= _PLAN_KEYS_CHARS:  # hostile giant keys are not kept
            table.plans.put(keys, plan)
    if types != plan.types:
        return None
    fields: Fields = {}
    for index, key in plan.handled:
        table.handle(fields, key, values[index])
    fields.update(zip(plan.names, compress(values, plan.mask)))  # noqa: B905 - as long by construction
    return fields


def _fields(obj: dict[str, Any], table: _Table, checked: bool) -> Fields:
    """Rename in bulk when every value is a plain scalar of the right type; else key by key."""
    if _zeek_fields is not None:  # the same steps in C (``_native``)
        return _zeek_fields(
            obj, table.popped, _SKIP, table.known, table.renamer.names, table.slow, table.prefix, checked
        )
    fields = None if checked else _planned(obj, table)
    if fields is not None:
        _ports(fields)
        return fields
    fields = {}
    for key in table.popped:
        value = obj.pop(key, _MISSING)
        if value is not _MISSING and key not in _SKIP:
            table.handle(fields, key, value)
    if not table.renamer.rename(fields, obj, checked):
        names = table.renamer.names
        for key, value in obj.items():
            if type(value) in _PLAIN and not checked and key not in table.slow:
                fields[names[key]] = value
            else:
                table.handle(fields, key, value)
    _ports(fields)
    return fields


def _ports(fields: Fields) -> None:
    for name in _PORTS:  # stored as any integer in bulk: keep only real port numbers
        port = fields.get(name)
        if port is not None and not (type(port) is int and 0 <= port <= 65535):
            del fields[name]


def _finish(fields: Fields, obj: dict[str, Any], path: str) -> None:
    """Fields derived from several keys."""
    if path == "conn":
        orig, resp = obj.get("local_orig"), obj.get("local_resp")
        # Only booleans are keys of the table; a hostile list or dict would be unhashable.
        if type(orig) is bool and type(resp) is bool:
            fields["network.direction"] = _DIRECTION[(orig, resp)]
    elif path == "notice":
        fields["event.kind"] = "alert"
    elif path == "software":
        parts = [obj.get(f"version.{k}") for k in ("major", "minor", "minor2", "minor3")]
        numbers = [str(p) for p in parts if type(p) is int]
        if numbers:
            addl = obj.get("version.addl")
            fields["package.version"] = ".".join(numbers) + (f"-{addl}" if type(addl) is str else "")
        if obj.get("software_type") == "HTTP::BROWSER" and "zeek.software.unparsed_version" in fields:
            fields["user_agent.original"] = fields["zeek.software.unparsed_version"]
    elif path == "x509" and obj.get("client_cert") is True and obj.get("host_cert") is not True:
        for name in [n for n in fields if n.startswith(X509)]:
            fields["tls.client.x509." + name[len(X509) :]] = fields.pop(name)
    elif path == "smb_files" and "file.name" in fields and "file.directory" in fields:
        fields["file.path"] = f"{fields['file.directory']}\\{fields['file.name']}"


def parse(record: RawRecord) -> Event | None:
    """Parse one Zeek JSON line; ``#`` and blank lines give ``None``, anything malformed raises."""
    if _zeek_event is not None:  # the whole of _parse in C for the common lines (``_native``)
        event = _zeek_event(record)
        if event is not None:
            return event
    return _parse(record)


def _parse(record: RawRecord) -> Event | None:
    data = record.data
    first = data[:1]
    if first != b"{":
        data = data.strip()
        if not data or data.startswith(b"#"):
            return None
        if not data.startswith(b"{"):
            if b"\t" in data:
                raise ParseError("Zeek TSV line without its header; import the file with `mimamori ingest`")
            raise ParseError("not a Zeek JSON object")
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        obj = _json.load_object(data, "Zeek")  # invalid UTF-8 is replaced there, or the error raised
    if type(obj) is not dict:
        raise ParseError("Zeek JSON line is not an object")
    path = obj.get("_path")
    table = _TABLES.get(path) if type(path) is str else None
    if table is None:
        table = _table(_path(obj))
    ts = obj.get("ts")
    if type(ts) is float:  # Zeek's default; _timestamp raises the error of a value out of range
        try:
            timestamp = datetime.fromtimestamp(ts, UTC)
        except (OverflowError, OSError, ValueError):
            timestamp = _timestamp(ts, record.timezone)
    else:
        timestamp = _timestamp(ts, record.timezone)
    fields = _fields(obj, table, _has_big_int(data))
    if table.category is not None:
        fields["event.category"] = [table.category]
    if table.path in _FINISHED:
        _finish(fields, obj, table.path)
    if b"\\u0000" in data:
        fields = _json.clean_nul(fields)
    return Event(timestamp, record.tenant_id, table.dataset, fields, record.sensor_id)


_FINISHED = frozenset(("conn", "notice", "software", "x509", "smb_files"))
_zeek_fields = _native.zeek_fields
_has_big_int = _native.has_big_int or _json.has_big_int
_zeek_event = _native.zeek_event
if _native.zeek_configure is not None:
    _native.zeek_configure(_TABLES, _timestamp, _finish, NATIVE_HANDLERS)
