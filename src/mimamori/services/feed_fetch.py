"""Fetching a feed's bytes: HTTP with conditional requests, retries and size limits, local paths, MISP
feeds (manifest then events), TAXII 2.1 collections (paged), and zip/gzip unpacking.

Everything here raises ``FetchError`` (network, HTTP, size) or ``FeedError`` (a damaged archive) and
nothing else, so ``services.feeds`` can keep a failing feed's last good data.
"""

from __future__ import annotations

import functools
import gzip
import io
import logging
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson

from mimamori.config import Settings
from mimamori.feeds import FeedError, misp
from mimamori.services import indicators as ind
from mimamori.storage.repositories import FeedRecord

log = logging.getLogger(__name__)

MISP_EVENTS = b"MISP-EVENTS"  # first line of several MISP events joined into one document
RETRIES = 3
TIMEOUT_S = 60.0
DEFAULT_MAX_BYTES = 256 * 1024 * 1024  # a larger download is refused (ThreatFox's full export is ~100 MB)
MISP_MAX_EVENTS = 200  # events fetched per MISP feed update, newest first
TAXII_MAX_OBJECTS = 200_000
TAXII_MAX_PAGES = 500  # a server that always answers more=true must not keep the job forever
USER_AGENT = "mimamori-feeds"
Progress = Callable[[str, int, int | None], None]  # feed name, bytes done, total (None: unknown)


def quiet(name: str, done: int, total: int | None) -> None:
    return None


class FetchError(Exception):
    """A feed could not be downloaded (after retries); its last good data stays."""


@dataclass(frozen=True, slots=True)
class Fetched:
    data: bytes | None  # None: not modified since the last fetch (HTTP 304)
    etag: str | None = None
    last_modified: str | None = None


def fetch(
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    headers: dict[str, str] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    retries: int = RETRIES,
    backoff: float = 1.0,
    progress: Progress = quiet,
    name: str = "",
) -> Fetched:
    """GET ``url`` conditionally; retried with backoff on transport errors, 5xx and truncated bodies."""
    request_headers = {"User-Agent": USER_AGENT, **(headers or {})}
    if etag:
        request_headers["If-None-Match"] = etag
    if last_modified:
        request_headers["If-Modified-Since"] = last_modified
    last_error = ""
    for attempt in range(retries):
        try:
            with httpx.stream(
                "GET", url, headers=request_headers, follow_redirects=True, timeout=TIMEOUT_S
            ) as response:
                if response.status_code == 304:
                    return Fetched(None, etag, last_modified)
                if response.status_code >= 500 or response.status_code == 429:
                    raise httpx.HTTPStatusError(
                        f"HTTP {response.status_code}", request=response.request, response=response
                    )
                if response.status_code != 200:
                    raise FetchError(f"HTTP {response.status_code}")
                total = int(response.headers.get("content-length") or 0) or None
                if total is not None and total > max_bytes:
                    raise FetchError(f"{total} bytes, more than the {max_bytes} allowed")
                body = bytearray()
                for chunk in response.iter_bytes(1 << 16):
                    body += chunk
                    if len(body) > max_bytes:
                        raise FetchError(f"more than the {max_bytes} bytes allowed")
                    progress(name, len(body), total)
                return Fetched(
                    unpack(bytes(body), max_bytes),
                    response.headers.get("etag"),
                    response.headers.get("last-modified"),
                )
        except (httpx.TransportError, httpx.HTTPStatusError) as exc:
            last_error = f"{type(exc).__name__}: {exc}"
            log.warning(
                "feed %s: fetching %s failed (attempt %d/%d): %s", name, url, attempt + 1, retries, exc
            )
            if attempt + 1 < retries:
                time.sleep(min(backoff * 2**attempt, 30.0))
    raise FetchError(f"download failed after {retries} attempts: {last_error}"[:500])


def unpack(data: bytes, max_bytes: int) -> bytes:
    """Feeds published as .zip or .gz: the (first) member's bytes, size-bounded; anything else as is."""
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                members = [m for m in archive.infolist() if not m.is_dir()]
                if not members or members[0].file_size > max_bytes:
                    raise FeedError("empty or oversized zip archive")
                with archive.open(members[0]) as member:
                    return member.read(max_bytes + 1)[:max_bytes]
        except (zipfile.BadZipFile, OSError) as exc:
            raise FeedError(f"bad zip archive: {exc}") from exc
    if data[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
                out = stream.read(max_bytes + 1)
        except (OSError, EOFError) as exc:
            raise FeedError(f"bad gzip data: {exc}") from exc
        if len(out) > max_bytes:
            raise FeedError(f"more than {max_bytes} bytes once decompressed")
        return out
    return data


def read_source(feed: FeedRecord, settings: Settings | None, progress: Progress, backoff: float) -> Fetched:
    """The feed's bytes: a local path or ``file:`` URL, a MISP feed, a TAXII collection or a plain GET."""
    max_bytes = ind.setting(settings, "indicator_max_download", DEFAULT_MAX_BYTES)
    if not feed.url.startswith(("http://", "https://")):
        path = Path(feed.url.removeprefix("file://")).expanduser()
        if feed.format == "misp" and path.is_dir():
            return Fetched(misp_directory(path))
        try:
            return Fetched(unpack(path.read_bytes()[: max_bytes + 1], max_bytes))
        except OSError as exc:
            raise FetchError(f"cannot read {path}: {exc}") from exc
    headers = {k[7:]: val for k, val in feed.options.items() if k.startswith("header:")}
    if feed.format == "taxii21":
        return Fetched(_taxii(feed))
    if feed.format == "misp":
        return Fetched(_misp_http(feed, headers, max_bytes, backoff))
    return fetch(
        feed.url,
        etag=feed.etag,
        last_modified=feed.last_modified,
        headers=headers,
        max_bytes=max_bytes,
        progress=progress,
        backoff=backoff,
        name=feed.name,
    )


def _events_document(events: list[bytes]) -> bytes:
    """Several MISP events as one document the parser reads event by event (see ``_parse``)."""
    return b"\n".join([MISP_EVENTS, *(orjson.dumps(orjson.loads(e)) for e in events)])


def misp_directory(path: Path) -> bytes:
    uuids = misp.manifest((path / "manifest.json").read_bytes())[:MISP_MAX_EVENTS]
    return _events_document([(path / f"{uuid}.json").read_bytes() for uuid in uuids])


def _misp_http(feed: FeedRecord, headers: dict[str, str], max_bytes: int, backoff: float) -> bytes:
    base = feed.url.rstrip("/")
    manifest = fetch(f"{base}/manifest.json", headers=headers, max_bytes=max_bytes, backoff=backoff)
    limit = int(feed.options.get("max_events", MISP_MAX_EVENTS))
    uuids = misp.manifest(manifest.data or b"{}")[:limit]
    events = [
        fetch(f"{base}/{u}.json", headers=headers, max_bytes=max_bytes, backoff=backoff).data for u in uuids
    ]
    return _events_document([e for e in events if e])


def _taxii(feed: FeedRecord) -> bytes:
    """Every object of a TAXII 2.1 collection (paged), as one STIX bundle."""
    from taxii2client.v21 import Collection, as_pages  # type: ignore[import-untyped]  # noqa: PLC0415

    try:
        collection = Collection(
            feed.url, user=feed.options.get("user"), password=feed.options.get("password")
        )
        session = getattr(getattr(collection, "_conn", None), "session", None)
        if session is not None:  # taxii2-client sets no timeout: a silent server must not hang the job
            session.request = functools.partial(session.request, timeout=TIMEOUT_S)
        objects: list[object] = []
        for page, envelope in enumerate(as_pages(collection.get_objects, per_request=1000), start=1):
            objects.extend(envelope.get("objects") or [])
            if len(objects) >= TAXII_MAX_OBJECTS or page >= TAXII_MAX_PAGES:
                log.warning("feed %s: TAXII paging stopped after %d pages", feed.name, page)
                break
    except Exception as exc:  # taxii2-client raises requests' and its own exception types
        raise FetchError(f"TAXII: {type(exc).__name__}: {exc}"[:500]) from exc
    return orjson.dumps({"type": "bundle", "id": "bundle--taxii", "objects": objects})
