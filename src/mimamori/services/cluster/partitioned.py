"""Behaviour state per bus partition, so that a partition's state can move between workers.

A scale-out worker owns some of the bus's partitions (``raw.<p>``; a tenant always hashes to the same
one). The behaviour detectors are stateful per tenant (beacon timings, failure bursts, device
baselines), so each owned partition gets its own :class:`BehaviourDetector`: when a partition moves,
its state is saved by the old owner (``revoke``) and restored by the new one (``assign``) as one
snapshot, in the format of ``BehaviourDetector.snapshot``. State that the behaviours keep across tenants
(e.g. how many tenants use a destination) is therefore counted per partition.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from mimamori.detection.behaviours import BehaviourDetector, BehaviourPolicy
from mimamori.detection.engine import DetectionEngine
from mimamori.domain import Event, Finding

__all__ = ["PartitionedBehaviours"]


class PartitionedBehaviours:
    """A detector that runs one ``BehaviourDetector`` per owned partition (thread-safe)."""

    name = BehaviourDetector.name

    def __init__(self, template: BehaviourDetector, partition_of: Callable[[str], int]) -> None:
        self.policy = template.policy
        self.enabled = {b.name for b in template.behaviours}
        self.partition_of = partition_of
        self.errors: dict[str, int] = {}
        self._detectors: dict[int, BehaviourDetector] = {}
        self._lock = threading.Lock()

    @classmethod
    def replace_in(
        cls, engine: DetectionEngine, partition_of: Callable[[str], int]
    ) -> PartitionedBehaviours | None:
        """Swap the engine's behaviour detector for a partitioned one (None when behaviours are off)."""
        for index, detector in enumerate(engine.detectors):
            if isinstance(detector, BehaviourDetector):
                partitioned = cls(detector, partition_of)
                engine.detectors[index] = partitioned
                return partitioned
        return None

    def _fresh(self) -> BehaviourDetector:
        return BehaviourDetector.build(self.policy, self.enabled)

    @property
    def partitions(self) -> list[int]:
        with self._lock:
            return sorted(self._detectors)

    def assign(self, partition: int, snapshot: Mapping[str, Any] | None) -> int:
        """Take ``partition`` on, continuing from ``snapshot`` when given; returns behaviours restored."""
        detector = self._fresh()
        restored = detector.restore(snapshot) if snapshot is not None else 0
        with self._lock:
            self._detectors[partition] = detector
        return restored

    def revoke(self, partition: int) -> dict[str, Any] | None:
        """Give ``partition`` up; returns its last state (None if it was not held)."""
        with self._lock:
            detector = self._detectors.pop(partition, None)
            return detector.snapshot() if detector is not None else None

    def snapshot(self, partition: int) -> dict[str, Any] | None:
        with self._lock:
            detector = self._detectors.get(partition)
            return detector.snapshot() if detector is not None else None

    def update_policy(self, policy: BehaviourPolicy) -> None:
        """New per-tenant thresholds, applied by every partition's detector at its next batch."""
        with self._lock:
            self.policy = policy
            for detector in self._detectors.values():
                detector.update_policy(policy)

    def detect(self, events: Sequence[Event]) -> Iterator[Finding]:
        groups: dict[int, list[Event]] = {}
        partition_of = self.partition_of
        of: dict[str, list[Event]] = {}  # a batch holds few tenants: hash each once
        for event in events:
            group = of.get(event.tenant_id)
            if group is None:
                group = of[event.tenant_id] = groups.setdefault(partition_of(event.tenant_id), [])
            group.append(event)
        found: list[Finding] = []
        with self._lock:
            for partition, group in groups.items():
                detector = self._detectors.get(partition)
                if detector is None:  # not announced (e.g. a test or a race with assign): start fresh
                    detector = self._detectors[partition] = self._fresh()
                found.extend(detector.detect(group))
                for name, count in detector.errors.items():
                    self.errors[name] = max(self.errors.get(name, 0), count)
        yield from found
