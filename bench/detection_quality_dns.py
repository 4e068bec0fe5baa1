"""Detection quality of the ``dns_anomaly`` behaviour on labelled and benign Zeek DNS logs, and the cost of
the verdict/DNS/transfer/download behaviours per event.

Inputs (the shared data directory, ``../shared/data`` from the repository root, or ``--data``):

* ``stratosphere-zeek/005-zeek-scenario-malicious/dns.log`` — CTU-Malware-Capture-Botnet-355-1, a Windows
  host infected with Simda. The capture's files carry no per-line label, so queries are labelled by the
  published shape of Simda's DGA names (consonant, vowel, consonant, ``y``, consonant, vowel, consonant,
  ``.com``: ``qekynuq.com``) — a rule independent of the detector, which only uses letter-bigram statistics.
  A host is positive when it sent at least one such query.
* ``zed-sample-data-zeek/zeek-json/dns.json.gz`` — ~54 k queries of a CTF network (WRCCDC), used as a
  large corpus with no known DGA, tunnelling or NXDOMAIN-burst malware: every finding there is listed for
  judgement, and the share of its distinct registered domains that the character test calls "generated"
  is its name-level false-positive rate.

Reported: host-level precision and recall per kind (a host is detected when the detector raised that kind
for it), the time from the host's first DGA query to the finding, name-level precision/recall of the
character test, and µs per event for each behaviour on a simulated FortiGate + Zeek run.

    .venv/bin/python bench/detection_quality_dns.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import gzip
import re
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mimamori.detection.behaviours.base import BehaviourPolicy
from mimamori.detection.behaviours.dns_anomaly import DnsAnomaly, looks_generated, registered_domain
from mimamori.detection.behaviours.large_transfer import LargeTransfer
from mimamori.detection.behaviours.risky_download import RiskyDownload
from mimamori.detection.behaviours.utm_verdict import UtmVerdict
from mimamori.domain import Event, Finding, RawRecord
from mimamori.ingest.readers import zeektsv
from mimamori.parsers import PARSERS
from mimamori.sim import SCENARIOS, generate

_C, _V = "[bcdfghjklmnpqrstvwxz]", "[aeiouy]"
SIMDA = re.compile(f"^{_C}{_V}{_C}y{_C}{_V}{_C}\\.com$")
NOW = datetime(2026, 11, 26, tzinfo=UTC)


def zeek_events(path: Path) -> Iterator[Event]:
    """Parsed events of a Zeek log (TSV with its header, or JSON lines; .gz allowed)."""
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    records = (
        zeektsv.read(iter([data]), 1 << 20) if data.startswith(b"#separator") else iter(data.splitlines())
    )
    for record in records:
        if isinstance(record, bytes):
            event = PARSERS["zeek"](RawRecord("t1", "s1", "zeek", record, NOW))
            if event is not None:
                yield event


def simda_quality(path: Path) -> None:
    detector = DnsAnomaly()
    first_dga: dict[str, datetime] = {}
    names: dict[str, bool] = {}
    found: list[Finding] = []
    for event in sorted(zeek_events(path), key=lambda e: e.timestamp):
        name = str(event.fields.get("dns.question.name", "")).lower()
        host = str(event.fields.get("source.ip", ""))
        if SIMDA.match(name):
            first_dga.setdefault(host, event.timestamp)
        if "." in name:
            names[name] = bool(SIMDA.match(name))
        if detector.accepts(event):
            found.extend(detector.observe(event))
    print(f"## Simda DGA capture ({path.name}): {len(names)} distinct names, {len(first_dga)} infected hosts")
    print("| kind | findings | hosts flagged | true positives | precision | recall | time to detect |")
    print("|---|---|---|---|---|---|---|")
    by_kind: dict[str, list[Finding]] = defaultdict(list)
    for f in found:
        by_kind[f.key.split(":", 1)[0]].append(f)
    for kind in ("dga", "nxdomain", "tunnel"):
        hits = by_kind.get(kind, [])
        flagged = {f.source_ip for f in hits}
        true = {h for h in flagged if h in first_dga}
        precision = f"{len(true) / len(flagged):.2f}" if flagged else "-"
        recall = len(true) / len(first_dga) if first_dga else 0.0
        delays = [
            (f.timestamp - first_dga[f.source_ip]).total_seconds() for f in hits if f.source_ip in first_dga
        ]
        delay = f"{min(delays):.1f}-{max(delays):.1f} s" if delays else "-"
        print(
            f"| {kind} | {len(hits)} | {len(flagged)} | {len(true)} | {precision} | {recall:.2f} | {delay} |"
        )
    scored = {n: looks_generated(registered_domain(n).split(".")[0]) for n in names}
    tp = sum(1 for n, s in scored.items() if s and names[n])
    fp = sum(1 for n, s in scored.items() if s and not names[n])
    positives = sum(names.values())
    name_precision, name_recall = tp / max(tp + fp, 1), tp / max(positives, 1)
    print(f"\nName-level character test: precision {name_precision:.2f}, recall {name_recall:.2f}")
    print(f"({tp} of {positives} DGA names scored generated, {fp} other names scored generated)\n")


def benign_corpus(path: Path) -> None:
    detector = DnsAnomaly()
    domains: set[str] = set()
    found: list[Finding] = []
    count = 0
    for event in zeek_events(path):
        count += 1
        name = str(event.fields.get("dns.question.name", "")).lower().rstrip(".")
        if "." in name:
            domains.add(registered_domain(name))
        if detector.accepts(event):
            found.extend(detector.observe(event))
    generated = sorted(d for d in domains if looks_generated(d.split(".")[0]))
    print(f"## Benign/CTF corpus ({path.name}): {count} queries, {len(domains)} registered domains")
    print(f"Findings: {len(found)}")
    for f in found:
        print(f"- {f.timestamp:%Y-%m-%d %H:%M} {f.key} {f.severity.value} {f.source_ip} {f.evidence}")
    rate = len(generated) / max(len(domains), 1)
    print(
        f"Registered domains scored generated: {len(generated)} ({rate:.1%}): {', '.join(generated[:15])}\n"
    )


def transfer_quality(path: Path) -> None:
    """large_transfer on capture 008 (one benign Windows host, 24 h): every finding is a false positive.

    The host's public address is mapped to a LAN one (as in bench/detection_quality.py) and the learning
    period shortened to 4 active hours so that most of the day is judged.
    """
    policy = BehaviourPolicy(overrides={"t1": {"large_transfer": {"learn_hours": 4}}})
    detector = LargeTransfer(policy)
    found: list[Finding] = []
    count = 0
    for original in zeek_events(path):
        fields = dict(original.fields)
        for name in ("source.ip", "destination.ip"):
            if fields.get(name) == "147.32.81.167":
                fields[name] = "10.81.1.167"
        event = Event(original.timestamp, original.tenant_id, original.dataset, fields)
        if detector.accepts(event):
            count += 1
            found.extend(detector.observe(event))
    hosts = detector.snapshot()["tenants"].get("t1", {})
    hours = max((h[2] for h in hosts.values()), default=0)
    print(f"## large_transfer on {path.parent.parent.name} (benign host, 24 h): {count} connections")
    print(f"Active hours learnt: {hours}; findings (all false positives): {len(found)}")
    for f in found:
        print(f"- {f.severity.value} {f.source_ip} {f.evidence}")
    print()


def cost() -> None:
    print("## Cost per event (simulated 3 tenants x 2 h, all scenarios)")
    print("| behaviour | format | events | accepted | µs per event (all events) |")
    print("|---|---|---|---|---|")
    for fmt in ("fortigate", "zeek"):
        run = generate(
            tenants=3, seed=3, scenarios=list(SCENARIOS), fmt=fmt, start=NOW, duration=timedelta(hours=2)
        )
        parse = PARSERS[fmt]
        events = [e for r in run.records if (e := parse(RawRecord("t1", "s1", fmt, r.line, r.timestamp)))]
        for behaviour in (DnsAnomaly(), LargeTransfer(), RiskyDownload(), UtmVerdict()):
            start = time.perf_counter()
            accepted = 0
            for event in events:
                if behaviour.accepts(event):
                    accepted += 1
                    for _ in behaviour.observe(event):
                        pass
            spent = time.perf_counter() - start
            micro = spent / len(events) * 1e6
            print(f"| {behaviour.name} | {fmt} | {len(events)} | {accepted} | {micro:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).parents[1] / ".." / "shared" / "data")
    args = parser.parse_args()
    simda = args.data / "stratosphere-zeek" / "005-zeek-scenario-malicious" / "dns.log"
    zed = args.data / "zed-sample-data-zeek" / "zeek-json" / "dns.json.gz"
    if simda.is_file():
        simda_quality(simda)
    if zed.is_file():
        benign_corpus(zed)
    mixed = args.data / "stratosphere-zeek" / "008-zeek-mixed" / "data" / "conn.log.labeled"
    if mixed.is_file():
        transfer_quality(mixed)
    cost()


if __name__ == "__main__":
    main()
