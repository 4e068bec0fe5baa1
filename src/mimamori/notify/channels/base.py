"""What every channel shares: its settings, the ``Channel`` protocol and the HTTP outcome rules.

A channel turns a ``Delivery`` into one attempt: ``send`` returns a short result for the attempt log
("250 2.0.0 Ok", "HTTP 200") or raises ``DeliveryError``. ``retryable`` says whether trying again can
help: a refused connection, a timeout, an SMTP 4xx or an HTTP 5xx/408/429 is temporary; a refused
recipient (SMTP 5xx), an HTTP 4xx or an invalid address is permanent and is dead-lettered at once.
``send`` never raises anything else: an unexpected exception becomes a retryable ``DeliveryError``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeVar
from urllib.parse import quote

import httpx
import orjson

from mimamori.errors import DeliveryError
from mimamori.notify import signing
from mimamori.notify.message import Branding, ChannelName, Delivery

SmtpSecurity = Literal["starttls", "tls", "none"]
SMTP_SECURITIES: tuple[SmtpSecurity, ...] = ("starttls", "tls", "none")
USER_AGENT = "mimamori-notify/1"
MAX_RESULT = 200  # characters of a result or error text kept for the attempt log


@dataclass(frozen=True, slots=True)
class ChannelSettings:
    """How the channels reach the outside world (from ``Settings``; secrets never logged)."""

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 587
    smtp_security: SmtpSecurity = "starttls"  # "tls": implicit TLS (port 465); "none": a local relay only
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_from: str = "mimamori@localhost"  # the envelope sender and the From address
    smtp_timeout: float = 10.0  # seconds per SMTP command
    smtp_ca_file: str | None = None  # extra CA bundle to verify the SMTP server (tests, private CAs)
    smtp_helo: str | None = None  # the EHLO name; None: the local host name
    webhook_secret: str = field(default="", repr=False)  # signs generic webhooks (per-contact override)
    phone_url: str = ""  # the telephony service's endpoint
    phone_secret: str = field(default="", repr=False)  # signs the telephony requests
    http_timeout: float = 10.0  # seconds for one HTTP request
    http_ca_file: str | None = None  # extra CA bundle for HTTPS receivers (tests, private CAs)
    branding: Branding = field(default_factory=Branding)

    def __post_init__(self) -> None:
        if self.smtp_security not in SMTP_SECURITIES:
            raise ValueError(f"smtp_security must be one of {', '.join(SMTP_SECURITIES)}")
        if not 0 < self.smtp_port < 65536:
            raise ValueError("smtp_port must be 1-65535")


class Channel(Protocol):
    """One way of sending a notification."""

    name: ChannelName

    def send(self, delivery: Delivery) -> str:
        """Deliver once; the attempt log's result text, or ``DeliveryError``."""
        ...

    def close(self) -> None:
        """Release connections (idempotent)."""
        ...


def short(text: object) -> str:
    """One line of at most ``MAX_RESULT`` characters (server replies may be long or multi-line)."""
    line = " ".join(str(text).split())
    return line if len(line) <= MAX_RESULT else line[: MAX_RESULT - 1] + "…"


R = TypeVar("R")


def guarded(action: Callable[[], R], what: str) -> R:
    """Run ``action``; anything but ``DeliveryError`` becomes a retryable ``DeliveryError``."""
    try:
        return action()
    except DeliveryError:
        raise
    except Exception as error:  # the contract: send() raises DeliveryError only
        raise DeliveryError(f"{what}: unexpected {type(error).__name__}: {short(error)}") from error


def http_client(settings: ChannelSettings) -> httpx.Client:
    """The HTTP client of a channel: TLS verified, no redirects (a 3xx is an answer, not a hop)."""
    verify: bool | str = settings.http_ca_file or True
    return httpx.Client(
        timeout=settings.http_timeout,
        follow_redirects=False,
        verify=verify,
        headers={"User-Agent": USER_AGENT},
    )


def check_url(url: str) -> None:
    """A receiver URL must be absolute http(s); anything else can never work (not retryable)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as error:
        raise DeliveryError(f"invalid URL: {short(error)}", retryable=False) from error
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise DeliveryError("invalid URL: an absolute http(s) URL is required", retryable=False)


def outcome(status: int, body: str) -> str:
    """The attempt-log result of an HTTP answer, or the ``DeliveryError`` it means."""
    if 200 <= status < 300:
        return f"HTTP {status}"
    detail = f"HTTP {status}" + (f": {short(body)}" if body.strip() else "")
    retryable = status >= 500 or status in (408, 429)
    raise DeliveryError(detail, retryable=retryable)


def post_json(
    client: httpx.Client,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    secret: str = "",
) -> str:
    """POST ``body`` (JSON bytes) to ``url``; signed with ``secret`` when one is set."""
    check_url(url)
    sent = {"Content-Type": "application/json; charset=utf-8", **headers}
    if secret:
        sent[signing.HEADER] = signing.sign(secret, body, int(time.time()))
    try:
        response = client.post(url, content=body, headers=sent)
    except httpx.TimeoutException as error:
        raise DeliveryError(f"timeout: {type(error).__name__}") from error
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as error:
        raise DeliveryError(f"invalid URL: {short(error)}", retryable=False) from error
    except httpx.HTTPError as error:
        raise DeliveryError(f"connection failed: {type(error).__name__}: {short(error)}") from error
    return outcome(response.status_code, response.text[:500])


def header_value(text: str, limit: int = 255) -> str:
    """``text`` as a safe HTTP header value: printable ASCII kept, anything else percent-encoded."""
    value = text if text.isascii() and text.isprintable() else quote(text, safe="")
    return value[:limit]


def address_of(delivery: Delivery, channel: ChannelName) -> str:
    """The delivery's address, checked to belong to ``channel`` and to be one clean line."""
    if delivery.channel != channel:
        raise DeliveryError(f"delivery for {delivery.channel} sent to the {channel} channel", retryable=False)
    address = delivery.address.strip()
    if not address or any(c in address for c in "\r\n\x00"):
        raise DeliveryError("invalid address", retryable=False)
    return address


class ChatWebhookChannel:
    """A chat service's incoming webhook (Slack, Teams): POST the JSON ``payload`` of a delivery to the
    contact's URL. Subclasses set ``name`` and ``payload``."""

    name: ChannelName
    payload: Callable[[Delivery, ChannelSettings], Mapping[str, object]]

    def __init__(self, settings: ChannelSettings) -> None:
        self._settings = settings
        self._client = http_client(settings)

    def send(self, delivery: Delivery) -> str:
        def attempt() -> str:
            url = address_of(delivery, self.name)
            body = orjson.dumps(type(self).payload(delivery, self._settings))
            return post_json(self._client, url, body, {"X-Mimamori-Event": str(delivery.notice.kind)})

        return guarded(attempt, self.name.value)

    def close(self) -> None:
        self._client.close()
