"""Webhook signatures: what we send verifies; any change to body, secret or time does not."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mimamori.notify.signing import sign, verify

BODY = b'{"schema":"mimamori.notification/v1","title":"\xe7\xb5\x8c\xe7\x90\x86"}'


def test_signature_round_trip_and_format() -> None:
    header = sign("s3cret", BODY, 1_800_000_000)
    assert header.startswith("t=1800000000,v1=")
    assert len(header.split("v1=")[1]) == 64
    assert verify("s3cret", BODY, header, now=1_800_000_010)
    assert verify(b"s3cret", BODY, header, now=1_800_000_010)


def test_altered_body_wrong_secret_or_old_timestamp_fail() -> None:
    header = sign("s3cret", BODY, 1_800_000_000)
    assert not verify("s3cret", BODY + b" ", header, now=1_800_000_000)
    assert not verify("other", BODY, header, now=1_800_000_000)
    assert not verify("s3cret", BODY, header, now=1_800_000_301)  # replayed later than the tolerance
    assert not verify("s3cret", BODY, header, now=1_799_999_000)
    assert verify("s3cret", BODY, header, now=1_800_000_301, tolerance=600)
    forged = header.replace("t=1800000000", "t=1800000100")  # a fresh time with the old digest
    assert not verify("s3cret", BODY, forged, now=1_800_000_100)


def test_rotation_accepts_any_matching_v1() -> None:
    old = sign("old", BODY, 1_800_000_000)
    new = sign("new", BODY, 1_800_000_000)
    both = f"{new},{old.split(',')[1]}"
    assert verify("old", BODY, both, now=1_800_000_000)
    assert verify("new", BODY, both, now=1_800_000_000)


def test_malformed_headers_are_just_invalid() -> None:
    for header in (None, "", "garbage", "t=,v1=", "v1=abc", "t=abc,v1=00", "t=1800000000", "t=1800000000,v1=zz",
                   "t=-5,v1=00", "t=1800000000,v1=" + "0" * 10_000, "t=１８００,v1=00"):  # fmt: skip
        assert verify("s3cret", BODY, header, now=1_800_000_000) is False
    assert not verify(
        "", BODY, sign("", BODY, 1_800_000_000), now=1_800_000_000
    )  # no secret: nothing verifies


@given(st.binary(max_size=200), st.text(min_size=1, max_size=30), st.text(max_size=80))
def test_verify_never_raises(body: bytes, secret: str, header: str) -> None:
    verify(secret, body, header, now=1_800_000_000)
    assert verify(secret, body, sign(secret, body, 1_800_000_000), now=1_800_000_000)
