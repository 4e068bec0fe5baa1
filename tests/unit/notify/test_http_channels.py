"""Webhook, Slack, Teams and telephone channels against a real HTTP receiver."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import pytest
from tests.notify_servers import HttpReceiver
from tests.unit.notify.samples import ACK, PORTAL, SCRIPT, delivery, digest, incident

from mimamori.errors import DeliveryError
from mimamori.notify.channels import CHANNELS, make_channel
from mimamori.notify.channels.base import ChannelSettings
from mimamori.notify.channels.slack import escape as slack_escape
from mimamori.notify.channels.teams import escape as teams_escape
from mimamori.notify.message import Branding, ChannelName, Fact, NoticeKind
from mimamori.notify.signing import verify

SECRET = "whsec-test-1"
SETTINGS = ChannelSettings(webhook_secret=SECRET, http_timeout=2.0, branding=Branding(name="Otasuke"))


def send(name: ChannelName, address: str, /, settings: ChannelSettings = SETTINGS, **kwargs: object) -> str:
    channel = make_channel(name, settings)
    try:
        return channel.send(delivery(name, address, **kwargs))  # type: ignore[arg-type]
    finally:
        channel.close()


def test_registry_has_every_channel() -> None:
    assert set(CHANNELS) == set(ChannelName)
    for name, factory in CHANNELS.items():
        channel = factory(SETTINGS)
        assert channel.name == name
        channel.close()


# ---- generic webhook ---------------------------------------------------------------------------------


def test_webhook_body_headers_and_signature(receiver: HttpReceiver) -> None:
    assert send(ChannelName.WEBHOOK, receiver.url + "/hook") == "HTTP 200"
    [request] = receiver.wait_for(1)
    assert request.method == "POST"
    assert request.path == "/hook"
    assert request.headers["content-type"].startswith("application/json")
    assert request.headers["idempotency-key"] == "key-1"
    assert request.headers["x-mimamori-event"] == "incident"
    signature = request.headers["x-mimamori-signature"]
    assert verify(SECRET, request.body, signature, now=time.time())
    assert not verify(SECRET, request.body.replace(b"high", b"low!"), signature, now=time.time())
    assert not verify("other-secret", request.body, signature, now=time.time())
    body = request.json()
    assert body["schema"] == "mimamori.notification/v1"
    assert body["idempotency_key"] == "key-1"
    assert body["attempt"] == 1
    notice = body["notice"]
    assert notice["kind"] == "incident"
    assert notice["severity"] == "high"
    assert notice["language"] == "ja"
    assert notice["ack_url"] == ACK
    assert notice["portal_url"] == PORTAL
    assert notice["steps"][0] == "LANケーブルを抜いてください"
    assert notice["facts"][0] == {"label": "機器", "value": "PC-KEIRI-01"}
    assert notice["tenant"] == {"id": "t-1", "name": "山田商事"}


def test_webhook_per_contact_secret_and_unsigned(receiver: HttpReceiver) -> None:
    send(ChannelName.WEBHOOK, receiver.url, secret="contact-secret")
    send(ChannelName.WEBHOOK, receiver.url, settings=replace(SETTINGS, webhook_secret=""))
    first, second = receiver.wait_for(2)
    assert verify("contact-secret", first.body, first.headers["x-mimamori-signature"], now=time.time())
    assert "x-mimamori-signature" not in second.headers


def test_webhook_idempotency_key_is_stable_across_attempts(receiver: HttpReceiver) -> None:
    receiver.statuses = [500]
    channel = make_channel(ChannelName.WEBHOOK, SETTINGS)
    try:
        with pytest.raises(DeliveryError) as caught:
            channel.send(delivery(ChannelName.WEBHOOK, receiver.url, key="k-7"))
        assert caught.value.retryable
        assert "HTTP 500" in str(caught.value)
        retry = replace(delivery(ChannelName.WEBHOOK, receiver.url, key="k-7"), attempt=2)
        assert channel.send(retry) == "HTTP 200"
    finally:
        channel.close()
    first, second = receiver.wait_for(2)
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"] == "k-7"
    assert second.json()["attempt"] == 2


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(500, True), (502, True), (503, True), (408, True), (429, True), (404, False), (400, False), (401, False),
     (410, False), (301, False)],
)  # fmt: skip
def test_http_status_outcomes(receiver: HttpReceiver, status: int, retryable: bool) -> None:
    receiver.status = status
    for name, address in ((ChannelName.WEBHOOK, receiver.url), (ChannelName.SLACK, receiver.url)):
        with pytest.raises(DeliveryError) as caught:
            send(name, address)
        assert caught.value.retryable is retryable
        assert f"HTTP {status}" in str(caught.value)


def test_receiver_down_then_back_on_the_same_port(receiver: HttpReceiver) -> None:
    receiver.stop()
    with pytest.raises(DeliveryError) as caught:
        send(ChannelName.WEBHOOK, receiver.url)
    assert caught.value.retryable
    receiver.start()
    assert send(ChannelName.WEBHOOK, receiver.url) == "HTTP 200"


def test_timeout_is_retryable(receiver: HttpReceiver) -> None:
    receiver.delay = 1.5
    with pytest.raises(DeliveryError) as caught:
        send(ChannelName.WEBHOOK, receiver.url, settings=replace(SETTINGS, http_timeout=0.3))
    assert caught.value.retryable
    assert "timeout" in str(caught.value).lower()


@pytest.mark.parametrize(
    "url", ["not a url", "ftp://example.com/x", "javascript:alert(1)", "/relative", "http://"]
)
def test_bad_urls_are_not_retryable(url: str) -> None:
    with pytest.raises(DeliveryError) as caught:
        send(ChannelName.WEBHOOK, url)
    assert not caught.value.retryable


# ---- Slack -------------------------------------------------------------------------------------------


def test_slack_payload_shape(receiver: HttpReceiver) -> None:
    send(ChannelName.SLACK, receiver.url + "/services/T/B/X", notice=incident("en"))
    body = receiver.wait_for(1)[0].json()
    assert body["text"].startswith("[Action needed · High] The accounting PC")
    types = [block["type"] for block in body["blocks"]]
    assert types[0] == "header"
    assert "actions" in types
    actions = next(b for b in body["blocks"] if b["type"] == "actions")["elements"]
    assert actions[0]["url"] == ACK
    assert actions[0]["text"]["text"] == "I have seen this"
    assert actions[0]["style"] == "primary"
    assert actions[1]["url"] == PORTAL
    fields = next(b for b in body["blocks"] if "fields" in b)["fields"]
    assert fields[0] == {"type": "mrkdwn", "text": "*Device*\nPC-KEIRI-01"}


def test_slack_escapes_mrkdwn(receiver: HttpReceiver) -> None:
    hostile = incident(
        "en",
        title="<!channel> pay now",
        summary="see <https://evil.example|your bank> & more",
        facts=(Fact("Device", f"PC {SCRIPT}"),),
    )
    send(ChannelName.SLACK, receiver.url, notice=hostile)
    raw = receiver.wait_for(1)[0].body.decode()
    body = json.loads(raw)
    mrkdwn = json.dumps([body["text"], *(b for b in body["blocks"] if b["type"] != "header")])
    assert "<!channel>" not in mrkdwn
    assert "&lt;!channel&gt;" in mrkdwn
    assert "<https://evil.example|" not in mrkdwn
    assert "&lt;hxxps://evil[.]example|your bank&gt; &amp; more" in mrkdwn  # escaped and defanged
    assert "<script>" not in mrkdwn
    assert body["blocks"][0]["text"] == {
        "type": "plain_text",
        "text": "<!channel> pay now",
    }  # plain_text: shown as is
    assert slack_escape("a&b<c>d") == "a&amp;b&lt;c&gt;d"


def test_slack_digest_links_only_safe_urls(receiver: HttpReceiver) -> None:
    send(ChannelName.SLACK, receiver.url, notice=digest("ja"))
    body = receiver.wait_for(1)[0].json()
    text = json.dumps(body, ensure_ascii=False)
    assert "<https://portal.example/incidents/inc-2|不審なログイン>" in text
    assert "javascript:" not in text


# ---- Teams -------------------------------------------------------------------------------------------


def test_teams_adaptive_card(receiver: HttpReceiver) -> None:
    assert send(ChannelName.TEAMS, receiver.url + "/workflows/x", notice=incident("ja")) == "HTTP 200"
    body = receiver.wait_for(1)[0].json()
    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["version"] == "1.4"
    assert card["actions"][0] == {
        "type": "Action.OpenUrl",
        "title": "確認しました",
        "url": ACK,
        "style": "positive",
    }
    facts = next(b for b in card["body"] if b["type"] == "FactSet")["facts"]
    assert facts[0] == {"title": "機器", "value": "PC-KEIRI-01"}
    texts = [b["text"] for b in card["body"] if b["type"] == "TextBlock"]
    assert any("1. LANケーブルを抜いてください\r2. " in t for t in texts)  # our numbering, a Markdown list


def test_teams_escapes_markdown(receiver: HttpReceiver) -> None:
    hostile = incident("en", title="[click](https://evil.example) **now** {{DATE(2017-02-14T06:08:39Z)}}")
    send(ChannelName.TEAMS, receiver.url, notice=hostile)
    card = receiver.wait_for(1)[0].json()["attachments"][0]["content"]
    title = card["body"][1]["text"]
    assert "[click](" not in title
    assert "**" not in title
    assert "{{" not in title
    assert title.startswith("\\[click\\]\\(hxxps://evil\\[.\\]example\\)")
    assert teams_escape("a_b*c") == "a\\_b\\*c"
    assert teams_escape("- item") == "\\- item"
    assert teams_escape("12. item") == "12\\. item"
    assert teams_escape("# big") == "\\# big"
    assert teams_escape("PC-01 v1.2") == "PC-01 v1.2"  # no noise where Markdown sees nothing


# ---- telephone ---------------------------------------------------------------------------------------


def phone_settings(receiver: HttpReceiver) -> ChannelSettings:
    return replace(SETTINGS, phone_url=receiver.url + "/call", phone_secret="phone-secret")


def test_phone_request_is_signed_and_complete(receiver: HttpReceiver) -> None:
    escalation = replace(incident("ja"), kind=NoticeKind.ESCALATION, escalation_step=3)
    send(
        ChannelName.PHONE,
        "+81 3-1234-5678",
        settings=phone_settings(receiver),
        notice=escalation,
        name="山田 太郎",
    )
    [request] = receiver.wait_for(1)
    assert request.path == "/call"
    assert verify("phone-secret", request.body, request.headers["x-mimamori-signature"], now=time.time())
    body = request.json()
    assert body["schema"] == "mimamori.phone/v1"
    assert body["to"] == "+81312345678"
    assert body["language"] == "ja"
    assert body["ack_url"] == ACK
    assert body["incident_id"] == "inc-1"
    assert body["idempotency_key"] == "key-1"
    assert body["escalation_step"] == 3
    assert body["contact_name"] == "山田 太郎"
    assert len(body["sms"]) <= 70
    assert "緊急度 高" in body["sms"]
    assert "Otasuke からの緊急連絡です。" in body["say"]


def test_phone_english_sms_limit(receiver: HttpReceiver) -> None:
    send(
        ChannelName.PHONE,
        "+14155550100",
        settings=phone_settings(receiver),
        notice=incident("en", title="y" * 300),
    )
    body = receiver.wait_for(1)[0].json()
    assert len(body["sms"]) == 160
    assert body["sms"].isascii()


@pytest.mark.parametrize(
    "number", ["0312345678", "+0123456789", "+81", "tel:+81312345678", "+8131234567890123"]
)
def test_phone_rejects_non_e164(receiver: HttpReceiver, number: str) -> None:
    with pytest.raises(DeliveryError) as caught:
        send(ChannelName.PHONE, number, settings=phone_settings(receiver))
    assert not caught.value.retryable
    assert receiver.requests == []


def test_phone_without_settings_is_retryable_config_error() -> None:
    with pytest.raises(DeliveryError, match="phone_url") as caught:
        send(ChannelName.PHONE, "+81312345678")
    assert caught.value.retryable


def test_phone_server_error_is_retryable(receiver: HttpReceiver) -> None:
    receiver.statuses = [503]
    with pytest.raises(DeliveryError) as caught:
        send(ChannelName.PHONE, "+81312345678", settings=phone_settings(receiver))
    assert caught.value.retryable
    assert send(ChannelName.PHONE, "+81312345678", settings=phone_settings(receiver)) == "HTTP 200"


def test_memory_channel_records_and_fails_on_demand() -> None:
    from mimamori.notify.channels.base import Channel
    from mimamori.notify.channels.memory import MemoryChannel

    memory = MemoryChannel(ChannelName.WEBHOOK, failures=[DeliveryError("down"), None])
    channel: Channel = memory
    with pytest.raises(DeliveryError, match="down"):
        channel.send(delivery(ChannelName.WEBHOOK, "x", key="a"))
    assert channel.send(delivery(ChannelName.WEBHOOK, "x", key="a")) == "stored #1"
    assert channel.send(delivery(ChannelName.WEBHOOK, "x", key="b")) == "stored #2"
    assert memory.keys() == ["a", "b"]
    channel.close()
    assert memory.closed


def test_non_ascii_idempotency_key_is_sent_percent_encoded(receiver: HttpReceiver) -> None:
    assert send(ChannelName.WEBHOOK, receiver.url, key="鍵\r\n1") == "HTTP 200"
    request = receiver.wait_for(1)[0]
    assert request.headers["idempotency-key"] == "%E9%8D%B5%0D%0A1"
    assert request.json()["idempotency_key"] == "鍵\r\n1"  # the body keeps the exact key
