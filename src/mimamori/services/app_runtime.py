"""What the web application needs from the process it runs in.

``mimamori serve`` hands it the embedded :class:`~mimamori.services.runtime.Runtime` (every stage in one
process); ``mimamori web`` and ``mimamori receiver`` hand it a
:class:`~mimamori.services.cluster.gateway.Gateway` whose HTTP ingest publishes to NATS JetStream.
"""

from __future__ import annotations

from typing import Protocol

from mimamori.config import Settings
from mimamori.services.receiving import IngestResult
from mimamori.storage import Database

__all__ = ["AppRuntime"]


class AppRuntime(Protocol):
    settings: Settings
    db: Database

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def ingest_http(self, token: str, body: bytes, content_encoding: str | None) -> IngestResult:
        """Accept a sensor's JSON-lines body; BackpressureError (429) when the bus is full."""
        ...

    def forget_tokens(self) -> None:
        """Sensor tokens changed in this process: stop trusting cached answers now."""
        ...

    def metrics(self) -> dict[str, int]: ...

    def ready(self) -> dict[str, bool]: ...
