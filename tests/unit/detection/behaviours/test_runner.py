"""The behaviour runner: isolation of failures, one snapshot for all, policy changes keep the state."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from mimamori.detection.behaviours import BEHAVIOURS, BehaviourDetector
from mimamori.detection.behaviours.base import BehaviourPolicy, BoundedMap, finding
from mimamori.domain import Event, Finding, Severity

NOW = datetime(2026, 11, 26, 1, tzinfo=UTC)


class Counting:
    """A minimal behaviour: counts events per tenant, fires at a per-tenant threshold."""

    name = "counting"

    def __init__(self, policy: BehaviourPolicy | None = None) -> None:
        self.policy = policy or BehaviourPolicy()
        self.counts: BoundedMap[str, list[int]] = BoundedMap(2)

    def accepts(self, event: Event) -> bool:
        return event.dataset.startswith("zeek.")

    def observe(self, event: Event) -> Iterable[Finding]:
        count = self.counts.setdefault(event.tenant_id, lambda: [0])
        count[0] += 1
        if count[0] == self.policy.value(event.tenant_id, self.name, "fire_at", 3):
            yield finding(
                self.name, event, key="k", title="t", severity=Severity.LOW, tags=(), evidence={"n": 3}
            )

    def snapshot(self) -> dict[str, Any]:
        return {tenant: value[0] for tenant, value in self.counts.items()}

    def restore(self, state: Mapping[str, Any]) -> None:
        for tenant, value in state.items():
            if isinstance(value, int):
                self.counts.setdefault(tenant, lambda: [0])[0] = value


class Broken(Counting):
    name = "broken"

    def observe(self, event: Event) -> Iterable[Finding]:
        raise RuntimeError("bug")

    def restore(self, state: Mapping[str, Any]) -> None:
        raise RuntimeError("bad state")


def events(tenant: str, n: int, dataset: str = "zeek.conn") -> list[Event]:
    return [Event(NOW, tenant, dataset, {"source.ip": "192.168.1.5"}) for _ in range(n)]


def test_a_failing_behaviour_does_not_blind_the_others() -> None:
    runner = BehaviourDetector([Broken(), Counting()])
    found = list(runner.detect(events("t1", 3) + events("t1", 5, "fortigate.traffic")))
    assert [f.detector for f in found] == ["counting"]
    assert runner.errors == {"broken": 1}


def test_snapshot_and_restore_continue_where_it_stopped() -> None:
    first = BehaviourDetector([Counting()])
    assert list(first.detect(events("t1", 2))) == []
    second = BehaviourDetector([Counting(), Broken()])
    assert second.restore(first.snapshot()) == 1  # the broken one starts fresh, the run goes on
    assert len(list(second.detect(events("t1", 1)))) == 1
    for junk in (
        {},
        {"version": 99},
        {"version": 1, "behaviours": "x"},
        {"version": 1, "behaviours": {"counting": 5}},
    ):
        assert BehaviourDetector([Counting()]).restore(junk) == 0


def test_policy_changes_apply_at_the_next_batch_and_keep_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(BEHAVIOURS, "counting", Counting)
    runner = BehaviourDetector.build(BehaviourPolicy(), {"counting"})
    assert list(runner.detect(events("t1", 2))) == []
    runner.update_policy(BehaviourPolicy(overrides={"t1": {"counting": {"fire_at": 4}}}))
    assert list(runner.detect(events("t1", 1))) == []  # 3 is no longer the threshold for t1
    assert len(list(runner.detect(events("t1", 1)))) == 1  # the count went on: 4


def test_bounded_map_evicts_the_least_recently_used() -> None:
    bounded: BoundedMap[str, int] = BoundedMap(2)
    bounded.setdefault("a", lambda: 1)
    bounded.setdefault("b", lambda: 2)
    bounded.get("a")
    bounded.setdefault("c", lambda: 3)
    assert "a" in bounded
    assert "c" in bounded
    assert "b" not in bounded
    assert bounded.evicted == 1
    assert len(bounded) == 2


def test_policy_values_keep_their_type() -> None:
    policy = BehaviourPolicy(overrides={"t": {"beacon": {"min": 12, "ratio": "high"}}})
    assert policy.value("t", "beacon", "min", 8) == 12
    assert policy.value("t", "beacon", "ratio", 0.5) == 0.5  # a string where a float is expected: default
    assert policy.value("other", "beacon", "min", 8) == 8


def test_whole_numbers_serve_float_thresholds() -> None:
    policy = BehaviourPolicy(overrides={"t": {"beacon": {"min_span_seconds": 900}}})
    assert policy.value("t", "beacon", "min_span_seconds", 600.0) == 900.0
    assert isinstance(policy.value("t", "beacon", "min_span_seconds", 600.0), float)


def test_every_behaviour_module_is_registered() -> None:
    import importlib
    import pkgutil

    from mimamori.detection import behaviours

    modules = {m.name for m in pkgutil.iter_modules(behaviours.__path__)} - {"base"}
    modules = {m for m in modules if not m.startswith("_")}
    registered = {factory.__module__.rsplit(".", 1)[1] for factory in BEHAVIOURS.values()}
    assert modules == registered
    for name in modules:  # each module's class carries the name it is registered under
        module = importlib.import_module(f"mimamori.detection.behaviours.{name}")
        assert any(getattr(module, "NAME", None) == key for key in BEHAVIOURS), name
