"""STIX 2.1 bundles (OASIS; https://docs.oasis-open.org/cti/stix/v2.1/), also what TAXII 2.1 serves.

Every ``indicator`` object is validated with the ``stix2`` library; its STIX pattern is reduced to the
single values it compares with ``=`` (``[ipv4-addr:value = '198.51.100.1' OR domain-name:value = ...]``).
A pattern that needs ``AND``, ``FOLLOWEDBY`` or another operator cannot be a list entry and is skipped
with a reason. ``valid_until`` is the expiry, ``confidence`` is kept, the TLP comes from the standard TLP
marking definitions, the family from an ``indicates`` relationship to a ``malware`` object.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
import stix2  # type: ignore[import-untyped]

from mimamori.feeds.base import FeedEntry, FeedError, Options, ParseResult, int_or_none, when

TLP_MARKINGS = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "clear",
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "green",
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "amber",
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "red",
}
PATHS = {
    "ipv4-addr:value": "ip",
    "ipv6-addr:value": "ip",
    "domain-name:value": "domain",
    "url:value": "url",
    "email-addr:value": "email",
    "email-message:from_ref.value": "email",
    "email-message:sender_ref.value": "email",
    "file:hashes.md5": "md5",
    "file:hashes.'md5'": "md5",
    "file:hashes.'sha-1'": "sha1",
    "file:hashes.sha1": "sha1",
    "file:hashes.'sha-256'": "sha256",
    "file:hashes.sha256": "sha256",
    "x509-certificate:hashes.'sha-1'": "x509_sha1",
}
MAX_PATTERN = 10_000
_COMPARISON = re.compile(r"([a-z0-9-]+:[a-z0-9_.'\-]+)\s*=\s*'((?:[^'\\]|\\.){1,2048})'", re.IGNORECASE)
_UNSUPPORTED = re.compile(r"\b(AND|FOLLOWEDBY|NOT|MATCHES|LIKE|IN|ISSUBSET|ISSUPERSET)\b|[<>!]")


def values_of(pattern: str) -> list[tuple[str, str]]:
    """``(type, value)`` pairs of a pattern made of ``=`` comparisons joined by ``OR``; [] otherwise."""
    if len(pattern) > MAX_PATTERN:
        return []
    outside = _COMPARISON.sub("", pattern)
    if _UNSUPPORTED.search(outside):
        return []
    found = []
    for path, value in _COMPARISON.findall(pattern):
        kind = PATHS.get(path.lower())
        if kind is not None:
            kind = "cidr" if kind == "ip" and "/" in value else kind
            found.append((kind, value.replace("\\'", "'").replace("\\\\", "\\")))
    return found


def parse(data: bytes, options: Options) -> ParseResult:
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise FeedError(f"not JSON: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("objects"), list):
        raise FeedError("not a STIX bundle (no objects array)")
    objects = [o for o in document["objects"] if isinstance(o, dict)]
    malware = {o.get("id"): str(o.get("name", "")) for o in objects if o.get("type") == "malware"}
    families: dict[Any, str] = {}
    for o in objects:
        relation = o.get("type") == "relationship" and o.get("relationship_type") == "indicates"
        if relation and o.get("target_ref") in malware:
            families[o.get("source_ref")] = malware[o.get("target_ref")]
    result = ParseResult()
    for number, obj in enumerate(objects, start=1):
        if obj.get("type") != "indicator":
            continue
        try:
            indicator = stix2.parse(obj, allow_custom=True, version="2.1")
        except Exception as exc:  # stix2 raises many exception types on hostile input
            result.error(f"object {number}: invalid indicator: {type(exc).__name__}: {exc}")
            continue
        if indicator.get("pattern_type") != "stix" or indicator.get("revoked"):
            continue
        pairs = values_of(str(indicator.get("pattern", "")))
        if not pairs:
            result.error(f"object {number}: pattern is not a list of values: {indicator.pattern[:120]}")
            continue
        markings = [TLP_MARKINGS.get(str(ref)) for ref in indicator.get("object_marking_refs") or []]
        types = ", ".join(indicator.get("indicator_types") or [])
        for kind, value in pairs:
            result.entries.append(
                FeedEntry(
                    type=kind,
                    value=value,
                    threat=families.get(obj.get("id"), "") or types,
                    description=str(indicator.get("name") or indicator.get("description") or "")[:200],
                    confidence=int_or_none(indicator.get("confidence")),
                    tlp=next((m for m in markings if m), None),
                    first_seen=when(str(indicator.get("valid_from", "")) or None),
                    expires_at=when(str(indicator.get("valid_until", "")) or None),
                )
            )
    return result
