"""Benchmark: the overload fault scenario of issue 10 against a real ``mimamori serve`` subprocess.

    python bench/overload.py [--seconds 60] [--factor 5] [--rate R] [--env KEY=VALUE ...]

Measures the sustainable rate R (unless ``--rate`` is given), then offers ``factor`` x R for ``seconds``
at once over syslog TCP (60 %), HTTP ingest (20 %) and syslog UDP (20 %), waits for the service to
process everything it took, and prints what was offered, written, accepted, refused and dropped, the
resident memory every 5 s and the recovery times. The last line printed is one JSON object. The same
scenario, with assertions, is ``tests/integration/test_overload.py``; the code lives in
``tests/support/overload_run.py``. ``--env`` passes settings to the service (e.g.
``MIMAMORI_ARCHIVE_ENABLED=false``, ``MIMAMORI_QUEUE_BATCHES=64``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: tests.support

from tests.support.overload_run import (
    measure_rate,
    overload,
    prepare,
    settle,
    trickle_latency,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--factor", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=0.0, help="R in records/s; 0: measure it")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    env = dict(item.split("=", 1) for item in args.env)
    with tempfile.TemporaryDirectory(prefix="mimamori-overload-") as root:
        setup = prepare(Path(root), env)
        service = setup.service
        try:
            before = trickle_latency(setup)
            rate = args.rate or measure_rate(setup)
            print(
                f"R = {rate:.0f} records/s; offering {args.factor:g} x R for {args.seconds:g} s", flush=True
            )
            base = service.metrics()["records_received"]
            load = overload(setup, rate, factor=args.factor, seconds=args.seconds)
            ended = time.monotonic()
            ready = service.wait_ready(120)
            settled = settle(setup, load, base, 300)
            time.sleep(6)  # the receivers' drop counters reach the database every 5 s
            counts = setup.sensor_counts()
            figures = load.figures() | {
                "ready_after_load_s": ready,
                "settled_after_load_s": None if settled is None else round(time.monotonic() - ended, 1),
                "sensors": counts,
                "trickle_latency_before_s": round(before, 3),
                "trickle_latency_after_s": round(trickle_latency(setup), 3),
                "rss_mib_every_5s": [round(rss / 2**20) for _, rss in load.rss.samples[::10]],
            }
        finally:
            service.stop()
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
