"""Test helpers for NATS: the shared server's URL and a private ``nats-server`` that tests may restart.

``NatsServer`` runs its OWN ``nats-server -js -sd <dir> -a 127.0.0.1 -p <free port>`` (never the shared
one), keeps its store directory across ``stop()``/``start()``/``restart()`` and bounds every wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

NATS_URL = os.environ.get("MIMAMORI_TEST_NATS_URL", "nats://127.0.0.1:4222")
NATS_SERVER = (
    os.environ.get("MIMAMORI_TEST_NATS_SERVER") or shutil.which("nats-server") or "/usr/sbin/nats-server"
)


def bus_config(**values: Any) -> Iterator[Any]:
    """A NatsBusConfig on the shared server under a unique prefix (deleted after), with lease timings
    fast enough for tests; ``values`` override the test defaults. For a fixture: ``yield from``."""
    from tests.conftest import require_service

    from mimamori.bus.jetstream import NatsBusConfig
    from mimamori.bus.leases import LeaseTimings

    if not reachable(NATS_URL):
        require_service("NATS", f"{NATS_URL} not reachable (see MIMAMORI_TEST_NATS_URL)")
    prefix = unique_prefix()
    fast = LeaseTimings(
        lease_ttl=4,
        renew_interval=1,
        member_ttl=4,
        heartbeat_interval=1,
        rebalance_interval=0.5,
        safety_margin=1,
    )
    settings: dict[str, Any] = {"partitions": 8, "leases": fast, "ack_wait": 3, "max_bytes": 64 * 1024**2}
    yield NatsBusConfig(url=NATS_URL, prefix=prefix, **{**settings, **values})
    asyncio.run(asyncio.wait_for(delete_prefix(NATS_URL, prefix), 30))


def unique_prefix() -> str:
    """A stream/bucket prefix no other test uses."""
    return f"t{secrets.token_hex(5)}"


def reachable(url: str, timeout: float = 1.0) -> bool:
    """Whether something accepts TCP connections at the host:port of ``url``."""
    hostport = url.split("://", 1)[-1].rsplit("@", 1)[-1]
    host, _, port = hostport.partition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port or 4222)), timeout=timeout):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NatsServer:
    """A private nats-server with JetStream on a free port (see the module docstring)."""

    def __init__(self, store_dir: Path, *, port: int | None = None) -> None:
        self.store_dir = store_dir
        self.port = port or _free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = store_dir.parent / f"nats-server-{self.port}.log"

    @staticmethod
    def available() -> bool:
        return os.access(NATS_SERVER, os.X_OK)

    def start(self, timeout: float = 10.0) -> None:
        """Start the server and wait until it accepts connections."""
        if self._proc is not None:
            raise RuntimeError("nats-server already running")
        self.store_dir.mkdir(parents=True, exist_ok=True)
        with self._log.open("ab") as log:
            self._proc = subprocess.Popen(
                [NATS_SERVER, "-js", "-sd", str(self.store_dir), "-a", "127.0.0.1", "-p", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while not reachable(self.url, timeout=0.2):
            if self._proc.poll() is not None:
                raise RuntimeError(f"nats-server exited with {self._proc.returncode}: {self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"nats-server not ready after {timeout}s: {self.log_tail()}")
            time.sleep(0.05)

    def stop(self, timeout: float = 10.0, *, kill: bool = False) -> None:
        """Stop the server (SIGTERM, then SIGKILL after ``timeout``; at once with ``kill``); the store stays."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if kill:
            proc.kill()
        else:
            proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)

    def restart(self, down_for: float = 0.0, timeout: float = 10.0, *, kill: bool = False) -> None:
        """Stop, stay down ``down_for`` seconds, start again on the same port and store directory."""
        self.stop(timeout, kill=kill)
        time.sleep(down_for)
        self.start(timeout)

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self._log.read_text(errors="replace").splitlines()[-lines:])
        return ""


@contextlib.contextmanager
def private_nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A started ``NatsServer`` under ``tmp_path``; always stopped afterwards."""
    server = NatsServer(tmp_path / "nats-store")
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def delete_prefix(url: str, prefix: str) -> None:
    """Delete the stream and buckets of a bus ``prefix`` (test cleanup; missing ones are skipped)."""
    import nats
    import nats.errors

    nc = await nats.connect(url, connect_timeout=3, max_reconnect_attempts=1)
    try:
        js = nc.jetstream(timeout=5)
        for delete, name in (
            (js.delete_stream, f"{prefix}_raw"),
            (js.delete_key_value, f"{prefix}_leases"),
            (js.delete_key_value, f"{prefix}_workers"),
            (js.delete_object_store, f"{prefix}_state"),
        ):
            with contextlib.suppress(nats.errors.Error):
                await delete(name)
    finally:
        await nc.close()
