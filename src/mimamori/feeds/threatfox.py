"""abuse.ch ThreatFox IOCs as JSON (https://threatfox.abuse.ch/export/ and the API's ``data`` array).

The export is an object ``{"<ioc id>": [{"ioc_value", "ioc_type", "threat_type", "malware_printable",
"first_seen_utc", "last_seen_utc", "confidence_level", "tags", ...}]}``; the API answers
``{"query_status": "ok", "data": [{"ioc", "ioc_type", ..., "first_seen", "last_seen"}]}``. Both are read.
``ip:port`` IOCs become the address; SHA3-384 hashes are not matched and are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from mimamori.feeds.base import FeedEntry, FeedError, Options, ParseResult, int_or_none, when

URL = "https://threatfox.abuse.ch/export/json/recent/"
TYPES = {
    "ip:port": "ip",
    "domain": "domain",
    "url": "url",
    "md5_hash": "md5",
    "sha1_hash": "sha1",
    "sha256_hash": "sha256",
}


def _records(document: Any) -> Iterator[Any]:
    if isinstance(document, dict) and isinstance(document.get("data"), list):
        yield from document["data"]
    elif isinstance(document, dict) and "query_status" not in document:
        for items in document.values():
            if isinstance(items, list):
                yield from items
    else:
        raise FeedError("neither a ThreatFox export nor an API answer with data")


def parse(data: bytes, options: Options) -> ParseResult:
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise FeedError(f"not JSON: {exc}") from exc
    result = ParseResult()
    for number, item in enumerate(_records(document), start=1):
        if not isinstance(item, dict):
            result.error(f"record {number}: not an object")
            continue
        value = item.get("ioc_value", item.get("ioc"))
        kind = TYPES.get(str(item.get("ioc_type", "")))
        if not isinstance(value, str) or kind is None:
            result.error(f"record {number}: unsupported IOC type {str(item.get('ioc_type'))[:40]!r}")
            continue
        if kind == "ip":
            value = value.rsplit(":", 1)[0] if value.count(":") == 1 else value
        family = str(item.get("malware_printable") or item.get("malware") or "")
        result.entries.append(
            FeedEntry(
                type=kind,
                value=value,
                threat=family,
                description=f"{family} {item.get('threat_type') or ''}".strip(),
                confidence=int_or_none(item.get("confidence_level")),
                tlp="clear",
                first_seen=when(item.get("first_seen_utc", item.get("first_seen"))),
                last_seen=when(item.get("last_seen_utc", item.get("last_seen"))),
            )
        )
    return result
