"""Password reset links: hashed, one hour, single use, lockout cleared; the mail over real SMTP or maildir."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from tests.notify_servers import SmtpServer, smtp_pki

from mimamori.config import Settings
from mimamori.domain import Role, User
from mimamori.errors import AuthError, ValidationError
from mimamori.services import auth, password_reset, tenants
from mimamori.storage import Database, read_only

PASSWORD = "correct horse battery"
NEW = "a brand new password"
NOW = datetime(2026, 11, 26, 3, tzinfo=UTC)
URL = "https://soc.provider.example"


@pytest.fixture
def user(db: Database) -> User:
    tenant = tenants.add_tenant(db, "山田製作所")
    return auth.create_user(
        db, "a@a.example", "山田 花子", Role.CUSTOMER_ADMIN, PASSWORD, tenant_id=tenant.id
    )


def token_of(mail: password_reset.ResetMail | None) -> str:
    assert mail is not None
    assert mail.link.startswith(f"{URL}/password/reset/")
    return mail.link.rsplit("/", 1)[1]


def test_unknown_accounts_get_no_mail(db: Database, user: User) -> None:
    assert password_reset.request_reset(db, "nobody@a.example", URL, now=NOW) is None
    assert password_reset.request_reset(db, " A@A.example ", URL, now=NOW) is not None


def test_a_link_sets_the_password_once_clears_the_lock_and_voids_the_others(db: Database, user: User) -> None:
    for _ in range(auth.MAX_FAILURES):
        with pytest.raises(AuthError):
            auth.authenticate(db, user.email, "wrong password")
    first = token_of(password_reset.request_reset(db, user.email, URL, now=NOW))
    second = token_of(password_reset.request_reset(db, user.email, URL, now=NOW))
    with read_only(db) as uow:
        stored = [row[0] for row in uow.connection.exec_driver_sql("SELECT token_hash FROM password_resets")]
    assert first not in stored
    assert auth.hash_token(first) in stored
    with pytest.raises(ValidationError):
        password_reset.complete_reset(db, second, "short", now=NOW)
    assert password_reset.check_reset(db, second, now=NOW) == user.id  # a refused password does not use it
    password_reset.complete_reset(db, second, NEW, now=NOW + timedelta(minutes=5))
    assert auth.authenticate(db, user.email, NEW) == user  # and the lockout is gone
    for token in (first, second):  # the used link and the other open one are both void now
        with pytest.raises(AuthError):
            password_reset.complete_reset(db, token, "another long password", now=NOW + timedelta(minutes=6))


def test_a_link_expires_after_one_hour(db: Database, user: User) -> None:
    token = token_of(password_reset.request_reset(db, user.email, URL, now=NOW))
    assert password_reset.check_reset(db, token, now=NOW + timedelta(minutes=59)) == user.id
    with pytest.raises(AuthError):
        password_reset.complete_reset(db, token, NEW, now=NOW + timedelta(hours=1))
    with pytest.raises(AuthError):
        password_reset.check_reset(db, "made-up-token", now=NOW)


def _mail(db: Database, user: User) -> password_reset.ResetMail:
    mail = password_reset.request_reset(db, user.email, URL)
    assert mail is not None
    return mail


def test_the_mail_goes_over_smtp_with_starttls(db: Database, user: User, tmp_path: Path) -> None:
    pki = smtp_pki(tmp_path / "pki")
    server = SmtpServer(security="starttls", pki=pki, users={"mailer": "s3cret-pass"}).start()
    try:
        settings = Settings(
            data_dir=tmp_path,
            smtp_host="localhost",
            smtp_port=server.port,
            smtp_security="starttls",
            smtp_username="mailer",
            smtp_password="s3cret-pass",
            smtp_from="noreply@provider.example",
            smtp_ca_file=pki.ca.cert,
            brand_name="見守りSOC",
        )
        mail = _mail(db, user)
        password_reset.send_mail(settings, mail)
        (received,) = server.wait_for(1)
    finally:
        server.stop()
    assert received.rcpt_tos == ("a@a.example",)
    assert received.tls
    assert received.login == "mailer"
    body = received.part("plain")
    assert mail.link in body
    assert "山田 花子 様" in body
    assert "1時間" in body
    assert "パスワード再設定" in str(received.message["Subject"])


def test_the_mail_is_written_to_the_mail_dir_without_smtp(db: Database, user: User, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, mail_dir=tmp_path / "mail")
    mail = _mail(db, user)
    password_reset.send_mail(settings, mail)
    (eml,) = (tmp_path / "mail").glob("*.eml")
    message = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert re.search(r"/password/reset/[\w-]{40,}", text)
    assert mail.link in text


def test_a_failing_mail_server_is_logged_not_raised(
    db: Database, user: User, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = SmtpServer()  # never started: connection refused
    settings = Settings(data_dir=tmp_path, smtp_host="127.0.0.1", smtp_port=server.port, smtp_security="none")
    mail = _mail(db, user)
    password_reset.send_mail(settings, mail)
    assert "password reset mail not sent" in caplog.text
    assert mail.link not in caplog.text  # the secret link never reaches the log
