"""abuse.ch URLhaus CSV export (https://urlhaus.abuse.ch/api/#csv): malware distribution URLs.

``#`` comment lines, the last of which names the columns:
``id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter`` (older exports lack
``last_online``); every field is quoted. An offline URL stays listed (its host may come back) with a lower
confidence.
"""

from __future__ import annotations

from mimamori.feeds.base import (
    FeedEntry,
    FeedError,
    Options,
    ParseResult,
    comment_free_lines,
    csv_rows,
    header_comment_columns,
    when,
)

URL = "https://urlhaus.abuse.ch/downloads/csv_recent/"
DEFAULT_COLUMNS = ["id", "dateadded", "url", "url_status", "last_online", "threat", "tags", "urlhaus_link"]
ONLINE_CONFIDENCE = 90
OFFLINE_CONFIDENCE = 60


def parse(data: bytes, options: Options) -> ParseResult:
    columns = header_comment_columns(data) or DEFAULT_COLUMNS
    if "url" not in columns:
        raise FeedError("no url column in the URLhaus header")
    index = {name: i for i, name in enumerate(columns)}
    result = ParseResult()
    for number, row in csv_rows(comment_free_lines(data)):
        if len(row) <= index["url"]:
            result.error(f"line {number}: expected {len(columns)} columns, got {len(row)}")
            continue

        def cell(name: str, row: list[str] = row) -> str:
            position = index.get(name)
            return row[position] if position is not None and position < len(row) else ""

        status = cell("url_status")
        tags = cell("tags")
        result.entries.append(
            FeedEntry(
                type="url",
                value=cell("url"),
                threat=tags.split(",")[0] if tags and tags != "None" else cell("threat"),
                description=f"{cell('threat') or 'malware'} URL ({status or 'unknown'})",
                confidence=ONLINE_CONFIDENCE if status == "online" else OFFLINE_CONFIDENCE,
                tlp="clear",
                first_seen=when(cell("dateadded")),
                last_seen=when(cell("last_online")),
            )
        )
    if not result.entries and result.error_count:
        raise FeedError("no URLhaus rows")
    return result
