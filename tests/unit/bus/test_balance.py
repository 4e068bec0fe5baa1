"""The load-balancing rule of the partition leases (mimamori.bus.balance), without a server."""

from __future__ import annotations

import random

import pytest

from mimamori.bus.balance import decode_weights, encode_weights, plan_moves


def apply(weights: dict[str, dict[int, float]], me: str, moves: list[tuple[int, str]]) -> None:
    for p, to in moves:
        weights[to][p] = weights[me].pop(p)


def totals(weights: dict[str, dict[int, float]]) -> dict[str, float]:
    return {w: sum(parts.values()) for w, parts in weights.items()}


def test_weights_round_trip_and_garbage_reads_as_nothing() -> None:
    assert decode_weights(encode_weights({3: 12.25, 0: 1.0}), 8) == {0: 1.0, 3: 12.2}
    for value in (None, b"", b"8", b"[1]", b'{"w": 3}', b'{"w": {"x": 1}}', b"\xff"):
        assert decode_weights(value, 8) == {}
    # Out-of-range partitions, negative, infinite or non-numeric weights are dropped one by one.
    raw = b'{"w": {"1": 2, "9": 5, "2": -1, "3": "7", "4": 1e999, "5": true, "-1": 3}}'
    assert decode_weights(raw, 8) == {1: 2.0, 5: 1.0}


def test_an_idle_cluster_splits_by_count() -> None:
    weights: dict[str, dict[int, float]] = {"a": dict.fromkeys(range(8), 1.0), "b": {}}
    apply(weights, "a", plan_moves("a", weights, set(range(8))))
    assert len(weights["a"]) == len(weights["b"]) == 4
    assert plan_moves("a", weights, set(weights["a"])) == []
    assert plan_moves("b", weights, set(weights["b"])) == []


def test_three_workers_end_within_one_partition_of_each_other() -> None:
    weights: dict[str, dict[int, float]] = {"a": dict.fromkeys(range(16), 1.0), "b": {}, "c": {}}
    for _ in range(10):  # each worker decides in turn, as their rounds interleave
        for me in ("a", "b", "c"):
            apply(weights, me, plan_moves(me, weights, set(weights[me])))
    counts = sorted(len(parts) for parts in weights.values())
    assert counts == [5, 5, 6]


def test_a_heavy_worker_hands_over_the_partitions_that_even_the_pair_out() -> None:
    # Count-balanced, but a's partitions hold most of the records (one big tenant in partition 0).
    weights = {
        "a": {0: 6001.0, 1: 1001.0, 2: 1.0, 3: 1.0},
        "b": {4: 501.0, 5: 501.0, 6: 1.0, 7: 1.0},
    }
    moves = plan_moves("a", weights, {0, 1, 2, 3})
    assert moves == [(1, "b"), (2, "b"), (3, "b")]
    apply(weights, "a", moves)
    load = totals(weights)
    assert max(load.values()) == 6001.0  # partition 0 alone outweighs the rest: it stays where it is
    assert plan_moves("b", weights, set(weights["b"])) == []  # b, now lighter, gives nothing back


def test_the_lighter_or_a_nearly_even_worker_gives_nothing() -> None:
    weights = {"a": {0: 1100.0, 1: 1000.0}, "b": {2: 1000.0, 3: 900.0}}  # within the tolerance
    assert plan_moves("a", weights, {0, 1}) == []
    assert plan_moves("b", weights, {2, 3}) == []
    assert plan_moves("a", {"a": {0: 5.0}}, {0}) == []  # alone
    assert plan_moves("a", {"a": {0: 900.0, 1: 900.0}, "b": {}}, set()) == []  # nothing movable yet


def test_moves_only_name_movable_partitions_and_live_workers() -> None:
    weights = {"a": {0: 500.0, 1: 500.0, 2: 500.0}, "b": {3: 10.0}, "c": {4: 900.0}}
    moves = plan_moves("a", weights, {1, 2})
    assert moves
    assert {p for p, _ in moves} <= {1, 2}
    assert {to for _, to in moves} <= {"b", "c"}


@pytest.mark.parametrize("seed", range(20))
def test_random_clusters_converge_to_a_fair_split_without_moving_forever(seed: int) -> None:
    rng = random.Random(seed)
    names = [f"w{i}" for i in range(rng.randint(2, 5))]
    weights: dict[str, dict[int, float]] = {name: {} for name in names}
    for p in range(32):  # tenants of very different sizes, placed at random
        weights[rng.choice(names)][p] = 1.0 + rng.paretovariate(1.2) * 100
    rounds = 0
    while True:
        moved = False
        for me in names:
            moves = plan_moves(me, weights, set(weights[me]))
            apply(weights, me, moves)
            moved |= bool(moves)
        rounds += 1
        if not moved:
            break
        assert rounds < 50, "the moves do not settle"
    load = totals(weights)
    heaviest = max(names, key=lambda name: load[name])
    heavy, light = load[heaviest], min(load.values())
    # Settled: the heaviest is within the tolerance of the lightest, or each of its partitions weighs at
    # least the gap (moving any would make the receiver the heavier one).
    assert heavy - light <= max(0.2 * heavy, 1.5) or min(weights[heaviest].values()) >= heavy - light
