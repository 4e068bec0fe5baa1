"""Behaviour state per bus partition: it travels with the partition from one worker to the next."""

from __future__ import annotations

from tests.unit.detection.behaviours.test_brute_force import windows

from mimamori.detection.behaviours import BehaviourDetector, BehaviourPolicy
from mimamori.detection.engine import DetectionEngine
from mimamori.domain import Event
from mimamori.services.cluster.partitioned import PartitionedBehaviours
from mimamori.services.cluster.worker import decode_state, encode_state


def _in(tenant: str, events: list[Event]) -> list[Event]:
    return [Event(e.timestamp, tenant, e.dataset, e.fields) for e in events]


def _detector() -> PartitionedBehaviours:
    engine = DetectionEngine([BehaviourDetector.build(BehaviourPolicy())])
    partitioned = PartitionedBehaviours.replace_in(engine, lambda tenant: 0 if tenant == "t1" else 1)
    assert partitioned is not None
    assert engine.detectors == [partitioned]
    return partitioned


def burst() -> tuple[list[Event], list[Event]]:
    failures = [windows(i * 5.0, "4625", user=f"user{i % 3}") for i in range(30)]
    return failures[:15], [*failures[15:], windows(200.0, "4624")]


def test_state_moves_with_the_partition_and_the_attack_is_still_seen() -> None:
    first, rest = burst()
    old_owner, new_owner = _detector(), _detector()
    old_owner.assign(0, None)
    list(old_owner.detect(_in("t1", first)))
    saved = decode_state(encode_state(old_owner.revoke(0) or {}))
    assert old_owner.partitions == []
    assert new_owner.assign(0, saved) > 0
    carried = {f.key: f.evidence.get("failures_in_window") for f in new_owner.detect(_in("t1", rest))}
    fresh = _detector()
    fresh.assign(0, None)
    alone = {f.key: f.evidence.get("failures_in_window") for f in fresh.detect(_in("t1", rest))}
    assert "brute_force:success" in carried
    assert carried != alone  # what the first owner saw counts


def test_partitions_keep_separate_state() -> None:
    first, rest = burst()
    detector = _detector()
    detector.assign(0, None)
    detector.assign(1, None)
    list(detector.detect(_in("t1", first)))
    # The second half for a tenant of the other partition starts from nothing there.
    other = [f.evidence.get("failures_in_window") for f in detector.detect(_in("t2", rest))]
    same = [f.evidence.get("failures_in_window") for f in detector.detect(_in("t1", rest))]
    assert other != same
    assert detector.partitions == [0, 1]


def test_unreadable_saved_state_starts_fresh() -> None:
    assert decode_state(b"not gzip") is None
    assert decode_state(encode_state({"huge": 2**70})) == {"huge": 2**70}  # beyond 64 bits: stdlib JSON
    assert decode_state(encode_state({"version": 1})) == {"version": 1}
    detector = _detector()
    assert detector.assign(3, decode_state(b"\x1f\x8b garbage")) == 0
    assert detector.revoke(3) is not None
    assert detector.revoke(3) is None
