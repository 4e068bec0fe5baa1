"""UserData-style trees and RenderingInfo of EVTX records, and how a value is rendered as text.

Split out of ``parsers.evtx``: ``data_value`` (a data item as Windows renders it in XML: text, or a list of
texts), ``flatten`` (``a.b.c`` names for nested elements, deeper ones kept as JSON text) and
``user_data`` / ``rendering`` (the ``winlog.user_data.*`` fields, the rendered message and task).
"""

from __future__ import annotations

from typing import Any

import orjson

from mimamori.domain.models import Fields, FieldValue
from mimamori.errors import ParseError

__all__ = ["MAX_FIELDS", "data_value", "flatten", "json_text", "rendering", "scalar_text", "user_data"]

UD = "winlog.user_data."
MAX_DEPTH = 6  # levels of UserData flattened into names; deeper objects are kept as JSON text
MAX_FIELDS = 4096  # a record with more data items than this is refused as hostile


def _text(node: Any) -> Any:
    """The text of an element: the value itself, or its ``#text`` when it also has attributes."""
    return node.get("#text") if type(node) is dict else node


def json_text(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:  # nested deeper than orjson writes
        return "[nested too deep]"


def scalar_text(value: Any) -> str:
    """One value as Windows renders it in XML text."""
    t = type(value)
    if t is str:
        return value  # type: ignore[no-any-return]
    if t is bool:
        return "true" if value else "false"
    if t is int or t is float:
        return str(value)
    if value is None:
        return ""
    if t is dict and "#text" in value:
        return scalar_text(value["#text"])
    return json_text(value)


def data_value(value: Any) -> FieldValue:
    """A data item's value: text, or a list of texts for array-typed values."""
    if type(value) is list:
        return [scalar_text(item) for item in value]
    return scalar_text(value)


def flatten(node: Any, prefix: str, fields: Fields, depth: int) -> None:
    """UserData-style trees: ``a.b.c`` names; ``#text`` at the element's own name; xmlns dropped."""
    if type(node) is not dict:
        fields[prefix] = data_value(node)
        return
    if depth >= MAX_DEPTH:
        fields[prefix] = json_text(node)
        return
    if len(fields) > MAX_FIELDS:
        raise ParseError("UserData with too many items")
    for key, value in node.items():
        if key == "#attributes":
            if type(value) is dict:
                for name, attr in value.items():
                    if not name.startswith("xmlns"):
                        fields[f"{prefix}.{name}"] = scalar_text(attr)
        elif key == "#text":
            fields[prefix] = data_value(value)
        elif not key.startswith("@xmlns"):
            flatten(value, f"{prefix}.{key.lstrip('@')}", fields, depth + 1)


def user_data(node: Any, fields: Fields) -> None:
    if type(node) is not dict:
        if node is not None:
            fields[UD + "value"] = scalar_text(node)
        return
    for wrapper, inner in node.items():
        if wrapper == "#attributes":
            continue
        fields[UD + "xml_name"] = wrapper
        if type(inner) is dict:
            for key, value in inner.items():
                if key != "#attributes" and not key.startswith("@xmlns"):
                    flatten(value, UD + key.lstrip("@"), fields, 1)
        elif inner is not None:
            fields[UD + wrapper] = data_value(inner)


def rendering(node: Any, fields: Fields) -> None:
    """``RenderingInfo`` (forwarded events): the rendered message and task name."""
    if type(node) is not dict:
        return
    message = _text(node.get("Message"))
    if type(message) is str and message:
        fields["message"] = message
    task = _text(node.get("Task"))
    if type(task) is str and task:
        fields["winlog.task"] = task
