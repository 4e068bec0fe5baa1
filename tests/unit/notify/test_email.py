"""The e-mail channel against a real SMTP server (aiosmtpd): TLS, AUTH, content, outcomes."""

from __future__ import annotations

from dataclasses import replace

import pytest
from tests.notify_servers import SmtpServer
from tests.unit.ingest.certificates import Pki
from tests.unit.notify.samples import ACK, INJECTION, SCRIPT, delivery, incident

from mimamori.errors import DeliveryError
from mimamori.notify.channels import CHANNELS
from mimamori.notify.channels.base import ChannelSettings
from mimamori.notify.channels.email import EmailChannel, check_address, message_id
from mimamori.notify.message import Branding, ChannelName, Notice

EMAIL = ChannelName.EMAIL
BRAND = Branding(name="おたすけ隊ネット", color="#123456", footer="TEL 03-1234-5678")


def mail(notice: Notice | None = None, to: str = "owner@customer.example", key: str = "key-1"):  # type: ignore[no-untyped-def]
    return delivery(EMAIL, to, notice, key)


def channel(server: SmtpServer, **overrides: object) -> EmailChannel:
    made = CHANNELS[EMAIL](server.settings(**{"branding": BRAND, **overrides}))
    assert isinstance(made, EmailChannel)
    return made


def test_starttls_and_auth_deliver_a_japanese_mail(smtp: SmtpServer) -> None:
    email = channel(smtp)
    try:
        result = email.send(mail())
    finally:
        email.close()
    assert result.startswith("250 ")
    [received] = smtp.wait_for(1)
    assert received.tls
    assert received.login == "alerts"
    assert received.mail_from == "alerts@provider.example"
    assert received.rcpt_tos == ("owner@customer.example",)
    message = received.message
    assert message["Subject"] == "【要対応・緊急度 高】経理のパソコンが危険なサイトと通信 - おたすけ隊ネット"
    assert message["From"].addresses[0].display_name == "おたすけ隊ネット"
    assert message["From"].addresses[0].addr_spec == "alerts@provider.example"
    assert message["To"] == "owner@customer.example"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Date"] is not None
    assert message["Content-Language"] == "ja"
    assert message.get_content_type() == "multipart/alternative"
    raw_subject = received.data.split(b"\r\n\r\n", 1)[0]
    assert b"=?utf-8?" in raw_subject  # the Japanese subject is RFC 2047 encoded, the headers stay ASCII
    assert raw_subject.isascii()
    text, html = received.part("plain"), received.part("html")
    assert "確認しました" in text
    assert ACK in text
    assert "確認しました" in html
    assert "background:#123456" in html
    assert "TEL 03-1234-5678" in text
    assert "TEL 03-1234-5678" in html


def test_english_mail_and_one_connection_for_many(smtp: SmtpServer) -> None:
    email = channel(smtp)
    try:
        for n in range(3):
            email.send(mail(incident("en"), key=f"k{n}"))
    finally:
        email.close()
    received = smtp.wait_for(3)
    assert received[0].message["Subject"].startswith("[Action needed · High] ")
    assert "I have seen this" in received[0].part("html")
    assert len({r.peer for r in received}) == 1  # one connection kept open across the three sends


def test_message_id_is_stable_per_idempotency_key(plain_smtp: SmtpServer) -> None:
    email = channel(plain_smtp)
    try:
        email.send(mail(key="same"))
        email.send(replace(mail(key="same"), attempt=2))
        email.send(mail(key="other"))
    finally:
        email.close()
    ids = [r.message["Message-ID"] for r in plain_smtp.wait_for(3)]
    assert ids[0] == ids[1] != ids[2]
    assert ids[0] == message_id("same", "alerts@provider.example")
    assert ids[0].endswith("@provider.example>")


def test_implicit_tls(pki: Pki) -> None:
    with SmtpServer(security="tls", pki=pki) as server:
        email = channel(server)
        try:
            assert email.send(mail()).startswith("250")
        finally:
            email.close()
        assert server.wait_for(1)[0].tls


def test_untrusted_certificate_is_refused_and_retryable(smtp: SmtpServer) -> None:
    email = channel(smtp, smtp_ca_file=None)  # the system CAs do not know the throwaway CA
    with pytest.raises(DeliveryError) as caught:
        email.send(mail())
    assert caught.value.retryable
    assert "SSL" in str(caught.value) or "certificate" in str(caught.value).lower()
    assert smtp.messages == []


def test_wrong_password_is_retryable_and_sends_nothing(smtp: SmtpServer) -> None:
    email = channel(smtp, smtp_password="wrong")
    with pytest.raises(DeliveryError) as caught:
        email.send(mail())
    assert caught.value.retryable
    assert "authentication" in str(caught.value)
    assert smtp.messages == []


def test_no_credentials_without_tls(plain_smtp: SmtpServer) -> None:
    email = channel(plain_smtp, smtp_username="alerts", smtp_password="pw-1")
    with pytest.raises(DeliveryError, match="without TLS"):
        email.send(mail())


def test_starttls_required_but_not_offered(plain_smtp: SmtpServer) -> None:
    email = channel(plain_smtp, smtp_security="starttls")
    with pytest.raises(DeliveryError, match="STARTTLS") as caught:
        email.send(mail())
    assert caught.value.retryable


def test_refused_recipient_is_not_retryable_deferred_is(smtp: SmtpServer) -> None:
    smtp.refuse.add("gone@customer.example")
    smtp.defer.add("busy@customer.example")
    email = channel(smtp)
    try:
        with pytest.raises(DeliveryError) as refused:
            email.send(mail(to="gone@customer.example"))
        assert not refused.value.retryable
        assert "550" in str(refused.value)
        with pytest.raises(DeliveryError) as deferred:
            email.send(mail(to="busy@customer.example"))
        assert deferred.value.retryable
        assert "450" in str(deferred.value)
        assert email.send(mail()).startswith("250")  # the connection is still usable after a refusal
    finally:
        email.close()
    assert [r.rcpt_tos for r in smtp.wait_for(1)] == [("owner@customer.example",)]


@pytest.mark.parametrize(
    "address",
    ["no-at-sign", "a@", "@b.example", "a b@c.example", "a@b.example\r\nBcc: x@evil.example", "a@-bad-.example",
     "a..b@c.example", "a@b@c.example", "名前@example.jp", "a@exa mple.com"],
)  # fmt: skip
def test_invalid_addresses_are_not_retryable(plain_smtp: SmtpServer, address: str) -> None:
    email = channel(plain_smtp)
    with pytest.raises(DeliveryError) as caught:
        email.send(mail(to=address))
    assert not caught.value.retryable
    assert plain_smtp.messages == []


def test_international_domain_is_encoded() -> None:
    assert check_address("info@例え.jp") == "info@xn--r8jz45g.jp"


def test_server_down_is_retryable_and_reconnects_on_the_same_port(plain_smtp: SmtpServer) -> None:
    email = channel(plain_smtp)
    try:
        email.send(mail(key="before"))
        plain_smtp.stop()  # the open connection is cut and nobody listens
        with pytest.raises(DeliveryError) as caught:
            email.send(mail(key="during"))
        assert caught.value.retryable
        plain_smtp.start()
        email.send(mail(key="during"))  # a fresh connection, same port
        plain_smtp.restart()  # the kept connection is dead now: reopened transparently
        email.send(mail(key="after"))
    finally:
        email.close()
    keys = [r.message["Message-ID"] for r in plain_smtp.wait_for(3)]
    assert keys == [message_id(k, "alerts@provider.example") for k in ("before", "during", "after")]


def test_nobody_listening_is_retryable() -> None:
    server = SmtpServer()  # never started: its port is free
    email = EmailChannel(ChannelSettings(smtp_host="127.0.0.1", smtp_port=server.port, smtp_security="none"))
    with pytest.raises(DeliveryError) as caught:
        email.send(mail())
    assert caught.value.retryable
    assert "refused" in str(caught.value).lower()


def test_header_injection_in_title_and_brand(plain_smtp: SmtpServer) -> None:
    email = channel(plain_smtp, branding=Branding(name="Evil\r\nBcc: brand@evil.example"))
    try:
        email.send(mail(incident("en", title=INJECTION, facts=())))
    finally:
        email.close()
    [received] = plain_smtp.wait_for(1)
    assert received.rcpt_tos == ("owner@customer.example",)
    assert received.message["Bcc"] is None
    headers = received.data.split(b"\r\n\r\n", 1)[0].decode()
    assert "\nBcc:" not in headers
    subject = received.message["Subject"]
    assert "\n" not in subject
    assert "Bcc: victim@evil.example" in subject
    assert "<b>body</b>" not in received.part("html")


def test_script_in_device_name_is_inert(plain_smtp: SmtpServer) -> None:
    from mimamori.notify.message import Fact

    email = channel(plain_smtp)
    try:
        email.send(mail(incident("ja", facts=(Fact("機器", f"PC-01{SCRIPT}"),))))
    finally:
        email.close()
    html = plain_smtp.wait_for(1)[0].part("html")
    assert "<script>" not in html
    assert "PC-01&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_wrong_channel_and_settings_validation() -> None:
    email = EmailChannel(ChannelSettings())
    with pytest.raises(DeliveryError) as caught:
        email.send(delivery(ChannelName.SLACK, "https://hooks.example/x"))
    assert not caught.value.retryable
    with pytest.raises(ValueError, match="smtp_security"):
        ChannelSettings(smtp_security="ssl")  # type: ignore[arg-type]
    email.close()
    email.close()  # idempotent


def test_the_built_message_reads_back_exactly_and_headers_cannot_be_broken() -> None:
    """``build_message``'s bytes (compat32 MIME classes) parse back with the modern parser to the same
    subject, sender, parts and text; text that looks like an encoded word is encoded, not passed on;
    long Japanese subjects are folded; a line break in a header value is refused."""
    from email import message_from_bytes, policy

    from mimamori.notify.channels.email import _set, build_message
    from mimamori.notify.render import render_email

    settings = ChannelSettings(smtp_from="alerts@provider.example", branding=BRAND)
    long_title = "経理のパソコンが危険なサイトと通信" * 8
    for notice in (
        incident("ja"),
        incident("en"),
        incident("ja", title=long_title),
        incident("en", title="=?utf-8?b?5b+c?= hi"),
    ):
        data = build_message(
            delivery(EMAIL, "owner@customer.example", notice), settings, "owner@customer.example"
        )
        head = data.split(b"\r\n\r\n", 1)[0]
        assert all(len(line) <= 998 for line in data.split(b"\r\n"))
        assert head.isascii()
        assert b"\n" not in data.replace(b"\r\n", b"")  # CRLF line ends only, as SMTP carries
        parsed = message_from_bytes(data, policy=policy.default)
        content = render_email(notice, BRAND)
        assert parsed["Subject"] == content.subject
        assert parsed["From"].addresses[0].display_name == "おたすけ隊ネット"
        assert parsed["From"].addresses[0].addr_spec == "alerts@provider.example"
        assert parsed.get_content_type() == "multipart/alternative"
        assert parsed.get_body(("plain",)).get_content() == content.text  # type: ignore[union-attr]
        assert parsed.get_body(("html",)).get_content() == content.html  # type: ignore[union-attr]
    looks_encoded = build_message(
        delivery(EMAIL, "o@c.example", incident("en", title="=?utf-8?b?5b+c?= hi")), settings, "o@c.example"
    )
    assert b"Subject: [" not in looks_encoded  # encoded as a whole, so it reads back as the literal text
    from email.mime.multipart import MIMEMultipart

    with pytest.raises(ValueError, match="line breaks"):
        _set(MIMEMultipart(), "Subject", "a\r\nBcc: x@evil.example")


def test_short_ascii_headers_are_written_exactly_as_compat32_writes_them() -> None:
    """The wire policy's shortcut for short plain-ASCII headers gives compat32's own bytes: spaces,
    tabs and punctuation anywhere, up to the length where compat32 would start folding; longer or
    non-ASCII values still go through compat32."""
    import random
    import string
    from email import policy

    from mimamori.notify.channels.email import _WIRE

    reference = policy.compat32.clone(linesep="\r\n")
    rng = random.Random(7)
    alphabet = string.ascii_letters + string.digits + " \t;=\"<>@.,:()/-_'?!"
    names = ("Subject", "To", "Content-Type", "X-Mimamori-Event", "Message-ID")
    for _ in range(20_000):
        name = rng.choice(names)
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 120)))
        assert _WIRE.fold_binary(name, value) == reference.fold_binary(name, value), (name, value)
    for value in ("経理のパソコン" * 6, "x" * 300, "a b " * 40):
        assert _WIRE.fold_binary("Subject", value) == reference.fold_binary("Subject", value)
