"""The guidance catalogue: complete in ja and en, jargon-free for the clerk, never empty."""

from __future__ import annotations

import re

import pytest

from mimamori.triage.categories import CATEGORY_PRIORITY, DETECTOR_CATEGORIES, TACTICS
from mimamori.triage.guidance import (
    LANGUAGES,
    MAX_STEPS,
    PLAIN_FIELDS,
    catalogue,
    friendly_name,
    guidance_keys,
    render,
    render_entry,
    translations,
)
from mimamori.triage.guidance_pot import messages

# Terms a general-affairs clerk would not understand. A term is allowed only when explained right after
# it in brackets, e.g. "サーバー（インターネット上のコンピューター）".
BANNED = (
    "C2",
    "C&C",
    "IoC",
    "IOC",
    "DNS",
    "UTM",
    "EDR",
    "SIEM",
    "SOC",
    "IP",
    "TCP",
    "SMTP",
    "VPN",
    "VLAN",
    "MAC",
    "OS",
    "EOL",
    "ATT&CK",
    "TTP",
    "payload",
    "exploit",
    "lateral",
    "beacon",
    "forensic",
    "endpoint",
    "malware",
    "ransomware",
    "phishing",
    "vulnerability",
    "incident",
    "indicator",
    "domain",
    "proxy",
    "マルウェア",
    "ランサムウェア",
    "フィッシング",
    "ビーコン",
    "フォレンジック",
    "ペイロード",
    "エクスプロイト",
    "ラテラル",
    "エンドポイント",
    "脆弱性",
    "インシデント",
    "ドメイン",
    "プロキシ",
    "IPアドレス",
    "マルウエア",
    "C&Cサーバ",
    "ボット",
    "トロイ",
)
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
FIELDS = {"device", "time", "value", "count", "detector", "key"}


def unexplained(term: str, text: str) -> bool:
    pattern = re.compile(rf"(?<![A-Za-z]){re.escape(term)}(?![A-Za-z])", re.IGNORECASE)
    return any(not text[m.end() :].lstrip().startswith(("(", "（")) for m in pattern.finditer(text))


def plain_texts(language: str) -> list[tuple[str, str]]:
    out = []
    for entry in catalogue().entries:
        for field in PLAIN_FIELDS:
            value = getattr(entry, field)
            for message in value if isinstance(value, tuple) else (value,):
                out.append((f"{entry.id}.{field}", render(message, language)))
    return out


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_banned_jargon_in_what_the_clerk_reads(language: str) -> None:
    bad = [
        (where, term) for where, text in plain_texts(language) for term in BANNED if unexplained(term, text)
    ]
    assert bad == []


def test_the_jargon_check_can_fail() -> None:
    assert unexplained("DNS", "The DNS lookup failed")
    assert not unexplained("DNS", "DNS（名前を住所に変える仕組み）で")
    assert not unexplained("IP", "Wi-Fi and SHIPPING")


def test_every_message_has_a_japanese_translation_with_the_same_placeholders() -> None:
    ja = translations("ja")
    for message in messages():
        translated = ja.gettext(message)
        assert translated != message or message in {"PC"}, f"untranslated: {message!r}"
        assert set(PLACEHOLDER.findall(translated)) == set(PLACEHOLDER.findall(message)), message


def test_entries_are_well_formed() -> None:
    cat = catalogue()
    assert cat.version
    ids = [e.id for e in cat.entries]
    assert len(ids) == len(set(ids))
    for entry in cat.entries:
        assert 1 <= len(entry.steps) <= MAX_STEPS, entry.id
        for message in entry.messages():
            assert set(PLACEHOLDER.findall(message)) <= FIELDS, (entry.id, message)


@pytest.mark.parametrize(
    "keys",
    [
        [f"category:{c}" for c in CATEGORY_PRIORITY],
        *[[f"category:{c}"] for c in CATEGORY_PRIORITY],
        *[[f"detector:{d}"] for d in DETECTOR_CATEGORIES],
        *[[f"tactic:{t}"] for t in TACTICS],
        ["detector:not-yet-written"],
        [],
    ],
)
def test_every_detection_type_gets_a_non_empty_text_in_both_languages(keys: list[str]) -> None:
    entry = catalogue().find(keys)
    values = {"device": "PC-01", "time": "2026-11-26 10:00", "value": "x", "count": 3}
    for language in LANGUAGES:
        text = render_entry(entry, language, values)
        assert all(text[f] for f in ("what", "why", "provider", "call", "technical"))
        assert 1 <= len(text["steps"]) <= MAX_STEPS
        assert "%(" not in str(text)


def test_specific_entries_win_over_generic_ones() -> None:
    assert catalogue().find(guidance_keys(["indicator"], ["c2"], [], blocked=False)).id == "c2"
    assert catalogue().find(guidance_keys(["indicator"], ["c2"], [], blocked=True)).id == "blocked"
    assert catalogue().find(guidance_keys(["beacon"], ["beaconing"], [], blocked=False)).id == "c2"
    assert catalogue().find(guidance_keys(["x"], ["suspicious"], [], blocked=False)).id == "generic"


def test_friendly_names_and_hostile_values() -> None:
    assert friendly_name("PC-KEIRI-03", None, "ja") == "経理のパソコン PC-KEIRI-03"
    assert friendly_name("PC-KEIRI-03", None, "en") == "the accounting PC PC-KEIRI-03"
    assert friendly_name("NB-EIGYO-01", None, "ja") == "営業のノートパソコン NB-EIGYO-01"
    assert friendly_name(None, "192.168.1.5", "ja") == "名前の分からない機器（192.168.1.5）"
    entry = catalogue().find(["category:c2"])
    nasty = {"device": "%(x)s" + "A" * 10_000, "time": "\n\r%s%d"}
    text = render_entry(entry, "ja", nasty)
    assert len(text["what"]) < 400
    assert "-" in text["technical"]  # a missing value shows as "-"
