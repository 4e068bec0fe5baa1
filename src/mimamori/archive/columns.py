"""Turning parsed events into the archive's Arrow columns, cheaply.

The pipeline thread builds the base columns (``to_batch``: timestamps, ids, ``host.name``, the field JSON
and the raw record) once per batch with C-level loops and bulk hand-over to Arrow; the other ECS columns
are taken from the JSON in C++ when a part is written (``complete``), with a Python fallback for values
of an unexpected type.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from itertools import accumulate, repeat
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from mimamori.archive.layout import INT_COLUMNS, RAW_MAX_BYTES, SCHEMA, TEXT_COLUMNS
from mimamori.domain import Event, RawRecord
from mimamori.domain.models import Fields


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def _port(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= 0x7FFFFFFF else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 10:
        return int(value)
    return None


_dumps = orjson.dumps
_OPT = orjson.OPT_NON_STR_KEYS


def fields_json(fields: dict[str, Any]) -> bytes:
    """The flat field dict as JSON (UTF-8), as the archive stores it."""
    try:
        return _dumps(fields, option=_OPT)
    except TypeError:
        return _dumps(fields, option=_OPT, default=str)


def _packed(blobs: Sequence[bytes], kind: pa.DataType) -> pa.Array:
    """An Arrow string/binary array from byte strings in one copy (no per-value conversion)."""
    offsets = array("i", [0])
    offsets.extend(accumulate(map(len, blobs)))
    if offsets[-1] >= 2**31:
        return pa.array(blobs, pa.binary()).cast(kind)
    buffers = [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(b"".join(blobs))]
    return pa.Array.from_buffers(kind, len(blobs), buffers)


def _text_column(fieldsets: list[Fields], name: str) -> pa.Array:
    values = list(map(dict.get, fieldsets, repeat(name)))
    try:
        return pa.array(values, pa.string())  # the usual case: strings and None
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([_text(v) for v in values], pa.string())


def _raw_column(raws: list[RawRecord | None]) -> pa.Array:
    blobs = [r.data[:RAW_MAX_BYTES] if r is not None else b"" for r in raws]
    packed = _packed(blobs, pa.binary())
    try:
        column = packed.cast(pa.string())  # validates UTF-8: most logs are
    except pa.ArrowInvalid:
        column = pa.array([b.decode("utf-8", "replace") for b in blobs], pa.string())
    if any(r is None for r in raws):
        column = pa.array([None if r is None else v for r, v in zip(raws, column.to_pylist(), strict=True)])
    return column


# What the pipeline thread builds per batch (the buffers hold this); the other ECS columns are taken
# from the ``fields`` JSON in C++ when a part is written (``complete``). ``host.name`` is taken here:
# it may hold a name the pipeline learned after the JSON was made.
BASE_SCHEMA = pa.schema([SCHEMA.field(n) for n in (*SCHEMA.names[:5], "host.name", "fields", "raw")])
_DERIVED = [n for n in (*TEXT_COLUMNS, *INT_COLUMNS) if n != "host.name"]
_JSON_SCHEMA = pa.schema(
    [pa.field(n, pa.list_(pa.string())) if n == "event.category" else SCHEMA.field(n) for n in _DERIVED]
)
_JSON_OPTIONS = pajson.ParseOptions(explicit_schema=_JSON_SCHEMA, unexpected_field_behavior="ignore")


def to_batch(events: Sequence[Event], encoded: Sequence[bytes] | None = None) -> pa.RecordBatch:
    """The events' base columns (``BASE_SCHEMA``) as one Arrow record batch, in the given order;
    ``encoded``: their ``fields_json``, if already made. Runs on the pipeline thread once per batch,
    with C-level loops and bulk hand-over to Arrow: every microsecond per event counts here."""
    fieldsets = [e.fields for e in events]
    raws = [e.raw for e in events]
    if encoded is None:
        encoded = [fields_json(f) for f in fieldsets]
    columns: list[pa.Array] = [
        pa.array([e.timestamp for e in events], SCHEMA.field("timestamp").type),
        pa.array([e.tenant_id for e in events], pa.string()),
        pa.array([e.sensor_id for e in events], pa.string()),
        pa.array([r.format if r is not None else None for r in raws], pa.string()),
        pa.array([e.dataset for e in events], pa.string()),
        _text_column(fieldsets, "host.name"),
        _packed(encoded, pa.string()),  # orjson writes valid UTF-8
        _raw_column(raws),
    ]
    return pa.RecordBatch.from_arrays(columns, schema=BASE_SCHEMA)


def _ndjson(fields: pa.Array) -> pa.Buffer:
    """The JSON texts of a string array as one newline-delimited buffer (no per-row Python)."""
    lines = pc.binary_join_element_wise(fields, pa.scalar("", pa.string()), "\n")
    offsets = memoryview(lines.buffers()[1]).cast("i")
    return lines.buffers()[2][offsets[lines.offset] : offsets[lines.offset + len(lines)]]


def _derived_fast(fields: pa.Array) -> dict[str, pa.Array] | None:
    try:
        parsed = pajson.read_json(pa.BufferReader(_ndjson(fields)), parse_options=_JSON_OPTIONS)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None  # a value of another type (a port as text, a message as a number): the slow way
    if parsed.num_rows != len(fields):
        return None
    out = {n: parsed.column(n).combine_chunks() for n in _DERIVED}
    out["event.category"] = pc.binary_join(out["event.category"], ",")
    return out


def _derived_slow(fields: pa.Array) -> dict[str, pa.Array]:
    fieldsets: list[Fields] = []
    for text in fields.to_pylist():
        try:
            loaded = orjson.loads(text) if text else {}
        except orjson.JSONDecodeError:
            loaded = {}
        fieldsets.append(loaded if isinstance(loaded, dict) else {})
    out: dict[str, pa.Array] = {}
    for name in _DERIVED:
        values = [f.get(name) for f in fieldsets]
        if name in INT_COLUMNS:
            out[name] = pa.array([_port(v) for v in values], pa.int32())
        else:
            out[name] = pa.array([_text(v) for v in values], pa.string())
    return out


def complete(base: pa.Table) -> pa.Table:
    """The archive's full schema from the base columns: ECS columns taken from the ``fields`` JSON."""
    fields = base.column("fields").combine_chunks()
    derived = _derived_fast(fields) or _derived_slow(fields)
    columns = [base.column(n) if n in BASE_SCHEMA.names else derived[n] for n in SCHEMA.names]
    return pa.Table.from_arrays(columns, schema=SCHEMA)


def to_table(events: Sequence[Event]) -> pa.Table:
    """The events as an Arrow table of the archive's schema, in the given order.

    Parts are not sorted: a part is one row group, so its min/max statistics are the same either way;
    compaction writes a day in time order."""
    return complete(pa.Table.from_batches([to_batch(events)], schema=BASE_SCHEMA))
