"""ECS JSON documents from Winlogbeat, Elastic Agent and Filebeat to Events with flat, dotted ECS names.

A document (one per line, or an Elasticsearch hit whose ``_source`` is one) is flattened:
``{"event": {"code": "4624"}}`` becomes ``event.code``; names that are already dotted stay as they are;
lists of scalars stay lists, lists of objects become JSON text. ``@timestamp`` is the event time.

Windows events (a ``winlog`` object, or Winlogbeat 6's top-level ``event_id``/``log_name``) are brought
into the shape of the EVTX parser so that one Sigma rule works on both: ``winlog.event_id`` an int,
``winlog.channel``, ``winlog.event_data.<Name>`` (and ``winlog.user_data.<Name>``) as text like
Windows renders it, ``host.name`` from ``winlog.computer_name``, then the same ECS conveniences and
dataset (``windows.security``, ``windows.sysmon``...) as ``evtx`` through ``evtx.ecs.enrich``. Other
documents take their dataset from ``event.dataset`` or ``data_stream.dataset`` (else ``ecs``).
"""

from __future__ import annotations

import re
from typing import Any

from mimamori.domain.models import Event, Fields, RawRecord
from mimamori.errors import ParseError
from mimamori.parsers import _json
from mimamori.parsers.evtx import ecs as windows

FORMAT = "ecs"

_SAFE_DATASET_RE = re.compile(r"[a-z0-9_][a-z0-9_.\-]{0,63}")
_EVENT_DATA = "winlog.event_data."
_TEXT_PREFIXES = ("winlog.event_data.", "winlog.user_data.")
# Winlogbeat 6 wrote the Windows fields at the top level.
_LEGACY = {"event_id": "winlog.event_id", "log_name": "winlog.channel",
           "computer_name": "winlog.computer_name", "source_name": "winlog.provider_name",
           "record_number": "winlog.record_id",
           "event_data": "winlog.event_data", "user_data": "winlog.user_data"}  # fmt: skip


def _text(value: Any) -> Any:
    """A Windows data value as text (``true``, ``4``), the way the EVTX parser writes it."""
    if type(value) is bool:
        return "true" if value else "false"
    if type(value) is int or type(value) is float:
        return str(value)
    if type(value) is list:
        return [_text(v) for v in value]
    return value


def _number(value: Any) -> int | None:
    if type(value) is int and 0 <= value <= _json.MAX_INT:
        return value
    if type(value) is str and 0 < len(value) <= 18 and value.isascii() and value.isdigit():
        return int(value)
    return None


def _windows(fields: Fields) -> str | None:
    """Normalise the ``winlog.*`` fields like the EVTX parser; return the dataset, or None if not Windows."""
    event_id = _number(fields.get("winlog.event_id"))
    if event_id is None:
        return None
    fields["winlog.event_id"] = event_id
    fields["event.code"] = str(event_id)
    record_id = _number(fields.get("winlog.record_id"))
    if record_id is not None:
        fields["winlog.record_id"] = record_id
    for name in [n for n in fields if n.startswith(_TEXT_PREFIXES)]:
        fields[name] = _text(fields[name])
    computer = fields.get("winlog.computer_name")
    if type(computer) is str and computer:
        fields["host.name"] = computer
    provider = fields.get("winlog.provider_name")
    if type(provider) is str and provider:
        fields["event.provider"] = provider
    data = {n[len(_EVENT_DATA) :]: v for n, v in fields.items() if n.startswith(_EVENT_DATA)}
    return windows.enrich(fields, data)


def _dataset(fields: Fields) -> str:
    for name in ("event.dataset", "data_stream.dataset"):
        value = fields.get(name)
        if type(value) is str and _SAFE_DATASET_RE.fullmatch(value):
            return value
    return FORMAT


def parse(record: RawRecord) -> Event | None:
    """Parse one ECS JSON document; a blank line gives ``None``, anything malformed raises ``ParseError``."""
    if not record.data.strip():
        return None
    doc = _json.load_object(record.data, "ECS")
    source = doc.get("_source")
    if type(source) is dict:  # an Elasticsearch hit
        doc = source
    if "winlog" not in doc and "event_id" in doc and "log_name" in doc:
        doc = {_LEGACY.get(key, key): value for key, value in doc.items()}
    timestamp = doc.pop("@timestamp", None)
    if type(timestamp) is not str:
        raise ParseError("missing or non-text @timestamp")
    fields = _json.flat(doc)
    if any(len(name) > _json.MAX_KEY for name in fields):
        raise ParseError("a field name is longer than 256 characters")
    if b"\\u0000" in record.data:
        fields = _json.clean_nul(fields)
    dataset = _windows(fields) or _dataset(fields)
    return Event(
        timestamp=_json.iso_time(timestamp, record.timezone),
        tenant_id=record.tenant_id,
        sensor_id=record.sensor_id,
        dataset=dataset,
        fields=fields,
    )
