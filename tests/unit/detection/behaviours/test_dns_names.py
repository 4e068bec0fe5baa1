"""_dns_names: what one DNS query name says by itself (dns_anomaly's cached name judgements)."""

from __future__ import annotations

from mimamori.detection.behaviours import _dns_names as names


def test_judge_name_computes_once_what_the_checks_read() -> None:
    assert names.judge_name("printer.local") is None
    assert names.judge_name("localhost") is None
    assert names.judge_name("d1234.cloudfront.net") is None  # allowed for every tenant
    www = names.judge_name("WWW.Yamada.CO.JP.")
    assert www is not None
    assert (www.name, www.domain, www.subdomain, www.encoded) == (
        "www.yamada.co.jp",
        "yamada.co.jp",
        "",
        False,
    )
    assert www.score == names.NOT_JUDGED  # "yamada": too repetitive to be judged random
    data = "a" * 30 + "." + "b" * 20 + ".evil.example"
    tunnel = names.judge_name(data)
    assert tunnel is not None
    assert tunnel.encoded
    assert tunnel.subdomain == data[: -len(".evil.example")]
    simda = names.judge_name("qekynuq.com")
    assert simda is not None
    assert simda.score >= names.DGA_SCORE


def test_distinct_table_matches_the_estimate() -> None:
    for bits in (0, 1, 100, 255, 256):
        assert names._DISTINCT[bits] == names._distinct((1 << bits) - 1)
