"""The body reader of HTTP ingest: JSON lines or a JSON array in, RawRecords and rejects out.

Senders post either JSON lines or one JSON array. Each item is either an object with a ``"message"``
string -- the raw log line (a FortiGate line, a Windows event as text...) becomes the record's data -- or
any other object, kept as the raw JSON bytes of its line (a Zeek or Suricata JSON record). Items from an
array have no line of their own; they are kept as orjson's compact re-serialisation. Bad JSON and
oversize lines are returned as ``(raw, reason)`` pairs for the quarantine instead of failing the request.

``decode_body`` undoes ``Content-Encoding: gzip`` with a hard limit on the inflated size, so a small
compressed body cannot expand into gigabytes (zip bomb). Both functions are pure; the route does the I/O.
"""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import Any

import orjson

from mimamori.domain import RawRecord
from mimamori.errors import IngestError, PayloadTooLargeError
from mimamori.ingest.routes import Route

__all__ = ["BodyError", "BodyTooLargeError", "UnsupportedEncodingError", "decode_body", "read_body"]

ORIGIN = "http"
Rejected = tuple[bytes, str]


class BodyError(IngestError, ValueError):
    """The body cannot be decoded (corrupt or truncated gzip; HTTP 400). Also a ``ValueError``."""


class UnsupportedEncodingError(BodyError):
    """A ``Content-Encoding`` other than identity or gzip (HTTP 415)."""


class BodyTooLargeError(PayloadTooLargeError, ValueError):
    """The body, or what it inflates to, exceeds the limit (HTTP 413). Also a ``ValueError``."""


def decode_body(body: bytes, content_encoding: str | None, max_bytes: int) -> bytes:
    """The body without its content encoding, at most ``max_bytes`` long.

    Raises ``BodyTooLargeError`` when the (inflated) body is longer than ``max_bytes`` -- decompression
    stops as soon as the limit is passed -- ``UnsupportedEncodingError`` for unknown encodings and
    ``BodyError`` for a corrupt or truncated gzip stream.
    """
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        if len(body) > max_bytes:
            raise BodyTooLargeError(f"body of {len(body)} bytes exceeds the limit of {max_bytes}")
        return body
    if encoding not in ("gzip", "x-gzip"):
        raise UnsupportedEncodingError(f"unsupported Content-Encoding {content_encoding!r}")
    out = bytearray()
    data = body
    while data:  # gzip allows several members back to back
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out += inflater.decompress(data, max_bytes - len(out) + 1)  # never 0, which means "no limit"
        except zlib.error as exc:
            raise BodyError(f"invalid gzip body: {exc}") from exc
        if len(out) > max_bytes:
            raise BodyTooLargeError(f"gzip body inflates beyond the limit of {max_bytes} bytes")
        if not inflater.eof:
            raise BodyError("truncated gzip body")
        data = inflater.unused_data
    return bytes(out)


def read_body(
    body: bytes, route: Route, *, max_record: int, now: datetime
) -> tuple[list[RawRecord], list[Rejected]]:
    """Records of ``route`` received at ``now`` from a decoded body, and the rejected parts with reasons.

    ``max_record`` limits the record's data (the message, or the object's JSON); a rejected oversize
    item is returned cut to ``max_record`` bytes, its reason giving the full size.
    """
    accepted: list[RawRecord] = []
    rejected: list[Rejected] = []

    def take(item: Any, line: bytes | None) -> None:
        raw = line if line is not None else orjson.dumps(item)
        if not isinstance(item, dict):
            rejected.append((raw[:max_record], "not a JSON object"))
            return
        message = item.get("message")
        if isinstance(message, str):
            try:
                raw = message.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate escape such as "\ud800"
                rejected.append((raw[:max_record], "message is not valid Unicode"))
                return
        if len(raw) > max_record:
            rejected.append((raw[:max_record], f"oversize: {len(raw)} bytes > {max_record}"))
            return
        accepted.append(
            RawRecord(route.tenant_id, route.sensor_id, route.format, raw, now, ORIGIN, route.timezone)
        )

    stripped = body.strip()
    if stripped.startswith(b"["):  # one JSON array, possibly pretty-printed over many lines
        try:
            items = orjson.loads(stripped)
        except orjson.JSONDecodeError:
            items = None  # maybe JSON lines whose first line is an array: read line by line
        if isinstance(items, list):
            for item in items:
                take(item, None)
            return accepted, rejected
    for raw_line in stripped.splitlines():
        line = raw_line.strip()
        if not line:
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            rejected.append((line[:max_record], f"bad JSON: {exc}"))
            continue
        if isinstance(value, list):
            for item in value:
                take(item, None)
        else:
            take(value, line)
    return accepted, rejected
