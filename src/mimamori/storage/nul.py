"""NUL characters on PostgreSQL: its text and JSONB values cannot hold U+0000, SQLite's can.

Log data is hostile and may carry NUL anywhere (a host name, a URL, an event field in the evidence). On
PostgreSQL such a value would fail the whole statement, so one crafted log line would fail its pipeline
batch on every redelivery, and a NUL in a request parameter would answer 500 instead of 404. Every string
sent to PostgreSQL therefore has U+0000 replaced by U+FFFD (the replacement character): a lookup with a NUL
finds what a write of the same value stored, and nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

NUL = "\x00"
REPLACEMENT = "\ufffd"


def without_nul(value: Any) -> Any:
    """``value`` with U+0000 replaced in every string, also inside dicts, lists and tuples (keys too)."""
    if isinstance(value, str):
        return value.replace(NUL, REPLACEMENT) if NUL in value else value
    if isinstance(value, dict):
        return {without_nul(key): without_nul(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(without_nul(item) for item in value)
    return value


def json_dumps(value: Any) -> str:
    """``json.dumps`` for JSONB, which refuses the ``\\u0000`` escape: NUL becomes U+FFFD first."""
    text = json.dumps(value)
    if "\\u0000" not in text:  # the usual case costs one scan of the text
        return text
    return json.dumps(without_nul(value))


def parameters_without_nul(parameters: Any) -> Any:
    """The parameters of one ``execute`` (a mapping) or ``executemany`` (a sequence of them), NUL-free.

    Returned unchanged (the same object) when no string parameter holds NUL.
    """
    if isinstance(parameters, Mapping):
        if not any(type(v) is str and NUL in v for v in parameters.values()):
            return parameters
        return {key: without_nul(v) if type(v) is str else v for key, v in parameters.items()}
    if isinstance(parameters, Sequence) and not isinstance(parameters, str | bytes):
        cleaned = [parameters_without_nul(item) for item in parameters]
        if all(new is old for new, old in zip(cleaned, parameters, strict=True)):
            return parameters
        return type(parameters)(cleaned) if isinstance(parameters, tuple) else cleaned
    return parameters
