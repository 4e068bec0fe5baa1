"""MISP feed format (https://www.misp-project.org/feeds/): ``manifest.json`` plus one JSON file per event.

The manifest maps event UUIDs to ``{"info", "timestamp", ...}``; each ``<uuid>.json`` is
``{"Event": {"info", "threat_level_id", "Tag", "Attribute": [...], "Object": [{"Attribute": [...]}]}}``.
Only attributes flagged ``to_ids`` are indicators (MISP's own rule for export to detection); composite
types (``ip-dst|port``, ``filename|sha256``, ``domain|ip``) give their indicator parts. TLP comes from the
event's ``tlp:*`` tag, the family from a ``misp-galaxy:*`` tag, confidence from ``threat_level_id``.
``parse`` reads one event; ``manifest`` lists the events a feed directory or URL holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson

from mimamori.feeds.base import FeedEntry, FeedError, Options, ParseResult, when

TYPES = {
    "ip-dst": ("ip",),
    "ip-src": ("ip",),
    "ip-dst|port": ("ip", None),
    "ip-src|port": ("ip", None),
    "domain": ("domain",),
    "hostname": ("domain",),
    "domain|ip": ("domain", "ip"),
    "hostname|port": ("domain", None),
    "url": ("url",),
    "md5": ("md5",),
    "sha1": ("sha1",),
    "sha256": ("sha256",),
    "filename|md5": (None, "md5"),
    "filename|sha1": (None, "sha1"),
    "filename|sha256": (None, "sha256"),
    "email-src": ("email",),
    "email": ("email",),
    "ja3-fingerprint-md5": ("ja3",),
    "x509-fingerprint-sha1": ("x509_sha1",),
}
CONFIDENCE = {"1": 90, "2": 70, "3": 50, "4": 50}  # threat_level_id: high, medium, low, undefined
MAX_EVENTS = 10_000  # events read from one manifest
_GALAXY = re.compile(r'misp-galaxy:[\w-]+="([^"]{1,100})"')


def _load(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise FeedError(f"not JSON: {exc}") from exc


def manifest(data: bytes) -> list[str]:
    """The event UUIDs of a ``manifest.json``, newest first, at most ``MAX_EVENTS``."""
    document = _load(data)
    if not isinstance(document, dict) or not all(isinstance(v, dict) for v in document.values()):
        raise FeedError("not a MISP manifest (an object of event UUIDs)")
    ordered = sorted(document.items(), key=lambda item: str(item[1].get("timestamp", "")), reverse=True)
    return [uuid for uuid, _info in ordered if re.fullmatch(r"[0-9a-fA-F-]{36}", uuid)][:MAX_EVENTS]


def _attributes(event: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for attribute in event.get("Attribute") or []:
        if isinstance(attribute, dict):
            yield attribute
    for obj in event.get("Object") or []:
        if isinstance(obj, dict):
            for attribute in obj.get("Attribute") or []:
                if isinstance(attribute, dict):
                    yield attribute


def parse(data: bytes, options: Options) -> ParseResult:
    document = _load(data)
    event = document.get("Event") if isinstance(document, dict) else None
    if not isinstance(event, dict):
        raise FeedError("not a MISP event (no Event object)")
    tags = [str(t.get("name", "")) for t in event.get("Tag") or [] if isinstance(t, dict)]
    tlp = next((t.split(":", 1)[1].lower() for t in tags if t.lower().startswith("tlp:")), None)
    family = next((m.group(1) for t in tags if (m := _GALAXY.search(t))), "")
    info = str(event.get("info", ""))[:200]
    confidence = CONFIDENCE.get(str(event.get("threat_level_id", "4")), 50)
    include_all = options.get("include_non_ids", "").lower() in ("true", "1", "yes")
    result = ParseResult()
    for attribute in _attributes(event):
        if not include_all and attribute.get("to_ids") not in (True, "1", 1):
            continue
        kinds = TYPES.get(str(attribute.get("type", "")))
        value = attribute.get("value")
        if kinds is None or not isinstance(value, str):
            continue
        parts = value.split("|") if len(kinds) > 1 else [value]
        for kind, part in zip(kinds, parts, strict=False):
            if kind is None or not part:
                continue
            result.entries.append(
                FeedEntry(
                    type=kind,
                    value=part,
                    threat=family or info,
                    description=str(attribute.get("comment") or info)[:200],
                    confidence=confidence,
                    tlp=tlp,
                    first_seen=when(attribute.get("first_seen") or event.get("date")),
                    last_seen=when(attribute.get("last_seen") or attribute.get("timestamp")),
                )
            )
    return result
