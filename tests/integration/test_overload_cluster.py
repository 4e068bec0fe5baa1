"""Overload fault test (issue 10), scale-out: 5x the sustainable rate for 60 s at receiver + one worker.

A private ``nats-server`` (JetStream, its own store), a fresh PostgreSQL database, one ``mimamori
receiver`` (syslog TCP/UDP and HTTP ingest, publishing to NATS) and one ``mimamori worker`` (4 stream
partitions). R, the sustainable rate, is what the idle deployment processes end to end: the slope of the
TCP sensor's ``received`` counter while a 10,000-line burst is worked off. Then 5 x R is offered for
``MIMAMORI_OVERLOAD_SECONDS`` (60 by default) with the embedded test's senders and shares (60 % TCP over
four connections, 20 % HTTP in POSTs of 250 records, 20 % UDP).

What happens, measured (2 shared cores, R 6,900-11,100 records/s): the stream is unbounded
(``max_bytes`` -1, discard-new), so NATS never refuses a publish and the receiver never answers 429.
The receiver is CPU-bound at some 4-5 x R: TCP writers block in ``sendall`` (the receiver reads them
only as fast as it publishes), synchronous HTTP senders are slowed by the answers' latency, and the
kernel drops part of the UDP datagrams (counted in ``/proc/net/udp``) -- how much of each depends on
the machine's load. Everything the receiver took is stored in the stream at once: the backlog, some
4 x R x 60 records (2-3 million), is on NATS's disk, not in a process, and the single worker works it
off at R -- which takes longer than this test may run (``TIME_BUDGET_S`` keeps the whole test under 4
minutes; at 60 s of load 900-2,500 batches, up to ~1.2 million records, are still in the stream
when it ends, and are deleted with the private server). So the test asserts:

- memory is bounded: receiver and worker VmRSS (sampled every 0.5 s through the load and the drain) stay
  under ``RSS_LIMIT`` each and do not grow (a least-squares trend of the samples from 20 s on, through
  the load and the drain, under ``RSS_GROWTH_LIMIT``: 2.5 MiB/s, the embedded test's limit; a leak that
  fast would also take a process toward ``RSS_LIMIT`` within the test);
- the excess waits in the stream (its backlog is not empty at the end of the load); HTTP never got a
  5xx, and a 429 (never seen here: the bus never refused) must carry Retry-After. The senders' slowing is
  reported, not asserted: it depends on how far the receiver's CPU ceiling is above R (TCP writers got
  92-100 %, HTTP 52-99 % of what they offered, the kernel dropped 0.2-9 % of the datagrams);
- nothing taken is lost at the door, exactly: the receiver published (PubAck'd, durable) the TCP lines
  written + the records HTTP 202 accepted + the datagrams that reached it (sent - ``/proc/net/udp``
  drops) and were not counted as dropped (``receiver_dropped``, the UDP sensor's ``dropped``); measured
  exact, the tolerance is 0.1 % of the datagrams;
- the backlog drains by itself: after the load the worker processes at least half of R, and the stream's
  backlog shrinks; if it is empty within the budget (a shorter load, or a faster machine), every sensor's
  ``received`` counter equals exactly what its senders got taken (UDP: sent - kernel - service drops);
- recovery: ``/readyz`` answers at once, an HTTP post is accepted (202), and a trickle from a second
  tenant (another stream partition) is processed promptly while the backlog drains (within
  ``PROBE_LIMIT_S``: the worker takes it between rounds of the backlog's batches; 0.06 s before the load,
  2.6-3.6 s measured during the drain); both processes are still running and nothing logged a traceback.

Figures are printed (``pytest -s``) as one JSON line.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import require_service
from tests.support.cluster import Cluster, check_nats, fresh_database
from tests.support.nats_server import NatsServer
from tests.support.overload_cluster import (
    ClusterSetup,
    growth_rate,
    measure_rate,
    overload,
    register,
    trickle_latency,
    wait_processed,
)

from mimamori.storage import Database

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

OVERLOAD_SECONDS = float(os.environ.get("MIMAMORI_OVERLOAD_SECONDS", "60"))
TIME_BUDGET_S = float(os.environ.get("MIMAMORI_OVERLOAD_BUDGET_S", "215"))  # start to last check
FACTOR = 5.0
PARTITIONS = 4
RATE_BURST = 10_000
RSS_LIMIT = 1 << 30
RSS_GROWTH_LIMIT = 2.5 * 2**20  # bytes per second: the fitted trend from 20 s to the last sample
UDP_TOLERANCE = 0.001
TRICKLE = 100  # lines of the probe trickle
PROBE_LIMIT_S = 10.0  # measured 2.6-3.6 s while ~270 s of backlog drained on the other partition


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[ClusterSetup]:
    if not NatsServer.available():
        require_service("nats-server", "the binary is needed for fault tests (apt install nats-server)")
    started = time.monotonic()
    server = NatsServer(tmp_path / "nats-store")
    server.start()
    try:
        check_nats(server.url)
        with fresh_database() as url:
            db = Database(url)
            db.migrate()
            tenant, sensors, token = register(db, PARTITIONS)
            cluster = Cluster(tmp_path, url, partitions=PARTITIONS, nats_url=server.url)
            ready = ClusterSetup(cluster, db, tenant, sensors, token, started=started)
            try:
                cluster.start_receiver()
                cluster.start_worker("w1")
                cluster.wait_log("w1", "assigned partitions")
                yield ready
            finally:
                ready.close()
                cluster.stop_all()
    finally:
        server.stop()


def test_five_times_the_sustainable_rate_for_a_minute_scale_out(setup: ClusterSetup) -> None:
    cluster = setup.cluster
    before_latency = trickle_latency(setup)
    rate = measure_rate(setup, RATE_BURST, timeout=setup.left(TIME_BUDGET_S, OVERLOAD_SECONDS + 60))
    counts_before, metrics_before = setup.sensor_counts(), setup.metrics()

    run = overload(setup, rate, factor=FACTOR, seconds=OVERLOAD_SECONDS, partitions=PARTITIONS)
    load, ended = run.load, time.monotonic()
    counts_at_end, backlog_at_end = setup.sensor_counts(), setup.backlog(PARTITIONS)
    ready_s = setup.wait_ready(10.0)
    accepted = setup.http.post(
        "/api/v1/ingest",
        content=b'{"message": "after the storm"}',
        headers={"Authorization": f"Bearer {setup.token}"},
        timeout=10,
    )
    after_latency = trickle_latency(setup, TRICKLE, limit=min(30.0, setup.left(TIME_BUDGET_S, 20)))
    figures = run.figures()
    targets = {
        "tcp": counts_before["tcp"]["received"] + load.taken("tcp"),
        "http": counts_before["http"]["received"] + load.taken("http") + 1,  # + "after the storm"
    }
    settle_s = wait_processed(setup, targets, PARTITIONS, setup.left(TIME_BUDGET_S, 8))
    time.sleep(6)  # the receiver writes its per-sensor drop counters every 5 s
    counts, metrics, backlog_left = setup.sensor_counts(), setup.metrics(), setup.backlog(PARTITIONS)
    drain_s = time.monotonic() - ended
    load.rss.stop()
    run.worker_rss.stop()

    def delta(transport: str, counter: str = "received") -> int:
        return counts[transport][counter] - counts_before[transport][counter]

    processed_after_load = sum(
        counts[t]["received"] - counts_at_end[t]["received"] for t in ("tcp", "http", "udp")
    )
    udp_reached = load.taken("udp") - load.udp_kernel_drops
    udp_service_dropped = delta("udp", "dropped")
    published = metrics["bus_published_records"] - metrics_before["bus_published_records"]
    growth = {
        name: growth_rate(sampler, 20.0, sampler.samples[-1][0])
        for name, sampler in (("receiver", load.rss), ("worker", run.worker_rss))
    }
    figures |= {
        "receiver_peak_rss_mib": round(load.rss.peak() / 2**20, 1),
        "worker_peak_rss_mib": round(run.worker_rss.peak() / 2**20, 1),
        "rss_growth_mib_s": {k: round(v / 2**20, 2) for k, v in growth.items()},
        "backlog_batches_at_end_of_load": backlog_at_end,
        "backlog_batches_left": backlog_left,
        "ready_after_load_s": ready_s,
        "settled_after_s": settle_s,
        "drain_rate_per_s": round(processed_after_load / drain_s),
        "published_records": published,
        "receiver_dropped": metrics["receiver_dropped"] - metrics_before["receiver_dropped"],
        "udp_service_dropped": udp_service_dropped,
        "processed": {t: delta(t) for t in ("tcp", "http", "udp")},
        "probe_latency_before_s": round(before_latency, 3),
        "probe_latency_during_drain_s": round(after_latency, 3),
        "test_elapsed_s": round(time.monotonic() - setup.started, 1),
        "receiver_rss_mib_every_5s": [round(r / 2**20) for _, r in load.rss.samples[::10]],
        "worker_rss_mib_every_5s": [round(r / 2**20) for _, r in run.worker_rss.samples[::10]],
    }
    print("cluster overload figures:", json.dumps(figures))
    logs = {name: cluster.log(name).read_text(errors="replace") for name in ("receiver", "w1")}

    assert figures["errors"] == [], figures
    # Memory stays bounded in both processes.
    assert load.rss.peak() < RSS_LIMIT, figures
    assert run.worker_rss.peak() < RSS_LIMIT, figures
    assert max(growth.values()) < RSS_GROWTH_LIMIT, figures
    # Push-back: NATS takes all the receiver publishes, so only the receiver's own pace slows senders
    # (TCP reads, HTTP answers) or drops datagrams (counted below). The excess waits in the stream.
    statuses = figures["http_statuses"]
    assert backlog_at_end > 0, figures
    assert set(statuses) <= {202, 429}, statuses
    assert "" not in figures["http_retry_after"], figures
    # Nothing taken is lost at the door: all of it was published to the stream (durable), exactly.
    after_load = TRICKLE + 1  # the probe trickle and "after the storm", published after the load
    expected = load.taken("tcp") + load.taken("http") + udp_reached - udp_service_dropped + after_load
    assert abs(published - expected) <= UDP_TOLERANCE * load.taken("udp"), figures
    assert metrics["receiver_dropped"] - metrics_before["receiver_dropped"] == udp_service_dropped, figures
    assert delta("tcp", "dropped") == delta("http", "dropped") == 0, counts
    # The backlog drains by itself, at the sustainable rate; when it is gone, every record was processed.
    assert processed_after_load >= 0.5 * rate * drain_s or settle_s is not None, figures
    assert backlog_left < backlog_at_end or backlog_at_end == 0, figures
    if settle_s is not None:
        assert delta("tcp") == load.taken("tcp"), figures
        assert delta("http") == load.taken("http") + 1, figures
        udp_accounted = delta("udp") + udp_service_dropped + load.udp_kernel_drops
        assert abs(udp_accounted - load.taken("udp")) <= UDP_TOLERANCE * load.taken("udp"), figures
    # Recovery by itself: ready, HTTP accepted at once, another tenant's trickle processed promptly.
    assert ready_s is not None, "/readyz not ready after the load"
    assert accepted.status_code == 202, accepted.text
    assert after_latency <= max(PROBE_LIMIT_S, 4 * before_latency), figures
    assert all(p.poll() is None for p in cluster.processes.values()), {k: v[-3000:] for k, v in logs.items()}
    assert not any("Traceback" in text for text in logs.values()), {k: v[-3000:] for k, v in logs.items()}
