"""Overload fault test (issue 10): 5x the sustainable rate for 120 s against the real ``mimamori serve``.

The service runs in a subprocess on embedded SQLite and its on-disk spool, with the default bus queue
(``queue_batches`` 256 batches of at most ``batch_size`` 500 records). First the sustainable rate R is
measured (a 20,000-line TCP burst that the queue holds at once: the pipeline sets the pace), then 5 x R is
offered at once for ``OVERLOAD_SECONDS``: 60 % over four syslog TCP connections, 20 % as HTTP ingest POSTs
of 250 records from two senders, 20 % as syslog UDP datagrams. Asserted:

- memory is bounded: the service's VmRSS, sampled every 0.5 s, stays under ``RSS_LIMIT`` (1 GiB: some
  200-350 MiB at rest, ~150 MiB of event-archive buffers, plus a full queue, 128,000 records of ~0.3 KiB
  held as records, syslog frames and parser input; measured at 510-730 MiB peak) and stops growing: the
  least-squares trend of the samples of the last 60 s of the load is under ``RSS_GROWTH_LIMIT``. The
  issue asks for 60 s of overload; the load lasts 120 s because the resident size first climbs for
  30-60 s while bounded structures fill (queue, spool, archive buffers, SQLite cache) and the
  allocator's high-water mark ratchets up, then swings by ~100 MiB as the queue's fill level changes
  and buffers are written (a tracemalloc run showed 65,000 queued syslog frames, ~50 MiB, come and
  go). Trends fitted over such 60-s windows read 0.0-1.3 MiB/s without any leak (0.03 and 1.26 in two
  runs under a competing CPU hog, 1.27 in CI), so the limit is 2.5 MiB/s; a leak that fast, or the
  UDP receiver's heap fragmentation fixed with this test (1.5-2.5 MiB/s, steadily, from the start),
  also takes the peak toward the 1 GiB limit within the 120 s;
- TCP senders are slowed: they wrote clearly less than they offered and spent time blocked in ``sendall``;
- HTTP senders got 429 with ``Retry-After`` (honoured, then the same body retried) and never a 5xx;
- UDP drops are counted: datagrams sent = processed + dropped by the service (sensor counter, also in
  ``/metrics`` ``receiver_dropped``) + dropped by the kernel (``/proc/net/udp`` drops of the service's
  socket). On loopback nothing else loses a datagram, so the tolerance is 0.1 % of those sent;
- nothing acknowledged is lost: every TCP line written and every record a 202 accepted is processed
  (the per-sensor ``received`` counters equal the senders' counts exactly);
- recovery: ``/readyz`` is ready again within ``READY_WITHIN_S`` of the end of the load, and a 50 lines/s
  trickle is processed as fast as before the load (at most 4 x its baseline latency, or 2 s).

Figures are printed (``pytest -s``) as one JSON line. The whole test bounds its own time (``TIME_BUDGET_S``:
every wait takes its deadline from it) and always stops the subprocess.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.support.overload_run import (
    Overload,
    Setup,
    measure_rate,
    overload,
    prepare,
    settle,
    trickle_latency,
)

pytestmark = pytest.mark.e2e

OVERLOAD_SECONDS = float(os.environ.get("MIMAMORI_OVERLOAD_SECONDS", "120"))
FACTOR = 5.0
RSS_LIMIT = 1 << 30
RSS_GROWTH_LIMIT = 2.5 * 2**20  # bytes per second: the fitted trend over the last 60 s of the load
GROWTH_WINDOW_S = 60.0
READY_WITHIN_S = 60.0
SETTLE_TIMEOUT_S = 60.0
TIME_BUDGET_S = 230.0  # from the service's start to the last check; stopping it adds a few seconds
UDP_TOLERANCE = 0.001


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    ready = prepare(tmp_path)
    try:
        yield ready
    finally:
        ready.service.stop()


def growth_rate(load: Overload) -> float:
    """RSS trend in bytes/s over the last ``GROWTH_WINDOW_S`` of the load (a least-squares fit of every
    sample: one sample taken while a buffer is briefly held is no trend)."""
    return load.rss.slope(max(0.0, load.seconds - GROWTH_WINDOW_S), load.seconds)


def wait_counts(setup: Setup, expected: dict[str, int], timeout: float) -> dict[str, dict[str, int]]:
    """Sensor counters once every transport's received (+ dropped, which UDP's are) reached its
    ``expected`` total, or whatever they are at ``timeout``.

    All three, not only UDP's: ``settle`` waits on the service's total ``records_received``, which the
    UDP records also raise, so it can return while the last TCP or HTTP batches are still in the
    pipeline (seen once in CI: 479 of 932,906 TCP lines were counted a moment later). A line really lost
    never arrives, and the equality asserted below still fails after the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        counts = setup.sensor_counts()
        done = all(counts[t]["received"] + counts[t]["dropped"] >= n for t, n in expected.items())
        if done or time.monotonic() > deadline:
            return counts
        time.sleep(0.5)


def ready_after(setup: Setup, timeout: float) -> float | None:
    return setup.service.wait_ready(timeout)


def check_memory(load: Overload) -> tuple[float, float]:
    peak = load.rss.peak()
    assert peak < RSS_LIMIT, f"peak RSS {peak / 2**20:.0f} MiB"
    growth = growth_rate(load)
    assert growth < RSS_GROWTH_LIMIT, (
        f"RSS grows by {growth / 2**20:.2f} MiB/s in the last {GROWTH_WINDOW_S:.0f} s; "
        f"MiB every 5 s: {[round(rss / 2**20) for _, rss in load.rss.samples[::10]]}"
    )
    return peak / 2**20, growth / 2**20


def test_five_times_the_sustainable_rate_for_two_minutes(setup: Setup) -> None:
    service = setup.service
    before_latency = trickle_latency(setup)
    rate = measure_rate(setup, timeout=setup.left(TIME_BUDGET_S, OVERLOAD_SECONDS + 40))
    idle_rss = service.rss_bytes()
    counts_before = setup.sensor_counts()
    received_before = service.metrics()["records_received"]

    load = overload(setup, rate, factor=FACTOR, seconds=OVERLOAD_SECONDS)
    ready_s = ready_after(setup, min(READY_WITHIN_S, setup.left(TIME_BUDGET_S, 20)))
    figures = load.figures()
    assert service.alive(), service.log_tail()
    assert figures["errors"] == []
    settle_s = settle(setup, load, received_before, min(SETTLE_TIMEOUT_S, setup.left(TIME_BUDGET_S, 15)))
    udp_expected = load.taken("udp") - load.udp_kernel_drops
    expected = {
        "udp": counts_before["udp"]["received"] + counts_before["udp"]["dropped"] + udp_expected,
        "tcp": counts_before["tcp"]["received"] + counts_before["tcp"]["dropped"] + figures["tcp_written"],
        "http": counts_before["http"]["received"]
        + counts_before["http"]["dropped"]
        + figures["http_accepted"],
    }
    counts = wait_counts(setup, expected, setup.left(TIME_BUDGET_S, 8))
    metrics = service.metrics()
    after_latency = trickle_latency(setup)
    accepted = httpx.post(
        f"{service.base}/api/v1/ingest",
        content=b'{"message": "after the storm"}',
        headers={"Authorization": f"Bearer {setup.token}"},
        timeout=10,
    )
    peak_mib, growth_mib_s = check_memory(load)
    figures |= {
        "idle_rss_mib": round(idle_rss / 2**20, 1),
        "rss_growth_last_60s_mib_s": round(growth_mib_s, 2),
        "ready_after_load_s": ready_s,
        "settled_after_s": settle_s,
        "receiver_dropped": metrics["receiver_dropped"],
        "udp_processed": counts["udp"]["received"] - counts_before["udp"]["received"],
        "udp_service_dropped": counts["udp"]["dropped"] - counts_before["udp"]["dropped"],
        "trickle_latency_before_s": round(before_latency, 3),
        "trickle_latency_after_s": round(after_latency, 3),
        "test_elapsed_s": round(time.monotonic() - setup.started, 1),
        "rss_mib_every_5s": [round(rss / 2**20) for _, rss in load.rss.samples[::10]],
    }
    print("overload figures:", json.dumps(figures))

    # Memory stays bounded (checked above, reported here).
    assert peak_mib < RSS_LIMIT / 2**20
    # TCP: the writers were slowed by the service, not by themselves.
    tcp_elapsed = sum(s.stats.elapsed_s for s in load.tcp)
    assert figures["tcp_written"] < 0.8 * figures["tcp_offered"], figures
    assert figures["tcp_blocked_s"] > 0.3 * tcp_elapsed, figures
    # HTTP: told 429 with Retry-After, never a server error.
    statuses = figures["http_statuses"]
    assert statuses.get(429, 0) > 0, statuses
    assert set(statuses) <= {202, 429}, statuses
    assert figures["http_retry_after"], figures
    assert "" not in figures["http_retry_after"], figures
    # Nothing acknowledged is lost: TCP lines written, HTTP records accepted.
    assert settle_s is not None, f"not all taken records were processed in time: {figures}"
    tcp_delta = counts["tcp"]["received"] - counts_before["tcp"]["received"]
    http_delta = counts["http"]["received"] - counts_before["http"]["received"]
    assert tcp_delta == figures["tcp_written"], figures
    assert counts["tcp"]["dropped"] == counts["http"]["dropped"] == 0, counts
    assert http_delta == figures["http_accepted"], figures
    # UDP: every datagram sent is processed or counted as dropped (by the service or the kernel).
    udp_accounted = figures["udp_processed"] + figures["udp_service_dropped"] + load.udp_kernel_drops
    assert abs(udp_accounted - load.taken("udp")) <= UDP_TOLERANCE * load.taken("udp"), figures
    assert figures["udp_service_dropped"] + load.udp_kernel_drops > 0, figures
    assert metrics["receiver_dropped"] == figures["udp_service_dropped"], figures
    # Recovery by itself: ready again, normal latency, HTTP accepted at once.
    assert ready_s is not None, f"/readyz not ready {READY_WITHIN_S} s after the load"
    assert after_latency <= max(2.0, 4 * before_latency), figures
    assert accepted.status_code == 202, accepted.text
    assert "Traceback" not in service.log.read_text(errors="replace"), service.log_tail()
