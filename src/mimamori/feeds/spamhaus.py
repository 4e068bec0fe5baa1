"""Spamhaus DROP and EDROP (https://www.spamhaus.org/blocklists/do-not-route-or-peer/).

Text: ``;`` comment lines, then ``1.10.16.0/20 ; SBL256894``. JSON lines (``drop_v4.json``): one
``{"cidr": ..., "sblid": ..., "rir": ...}`` per line and a final ``{"type": "metadata", ...}`` line.
Netblocks hijacked or leased by criminals: nothing legitimate lives there, so confidence is high.
"""

from __future__ import annotations

import re

import orjson

from mimamori.feeds.base import FeedEntry, FeedError, Options, ParseResult, comment_free_lines

DROP_URL = "https://www.spamhaus.org/drop/drop_v4.json"
CONFIDENCE = 95
_NETBLOCK = re.compile(r"[0-9a-fA-F:.]{2,39}/\d{1,3}\Z")


def parse(data: bytes, options: Options) -> ParseResult:
    result = ParseResult()
    for number, line in comment_free_lines(data, comments=";#"):
        if line.startswith("{"):
            try:
                item = orjson.loads(line)
            except orjson.JSONDecodeError:
                result.error(f"line {number}: bad JSON")
                continue
            if not isinstance(item, dict) or item.get("type") == "metadata":
                continue
            cidr, sbl = item.get("cidr"), item.get("sblid")
        else:
            cidr, _, sbl = (part.strip() for part in line.partition(";"))
        if not isinstance(cidr, str) or not _NETBLOCK.match(cidr):
            result.error(f"line {number}: no netblock")
            continue
        result.entries.append(
            FeedEntry(
                type="cidr",
                value=cidr,
                threat="hijacked netblock",
                description=f"Spamhaus DROP {sbl or ''}".strip(),
                confidence=CONFIDENCE,
                tlp="clear",
            )
        )
    if not result.entries and result.error_count:
        raise FeedError("no DROP netblocks")
    return result
