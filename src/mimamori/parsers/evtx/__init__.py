"""Windows event log records (EVTX decoded to JSON by the ``evtx`` package) to ECS-named Events.

Input is one JSON document per record as ``mimamori.ingest.readers.evtx`` writes it
(``{"event_record_id", "timestamp", "Event": {...}}``); the bare ``{"Event": {...}}`` lines of
``evtx_dump -o jsonl`` are read too. The ``Event`` tree has the package's shape: XML attributes under
``#attributes``, element text under ``#text`` (``EventID`` is ``{"#text": 4624, "#attributes":
{"Qualifiers": 0}}`` on classic events). xmltodict-style ``@Name`` attributes and the package's
``separate_json_attributes`` form (``Provider_attributes``) are accepted as well.

Fields follow Winlogbeat: ``winlog.channel``, ``winlog.event_id`` (int), ``winlog.provider_name``,
``winlog.record_id``, ``winlog.computer_name``, ... and every data item as ``winlog.event_data.<Name>``
with its original name (the Sigma engine matches rule fields such as ``Image`` or ``TargetUserName``
against these). Data values are text, as Windows renders them in XML: the package types some values
(``ProcessId: 4``, ``Initiated: true``) and others not, and one field must have one type across events
and sources. Unnamed values of classic events become ``param1..N`` and, all together, the list
``winlog.event_data.Data`` (Sigma's ``Data|contains``). ``UserData`` is flattened one level below its
wrapper element (``winlog.user_data.SubjectUserName``; the wrapper's name in ``winlog.user_data.xml_name``).
ECS conveniences for the common channels are added by ``ecs.enrich``.

``SystemTime`` is UTC by definition (a FILETIME), so the sensor's time zone is not consulted.
With the C speedups (``_native``), ``_speedups.evtx_fields`` walks System and EventData in one call.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from mimamori.domain.models import Event, Fields, FieldValue, RawRecord, Scalar
from mimamori.errors import ParseError
from mimamori.parsers import _native
from mimamori.parsers.evtx import ecs, trees, values
from mimamori.parsers.evtx.trees import data_value as _value
from mimamori.parsers.evtx.trees import scalar_text as _scalar_text

__all__ = ["FORMAT", "parse"]

FORMAT = "evtx"

_ED = "winlog.event_data."
_MAX_INT = 2**63 - 1
_MAX_FIELDS = trees.MAX_FIELDS
_LEVELS = {0: "information", 1: "critical", 2: "error", 3: "warning", 4: "information", 5: "verbose"}
_SKIP = frozenset(("#attributes", "xmlns"))
# System elements: attributes (per element), text values and numbers, to their field names.
_SYSTEM_ATTRS = {
    "Provider": {"Name": "winlog.provider_name", "Guid": "winlog.provider_guid",
                 "EventSourceName": "winlog.event_source_name"},
    "Execution": {"ProcessID": "winlog.process.pid", "ThreadID": "winlog.process.thread.id"},
    "Security": {"UserID": "winlog.user.identifier"},
    "Correlation": {"ActivityID": "winlog.activity_id", "RelatedActivityID": "winlog.related_activity_id"},
}  # fmt: skip
_SYSTEM_TEXT = {
    "Channel": "winlog.channel", "Computer": "winlog.computer_name", "Keywords": "winlog.keywords",
}  # fmt: skip
# Task and Opcode are text (Winlogbeat writes their rendered names there); Level becomes log.level.
_SYSTEM_NUMBERS = {
    "EventRecordID": "winlog.record_id", "Version": "winlog.version", "Task": "winlog.task",
    "Opcode": "winlog.opcode", "Level": "log.level",
}  # fmt: skip
_INT_FIELDS = frozenset(
    ("winlog.record_id", "winlog.version", "winlog.process.pid", "winlog.process.thread.id")
)


def _attrs(node: Any) -> dict[str, Any]:
    """The XML attributes of an element node: ``#attributes`` or xmltodict's ``@name`` keys."""
    if type(node) is not dict:
        return {}
    attrs = node.get("#attributes")
    if type(attrs) is dict:
        return attrs
    return {key[1:]: value for key, value in node.items() if key[:1] == "@"}


def _canonical_system(system: dict[str, Any]) -> dict[str, Any]:
    """Other JSON shapes of ``System`` (xmltodict ``@attr``, ``X_attributes`` siblings) to ``#attributes``."""
    out: dict[str, Any] = {}
    for key, value in system.items():
        if key.endswith("_attributes"):
            continue
        attrs = _attrs(value)
        if not attrs and type(system.get(key + "_attributes")) is dict:
            attrs = system[key + "_attributes"]
        if attrs:
            text = value.get("#text") if type(value) is dict else value
            out[key] = {"#attributes": attrs, "#text": text} if text is not None else {"#attributes": attrs}
        else:
            out[key] = value
    return out


def _int(value: Any) -> int | None:
    if type(value) is int:
        return value if 0 <= value <= _MAX_INT else None
    if type(value) is str and 0 < len(value) <= 19 and value.isascii() and value.isdigit():
        return int(value)
    return None


def _data_items(node: Any, data: dict[str, FieldValue], unnamed: list[Any]) -> None:
    """``EventData/Data`` elements: named ones into ``data``, unnamed values appended to ``unnamed``."""
    items = node if type(node) is list else [node]
    for item in items:
        if type(item) is dict:
            name = _attrs(item).get("Name")
            text = item.get("#text")
            if type(name) is str and name:
                data[name] = _value(text)
            elif type(text) is list:
                unnamed.extend(text)
            else:
                unnamed.append(text)
        else:
            unnamed.append(item)


def _event_data(node: Any) -> dict[str, FieldValue]:
    """``EventData`` as ``{Name: text}``; unnamed values as ``param1..N`` plus the list ``Data``."""
    if node is None:
        return {}
    unnamed: list[Any] = []
    if type(node) is not dict:
        data: dict[str, FieldValue] = {}
        _data_items(node, data, unnamed)
    elif len(node) > _MAX_FIELDS:
        raise ParseError(f"EventData with {len(node)} items")
    elif "Data" in node or "#text" in node or "#attributes" in node or "@xmlns" in node:
        data = {}
        for key, value in node.items():
            if key in {"Data", "#text"}:
                if value is not None:
                    _data_items(value, data, unnamed)
            elif key not in _SKIP and key[:1] != "@":
                data[key] = value if type(value) is str else _value(value)
    else:  # the common case: named values only
        return {key: value if type(value) is str else _value(value) for key, value in node.items()}
    if unnamed:
        if len(unnamed) > _MAX_FIELDS:
            raise ParseError(f"EventData with {len(unnamed)} unnamed values")
        texts: list[Scalar] = [_scalar_text(value) for value in unnamed]
        for number, text in enumerate(texts, 1):
            data[f"param{number}"] = text
        data["Data"] = texts
    return data


def _timestamp(value: Any) -> datetime:
    if type(value) is not str or not 10 <= len(value) <= 64:
        raise ParseError("missing or odd SystemTime")
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        ts = None
    try:
        if ts is None:  # the package's top-level "... UTC" form, or garbage
            ts = datetime.fromisoformat(value.removesuffix(" UTC"))
        if ts.tzinfo is UTC:
            return ts
        if ts.tzinfo is None:  # SystemTime is UTC by definition
            return ts.replace(tzinfo=UTC)
        return ts.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise ParseError(f"bad SystemTime {value[:40]!r}") from exc


def _system_attrs(names: dict[str, str], attrs: dict[str, Any], fields: Fields) -> None:
    """The attributes of one System element (Provider, Execution...) to their fields."""
    for attr, value in attrs.items():
        name = names.get(attr)
        if name is None:
            continue
        if name in _INT_FIELDS:
            number = _int(value)
            if number is not None:
                fields[name] = number
        elif type(value) is str and value:
            fields[name] = value


def _system_number(name: str, value: Any, fields: Fields) -> None:
    number = _int(value)
    if number is None:
        return
    if name in _INT_FIELDS:
        fields[name] = number
    elif name == "log.level":
        fields[name] = _LEVELS.get(number, str(number))
    else:
        fields[name] = str(number)


def _system(system: dict[str, Any], doc: dict[str, Any], fields: Fields) -> datetime:
    """``Event/System`` into ``winlog.*``; returns the event time.

    One pass over the elements with table lookups: this runs for every record.
    """
    event_id: Any = None
    systime: Any = None
    for key, node in system.items():
        value = node
        if type(node) is dict:
            attrs = node.get("#attributes")
            if type(attrs) is dict:
                names = _SYSTEM_ATTRS.get(key)
                if names is not None:
                    _system_attrs(names, attrs, fields)
                elif key == "TimeCreated":
                    systime = attrs.get("SystemTime")
            value = node.get("#text")
        if key == "EventID":
            event_id = value
        elif type(value) is str:
            name = _SYSTEM_TEXT.get(key)
            if name is not None:
                if value:
                    fields[name] = value
            elif key in _SYSTEM_NUMBERS:
                _system_number(_SYSTEM_NUMBERS[key], value, fields)
        elif type(value) is int and key in _SYSTEM_NUMBERS:
            _system_number(_SYSTEM_NUMBERS[key], value, fields)
    event_id = _int(event_id)
    if event_id is None:
        raise ParseError("missing or non-integer EventID")
    fields["winlog.event_id"] = event_id
    fields["event.code"] = str(event_id)
    if "winlog.record_id" not in fields:
        record_id = _int(doc.get("event_record_id"))
        if record_id is not None:
            fields["winlog.record_id"] = record_id
    if "winlog.provider_name" in fields:
        fields["event.provider"] = fields["winlog.provider_name"]
    if "winlog.computer_name" in fields:
        fields["host.name"] = fields["winlog.computer_name"]
    return _timestamp(systime if systime is not None else doc.get("timestamp"))


def _clean(fields: Fields) -> Fields:
    """Replace NUL in names and texts (databases refuse it); only run when the JSON had a ``\\u0000``."""
    out: Fields = {}
    for name, value in fields.items():
        if type(value) is str:
            clean: FieldValue = value.replace("\x00", "\ufffd")
        elif type(value) is list:
            clean = [v.replace("\x00", "\ufffd") if type(v) is str else v for v in value]
        else:
            clean = value
        out[name.replace("\x00", "\ufffd")] = clean
    return out


def _system_plan() -> dict[str, Any]:
    """What ``_system`` does per System element, for the C walk: its attributes' fields (with whether
    each is an int), its text's field, its number's field and mode (0 int, 1 level word, 2 text), and
    its kind (1 TimeCreated, 2 EventID, else 0)."""
    plan: dict[str, Any] = {}
    for key in (*_SYSTEM_ATTRS, *_SYSTEM_TEXT, *_SYSTEM_NUMBERS, "TimeCreated", "EventID"):
        attrs, number = _SYSTEM_ATTRS.get(key), _SYSTEM_NUMBERS.get(key)
        mode = 0 if number in _INT_FIELDS else 1 if number == "log.level" else 2
        names = None if attrs is None else {attr: (name, name in _INT_FIELDS) for attr, name in attrs.items()}
        kind = {"TimeCreated": 1, "EventID": 2}.get(key, 0)
        plan[key] = (names, _SYSTEM_TEXT.get(key), None if number is None else (number, mode), kind)
    return plan


# With the C speedups (``_native``): ``_system``, ``_event_data`` and the prefixing in one call, or None
# for a record they leave to the Python code above.
_fields_c = _native.evtx_fields
if _native.evtx_configure is not None:
    _native.evtx_configure(_system_plan(), _LEVELS, _value, _ED, values.NONE)


# With the C speedups: the whole parse of the common records in one call (``_native.evtx_event``: the
# JSON load, the checks below, ``_fields_c``, this module's ``ecs.enrich`` and the Event), None for the
# others, which take ``_parse``.
_event_c = _native.evtx_event
if _native.evtx_event_configure is not None:
    _native.evtx_event_configure(ecs.enrich)


def parse(record: RawRecord) -> Event | None:
    """Parse one EVTX record document; anything that is not one raises ``ParseError``."""
    if _event_c is not None:
        event = _event_c(record)
        if event is not None:
            return event
    return _parse(record)


def _parse(record: RawRecord) -> Event | None:
    raw = record.data
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ParseError(f"invalid JSON: {exc}"[:200]) from exc
    if type(doc) is not dict:
        raise ParseError("not a JSON object")
    event = doc.get("Event")
    if type(event) is not dict:
        raise ParseError("no Event object")
    system = event.get("System")
    if type(system) is not dict:
        raise ParseError("no Event.System object")
    created = system.get("TimeCreated")
    if type(created) is not dict or "#attributes" not in created:
        system = _canonical_system(system)
    parts = _fields_c(system, event, doc) if _fields_c is not None else None
    if parts is not None:  # the common case, in C: the same fields, items and time (datetime or text)
        fields, items, systime = parts
        timestamp = systime if type(systime) is datetime else _timestamp(systime)
    else:
        fields = {}
        timestamp = _system(system, doc, fields)
        items = _event_data(event.get("EventData"))
        if items:
            fields.update({_ED + key: value for key, value in items.items()})
    if "UserData" in event:
        trees.user_data(event["UserData"], fields)
    if "ProcessingErrorData" in event:
        trees.flatten(event["ProcessingErrorData"], "winlog.processing_error", fields, 1)
    if "RenderingInfo" in event:
        trees.rendering(event["RenderingInfo"], fields)
    dataset = ecs.enrich(fields, items)
    if b"\\u0000" in raw:
        fields = _clean(fields)
    return Event(timestamp, record.tenant_id, dataset, fields, record.sensor_id)
