"""Paced load generators for the overload test and bench: syslog TCP, syslog UDP and HTTP ingest.

Each sender is a thread that offers ``rate`` records per second until ``until`` (a ``time.monotonic``
deadline) and counts exactly what the service took: a TCP line counts once ``sendall`` returned for it (the
kernel has it; the service must not lose it), a datagram once ``send`` returned, an HTTP record once a 2xx
answer said ``accepted``. A sender behind its schedule catches up in bursts of at most ``max_burst``
records, so a service that pushes back makes the achieved rate fall below the offered one instead of
making the sender queue without limit. Blocking sockets on purpose: the time spent inside ``sendall`` is
the push-back the sender felt.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

__all__ = ["HttpSender", "SendStats", "TcpSender", "UdpSender", "http_bodies", "octet_frames"]

TICK_S = 0.01  # how long a sender on schedule sleeps before looking again
TCP_SNDBUF = 256 * 1024  # a modest client send buffer: push-back reaches the writer sooner
HTTP_TIMEOUT_S = 30.0  # far above any normal answer: a timeout would leave a batch's fate unknown
TCP_STALL_S = 30.0  # a write that makes no progress this long: the service is wedged (an error)


def octet_frames(lines: Sequence[bytes]) -> list[bytes]:
    """RFC 6587 octet-counted frames of ``lines``."""
    return [b"%d %s" % (len(line), line) for line in lines]


def http_bodies(lines: Sequence[bytes], batch: int) -> list[bytes]:
    """JSON-lines bodies of exactly ``batch`` ``{"message": line}`` items each (a remainder is left out)."""
    items = [json.dumps({"message": line.decode("utf-8", "replace")}).encode() for line in lines]
    return [b"\n".join(items[i : i + batch]) for i in range(0, len(items) - batch + 1, batch)]


@dataclass(slots=True)
class SendStats:
    """What one sender offered and what the service took, with the push-back it met."""

    offered: int = 0  # records due by the schedule when the sender stopped
    sent: int = 0  # records the service (or its kernel) took: TCP written, UDP sent, HTTP accepted
    elapsed_s: float = 0.0
    blocked_s: float = 0.0  # time spent waiting inside sendall / on Retry-After
    longest_block_s: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)  # HTTP status -> answers
    retry_after: set[str] = field(default_factory=set)  # Retry-After values seen with 429
    errors: list[str] = field(default_factory=list)

    @property
    def achieved_rate(self) -> float:
        return self.sent / self.elapsed_s if self.elapsed_s else 0.0

    def block(self, seconds: float) -> None:
        self.blocked_s += seconds
        self.longest_block_s = max(self.longest_block_s, seconds)


class _Paced(threading.Thread):
    """A thread that calls ``_burst(n)`` with the records due, at most ``max_burst`` at a time."""

    def __init__(self, name: str, rate: float, until: float, max_burst: int) -> None:
        super().__init__(name=name, daemon=True)
        self.rate, self.until, self.max_burst = rate, until, max_burst
        self.stats = SendStats()
        self.progress = 0  # records dealt with by the schedule (taken, refused or given up)
        self._next = 0  # cyclic index into the payloads

    def run(self) -> None:
        t0 = time.monotonic()
        try:
            self._open()
            while (now := time.monotonic()) < self.until:
                due = int(self.rate * (now - t0)) - self.progress
                if due <= 0:
                    time.sleep(TICK_S)
                    continue
                self._burst(min(due, self.max_burst))
        except Exception as exc:  # reported, and asserted on by the test
            self.stats.errors.append(repr(exc))
        finally:
            self.stats.elapsed_s = time.monotonic() - t0
            self.stats.offered = int(self.rate * min(self.stats.elapsed_s, self.until - t0))
            self._close()

    def _take(self, payloads: Sequence[bytes], n: int) -> list[bytes]:
        out = [payloads[(self._next + i) % len(payloads)] for i in range(n)]
        self._next = (self._next + n) % len(payloads)
        return out

    def _open(self) -> None:
        pass

    def _burst(self, n: int) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        pass


class TcpSender(_Paced):
    """One syslog TCP connection from ``source`` writing octet-counted ``frames`` at ``rate`` lines/s."""

    def __init__(
        self,
        address: tuple[str, int],
        source: str,
        frames: Sequence[bytes],
        *,
        rate: float,
        until: float,
        max_burst: int = 2000,
    ) -> None:
        super().__init__(f"tcp-{source}", rate, until, max_burst)
        self.address, self.source, self.frames = address, source, frames
        self.sock: socket.socket | None = None

    def _open(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, TCP_SNDBUF)
        sock.settimeout(TCP_STALL_S)
        sock.bind((self.source, 0))
        sock.connect(self.address)
        self.sock = sock

    def _burst(self, n: int) -> None:
        assert self.sock is not None
        data = b"".join(self._take(self.frames, n))
        started = time.monotonic()
        self.sock.sendall(data)  # all or an exception: the count stays exact
        self.stats.block(time.monotonic() - started)
        self.stats.sent += n
        self.progress += n

    def _close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_WR)  # what was written is still delivered
            except OSError as exc:
                self.stats.errors.append(repr(exc))
            self.sock.close()


class UdpSender(_Paced):
    """Syslog datagrams from ``source``, fire and forget, at ``rate`` datagrams/s."""

    def __init__(
        self,
        address: tuple[str, int],
        source: str,
        lines: Sequence[bytes],
        *,
        rate: float,
        until: float,
        max_burst: int = 500,
    ) -> None:
        super().__init__(f"udp-{source}", rate, until, max_burst)
        self.address, self.source, self.lines = address, source, lines
        self.sock: socket.socket | None = None
        self.send_errors = 0  # datagrams the local kernel refused (ENOBUFS...): never reached the service

    def _open(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((self.source, 0))
        sock.connect(self.address)
        self.sock = sock

    def _burst(self, n: int) -> None:
        assert self.sock is not None
        send, refused = self.sock.send, 0
        for datagram in self._take(self.lines, n):
            try:
                send(datagram)
            except OSError:
                refused += 1
        self.send_errors += refused
        self.stats.sent += n - refused
        self.progress += n

    def _close(self) -> None:
        if self.sock is not None:
            self.sock.close()


class HttpSender(_Paced):
    """POSTs ``bodies`` (``batch`` records each) to ``url`` with a sensor token at ``rate`` records/s.

    A 429 is honoured: the sender sleeps ``Retry-After`` seconds, then posts the same body again (as a
    real sender would). Only records a 2xx answer accepted count as sent.
    """

    def __init__(
        self,
        url: str,
        token: str,
        bodies: Sequence[bytes],
        *,
        batch: int,
        rate: float,
        until: float,
    ) -> None:
        super().__init__("http", rate, until, batch)
        self.url, self.bodies, self.batch = url, bodies, batch
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
        self.client: httpx.Client | None = None
        self.requests_offered = 0

    def _open(self) -> None:
        self.client = httpx.Client(timeout=HTTP_TIMEOUT_S)

    def _burst(self, n: int) -> None:
        if n < self.batch:  # whole bodies only: wait until one is due
            time.sleep(TICK_S)
            return
        assert self.client is not None
        (body,) = self._take(self.bodies, 1)
        self.requests_offered += 1
        while time.monotonic() < self.until:
            response = self.client.post(self.url, content=body, headers=self.headers)
            status = response.status_code
            self.stats.statuses[status] = self.stats.statuses.get(status, 0) + 1
            if status != 429:
                break
            retry_after = response.headers.get("Retry-After", "")
            self.stats.retry_after.add(retry_after)
            wait = min(float(retry_after or 1), max(0.0, self.until - time.monotonic()))
            time.sleep(wait)
            self.stats.block(wait)
        else:
            self.progress += self.batch  # time is up: the body was refused, not taken
            return
        if 200 <= status < 300:
            self.stats.sent += int(response.json()["accepted"])
        self.progress += self.batch

    def _close(self) -> None:
        if self.client is not None:
            self.client.close()
