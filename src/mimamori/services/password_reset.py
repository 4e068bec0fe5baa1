"""Password reset by e-mail: a single-use link, valid for one hour, stored only as a SHA-256 hash.

``request_reset`` answers the same way whether or not the account exists (the caller shows one message);
for an existing active account it stores the link's hash and returns the mail to send, which the web layer
sends after the response (``send_mail``), so the response time does not reveal the account either.
``complete_reset`` sets the new password, clears the lockout and uses up every open link of the user.

Mail goes through the same settings as notifications: SMTP when ``smtp_host`` is set (STARTTLS, implicit TLS
or none; AUTH), else an ``.eml`` file in ``mail_dir`` (the demo), else it is logged as not sent (without
the link).
"""

from __future__ import annotations

import logging
import os
import secrets
import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from mimamori.config import Settings
from mimamori.errors import AuthError, DeliveryError
from mimamori.notify.channels.email import check_address
from mimamori.services import accounts, auth
from mimamori.storage import Database, unit_of_work

log = logging.getLogger(__name__)

LIFETIME = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class ResetMail:
    to: str
    name: str
    language: str
    link: str


def request_reset(
    db: Database, email: str, public_url: str, *, now: datetime | None = None
) -> ResetMail | None:
    """A reset mail for an existing active account, None otherwise (the caller must not tell which)."""
    now = now or datetime.now(UTC)
    token = secrets.token_urlsafe(32)
    with unit_of_work(db) as uow:
        found = uow.users.get_by_email(email.strip().lower())
        if found is None or not found[0].active:
            return None
        user = found[0]
        uow.accounts.add_reset(user.id, auth.hash_token(token), now, now + LIFETIME)
    link = f"{public_url.rstrip('/')}/password/reset/{token}"
    return ResetMail(user.email, user.name, user.language, link)


def check_reset(db: Database, token: str, *, now: datetime | None = None) -> str:
    """The user id of a valid, unused, unexpired link, else AuthError."""
    now = now or datetime.now(UTC)
    with unit_of_work(db) as uow:
        record = uow.accounts.reset_by_hash(auth.hash_token(token))
    if record is None or record.used_at is not None or record.expires_at <= now:
        raise AuthError("this reset link is invalid, expired or already used")
    return record.user_id


def complete_reset(db: Database, token: str, password: str, *, now: datetime | None = None) -> str:
    """Set the new password through a valid link; every open link of the user is used up. The user id."""
    now = now or datetime.now(UTC)
    auth.check_password_rule(password)
    user_id = check_reset(db, token, now=now)
    accounts.set_password(db, user_id, password)  # also clears failures and the lock
    with unit_of_work(db) as uow:
        uow.accounts.use_resets(user_id, now)
    return user_id


_TEXT = {
    "ja": (
        "パスワード再設定のご案内",
        "{name} 様\n\n"
        "パスワード再設定のお申し込みを受け付けました。\n"
        "下のリンクを開き、新しいパスワードを設定してください（1時間有効、1回のみ使えます）。\n\n"
        "{link}\n\n"
        "お心当たりがない場合は、このメールを破棄してください。パスワードは変わりません。\n",
    ),
    "en": (
        "Reset your password",
        "Dear {name},\n\n"
        "We received a request to reset your password.\n"
        "Open the link below to set a new password (valid for one hour, usable once).\n\n"
        "{link}\n\n"
        "If you did not ask for this, ignore this mail: your password stays the same.\n",
    ),
}


def build_mail(mail: ResetMail, settings: Settings) -> EmailMessage:
    subject, body = _TEXT["en" if mail.language == "en" else "ja"]
    message = EmailMessage(policy=policy.SMTP)
    message["Subject"] = f"[{settings.brand_name}] {subject}"
    message["From"] = Address(display_name=settings.brand_name, addr_spec=settings.smtp_from)
    message["To"] = Address(addr_spec=check_address(mail.to))
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=settings.smtp_from.rpartition("@")[2] or "mimamori.invalid")
    message["Auto-Submitted"] = "auto-generated"
    text = body.format(name=mail.name, link=mail.link)
    if settings.brand_footer:
        text += f"\n-- \n{settings.brand_footer}\n"
    message.set_content(text, subtype="plain", charset="utf-8", cte="base64")
    return message


def send_mail(settings: Settings, mail: ResetMail) -> None:
    """Send (SMTP) or write (mail_dir) the reset mail; failures are logged, never raised to the visitor."""
    try:
        message = build_mail(mail, settings)
        if settings.smtp_host:
            _smtp(settings, message)
        elif settings.mail_dir is not None:
            settings.mail_dir.mkdir(parents=True, exist_ok=True)
            target = settings.mail_dir / f"reset-{secrets.token_hex(8)}.eml"
            scratch = target.with_suffix(".tmp")
            scratch.write_bytes(message.as_bytes())
            os.replace(scratch, target)
        else:
            log.error("password reset mail not sent: set MIMAMORI_SMTP_HOST (or MIMAMORI_MAIL_DIR)")
    except (OSError, smtplib.SMTPException, DeliveryError, ValueError) as error:
        log.error("password reset mail not sent: %s: %s", type(error).__name__, error)


def _smtp(settings: Settings, message: EmailMessage) -> None:
    context = ssl.create_default_context(cafile=settings.smtp_ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    smtp: smtplib.SMTP
    if settings.smtp_security == "tls":
        smtp = smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout, context=context
        )
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout)
    with smtp:
        smtp.ehlo()
        if settings.smtp_security == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
        if settings.smtp_username:
            if settings.smtp_security == "none":
                raise DeliveryError("refusing to send SMTP credentials without TLS")
            smtp.login(settings.smtp_username, settings.smtp_password)
        smtp.send_message(message, from_addr=settings.smtp_from)
