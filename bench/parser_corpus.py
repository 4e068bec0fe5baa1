"""Representative input lines per log format, shared by ``bench/parsers.py`` and ``bench/fuzz_parsers.py``.

Sources, for every format in ``mimamori.parsers.PARSERS`` (so a new parser is covered the day it is
registered): its golden inputs ``tests/data/parsers/<format>/*.log``; the simulator for ``fortigate``
and ``zeek`` volume; and, when ``/work/shared/data`` (or ``$MIMAMORI_SHARED_DATA``) is present, real
data: Suricata EVE alerts, zed's Zeek JSON logs, EVTX records through the product's own EVTX reader,
and the Wazuh ruleset's FortiGate test lines. Nothing here is needed by the product at run time.
"""

from __future__ import annotations

import gzip
import importlib
import os
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

import orjson

from mimamori import sim

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "data" / "parsers"
SHARED = Path(os.environ.get("MIMAMORI_SHARED_DATA", ROOT.parent / "shared" / "data"))
START = datetime(2026, 11, 26, tzinfo=UTC)


def golden_lines(fmt: str) -> list[bytes]:
    """The non-blank lines of the format's golden inputs."""
    lines: list[bytes] = []
    for path in sorted((GOLDEN / fmt).glob("*.log")):
        lines.extend(line for line in path.read_bytes().splitlines() if line.strip())
    return lines


def _simulated(fmt: str, limit: int) -> list[bytes]:
    run = sim.generate(
        tenants=10, seed=7, scenarios=tuple(sim.SCENARIOS), fmt=fmt, start=START,
        duration=timedelta(minutes=10), events_per_minute=600,
    )  # fmt: skip
    return [r.line for r in run.records[:limit]]


def _suricata(_limit: int) -> Iterator[bytes]:
    for path in sorted((SHARED / "suricata-sample-data" / "samples").glob("*/alerts-only.json")):
        for alert in orjson.loads(path.read_bytes()):
            yield orjson.dumps(alert)


def _zeek_json(limit: int) -> Iterator[bytes]:
    per_file = max(1, limit // 9)
    for path in sorted((SHARED / "zed-sample-data-zeek" / "zeek-json").glob("*.json.gz")):
        with gzip.open(path, "rb") as handle:
            yield from islice((line.rstrip(b"\n") for line in handle if line.strip()), per_file)


def _evtx(limit: int) -> Iterator[bytes]:
    try:
        reader = importlib.import_module("mimamori.ingest.readers.evtx")
    except ImportError:
        return
    count = 0
    for path in sorted((SHARED / "evtx-attack-samples").rglob("*.evtx")):
        try:
            for _, data in reader.read(path):
                yield data
                count += 1
                if count >= limit:
                    return
        except Exception:  # a damaged sample file is skipped, not fatal
            continue


def _wazuh_fortigate(limit: int) -> Iterator[bytes]:
    path = SHARED / "wazuh-ruleset-tests" / "fortigate.ini"
    if path.is_file():
        text = path.read_text(encoding="utf-8")
        yield from (line.encode() for line in re.findall(r"^log \d+ pass = (.*)$", text, re.M)[:limit])


_REAL: dict[str, list[Callable[[int], Iterator[bytes]]]] = {
    "suricata": [_suricata],
    "zeek": [_zeek_json],
    "evtx": [_evtx],
    "fortigate": [_wazuh_fortigate],
}


def corpus(fmt: str, *, real_limit: int = 20_000) -> list[bytes]:
    """Golden lines, simulated volume (fortigate, zeek) and real samples for ``fmt``, in that order."""
    lines = golden_lines(fmt)
    if fmt in sim.FORMATS:
        lines.extend(_simulated(fmt, real_limit))
    if SHARED.is_dir():
        for source in _REAL.get(fmt, []):
            lines.extend(islice(source(real_limit), real_limit))
    return lines
