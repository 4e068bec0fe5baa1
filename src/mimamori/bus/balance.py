"""Which partitions a worker hands to another so that the workers carry equal work.

Each worker heartbeats the *weight* of every partition it owns: ``1 + work``, where work is the records
it expects to process for that partition soon (its backlog in the stream plus its recent rate times a
horizon, see :meth:`mimamori.bus.consumer.PartitionFetcher.work`). The 1 makes an idle cluster balance by
partition count; under load the records dominate, so one heavy tenant's partition counts for what it
costs, not as one of P. Tenants are hashed to partitions, and a provider's customers differ in size, so
an even split by count can leave one worker with most of the work.

:func:`plan_moves` is what one worker decides from the weights it read: if it carries clearly more than
the lightest worker (``tolerance`` of its load, and at least :data:`MIN_GAP`), it gives the lightest the
partition that makes the pair most even, again and again while that lowers its load below what it was.
Only the heavier side gives; the receiver claims what was named for it (a hint in the lease bucket).
The rule is pure and deterministic so that it can be tested without a server.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Mapping

__all__ = ["MIN_GAP", "decode_weights", "encode_weights", "plan_moves", "valid_worker_id"]

MIN_GAP = 1.5  # in weight units: an idle cluster moves a partition when counts differ by two
_WORKER_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # a KV key and part of every Nats-Msg-Id


def encode_weights(weights: Mapping[int, float]) -> bytes:
    """A heartbeat value: the weight of each owned partition."""
    return json.dumps({"w": {str(p): round(w, 1) for p, w in sorted(weights.items())}}).encode()


def decode_weights(value: bytes | None, partitions: int) -> dict[int, float]:
    """The weights in a heartbeat value; anything unreadable (another version, garbage) reads as none."""
    try:
        raw = json.loads(value or b"")
        items = raw["w"].items()
    except (ValueError, TypeError, KeyError, AttributeError):
        return {}
    out: dict[int, float] = {}
    for key, weight in items:
        if not (isinstance(key, str) and key.isascii() and key.isdigit() and len(key) < 9):
            continue
        p = int(key)
        if 0 <= p < partitions and isinstance(weight, int | float) and math.isfinite(weight) and weight >= 0:
            out[p] = float(weight)
    return out


def valid_worker_id(value: str) -> bool:
    """Whether ``value`` can name a worker (its heartbeat key, its messages' ids)."""
    return bool(_WORKER_ID.match(value))


def plan_moves(
    me: str,
    weights: Mapping[str, Mapping[int, float]],
    movable: Collection[int],
    tolerance: float = 0.2,
) -> list[tuple[int, str]]:
    """Partitions ``me`` should give away, each with the worker meant to take it (see the module doc).

    ``weights`` holds every live worker's partitions and their weights (``me`` included); only
    partitions in ``movable`` (held long enough to be measured) are given.
    """
    totals = {worker: sum(parts.values()) for worker, parts in weights.items()}
    if me not in totals or len(totals) < 2:
        return []
    mine = {p: w for p, w in weights[me].items() if p in movable}

    def lightest() -> str:
        return min((w for w in totals if w != me), key=lambda w: (totals[w], w))

    gap = totals[me] - totals[lightest()]
    if gap <= max(tolerance * totals[me], MIN_GAP):
        return []
    moves: list[tuple[int, str]] = []
    while mine:
        to = lightest()
        load, other = totals[me], totals[to]
        # The partition after whose move the heavier of the two carries least (ties: lower number).
        best = min(mine, key=lambda p: (max(load - mine[p], other + mine[p]), p))
        if max(load - mine[best], other + mine[best]) >= load:
            break  # no move makes the pair more even
        moves.append((best, to))
        weight = mine.pop(best)
        totals[me] -= weight
        totals[to] += weight
    return moves
