"""Property tests over every parser in ``PARSERS``: whatever bytes arrive, the result is an Event within
the model (allowed value types, aware UTC timestamp), ``None``, or ``ParseError`` — nothing else escapes.

One test per parser (so a slow or failing parser is named on its own), 10,000 deterministic examples
each (``derandomize``: CI sees the same inputs every run), drawn from three strategies:

- arbitrary bytes;
- mutations of the format's golden lines: byte flips, truncation, duplicated slices, inserted quotes,
  escapes, NULs, syntax characters, huge numbers and very long tokens;
- for formats whose golden lines are JSON: recursive JSON with random keys drawn from the real key
  names of every JSON golden file (vendor and ECS), values of the wrong types, and golden objects with
  some of their values replaced by such JSON.

Parsers registered later are covered automatically: the parameters come from ``PARSERS`` and the
golden directory ``tests/data/parsers/<format>/``.
"""

from __future__ import annotations

import json
import random
from functools import cache
from typing import Any

import orjson
import pytest
from bench.mutations import mutate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mimamori.errors import ParseError
from mimamori.parsers import PARSERS

from .conftest import DATA_DIR, check_event, record

EXAMPLES = 10_000
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(["", "0", "-1", "2024-03-01T00:00:00Z", "1709254800.5", "10.0.0.1", "::1", "N/A"]),
)


@cache
def golden_lines(fmt: str) -> tuple[bytes, ...]:
    lines: list[bytes] = []
    for path in sorted((DATA_DIR / fmt).glob("*.log")):
        lines.extend(line for line in path.read_bytes().splitlines() if line.strip())
    return tuple(lines) or (b"",)


def _keys(value: Any, out: set[str]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            out.add(key)
            _keys(inner, out)
    elif isinstance(value, list):
        for inner in value:
            _keys(inner, out)


@cache
def _json_objects(fmt: str) -> tuple[dict[str, Any], ...]:
    objects = []
    for line in golden_lines(fmt):
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(value, dict):
            objects.append(value)
    return tuple(objects)


@cache
def real_keys() -> tuple[str, ...]:
    """Every key of every JSON golden input, and every field name of every expected output (ECS)."""
    keys: set[str] = set()
    for fmt in sorted(p.name for p in DATA_DIR.iterdir() if p.is_dir()):
        for obj in _json_objects(fmt):
            _keys(obj, keys)
        for path in (DATA_DIR / fmt).glob("*.json"):
            for event in orjson.loads(path.read_bytes()):
                if isinstance(event, dict):
                    keys.update(event.get("fields", {}))
    return tuple(sorted(keys))


def is_json_format(fmt: str) -> bool:
    return bool(_json_objects(fmt))


def mutated(fmt: str) -> st.SearchStrategy[bytes]:
    """A golden line and a seed for its edits: two draws per example keep 10^4 examples cheap."""
    return st.builds(
        lambda line, seed: mutate(line, random.Random(seed)),
        st.sampled_from(golden_lines(fmt)),
        st.integers(0, 2**32),
    )


@cache
def json_values() -> st.SearchStrategy[Any]:
    keys = st.one_of(st.sampled_from(real_keys()), st.text(max_size=12))
    return st.recursive(
        JSON_SCALARS,
        lambda children: st.lists(children, max_size=3) | st.dictionaries(keys, children, max_size=4),
        max_leaves=6,
    )


@st.composite
def json_documents(draw: st.DrawFn, fmt: str) -> bytes:
    """A golden object with some values replaced (wrong types), or a random object of real keys."""
    objects = _json_objects(fmt)
    if draw(st.booleans()):
        doc: Any = draw(st.sampled_from(objects))
        doc = orjson.loads(orjson.dumps(doc))  # a private copy to edit
        for _ in range(draw(st.integers(1, 4))):
            target = doc
            while isinstance(target, dict) and target and draw(st.booleans()):
                inner = target[draw(st.sampled_from(sorted(target)))]
                if not isinstance(inner, dict):
                    break
                target = inner
            if isinstance(target, dict):
                key = draw(st.sampled_from(sorted(target) or ["x"]) | st.sampled_from(real_keys()))
                target[key] = draw(json_values())
    else:
        doc = draw(st.dictionaries(st.sampled_from(real_keys()), json_values(), max_size=6))
    return json.dumps(doc, ensure_ascii=False).encode()  # stdlib: integers beyond 64 bits too


def inputs(fmt: str) -> st.SearchStrategy[bytes]:
    strategies = [st.binary(max_size=400), mutated(fmt)]
    if is_json_format(fmt):
        strategies.append(json_documents(fmt))
    return st.one_of(*strategies)


def check(fmt: str, data: bytes) -> None:
    """The contract of ``PARSERS``: an Event within the model, ``None``, or ``ParseError``."""
    try:
        event = PARSERS[fmt](record(fmt, data))
    except ParseError:
        return
    check_event(event)


@pytest.mark.parametrize("fmt", sorted(PARSERS))
def test_only_events_none_or_parse_error(fmt: str) -> None:
    @FUZZ
    @given(data=inputs(fmt))
    def run(data: bytes) -> None:
        check(fmt, data)

    run()
