"""Signed acknowledgement links: valid, tampered, foreign key, expired."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from mimamori.errors import AuthError
from mimamori.notify.links import AckClaim, ack_token, ack_url, read_ack

SECRET = "s" * 40


def test_round_trip_and_url() -> None:
    claim = AckClaim("tenant1", "incident1", "contact:c1")
    assert read_ack(SECRET, ack_token(SECRET, claim)) == claim
    url = ack_url("https://portal.example/", SECRET, claim)
    assert url.startswith("https://portal.example/ack/")
    assert read_ack(SECRET, url.rsplit("/", 1)[1]) == claim


def test_tampered_or_foreign_tokens_are_refused() -> None:
    token = ack_token(SECRET, AckClaim("tenant1", "incident1", "contact:c1"))
    for bad in (
        token[:-2] + "xx",
        "x" + token,
        ack_token("o" * 40, AckClaim("tenant1", "incident1", "c")),
        "",
        "a" * 5000,
    ):
        with pytest.raises(AuthError):
            read_ack(SECRET, bad)


def test_expired_tokens_are_refused() -> None:
    token = ack_token(SECRET, AckClaim("t", "i", "r"))
    time.sleep(1.1)
    with pytest.raises(AuthError, match="expired"):
        read_ack(SECRET, token, max_age=timedelta(seconds=0))
