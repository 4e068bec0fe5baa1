"""Archive column conversion of hostile values."""

from __future__ import annotations

from typing import Any

import pytest

from mimamori.archive.columns import _port


@pytest.mark.parametrize("value", ["²", "٣", "-1", "", "x", True, -1, 2**40, None, 1.5])
def test_a_port_column_takes_only_plain_numbers(value: Any) -> None:
    assert _port(value) is None


def test_numbers_and_digit_text_are_ports() -> None:
    assert (_port(443), _port("8080")) == (443, 8080)
