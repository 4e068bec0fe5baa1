"""Plain lists: one value per line (``#`` or ``;`` comments, anything after the first blank ignored).

Options: ``type`` fixes the type of every value (default: guessed per value), ``threat``,
``confidence`` (0-100). The most common shape of free blocklists and of a provider's own lists.
"""

from __future__ import annotations

from mimamori.feeds.base import FeedEntry, Options, ParseResult, comment_free_lines, int_or_none


def parse(data: bytes, options: Options) -> ParseResult:
    result = ParseResult()
    kind = options.get("type", "")
    threat = options.get("threat", "")
    confidence = int_or_none(options.get("confidence"))
    for _number, line in comment_free_lines(data, comments="#;"):
        value = line.split(None, 1)[0]
        result.entries.append(FeedEntry(type=kind, value=value, threat=threat, confidence=confidence))
    return result
