"""Feed value helpers on hostile text."""

from __future__ import annotations

import pytest

from mimamori.feeds.base import int_or_none, when


@pytest.mark.parametrize("text", ["²", "٣", "①", "1²"])  # str.isdigit() is True for some; int() refuses them
def test_unicode_digits_are_not_numbers(text: str) -> None:
    assert when(text) is None
    assert int_or_none(text) is None


def test_ascii_digits_are() -> None:
    assert int_or_none(" 42 ") == 42
    assert when("0") is not None
