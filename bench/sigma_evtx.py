"""Benchmark: the Sigma engine over the EVTX corpus, EVTX decoding and parsing included, one core.

    python bench/sigma_evtx.py --rules ../shared/data/sigma/rules/windows \\
        --evtx ../shared/data/evtx-attack-samples [--events 40000] [--naive-events 1500]

Loads and compiles the rules (timed, printed, excluded from the rates), then passes over the EVTX files
with the product's reader (``mimamori.ingest.readers.evtx.read``: the C chunk decoder, the Rust ``evtx``
package for any chunk it leaves) and parser
(``mimamori.parsers.evtx.parse``), matching every event against the whole ruleset, until at least
``--events`` events: the ``pipeline`` rate. Then, on the parsed events kept from the first pass: the
decode+parse rate alone (the floor), the match-only rate (indexed), the Sysmon process-creation events
alone (the hardest bucket: ~1,200 rules before the prefilter), and the naive one-rule-at-a-time
evaluation (``match_naive``) next to the indexed one over the same first ``--naive-events`` events, for
the ratio. Rates are per CPU second of this process (``time.process_time``): the machine is shared, and
wall time counts the other tenants' work too. Then where the match time goes (index and view, prefilter,
evaluation of the candidates) and the candidates per event, on the mixed corpus and on Sysmon process
creations. Prints a table, then as the LAST line one JSON object.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from mimamori.detection.sigma import CompiledRuleset, compile_ruleset, load_rules
from mimamori.detection.sigma.ruleset import _event_key
from mimamori.detection.sigma.view import EventView
from mimamori.domain.models import FieldValue, RawRecord
from mimamori.errors import ParseError
from mimamori.ingest.readers import evtx as reader
from mimamori.parsers.evtx import parse

RECEIVED_AT = datetime(2026, 11, 26, 12, tzinfo=UTC)
Fields = Mapping[str, FieldValue]
Match = Callable[[Fields], Sequence[object]]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def pipeline(paths: Sequence[Path], match: Match, target: int) -> dict[str, float]:
    """Decode, parse and match file after file, in passes, until ``target`` events."""
    events = matches = passes = 0
    clock = time.process_time
    started = clock()
    while events < target:
        passes += 1
        for path in paths:
            try:
                records = reader.read(path)
                for _, data in records:
                    try:
                        event = parse(RawRecord("t", "s", "evtx", data, RECEIVED_AT))
                    except ParseError:
                        continue
                    if event is not None:
                        events += 1
                        matches += len(match(event.fields))
            except Exception as exc:  # a damaged sample is skipped, as the importer does
                print(f"skipped {path.name}: {exc}", file=sys.stderr)
    return {"events": events, "seconds": clock() - started, "matches": matches, "passes": passes}


def timed(events: Sequence[Fields], match: Match, target: int) -> dict[str, float]:
    """Match pre-parsed events in passes until ``target``."""
    done = matches = 0
    clock = time.process_time
    started = clock()
    while done < target and events:
        for fields in events:
            matches += len(match(fields))
        done += len(events)
    return {"events": done, "seconds": clock() - started, "matches": matches}


def stages(ruleset: CompiledRuleset, events: Sequence[Fields]) -> dict[str, float]:
    """Where one event's match time goes: index + view, prefilter (``candidates``), evaluation of the
    candidates; and how many candidates per event. Uses the ruleset's internals (``_bucket``, ``_run``):
    a profile of ``match``, not another way to match."""
    clock = time.process_time
    index = prefilter = evaluate = 0.0
    candidates = 0
    for fields in events:
        started = clock()
        key = _event_key(fields)
        bucket = ruleset._bucket(key) if key is not None else None
        view = EventView(fields)
        found = clock()
        chosen = bucket.candidates(view) if bucket is not None else []
        checked = clock()
        ruleset._run(chosen, view)
        done = clock()
        index += found - started
        prefilter += checked - found
        evaluate += done - checked
        candidates += len(chosen)
    n = max(1, len(events))
    return {
        "index_us": 1e6 * index / n,
        "prefilter_us": 1e6 * prefilter / n,
        "evaluate_us": 1e6 * evaluate / n,
        "candidates": candidates / n,
    }


def corpus(paths: Sequence[Path]) -> list[Fields]:
    out: list[Fields] = []
    for path in paths:
        try:
            for _, data in reader.read(path):
                try:
                    event = parse(RawRecord("t", "s", "evtx", data, RECEIVED_AT))
                except ParseError:
                    continue
                if event is not None:
                    out.append(event.fields)
        except Exception:
            continue
    return out


def _is_sysmon(fields: Fields) -> bool:
    return str(fields.get("winlog.channel", "")).lower() == "microsoft-windows-sysmon/operational"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=Path, required=True)
    parser.add_argument("--evtx", type=Path, required=True)
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--naive-events", type=int, default=1500)
    args = parser.parse_args()

    started = time.perf_counter()
    loaded = load_rules(args.rules)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    ruleset = compile_ruleset(loaded.rules)
    compile_s = time.perf_counter() - started
    print(
        f"rules: {len(loaded.rules)} loaded from {loaded.files} files ({len(loaded.skipped)} skipped) "
        f"in {load_s:.1f} s; {len(ruleset.rules)} compiled ({len(ruleset.skipped)} skipped) "
        f"in {compile_s:.1f} s"
    )

    paths = sorted(args.evtx.rglob("*.evtx"))
    events = corpus(paths)  # also warms the buckets (built on first sight) and the page cache
    for fields in events:
        ruleset.match(fields)
    sysmon1 = [f for f in events if f.get("winlog.event_id") == 1 and _is_sysmon(f)]
    gc.collect()
    gc.freeze()  # the corpus and the ruleset live to the end: keep the collector off them

    rows: list[tuple[str, dict[str, float]]] = []
    whole = pipeline(paths, ruleset.match, args.events)
    rows.append(("pipeline (decode+parse+match)", whole))
    rows.append(("decode+parse only", pipeline(paths, lambda fields: [], args.events)))
    rows.append(("match only", timed(events, ruleset.match, args.events)))
    rows.append(("sysmon 1 only, match", timed(sysmon1, ruleset.match, 10_000)))
    sample = events[:: max(1, len(events) // args.naive_events)][
        : args.naive_events
    ]  # spread over the corpus
    indexed = timed(sample, ruleset.match, len(sample))
    naive = timed(sample, ruleset.match_naive, len(sample))
    rows.append((f"indexed, {len(sample)} sampled", indexed))
    rows.append((f"naive, {len(sample)} sampled", naive))

    print(f"{'run':34} {'events':>8} {'seconds':>8} {'events/s':>10} {'µs/event':>9} {'matches':>8}")
    for name, row in rows:
        rate = row["events"] / row["seconds"] if row["seconds"] else 0.0
        print(
            f"{name:34} {row['events']:8.0f} {row['seconds']:8.2f} {rate:10.0f} "
            f"{1e6 / rate if rate else 0:9.1f} {row['matches']:8.0f}"
        )
    ratio = (indexed["events"] / indexed["seconds"]) / (naive["events"] / naive["seconds"])
    print(
        f"indexed / naive: {ratio:.0f}x (same events, same run); corpus {len(events)} events, "
        f"{len(sysmon1)} Sysmon process creations"
    )
    split = {"mixed": stages(ruleset, events), "sysmon1": stages(ruleset, sysmon1)}
    for name, row in split.items():
        print(
            f"{name:8} per event: index+view {row['index_us']:.1f} µs, prefilter "
            f"{row['prefilter_us']:.1f} µs, evaluation {row['evaluate_us']:.1f} µs; "
            f"{row['candidates']:.2f} candidate rules"
        )
    summary = {
        "events": whole["events"],
        "seconds": round(whole["seconds"], 3),
        "events_per_s": round(whole["events"] / whole["seconds"]),
        "decode_parse_events_per_s": round(rows[1][1]["events"] / rows[1][1]["seconds"]),
        "match_only_events_per_s": round(rows[2][1]["events"] / rows[2][1]["seconds"]),
        "sysmon1_events_per_s": round(rows[3][1]["events"] / rows[3][1]["seconds"]),
        "naive_events_per_s": round(naive["events"] / naive["seconds"]),
        "indexed_over_naive": round(ratio, 1),
        "rules": len(ruleset.rules),
        "load_seconds": round(load_s, 1),
        "compile_seconds": round(compile_s, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "candidates_per_event": round(split["mixed"]["candidates"], 2),
        "sysmon1_candidates_per_event": round(split["sysmon1"]["candidates"], 2),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
