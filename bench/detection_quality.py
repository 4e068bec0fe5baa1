"""Per-scenario precision and recall of the beacon, scan and brute-force behaviours on labelled Zeek captures.

Usage: ``.venv/bin/python bench/detection_quality.py [--data ../shared/data/stratosphere-zeek]`` prints JSON.

Each capture is read as the importer reads it (Zeek TSV converted by ``ingest.readers.zeektsv``, JSON
lines as they are), parsed with ``mimamori.parsers.zeek`` and fed in file order to a fresh detector.
Ground truth is host level and comes from the capture's own labels:

- a labelled capture (``label`` column, Stratosphere's NetflowLabeler): the malicious flows name the
  truth — for the beacon, the (LAN host, destination) pairs of flows labelled ``Malicious``; for
  inbound scans, that any ``Malicious`` flow from the Internet exists;
- an unlabelled capture: its README's statement, encoded in ``SCENARIOS`` (002: one client
  ``172.16.1.11`` runs every scan; 003: the RAT's flows are those to TCP port 1337);
- a capture with no attack of the detector's kind (004, 006: SSH logins, no brute-force burst) has no
  positive: every finding is a false positive; recall is not defined (null).

Figures per scenario and detector: findings by severity; host-level (or pair-level for the beacon)
true/false positives and false negatives with precision and recall; for labelled flows, flow recall =
the share of malicious flows whose pair/host was flagged at some point; and the delay from the first
malicious flow to the first true finding. Capture 008's device has a public address
(147.32.81.167): it is mapped to 10.81.1.167 so that it is "the customer's LAN" for ``is_lan``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from mimamori.detection.behaviours.beacon import BeaconBehaviour
from mimamori.detection.behaviours.brute_force import BruteForceBehaviour
from mimamori.detection.behaviours.scan import ScanBehaviour
from mimamori.domain import Event, Finding
from mimamori.domain.models import RawRecord
from mimamori.errors import ParseError
from mimamori.ingest.readers import zeektsv
from mimamori.parsers import zeek

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "stratosphere-zeek"
TENANT = "eval"
Truth = Callable[[dict[str, Any]], bool]  # is this flow malicious (of the detector's kind)?


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    detector: str
    truth: Truth | None  # None: the capture holds no attack of this kind (every finding is false)
    how: str
    remap: dict[str, str] = field(default_factory=dict)
    log: str = ""  # Zeek log type for JSON lines without ``_path`` whose type cannot be inferred


def _label(obj: dict[str, Any]) -> bool:
    return str(obj.get("label", "")).startswith("Malicious")


SCENARIOS = (
    Scenario("001-njrat", "001-zeek-scenario-malicious/labeled-conn.log", "beacon", _label,
             "flow label Malicious (NjRAT C2 and its probes) -> (host, destination) pairs"),
    Scenario("003-androidtester", "003-zeek-scenario-malicious/conn.log", "beacon",
             lambda o: o.get("id.resp_p") == 1337, "README: RAT flows are those to TCP 1337"),
    Scenario("002-port-scanning", "002-zeek-scenario-port-scanning/conn.log", "scan",
             lambda o: o.get("id.orig_h") == "172.16.1.11" and o.get("id.resp_h") != "8.8.8.8",
             "README: client 172.16.1.11 runs every Nmap scan (its DNS to 8.8.8.8 excluded)"),
    Scenario("004-ssh", "004-zeek-scenario-ssh/ssh.log", "brute_force", None,
             "README: clients logging in, no auth_success field: no positive", log="ssh"),
    Scenario("006-ssh", "006-zeek-scenario-ssh/ssh.log", "brute_force", None,
             "README: honeypot logins, 9 successes and 1 failure: no brute-force burst"),
    Scenario("008-mixed-beacon", "008-zeek-mixed/data/conn.log.labeled", "beacon", None,
             "labels: outbound flows are Benign (Microsoft, ESET, Dropbox...): no beacon",
             {"147.32.81.167": "10.81.1.167"}),
    Scenario("008-mixed-scan", "008-zeek-mixed/data/conn.log.labeled", "scan", _label,
             "flow label Malicious = External-Attack-to-Device (inbound scans) -> one low summary expected",
             {"147.32.81.167": "10.81.1.167"}),
)  # fmt: skip

DETECTORS: dict[str, Callable[[], Any]] = {
    "beacon": BeaconBehaviour,
    "scan": ScanBehaviour,
    "brute_force": BruteForceBehaviour,
}


def read_objects(path: Path) -> Iterator[dict[str, Any]]:
    """The capture's records as Zeek JSON objects (TSV converted the importer's way)."""
    data = path.read_bytes()
    records = (
        zeektsv.read(iter([data]), 1 << 20) if data.startswith(zeektsv.MAGIC) else iter(data.splitlines())
    )
    for record in records:
        if isinstance(record, bytes) and record.strip():
            try:
                obj = orjson.loads(record)
            except orjson.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                yield obj


def _event(obj: dict[str, Any]) -> Event | None:
    try:
        return zeek.parse(RawRecord(TENANT, "eval", "zeek", orjson.dumps(obj), datetime.now(UTC)))
    except ParseError:
        return None


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 3) if b else None


def evaluate(scenario: Scenario, root: Path) -> dict[str, Any]:
    detector = DETECTORS[scenario.detector]()
    findings: list[Finding] = []
    flows: list[tuple[str, str, bool, float]] = []  # (source, destination, malicious, time)
    for obj in read_objects(root / scenario.path):
        if scenario.log:
            obj.setdefault("_path", scenario.log)
        for key in ("id.orig_h", "id.resp_h"):
            if obj.get(key) in scenario.remap:
                obj[key] = scenario.remap[obj[key]]
        event = _event(obj)
        if event is None:
            continue
        bad = scenario.truth(obj) if scenario.truth else False
        flows.append((str(obj.get("id.orig_h")), str(obj.get("id.resp_h")), bad, event.timestamp.timestamp()))
        if detector.accepts(event):
            findings.extend(detector.observe(event))
    return _score(scenario, findings, flows)


def _unit(scenario: Scenario, src: str | None, dst: str | None) -> str:
    return f"{src}>{dst}" if scenario.detector == "beacon" else str(src)


def _score(
    scenario: Scenario, findings: list[Finding], flows: list[tuple[str, str, bool, float]]
) -> dict[str, Any]:
    inbound = [f for f in findings if f.key == "scan:inbound"]
    graded = [f for f in findings if f.key != "scan:inbound"]
    flagged = {_unit(scenario, f.source_ip, f.destination_ip) for f in graded}
    if scenario.detector == "brute_force":
        flagged = {str(f.evidence.get("source")) for f in graded}
    bad_flows = [(s, d, t) for s, d, bad, t in flows if bad]
    truth = {_unit(scenario, s, d) for s, d, _ in bad_flows}
    external_attack = scenario.name.endswith("-scan") and scenario.name.startswith("008")
    if external_attack:  # the truth is "inbound scans happened": graded by the inbound summary only
        truth, flagged = ({"inbound"} if bad_flows else set()), ({"inbound"} if inbound else set()) | flagged
    tp, fp, fn = len(flagged & truth), len(flagged - truth), len(truth - flagged)
    covered = sum(
        1 for s, d, _ in bad_flows if (_unit(scenario, s, d) in flagged or (external_attack and inbound))
    )
    true_times = [
        f.timestamp.timestamp() for f in findings if _unit(scenario, f.source_ip, f.destination_ip) in truth
    ]
    first_bad = min((t for _, _, t in bad_flows), default=None)
    delay = round(min(true_times) - first_bad, 1) if true_times and first_bad is not None else None
    return {
        "scenario": scenario.name,
        "detector": scenario.detector,
        "truth": scenario.how,
        "flows": len(flows),
        "malicious_flows": len(bad_flows),
        "findings": len(findings),
        "by_severity": dict(Counter(str(f.severity) for f in findings)),
        "truth_units": len(truth),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn) if truth else None,
        "flow_recall": _ratio(covered, len(bad_flows)),
        **_host_level(scenario, graded, bad_flows),
        "first_detection_delay_s": delay,
        "flagged": sorted(flagged)[:10],
    }


def _host_level(
    scenario: Scenario, graded: list[Finding], bad: list[tuple[str, str, float]]
) -> dict[str, Any]:
    """For the beacon (graded by pair): the same figures by LAN host."""
    if scenario.detector != "beacon":
        return {}
    hosts = {str(f.source_ip) for f in graded}
    truth = {s for s, _, _ in bad}
    tp, fp, fn = len(hosts & truth), len(hosts - truth), len(truth - hosts)
    return {
        "host_tp": tp,
        "host_fp": fp,
        "host_fn": fn,
        "host_precision": _ratio(tp, tp + fp),
        "host_recall": _ratio(tp, tp + fn) if truth else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the stratosphere-zeek directory")
    parser.add_argument("--scenario", action="append", help="only these scenarios (repeatable)")
    args = parser.parse_args(argv)
    results = []
    for scenario in SCENARIOS:
        if args.scenario and scenario.name not in args.scenario:
            continue
        if not (args.data / scenario.path).is_file():
            results.append({"scenario": scenario.name, "skipped": "capture not found"})
            continue
        results.append(evaluate(scenario, args.data))
    json.dump(results, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
