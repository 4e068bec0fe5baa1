"""The real mimamori service in a subprocess, for fault and load tests (``tests/integration``, ``bench``).

``ServiceProcess`` runs ``python -m mimamori serve`` on free ports with its own data directory and secret
key, runs CLI commands against the same data directory, reads ``/metrics`` and ``/readyz``, and observes
the process from outside: its resident memory (``/proc/<pid>/status``) and the kernel's drop counter of
its UDP socket (``/proc/net/udp``). ``RssSampler`` records the resident memory every half second.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

__all__ = ["RssSampler", "ServiceError", "ServiceProcess", "free_port"]

SECRET_KEY = "overload-" + "k" * 56


class ServiceError(RuntimeError):
    """The service did not start, died, or a CLI command failed."""


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port that was free on 127.0.0.1 a moment ago (TCP or UDP)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServiceProcess:
    """``mimamori serve`` on 127.0.0.1 with a data directory under ``root``; ``extra_env`` overrides."""

    def __init__(self, root: Path, extra_env: Mapping[str, str] | None = None) -> None:
        self.web_port = free_port()
        self.tcp_port = free_port()
        self.udp_port = free_port(socket.SOCK_DGRAM)
        self.env = {
            **os.environ,
            "MIMAMORI_DATA_DIR": str(root / "data"),
            "MIMAMORI_SECRET_KEY": SECRET_KEY,
            "MIMAMORI_SYSLOG_TCP_PORT": str(self.tcp_port),
            "MIMAMORI_SYSLOG_UDP_PORT": str(self.udp_port),
            **(extra_env or {}),
        }
        self.base = f"http://127.0.0.1:{self.web_port}"
        self.log = root / "serve.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.http = httpx.Client(base_url=self.base, timeout=5.0)

    # -- CLI and lifecycle ----------------------------------------------------------------------------
    def cli(self, *args: str) -> str:
        """Run ``mimamori ARGS`` on the service's data directory; its standard output."""
        done = subprocess.run(
            [sys.executable, "-m", "mimamori", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise ServiceError(f"mimamori {' '.join(args)} failed: {done.stderr}")
        return done.stdout.strip()

    def cli_json(self, *args: str) -> Any:
        return json.loads(self.cli(*args))

    @property
    def pid(self) -> int:
        if self.process is None:
            raise ServiceError("the service is not running")
        return self.process.pid

    def start(self, timeout: float = 60.0) -> None:
        """Start ``serve`` and wait until ``/readyz`` answers 200."""
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "mimamori",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.web_port),
                ],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if self.wait_ready(timeout) is None:
            raise ServiceError(f"the service did not become ready:\n{self.log_tail()}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_ready(self, timeout: float) -> float | None:
        """Seconds until ``/readyz`` answered 200, or None after ``timeout``; raises if the process died."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if not self.alive():
                raise ServiceError(f"the service exited:\n{self.log_tail()}")
            try:
                if self.http.get("/readyz", timeout=2).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        return None

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 20 s; safe to call twice or when never started."""
        self.http.close()
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    # -- observation ------------------------------------------------------------------------------------
    def metrics(self) -> dict[str, int]:
        """``/metrics`` as ``{name without the mimamori_ prefix: value}``."""
        response = self.http.get("/metrics", timeout=10)
        response.raise_for_status()
        out: dict[str, int] = {}
        for line in response.text.splitlines():
            if line.startswith("mimamori_"):
                name, _, value = line.partition(" ")
                out[name.removeprefix("mimamori_")] = int(float(value))
        return out

    def rss_bytes(self) -> int:
        """The service process's resident set size (``VmRSS``)."""
        return rss_bytes(self.pid)

    def udp_kernel_drops(self) -> int:
        """Datagrams the kernel dropped for the service's UDP socket (receive buffer full)."""
        return udp_socket_drops(self.udp_port)


def rss_bytes(pid: int) -> int:
    """``VmRSS`` of process ``pid`` in bytes (0 once it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def udp_socket_drops(port: int) -> int:
    """The ``drops`` column of ``/proc/net/udp`` for the IPv4 socket bound to ``port`` (0 if none)."""
    wanted = f":{port:04X}"
    total = 0
    for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 13 and fields[1].endswith(wanted):
            total += int(fields[12])
    return total


class RssSampler:
    """Samples a process's resident memory every ``interval`` seconds in a thread: ``(t, bytes)`` pairs,
    ``t`` in seconds since ``start``."""

    def __init__(self, pid: int, interval: float = 0.5) -> None:
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._t0 = 0.0

    def start(self) -> None:
        self._t0 = time.monotonic()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic() - self._t0, rss_bytes(self.pid)))
            self._stop.wait(self.interval)

    def peak(self) -> int:
        return max((rss for _, rss in self.samples), default=0)

    def between(self, start: float, end: float) -> list[tuple[float, int]]:
        """The samples taken from ``start`` to ``end`` seconds after ``start()``."""
        return [(t, rss) for t, rss in self.samples if start <= t <= end]

    def slope(self, start: float, end: float) -> float:
        """Least-squares trend of the samples from ``start`` to ``end`` seconds, in bytes per second.

        A fit over every sample, not two end points: buffers filled and written every few seconds make
        the resident size swing by some 100 MiB around a flat level, which a comparison of two 10-s
        windows 20 s apart reads as growth or shrinkage of up to ~1.5 MiB/s; a trend fitted over 60 s
        stays within ~0.4 MiB/s of zero (every window of two 150-s overload runs of ``serve``)."""
        points = self.between(start, end)
        if len(points) < 3:
            return 0.0
        mean_t = sum(t for t, _ in points) / len(points)
        mean_rss = sum(rss for _, rss in points) / len(points)
        spread = sum((t - mean_t) ** 2 for t, _ in points)
        if spread == 0:
            return 0.0
        return sum((t - mean_t) * (rss - mean_rss) for t, rss in points) / spread
