"""E-mail and chat rendering: both languages, every kind, branding, and hostile text made inert."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from tests.unit.notify.samples import ACK, INJECTION, PORTAL, SCRIPT, digest, every_kind, incident

from mimamori.notify.message import Branding, Fact, NoticeKind
from mimamori.notify.render import (
    DEFAULT_COLOR,
    defang,
    one_line,
    render_chat_text,
    render_email,
    render_phone,
    safe_url,
)

BRAND = Branding(
    name="おたすけ隊ネット",
    color="#aa3300",
    logo_url="https://cdn.example/logo.png",
    footer="TEL 03-1234-5678\n平日 9:00-18:00",
)


def test_japanese_incident_mail() -> None:
    mail = render_email(incident("ja"), BRAND)
    assert mail.subject == "【要対応・緊急度 高】経理のパソコンが危険なサイトと通信 - おたすけ隊ネット"
    for part in (mail.text, mail.html):
        assert "確認しました" in part
        assert "今すぐ行うこと" in part
        assert "山田商事" in part
        assert "TEL 03-1234-5678" in part
        assert "PC-KEIRI-01" in part
    assert "1. LANケーブルを抜いてください" in mail.text
    assert "3. お電話ください" in mail.text
    assert ACK in mail.text
    assert 'href="https://portal.example/ack/abc?sig=1&amp;t=2"' in mail.html
    assert "<ol" in mail.html
    assert mail.html.count("<li>") == 3
    assert "<th" in mail.html  # facts as a table
    assert "background:#aa3300" in mail.html
    assert 'src="https://cdn.example/logo.png"' in mail.html
    assert '<html lang="ja">' in mail.html


def test_english_incident_mail() -> None:
    mail = render_email(incident("en"), BRAND)
    assert (
        mail.subject
        == "[Action needed · High] The accounting PC talked to a dangerous site - おたすけ隊ネット"
    )
    assert "I have seen this" in mail.text
    assert "I have seen this" in mail.html
    assert "What to do now" in mail.html
    assert "1. Unplug the network cable" in mail.text
    assert not re.search(r"[\u3040-\u30ff]", mail.text.replace("おたすけ隊ネット", "").replace("平日", ""))


@pytest.mark.parametrize("language", ["ja", "en"])
def test_every_kind_renders_in_both_languages(language: str) -> None:
    for notice in every_kind(language):
        mail = render_email(notice, BRAND)
        assert "\n" not in mail.subject
        assert "\r" not in mail.subject
        assert mail.subject.endswith(" - おたすけ隊ネット")
        assert one_line(notice.title) in mail.text
        wants_ack = notice.kind in (NoticeKind.INCIDENT, NoticeKind.ESCALATION)
        ack_word = "確認しました" if language == "ja" else "I have seen this"
        assert (ack_word in mail.html) is wants_ack
        assert (ACK in mail.text) is wants_ack
        assert render_chat_text(notice)
        phone = render_phone(notice, BRAND)
        assert phone.say
        assert phone.sms


def test_severity_labels_and_kind_tags() -> None:
    assert render_email(incident("ja", severity="medium")).subject.startswith("【要対応・緊急度 中】")
    assert render_email(incident("ja", severity="low")).subject.startswith("【要対応・緊急度 低】")
    assert render_email(incident("en", severity="low")).subject.startswith("[Action needed · Low]")
    escalation = replace(incident("ja"), kind=NoticeKind.ESCALATION, escalation_step=1)
    mail = render_email(escalation)
    assert mail.subject.startswith("【未確認・再通知・緊急度 高】")
    assert "1 回目の再通知" in mail.text
    assert "1 回目の再通知" in mail.html
    assert render_email(digest("en")).subject.startswith("[Daily summary] ")
    assert render_email(incident("xx")).subject.startswith("【要対応")  # unknown language: Japanese


def test_digest_lists_items_with_links_and_drops_bad_links() -> None:
    mail = render_email(digest("ja"))
    assert "不審なログイン" in mail.text
    assert "PC-SOUMU-02" in mail.text
    assert "2026-11-26 10:30 JST" in mail.text
    assert 'href="https://portal.example/incidents/inc-2"' in mail.html
    assert "javascript:" not in mail.html
    assert "javascript:" not in mail.text
    assert "&lt;script&gt;" in mail.html
    assert SCRIPT not in mail.html
    empty = render_email(replace(digest("en"), items=()))
    assert "No incidents to report." in empty.text
    assert "No incidents to report." in empty.html


def test_header_injection_in_title_stays_one_line() -> None:
    mail = render_email(incident("ja", title=INJECTION, tenant_name="A\u2028B\x85C"), BRAND)
    assert "\r" not in mail.subject
    assert "\n" not in mail.subject
    assert "Bcc: victim@evil.example" in mail.subject  # shown as harmless text, on the same line
    assert "<b>body</b>" not in mail.html
    assert "&lt;b&gt;body&lt;/b&gt;" in mail.html
    assert "お客様: ABC" in mail.text  # line and paragraph separators removed, not turned into breaks


def test_script_in_device_name_is_inert_in_html() -> None:
    hostile = incident(
        "en",
        facts=(Fact(f"Device{SCRIPT}", f'PC"><img src=x onerror=alert(1)>{SCRIPT}'),),
        steps=(f"step {SCRIPT}",),
        summary=f"summary {SCRIPT}",
        tenant_name=SCRIPT,
    )
    html = render_email(hostile, replace(BRAND, name=SCRIPT, footer=SCRIPT)).html
    assert "<script>" not in html
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_branding_is_validated() -> None:
    bad = Branding(
        name="X", color="red;background:url(javascript:alert(1))", logo_url="http://insecure.example/l.png"
    )
    html = render_email(incident("ja"), bad).html
    assert f"background:{DEFAULT_COLOR}" in html
    assert "javascript" not in html
    assert "insecure.example" not in html  # logos only over https
    assert "<img" not in html
    plain = render_email(
        incident("ja", ack_url="javascript:alert(1)", portal_url=" https://x.example/a b")
    ).html
    assert "javascript" not in plain
    assert "x.example" not in plain


def test_bidi_and_control_characters_are_removed() -> None:
    assert one_line("a\u202eb\u200bc\x00d\x1b[31m") == "abcd[31m"
    assert one_line("x" * 500) == "x" * 199 + "…"
    assert safe_url("HTTPS://ok.example/x") == "HTTPS://ok.example/x"
    assert safe_url("https://ok.example/\u202ex") is None
    assert safe_url("ftp://x") is None
    assert safe_url(None) is None


def test_chat_text_carries_links_and_steps() -> None:
    text = render_chat_text(incident("en"))
    assert text.splitlines()[0] == "[Action needed · High] The accounting PC talked to a dangerous site"
    assert f"I have seen this: {ACK}" in text
    assert f"Open in the portal: {PORTAL}" in text
    assert "2. Do not change passwords yet" in text
    assert "Device: PC-KEIRI-01" in text


def test_phone_texts_fit_one_sms() -> None:
    long_ja = incident("ja", title="経理" * 100)
    long_en = incident("en", title="x" * 400)
    ja, en = render_phone(long_ja, BRAND), render_phone(long_en, Branding(name="Otasuke"))
    assert len(ja.sms) <= 70
    assert len(en.sms) <= 160
    assert len(en.sms) > 70
    assert "http" not in ja.say
    assert "http" not in ja.sms
    assert "おたすけ隊ネット からの緊急連絡です。" in ja.say
    assert "This is an urgent call from Otasuke." in en.say
    assert "acknowledge" in en.say
    assert len(render_phone(incident("en", title="非ASCII title " * 20)).sms) <= 70  # UCS-2 SMS


def test_urls_from_logs_are_defanged_but_our_links_stay() -> None:
    notice = incident(
        "ja",
        title="通信先 https://evil.example/login?x=1",
        facts=(Fact("URL", "HTTP://phish.example.co.jp/a"),),
        summary="see hxxps://already[.]defanged",
    )
    mail = render_email(notice)
    for part in (mail.subject, mail.text, mail.html):
        assert "https://evil.example" not in part
    assert "hxxps://evil[.]example/login?x=1" in mail.subject
    assert "hxxp://phish[.]example[.]co[.]jp/a" in mail.text
    assert "hxxps://already[.]defanged" in mail.text
    assert ACK in mail.text  # the acknowledgement and portal links are ours: untouched
    chat = render_chat_text(notice)
    assert "evil.example" not in chat
    assert PORTAL in chat
    assert defang("PC-KEIRI-01.corp.local") == "PC-KEIRI-01.corp.local"  # host names stay readable
