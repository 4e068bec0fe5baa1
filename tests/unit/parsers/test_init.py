"""The parser table: complete, explicit, and the single entry point ``parse_record``."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import mimamori.parsers
from mimamori.errors import ParseError
from mimamori.parsers import PARSERS, parse_record

from .conftest import check_event, record


def test_every_parser_module_is_in_the_table() -> None:
    # Private helpers (``_json``, ``_device``...) are shared code, not formats.
    modules = [m.name for m in pkgutil.iter_modules(mimamori.parsers.__path__) if not m.name.startswith("_")]
    assert modules
    for name in modules:
        module = importlib.import_module(f"mimamori.parsers.{name}")
        assert PARSERS[module.FORMAT] is module.parse, name
    assert len(PARSERS) == len(modules)


def test_parse_record_dispatches_on_format() -> None:
    event = parse_record(record("syslog", b"<13>Mar  1 10:00:00 host app: hello"))
    check_event(event)
    assert event is not None
    assert event.dataset == "syslog"


def test_unknown_format_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="unknown format"):
        parse_record(record("no-such-format", b"x"))
