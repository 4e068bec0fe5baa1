"""Senders: token answers cached for a while, one look-up for concurrent askers, failures contained."""

from __future__ import annotations

import asyncio

from tests.unit.ingest.syslog_env import Directory, run

from mimamori.ingest import Route
from mimamori.ingest.senders import ERROR_CACHE_S, MAX_TOKEN_LENGTH, TOKEN_CACHE_S, Senders

ROUTE = Route("tenant-a", "sensor-1", "fortigate")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_answers_are_cached_and_expire() -> None:
    async def scenario() -> None:
        directory, clock = Directory(tokens={"t": ROUTE}, token_delay=0.05), Clock()
        senders = Senders(directory, clock=clock)
        assert senders.cached_token("t") == (False, None)
        answers = await asyncio.gather(*(senders.by_token("t") for _ in range(5)))
        assert answers == [ROUTE] * 5
        assert await senders.by_token("unknown") is None
        assert directory.token_calls == ["t", "unknown"]  # concurrent askers share one look-up
        assert senders.cached_token("t") == (True, ROUTE)
        assert senders.cached_token("unknown") == (True, None)  # unknown answers are cached too
        clock.now += TOKEN_CACHE_S + 1
        assert senders.cached_token("t") == (False, None)
        assert await senders.by_token("t") == ROUTE
        assert directory.token_calls == ["t", "unknown", "t"]
        assert await senders.by_token("x" * (MAX_TOKEN_LENGTH + 1)) is None  # never looked up
        assert await senders.by_token("") is None
        assert senders.token_lookups == 3

    run(scenario())


def test_resolver_failures_count_as_unknown() -> None:
    class Broken(Directory):
        def by_token(self, token: str) -> Route | None:
            super().by_token(token)
            raise ConnectionError("database down")

        def by_certificate(self, sha256_hex: str) -> Route | None:
            raise KeyError(sha256_hex)

    async def scenario() -> None:
        directory, clock = Broken(), Clock()
        senders = Senders(directory, clock=clock)
        assert await senders.by_token("t") is None
        assert await senders.by_token("t") is None
        assert len(directory.token_calls) == 1
        clock.now += ERROR_CACHE_S + 1  # a failure is retried sooner than an answer
        assert await senders.by_token("t") is None
        assert len(directory.token_calls) == 2
        assert senders.by_certificate("ab" * 32) is None

    run(scenario())
