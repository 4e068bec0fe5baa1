"""Sender identification for the syslog receivers: client certificate, then token, then address.

Wraps a ``SenderResolver`` so that a failing resolver never takes a receiver down (an exception counts
as "unknown"), and so that token look-ups, which may reach the database, stay rare and off the event
loop: each runs in a worker thread, concurrent look-ups of one token share one call, and answers (known
or unknown) are cached for ``TOKEN_CACHE_S``. A revoked token therefore stops working within that time
plus whatever the resolver caches itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from mimamori.ingest.routes import Route, SenderResolver

__all__ = [
    "MAX_TOKEN_LENGTH",
    "TOKEN_CACHE_S",
    "UNKNOWN_ADDRESS",
    "UNKNOWN_CERTIFICATE",
    "UNKNOWN_TOKEN",
    "Senders",
    "unknown_reason",
]

log = logging.getLogger(__name__)

TOKEN_CACHE_S = 30.0  # how long a token's answer is reused before the resolver is asked again
ERROR_CACHE_S = 5.0  # how long a failed look-up counts as "unknown" before it is retried
TOKEN_CACHE_ENTRIES = 10_000  # the cache is emptied when it reaches this many tokens
MAX_TOKEN_LENGTH = 256  # longer values are not tokens: never looked up

UNKNOWN_CERTIFICATE = "unknown-certificate"
UNKNOWN_TOKEN = "unknown-token"  # noqa: S105 -- a counter reason, not a secret
UNKNOWN_ADDRESS = "unknown-address"


def unknown_reason(*, certificate: str | None, token: str | None) -> str:
    """Why a sender was rejected, named after the strongest credential it presented."""
    if token is not None:
        return UNKNOWN_TOKEN
    return UNKNOWN_CERTIFICATE if certificate else UNKNOWN_ADDRESS


class Senders:
    """Safe, cached access to a ``SenderResolver`` from the event loop."""

    def __init__(self, resolver: SenderResolver, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._resolver, self._clock = resolver, clock
        self._tokens: dict[str, tuple[float, Route | None]] = {}
        self._inflight: dict[str, asyncio.Task[Route | None]] = {}
        self.token_lookups = 0  # calls of ``resolver.by_token`` (for tests and metrics)

    def by_certificate(self, sha256_hex: str) -> Route | None:
        try:
            return self._resolver.by_certificate(sha256_hex)
        except Exception:
            log.exception("syslog: resolving a client certificate failed; treated as unknown")
            return None

    def by_address(self, ip: str) -> Route | None:
        try:
            return self._resolver.by_address(ip)
        except Exception:
            log.exception("syslog: resolving %s failed; treated as unknown", ip)
            return None

    def cached_token(self, token: str) -> tuple[bool, Route | None]:
        """``(True, route)`` when the token's answer is known without a look-up, else ``(False, None)``."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return True, None
        cached = self._tokens.get(token)
        if cached is None:
            return False, None
        if cached[0] < self._clock():
            del self._tokens[token]
            return False, None
        return True, cached[1]

    async def by_token(self, token: str) -> Route | None:
        """The token's route: from the cache, else from one resolver call in a worker thread."""
        hit, route = self.cached_token(token)
        if hit:
            return route
        task = self._inflight.get(token)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._lookup(token))
            self._inflight[token] = task
            task.add_done_callback(lambda _: self._inflight.pop(token, None))
        return await asyncio.shield(task)

    @property
    def lookups_running(self) -> int:
        return len(self._inflight)

    async def close(self) -> None:
        """Cancel the look-ups still waiting (their threads finish on their own)."""
        tasks = list(self._inflight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _lookup(self, token: str) -> Route | None:
        self.token_lookups += 1
        try:
            route = await asyncio.to_thread(self._resolver.by_token, token)
            ttl = TOKEN_CACHE_S
        except Exception:
            log.exception("syslog: resolving a sensor token failed; treated as unknown")
            route, ttl = None, ERROR_CACHE_S
        if len(self._tokens) >= TOKEN_CACHE_ENTRIES:
            self._tokens.clear()
        self._tokens[token] = (self._clock() + ttl, route)
        return route
