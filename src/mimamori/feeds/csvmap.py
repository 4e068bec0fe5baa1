"""Any CSV with a column mapping given as options (a vendor export, a partner's list).

Options (columns by header name, or by 0-based index when ``header`` is ``false``): ``value`` (required),
``type`` (a column) or ``fixed_type`` (one type for every row; default: guessed per value), ``threat``,
``description``, ``confidence``, ``first_seen``, ``last_seen``, ``expires``; ``delimiter`` (default ``,``);
``header`` (default ``true``: the first non-comment row names the columns).
"""

from __future__ import annotations

from mimamori.feeds.base import (
    FeedEntry,
    FeedError,
    Options,
    ParseResult,
    comment_free_lines,
    csv_rows,
    int_or_none,
    when,
)

COLUMNS = ("value", "type", "threat", "description", "confidence", "first_seen", "last_seen", "expires")


def parse(data: bytes, options: Options) -> ParseResult:
    if not options.get("value"):
        raise FeedError("the csv format needs a column mapping: at least value=<column>")
    delimiter = options.get("delimiter", ",")[:1] or ","
    has_header = options.get("header", "true").lower() not in ("false", "0", "no")
    rows = csv_rows(comment_free_lines(data), delimiter)
    names: dict[str, int] = {}
    if has_header:
        first = next(rows, None)
        if first is None:
            return ParseResult()
        names = {name.strip().lower(): i for i, name in enumerate(first[1])}
    mapping: dict[str, int] = {}
    for key in COLUMNS:
        column = options.get(key)
        if not column:
            continue
        if column.isascii() and column.isdigit():
            mapping[key] = int(column)
        elif column.lower() in names:
            mapping[key] = names[column.lower()]
        else:
            raise FeedError(f"column {column!r} (for {key}) is not in the header")
    fixed = options.get("fixed_type", "")
    result = ParseResult()
    for number, row in rows:

        def cell(key: str, row: list[str] = row) -> str:
            position = mapping.get(key)
            return row[position] if position is not None and position < len(row) else ""

        value = cell("value")
        if not value:
            result.error(f"line {number}: no value in column {options['value']!r}")
            continue
        result.entries.append(
            FeedEntry(
                type=fixed or cell("type"),
                value=value,
                threat=cell("threat"),
                description=cell("description"),
                confidence=int_or_none(cell("confidence")),
                first_seen=when(cell("first_seen")),
                last_seen=when(cell("last_seen")),
                expires_at=when(cell("expires")),
            )
        )
    return result
