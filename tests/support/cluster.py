"""The scale-out processes for tests: a fresh PostgreSQL database, a unique NATS prefix, subprocesses.

``Cluster`` starts ``mimamori receiver | worker | scheduler`` as real subprocesses sharing one data
directory, one PostgreSQL database (created on the server of ``MIMAMORI_TEST_PG_URL`` and dropped
afterwards) and one NATS server under a prefix of its own (its stream and buckets are deleted afterwards).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url
from tests.conftest import PG_URL, require_service
from tests.support.nats_server import NATS_URL, delete_prefix, reachable


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _admin_dsn() -> str:
    return make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    """A new, empty PostgreSQL database (SQLAlchemy URL); dropped afterwards."""
    name = f"mimamori_cluster_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(_admin_dsn(), autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        require_service("PostgreSQL", f"{PG_URL}: {' '.join(str(error).split())}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield (
                make_url(PG_URL)
                .set(drivername="postgresql+psycopg", database=name)
                .render_as_string(hide_password=False)
            )
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def check_nats(url: str = NATS_URL) -> None:
    if not reachable(url, timeout=2.0):
        require_service("NATS", f"{url} not reachable (see MIMAMORI_TEST_NATS_URL)")


class Cluster:
    """Subprocesses of one scale-out deployment (see the module docstring)."""

    def __init__(
        self, tmp_path: Path, database_url: str, *, partitions: int = 8, nats_url: str = NATS_URL
    ) -> None:
        self.dir = tmp_path
        self.prefix = f"t{secrets.token_hex(4)}"
        self.web_port = free_port()
        self.tcp_port = free_port()
        self.env = {
            **os.environ,
            "MIMAMORI_DATA_DIR": str(tmp_path / "data"),
            "MIMAMORI_DATABASE_URL": database_url,
            "MIMAMORI_SECRET_KEY": "cluster-" + "k" * 56,
            "MIMAMORI_NATS_URL": nats_url,
            "MIMAMORI_BUS_PREFIX": self.prefix,
            "MIMAMORI_BUS_PARTITIONS": str(partitions),
            "MIMAMORI_SYSLOG_TCP_PORT": str(self.tcp_port),
            "MIMAMORI_SYSLOG_UDP_PORT": str(free_port(socket.SOCK_DGRAM)),
            "MIMAMORI_MAIL_DIR": str(tmp_path / "mail"),
            "MIMAMORI_PUBLIC_URL": f"http://127.0.0.1:{self.web_port}",
        }
        self.base = f"http://127.0.0.1:{self.web_port}"
        self.nats_url = nats_url
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def cli(self, *args: str, timeout: float = 120) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "mimamori", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, f"mimamori {' '.join(args)} failed: {done.stderr[-3000:]}"
        return done.stdout.strip()

    def log(self, name: str) -> Path:
        return self.dir / f"{name}.log"

    def start(self, name: str, *args: str, **env: str) -> subprocess.Popen[bytes]:
        """Start ``mimamori ARGS`` as process ``name`` (its output in ``<name>.log``)."""
        with self.log(name).open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "mimamori", *args],
                env={**self.env, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.processes[name] = process
        return process

    def start_receiver(self) -> None:
        self.start("receiver", "receiver", "--port", str(self.web_port))
        self.wait_ready("receiver")

    def start_worker(self, name: str) -> subprocess.Popen[bytes]:
        return self.start(name, "worker", MIMAMORI_WORKER_ID=name)

    def wait_ready(self, name: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        process = self.processes[name]
        while time.monotonic() < deadline:
            assert process.poll() is None, self.log(name).read_text()[-5000:]
            try:
                if httpx.get(f"{self.base}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        pytest.fail(f"{name} did not become ready:\n{self.log(name).read_text()[-5000:]}")

    def wait_log(self, name: str, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log(name).read_text(errors="replace"):
                return
            assert self.processes[name].poll() is None, self.log(name).read_text()[-5000:]
            time.sleep(0.2)
        pytest.fail(f"{name} never logged {text!r}:\n{self.log(name).read_text()[-5000:]}")

    def kill(self, name: str) -> None:
        """SIGKILL: no shutdown code runs (no acknowledgement, no state saved)."""
        process = self.processes[name]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        with contextlib.suppress(Exception):
            asyncio.run(delete_prefix(self.nats_url, self.prefix))


@contextlib.contextmanager
def open_cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A deployment in ``tmp_path``; every process stopped and its NATS and database state removed after."""
    check_nats()
    with fresh_database() as url:
        deployment = Cluster(tmp_path, url)
        try:
            yield deployment
        finally:
            deployment.stop_all()
