"""One spelling per value: what feeds list and what events carry must meet in one key."""

from __future__ import annotations

import pytest

from mimamori.detection.indicators import values as v


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("ip", " 192.0.2.1 ", ("ip", "192.0.2.1")),
        ("ipv6", "2001:DB8::0:1", ("ip", "2001:db8::1")),
        ("cidr", "198.51.100.7/24", ("cidr", "198.51.100.0/24")),
        ("cidr", "198.51.100.7/32", ("ip", "198.51.100.7")),
        ("domain", "*.Evil.Example.", ("domain", "evil.example")),
        ("hostname", "例え.jp", ("domain", "xn--r8jz45g.jp")),
        ("url", "HTTP://Evil.Example:80/a/B.exe?x=1#frag", ("url", "evil.example/a/B.exe?x=1")),
        ("url", "https://evil.example:8443", ("url", "evil.example:8443/")),
        ("url", "evil.example/x", ("url", "evil.example/x")),
        ("url", "http://[2001:db8::1]/x", ("url", "[2001:db8::1]/x")),
        ("sha-256", "AB" * 32, ("sha256", "ab" * 32)),
        (
            "x509_sha1",
            "22:0E:91:8F:FB:D0:F8:82:C9:79:4C:7F:B9:5A:8A:EA:7F:CA:58:B6",
            ("x509_sha1", "220e918ffbd0f882c9794c7fb95a8aea7fca58b6"),
        ),
        ("email", "<Invoice@Phish.Example>", ("email", "invoice@phish.example")),
        ("email_domain", "@Phish.Example", ("email_domain", "phish.example")),
    ],
)
def test_normalise(kind: str, raw: str, expected: tuple[str, str]) -> None:
    assert v.normalise(kind, raw) == expected


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        ("ip", "300.1.1.1"),
        ("domain", "localhost"),
        ("domain", "a b.example"),
        ("domain", "1.2.3.4"),
        ("domain", "x" * 300 + ".example"),
        ("url", "http:///nohost"),
        ("url", "http://a.example:99999/"),
        ("md5", "xyz"),
        ("sha1", "ab" * 32),
        ("email", "no-at.example"),
        ("weird", "x"),
        ("ip", ""),
    ],
)
def test_normalise_refuses_with_value_error(kind: str, raw: str) -> None:
    with pytest.raises(ValueError):
        v.normalise(kind, raw)


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("192.0.2.1", "ip"),
        ("192.0.2.0/24", "cidr"),
        ("http://a.example/", "url"),
        ("a@b.example", "email"),
        ("d41d8cd98f00b204e9800998ecf8427e", "md5"),
        ("da39a3ee5e6b4b0d3255bfef95601890afd80709", "sha1"),
        ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256"),
        ("evil.example", "domain"),
    ],
)
def test_guess(raw: str, kind: str) -> None:
    assert v.guess(raw) == kind


def test_event_url_joins_domain_and_path_and_reads_absolute_urls() -> None:
    assert v.event_url("Evil.Example", "/a?b=1") == "evil.example/a?b=1"
    assert v.event_url(None, "http://evil.example:80/a") == "evil.example/a"
    assert v.event_url(None, "/a") is None
    assert v.event_url("bad host", "/a") is None
