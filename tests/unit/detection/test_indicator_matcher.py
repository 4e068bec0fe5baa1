import time
from datetime import UTC, datetime

from mimamori.detection import DetectorContext, build_engine
from mimamori.detection.indicators import Indicator, IndicatorDetector, IndicatorSet
from mimamori.detection.indicators import candidates as cands
from mimamori.detection.indicators.scan import NameScan
from mimamori.domain import Event, Fields, Severity

T = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
IND = IndicatorSet.from_indicators(
    [Indicator("203.0.113.66", "ip", "C2"), Indicator("malware-cdn.example", "domain", "dist")]
)


def event(dataset: str, **fields: str | int) -> Event:
    data: Fields = {k.replace("_", "."): v for k, v in fields.items()}
    return Event(T, "tenant-a", dataset, data, "sensor-1")


def detect(*events: Event) -> list:  # type: ignore[type-arg]
    return list(IndicatorDetector(IND).detect(events))


def test_allowed_outbound_connection_to_c2_is_high_and_names_the_internal_host() -> None:
    (finding,) = detect(
        event(
            "fortigate.traffic",
            source_ip="192.168.1.5",
            destination_ip="203.0.113.66",
            event_outcome="success",
            host_name="PC-XP-01",
        )
    )
    assert finding.severity is Severity.HIGH
    assert finding.host == "PC-XP-01"
    assert finding.source_ip == "192.168.1.5"
    assert finding.destination_ip == "203.0.113.66"
    assert finding.key == "ip:203.0.113.66"
    assert finding.evidence["indicator.value"] == "203.0.113.66"
    assert "attack.command-and-control" in finding.tags


def test_blocked_connection_is_low() -> None:
    (finding,) = detect(
        event(
            "fortigate.traffic",
            source_ip="192.168.1.5",
            destination_ip="203.0.113.66",
            event_outcome="failure",
        )
    )
    assert finding.severity is Severity.LOW
    assert finding.title.startswith("Blocked")


def test_inbound_from_listed_ip_names_the_internal_destination() -> None:
    (finding,) = detect(event("fortigate.traffic", source_ip="203.0.113.66", destination_ip="192.168.1.9"))
    assert finding.host == "192.168.1.9"
    assert finding.severity is Severity.HIGH


def test_dns_lookup_of_listed_subdomain_is_medium() -> None:
    (finding,) = detect(
        event(
            "zeek.dns",
            source_ip="192.168.1.5",
            destination_ip="192.168.1.1",
            dns_question_name="x.malware-cdn.example",
        )
    )
    assert finding.severity is Severity.MEDIUM
    assert finding.key == "domain:malware-cdn.example"


def test_benign_events_and_empty_sets_yield_nothing() -> None:
    benign = event(
        "fortigate.traffic",
        source_ip="192.168.1.5",
        destination_ip="13.107.42.14",
        url_domain="www.microsoft.com",
    )
    assert detect(benign) == []
    assert list(IndicatorDetector(IndicatorSet()).detect([benign])) == []


def test_engine_keeps_running_when_a_detector_fails() -> None:
    class Broken:
        name = "broken"

        def detect(self, events):  # type: ignore[no-untyped-def]
            raise RuntimeError("bug")

    engine = build_engine(DetectorContext(indicators=IND))
    engine.detectors.insert(0, Broken())
    hits = engine.run([event("fortigate.traffic", source_ip="192.168.1.5", destination_ip="203.0.113.66")])
    assert len(hits) == 1
    assert engine.errors == {"broken": 1}


# -- grown with issue 5: more types, allowlist, expiry, sightings and observed values ------------------
def test_titles_exist_for_every_context_kind_and_direction() -> None:
    from mimamori.detection.indicators.presentation import KINDS, TITLES

    for context in ("connection", "blocked", "retro"):
        for kind in set(KINDS.values()):
            for outbound in (True, False):
                assert "%(value)s" in TITLES[(context, kind, outbound)]


def test_hash_ja3_and_mail_hits_with_their_severities() -> None:
    found = IndicatorSet.from_indicators(
        [
            Indicator("ab" * 32, "sha256", threat="Emotet"),
            Indicator("72a589da586844d7f0818ce684948eea", "ja3", threat="Tofsee"),
            Indicator("phish.example", "email_domain"),
        ]
    )
    file_hit, ja3_hit, mail_hit = IndicatorDetector(found).detect(
        [
            event(
                "zeek.files",
                source_ip="198.51.100.7",
                destination_ip="192.168.1.20",
                file_hash_sha256="AB" * 32,
            ),
            event(
                "zeek.ssl",
                source_ip="192.168.1.21",
                destination_ip="198.51.100.8",
                tls_client_ja3="72a589da586844d7f0818ce684948eea",
            ),
            event(
                "fortigate.utm.emailfilter",
                source_ip="10.1.100.11",
                destination_ip="172.18.62.158",
                email_from_address="Invoice@Phish.Example",
            ),
        ]
    )
    assert (file_hit.severity, file_hit.key) == (Severity.HIGH, "sha256:" + "ab" * 32)
    assert file_hit.device_ip == "192.168.1.20"  # the PC that received the file
    assert file_hit.title.startswith("Transfer of a known malicious file")
    assert ja3_hit.severity is Severity.MEDIUM
    assert mail_hit.severity is Severity.MEDIUM
    assert mail_hit.evidence["indicator.type"] == "email_domain"


def test_allowlisted_and_expired_values_raise_nothing_but_are_still_observed() -> None:
    from mimamori.detection.indicators import Allowlist

    past = datetime(2020, 1, 1, tzinfo=UTC)
    found = IndicatorSet.from_indicators(
        [
            Indicator("203.0.113.66", "ip"),
            Indicator("cdn.example", "domain"),
            Indicator("198.51.100.1", "ip", expires_at=past),
        ]
    )
    found.allowlist = Allowlist(
        None, {"tenant-a": IndicatorSet.from_indicators([Indicator("cdn.example", "domain", "our CDN")])}
    )
    detector = IndicatorDetector(found)
    hits = list(
        detector.detect(
            [
                event(
                    "zeek.dns",
                    source_ip="192.168.1.5",
                    destination_ip="192.168.1.1",
                    dns_question_name="img.cdn.example",
                ),
                event("zeek.conn", source_ip="192.168.1.5", destination_ip="198.51.100.1"),
            ]
        )
    )
    assert hits == []
    sightings, observations = detector.recorder.drain()
    assert sightings == {}
    assert {(k[2], k[3]) for k in observations} == {("domain", "img.cdn.example"), ("ip", "198.51.100.1")}


def test_sightings_and_observations_are_aggregated_per_tenant_day_and_value() -> None:
    detector = IndicatorDetector(IND)
    batch = [
        event(
            "fortigate.traffic",
            source_ip="192.168.1.5",
            destination_ip="203.0.113.66",
            event_outcome="success",
        )
        for _ in range(3)
    ] + [event("fortigate.traffic", source_ip="192.168.1.6", destination_ip="192.168.1.7")]
    assert len(list(detector.detect(batch))) == 3
    sightings, observations = detector.recorder.drain()
    (key,) = sightings
    assert key == ("tenant-a", T.date(), "ip", "203.0.113.66")
    assert sightings[key].count == 3
    (okey,) = observations  # LAN-to-LAN traffic is not recorded
    assert observations[okey].count == 3
    assert observations[okey].device == "192.168.1.5"
    assert observations[okey].allowed is True
    assert detector.recorder.drain() == ({}, {})


def test_hostile_field_values_never_raise() -> None:
    weird: list[Fields] = [
        {"destination.ip": 5, "source.ip": ["x"], "dns.question.name": 3},
        {"destination.ip": "", "url.original": "http://" + "a" * 5000, "url.domain": "\x00"},
        {"url.original": "/x", "url.domain": "a b"},
        {"tls.server.name": ".", "dns.question.name": "." * 300, "email.from.address": "@"},
        {"file.hash.md5": "zz" * 16, "tls.client.ja3": None, "suricata.tls.fingerprint": ":" * 80},  # type: ignore[dict-item]
        {"destination.ip": "999.1.1.1", "source.ip": "fe80::1%eth0"},
    ]
    found = IndicatorSet.from_indicators(
        [Indicator("198.51.100.0/24", "cidr"), Indicator("a.example", "domain")]
    )
    detector = IndicatorDetector(found)
    assert list(detector.detect([Event(T, "t", "x", f) for f in weird])) == []


def test_an_address_blocked_once_and_allowed_later_counts_as_let_through() -> None:
    detector = IndicatorDetector(IndicatorSet())
    list(
        detector.detect(
            [
                event(
                    "fortigate.traffic",
                    source_ip="192.168.1.5",
                    destination_ip="198.51.100.9",
                    event_outcome="failure",
                ),
                event(
                    "fortigate.traffic",
                    source_ip="192.168.1.5",
                    destination_ip="198.51.100.9",
                    event_outcome="success",
                ),
            ]
        )
    )
    _, observations = detector.recorder.drain()
    (tally,) = observations.values()
    assert (tally.count, tally.allowed, tally.device) == (2, True, "192.168.1.5")


def test_rare_events_skip_only_address_lookups_that_cannot_hit() -> None:
    """``rare_lookups`` leaves out unlisted, unranged addresses: findings, sightings and observations must
    be exactly those of looking every candidate up (differential over random events)."""
    import random

    import pytest

    from mimamori.detection.indicators import matcher

    store = IndicatorSet.from_indicators(
        [
            Indicator("203.0.113.66", "ip", "C2"),
            Indicator("198.51.100.0/24", "cidr", "C2 range"),
            Indicator("malware-cdn.example", "domain", "dist"),
            Indicator("d41d8cd98f00b204e9800998ecf8427e", "md5", "dropper"),
        ]
    )
    addresses = ["203.0.113.66", "198.51.100.7", "192.0.2.1", "10.0.0.5", "192.168.1.9", "", "::1", "x"]
    names = ["malware-cdn.example", "a.malware-cdn.example", "example.org", "203.0.113.66", "bad."]
    rng = random.Random(5)
    events = []
    for n in range(3000):
        data: Fields = {}
        for name, pool in (("source.ip", addresses), ("destination.ip", addresses)):
            if rng.random() < 0.9:
                data[name] = rng.choice(pool)
        for name in ("dns.question.name", "url.domain", "tls.server.name"):
            if rng.random() < 0.3:
                data[name] = rng.choice(names)
        if rng.random() < 0.2:
            data["file.hash.md5"] = rng.choice(["d41d8cd98f00b204e9800998ecf8427e", "0" * 32])
        if rng.random() < 0.2:
            data["event.outcome"] = rng.choice(["success", "failure"])
        events.append(Event(T, f"tenant-{n % 3}", "zeek.dns", data, "sensor-1"))

    def run() -> tuple[list[object], object]:
        detector = IndicatorDetector(store)
        findings = [(f.key, f.severity, f.title, f.evidence) for f in detector.detect(events)]
        return findings, detector.recorder.drain()

    fast = run()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(matcher, "rare_lookups", lambda fields, *_: matcher.candidates(fields))
        reference = run()
    assert fast == reference
    assert fast[0]  # the sample does hit


def _reference_rare_candidates(fields: Fields) -> list[object]:
    """``rare_candidates`` as it was written before it looked at the present names only."""
    from mimamori.detection.indicators import values as v

    found: list[object] = []
    get = fields.get
    original = get("url.original")
    if isinstance(original, str) and len(original) <= cands.MAX_VALUE:
        domain = get("url.domain")
        url = v.event_url(domain if isinstance(domain, str) else None, original)
        if url is not None:
            found.append((v.URL, url, True, "url.original"))
    seen = ""
    for name in cands.DOMAIN_FIELDS:
        value = get(name)
        if isinstance(value, str) and value and value != seen and len(value) <= v.MAX_DOMAIN:
            seen = value
            name_value = value.lower().rstrip(".") if not value.islower() or value.endswith(".") else value
            if "." in name_value and not cands.ip_like(name_value):
                found.append((v.DOMAIN, name_value, True, name))
    for name, kind in cands.HASH_FIELDS:
        value = get(name)
        if isinstance(value, str) and len(value) == v.HEX_LENGTHS[kind]:
            found.append((kind, value.lower(), False, name))
    ja3 = get("tls.client.ja3")
    if isinstance(ja3, str) and len(ja3) == v.HEX_LENGTHS[v.JA3]:
        found.append((v.JA3, ja3.lower(), True, "tls.client.ja3"))
    for name in cands.CERT_FIELDS:
        value = get(name)
        if isinstance(value, str) and len(value) <= 64:
            cert = value.replace(":", "").lower()
            if len(cert) == v.HEX_LENGTHS[v.X509_SHA1]:
                found.append((v.X509_SHA1, cert, True, name))
                break
    for name in cands.MAIL_FIELDS:
        value = get(name)
        if isinstance(value, str) and "@" in value and len(value) <= v.MAX_EMAIL:
            found.append((v.EMAIL, value.strip().strip("<>").lower(), False, name))
            break
    return found


def test_rare_candidates_match_the_reference_on_random_fields() -> None:
    import random

    from mimamori.detection.indicators import matcher

    names = sorted(matcher.RARE_FIELDS | {"url.domain", "source.ip", "x"})
    values: list[object] = [
        "Evil.Example.", "evil.example", "10.0.0.1", "", "a" * 32, "A" * 40, "b" * 64, "aa:" * 19 + "aa",
        "<Bad@Evil.Example>", "http://evil.example/x?y", "/path", 5, None, ["x"], "x" * 5000,
    ]  # fmt: skip
    rng = random.Random(9)
    for _ in range(20_000):
        fields: Fields = {n: rng.choice(values) for n in rng.sample(names, rng.randint(0, 8))}  # type: ignore[misc]
        assert cands.rare_candidates(fields) == _reference_rare_candidates(fields)


def test_address_scan_in_c_is_scan_addresses() -> None:
    """``_speedups.address_scan`` (when built) must tally the same addresses and pick the same events as
    ``scan_addresses``, and ``detect`` must give the same findings and records either way."""
    import random
    from datetime import timedelta

    import pytest

    from mimamori.detection.indicators import matcher
    from mimamori.parsers import _native

    if _native.address_scan is None:
        pytest.skip("C speedups not built, or MIMAMORI_PURE=1")

    class Text(str):
        """A str subclass: the exact-type tests must treat it as the Python code does."""

    ranged = IndicatorSet.from_indicators(
        [
            Indicator("203.0.113.66", "ip", "C2"),
            Indicator("198.51.100.0/24", "cidr", "C2 range"),
            Indicator("malware-cdn.example", "domain", "dist"),
        ]
    )
    plain = IndicatorSet.from_indicators(
        [Indicator("203.0.113.66", "ip", "C2"), Indicator("gone.example", "domain", "expired", expires_at=T)]
    )
    pool: list[object] = [
        "203.0.113.66", "198.51.100.7", "192.0.2.1", "192.0.2.2", "10.0.0.5", "192.168.1.9", "", "::1",
        "not an ip", 5, None, ["x"], Text("203.0.113.66"), Text("192.0.2.1"),
    ]  # fmt: skip
    NAMES = [
        "malware-cdn.example", "a.b.Malware-CDN.example.", "example.org", "EXAMPLE.ORG..", "gone.example",
        "x.gone.example", "example", "10.0.0.1", "1.2.3.4.", "fe80::1", "", "...", "名前.example",
        "x" * 254 + ".example", Text("malware-cdn.example"), 7, None, ["example.org"], "cdn.example",
    ]  # fmt: skip
    rng = random.Random(17)
    batches = []
    for _ in range(40):
        batch = []
        for n in range(rng.randint(0, 300)):
            data: dict[str, object] = {}
            for name in ("source.ip", "destination.ip"):
                if rng.random() < 0.9:
                    data[name] = rng.choice(pool)
            if rng.random() < 0.3:
                data[
                    rng.choice(["dns.question.name", "dns.question.name", "url.domain", "tls.server.name"])
                ] = rng.choice(NAMES)
            if rng.random() < 0.05:
                data[rng.choice(["url.original", "file.hash.md5", "dns.question.name"])] = rng.choice(NAMES)
            if rng.random() < 0.5:
                data["event.outcome"] = rng.choice(["success", "failure", 1, None])
            when = T + timedelta(seconds=rng.randint(-5, 5))
            batch.append(Event(when, f"tenant-{n % 3}", "fortigate.traffic", data, "sensor-1"))  # type: ignore[arg-type]
        batches.append(batch)

    for store in (ranged, plain):
        in_ranges = store.in_ranges if store.cidrs else None
        ips = store.tables["ip"]
        for observe in (True, False):
            for batch in batches:
                for with_names in (False, True):
                    expected: dict[tuple[str, str], list[object]] = {}
                    native: dict[tuple[str, str], list[object]] = {}
                    names = NameScan(store, time.time()) if with_names else None
                    names_c = NameScan(store, names.now) if names is not None else None
                    codes = matcher.scan_addresses(batch, ips, in_ranges, expected, observe, names=names)
                    assert (
                        _native.address_scan(
                            batch, ips, matcher.LOCAL_CACHE, matcher.is_local, in_ranges,
                            matcher.RARE_FIELDS, native, observe,
                            store.range_cache if rng.random() < 0.7 else None,
                            *([names_c.native()] if names_c is not None else []),
                        )
                        == codes
                    )  # fmt: skip
                    assert native == expected
                    if names is not None and names_c is not None:
                        assert names_c.out == names.out

    def run(store: IndicatorSet) -> tuple[list[object], object]:
        detector = IndicatorDetector(store)
        findings = [(f.key, f.severity, f.evidence) for batch in batches for f in detector.detect(batch)]
        return findings, detector.recorder.drain()

    for store in (ranged, plain):
        fast = run(store)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(matcher, "_address_scan", None)
            assert run(store) == fast
        assert fast[0]


def test_one_name_events_settled_in_the_scan_give_what_the_full_path_gives() -> None:
    """A DNS-style event settled by the scan (``scan._one_name``, in C or Python) must leave the same
    findings, sightings and observations as the full per-event path (within one UTC day: the scan
    counts a name on its first occurrence's day, as it does addresses)."""
    import random
    from datetime import timedelta

    import pytest

    from mimamori.detection.indicators import matcher, scan
    from mimamori.detection.indicators.recorder import Tally

    store = IndicatorSet.from_indicators(
        [
            Indicator("malware-cdn.example", "domain", "dist"),
            Indicator("evil.example", "domain", "parent"),
            Indicator("gone.example", "domain", "expired", expires_at=T),
            Indicator("203.0.113.66", "ip", "C2"),
            Indicator("198.51.100.0/24", "cidr", "range"),
        ]
    )
    names = [
        "malware-cdn.example", "www.evil.example", "EVIL.example.", "gone.example", "ok.example",
        "Mail.Example.ORG", "example", "192.0.2.1", "a.b.c.d.example", "名前.example", "",
    ]  # fmt: skip
    addresses = ["192.168.1.5", "10.0.0.9", "203.0.113.66", "198.51.100.7", "192.0.2.1", "8.8.8.8", None]
    rng = random.Random(5)
    batches = [
        [
            Event(
                T + timedelta(seconds=rng.randint(0, 3000)),
                f"tenant-{rng.randint(0, 2)}",
                "zeek.dns",
                {
                    k: val
                    for k, val in {
                        "source.ip": rng.choice(addresses),
                        "destination.ip": rng.choice(addresses),
                        rng.choice(["dns.question.name", "url.domain", "tls.server.name"]): rng.choice(names),
                        "event.outcome": rng.choice(["success", "failure", None]),
                    }.items()
                    if val is not None
                },
                "sensor-1",
            )
            for _ in range(rng.randint(1, 200))
        ]
        for _ in range(30)
    ]

    # The device of an observation is an internal address that showed the value: which one may differ
    # (events settled by the scan are tallied before those of the full path), the rest may not.
    witnesses: dict[tuple[str, str], set[object]] = {}
    for batch in batches:
        for event in batch:
            for field in ("dns.question.name", "url.domain", "tls.server.name"):
                value = event.fields.get(field)
                if isinstance(value, str):
                    name = value.lower().rstrip(".")
                    witnesses.setdefault((event.tenant_id, name), set()).add(
                        matcher.internal_side(event.fields)
                    )

    def tallies(table: dict[object, Tally]) -> dict[object, tuple[object, ...]]:
        out: dict[object, tuple[object, ...]] = {}
        for key, t in table.items():
            tenant, _, kind, value = key  # type: ignore[misc]
            device: object = t.device
            if kind == "domain":
                assert device in witnesses[(tenant, value)]
                device = device is not None
            out[key] = (t.first, t.last, t.count, device, t.allowed)
        return out

    def run() -> tuple[object, ...]:
        detector = IndicatorDetector(store)
        findings = [(f.key, f.severity, f.title, f.evidence) for b in batches for f in detector.detect(b)]
        sightings, observations = detector.recorder.drain()
        return findings, tallies(sightings), tallies(observations)

    fast = run()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(matcher, "_address_scan", None)
        assert run() == fast  # the Python scan settles the same events
        patch.setattr(scan, "_one_name", lambda *_: False)
        assert run() == fast  # the full per-event path
    assert fast[0]
    assert any(key[2] == "domain" for key in fast[2])  # type: ignore[index]
