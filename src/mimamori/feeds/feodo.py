"""abuse.ch Feodo Tracker botnet C2 IP blocklist, CSV and JSON (https://feodotracker.abuse.ch/blocklist/).

CSV: ``#`` comment lines, then ``"first_seen_utc","dst_ip","dst_port","c2_status","last_online","malware"``.
JSON: an array of objects with ``ip_address``, ``port``, ``status``, ``first_seen``, ``last_online``,
``malware``. Every row is an address of a botnet C2 server (confidence 90: abuse.ch verifies them).
"""

from __future__ import annotations

import orjson

from mimamori.feeds.base import (
    FeedEntry,
    FeedError,
    Options,
    ParseResult,
    comment_free_lines,
    csv_rows,
    when,
)

CONFIDENCE = 90
CSV_URL = "https://feodotracker.abuse.ch/downloads/ipblocklist.csv"
JSON_URL = "https://feodotracker.abuse.ch/downloads/ipblocklist.json"


def _entry(ip: str, port: object, status: object, first: object, last: object, malware: object) -> FeedEntry:  # noqa: PLR0917
    family = str(malware or "")
    return FeedEntry(
        type="ip",
        value=ip,
        threat=family,
        description=f"{family or 'botnet'} C2 (port {port}, {status or 'unknown'})",
        confidence=CONFIDENCE,
        tlp="clear",
        first_seen=when(first),
        last_seen=when(last),
    )


def parse_csv(data: bytes, options: Options) -> ParseResult:
    result = ParseResult()
    for number, row in csv_rows(comment_free_lines(data)):
        if row and row[0] == "first_seen_utc":
            continue  # the header line (not a comment in the current export)
        if len(row) < 6:
            result.error(f"line {number}: expected 6 columns, got {len(row)}")
            continue
        first, ip, port, status, last, malware = row[:6]
        result.entries.append(_entry(ip, port, status, first, last, malware))
    if not result.entries and result.error_count:
        raise FeedError("no Feodo Tracker rows (not the CSV blocklist?)")
    return result


def parse_json(data: bytes, options: Options) -> ParseResult:
    try:
        rows = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise FeedError(f"not JSON: {exc}") from exc
    if not isinstance(rows, list):
        raise FeedError("expected a JSON array of C2 entries")
    result = ParseResult()
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict) or not isinstance(row.get("ip_address"), str):
            result.error(f"entry {number}: no ip_address")
            continue
        result.entries.append(
            _entry(
                row["ip_address"],
                row.get("port"),
                row.get("status"),
                row.get("first_seen"),
                row.get("last_online"),
                row.get("malware"),
            )
        )
    return result
