"""Real servers for the notification tests: an SMTP server (aiosmtpd) and an HTTP receiver.

Both listen on a free loopback port, record what they receive, and can be stopped and started again on
the SAME port (``stop()`` / ``start()`` / ``restart()``), for the "server down for a while" tests.

``SmtpServer``: optional STARTTLS or implicit TLS (a throwaway certificate, see ``smtp_pki``) and AUTH
PLAIN/LOGIN (only over TLS); recipients in ``refuse`` get 550, in ``defer`` 450; every message is kept in
``messages`` parsed with the ``email`` package. ``stop()`` also closes open client connections, like a
crashed server. ``settings()`` gives ``ChannelSettings`` that reach it.

``HttpReceiver``: a threaded ``http.server`` recording method, path, headers and body; it answers with
the next status of ``statuses`` (e.g. ``[500, 500]``) and then ``status`` (200); ``delay`` seconds before
answering (timeout tests).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
from tests.unit.ingest.certificates import Pki, make_pki

from mimamori.notify.channels.base import ChannelSettings

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def smtp_pki(directory: Path) -> Pki:
    """A throwaway CA and a server certificate for 127.0.0.1/localhost."""
    return make_pki(directory, ())


def wait_until(predicate: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return bool(predicate())


# ---- SMTP --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """One message as the SMTP server accepted it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    message: EmailMessage
    login: str | None  # the AUTH user, None without AUTH
    tls: bool  # the session was encrypted
    peer: tuple[str, int]  # the client's address: the same for messages sent over one connection

    def part(self, subtype: str) -> str:
        """The decoded ``text/<subtype>`` part."""
        found = self.message.get_body(preferencelist=(subtype,))
        assert found is not None, f"no text/{subtype} part"
        return str(found.get_content())


class _Handler:
    def __init__(self, owner: SmtpServer) -> None:
        self.owner = owner

    async def handle_RCPT(self, server: SMTP, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.owner.refuse:
            return "550 5.1.1 mailbox unavailable"
        if address in self.owner.defer:
            return "450 4.2.1 mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:
        data = bytes(envelope.original_content or envelope.content)
        message = BytesParser(policy=policy.default).parsebytes(data)
        login = session.auth_data if isinstance(session.auth_data, str) else None
        with self.owner.lock:
            self.owner.messages.append(
                Received(
                    mail_from=str(envelope.mail_from),
                    rcpt_tos=tuple(envelope.rcpt_tos),
                    data=data,
                    message=message,
                    login=login,
                    peer=(str(session.peer[0]), int(session.peer[1])),
                    tls=session.ssl is not None or _encrypted(server),
                )
            )
            number = len(self.owner.messages)
        return f"250 2.0.0 Ok: queued as M{number}"


def _encrypted(server: SMTP) -> bool:
    transport = server.transport
    return transport is not None and transport.get_extra_info("sslcontext") is not None


class _Controller(Controller):
    """Remembers every session, so that ``stop()`` can cut them like a crash would."""

    def __init__(self, *args: Any, sessions: list[SMTP], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sessions = sessions

    def factory(self) -> SMTP:
        server: SMTP = super().factory()  # type: ignore[no-untyped-call]
        self.sessions.append(server)
        return server


@dataclass
class SmtpServer:
    """A real SMTP server on ``HOST:port`` in a thread (see the module docstring)."""

    security: Literal["none", "starttls", "tls"] = "none"
    pki: Pki | None = None  # required for "starttls" and "tls"
    users: dict[str, str] = field(default_factory=dict)  # AUTH required when not empty
    port: int = field(default_factory=free_port)
    messages: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    defer: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: _Controller | None = None
    _sessions: list[SMTP] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self._controller is not None

    def _context(self) -> ssl.SSLContext:
        assert self.pki is not None, "TLS needs a PKI (smtp_pki)"
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.pki.server.cert, self.pki.server.key)
        return context

    def _authenticate(
        self, server: SMTP, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword):
            login, password = data.login.decode(), data.password.decode()
            if self.users.get(login) == password:
                return AuthResult(success=True, auth_data=login)
        return AuthResult(success=False, handled=False)

    def start(self) -> SmtpServer:
        if self._controller is not None:
            return self
        kwargs: dict[str, Any] = {"server_hostname": "mimamori-test-smtp", "ready_timeout": 5.0}
        if self.security == "tls":
            kwargs["ssl_context"] = self._context()
        elif self.security == "starttls":
            kwargs.update(tls_context=self._context(), require_starttls=True)
        if self.users:
            kwargs.update(
                authenticator=self._authenticate,
                auth_required=True,
                auth_require_tls=True,
                auth_exclude_mechanism=["CRAM-MD5"],
            )
        controller = _Controller(
            _Handler(self), hostname=HOST, port=self.port, sessions=self._sessions, **kwargs
        )
        for _ in range(50):  # the port may linger for a moment after a stop
            try:
                controller.start()
                break
            except OSError:
                time.sleep(0.1)
        else:
            controller.start()
        self._controller = controller
        return self

    def stop(self) -> None:
        """Stop listening and cut every open connection (clients see the server vanish)."""
        controller, self._controller = self._controller, None
        if controller is None:
            return

        def cut() -> None:
            for session in self._sessions:
                if isinstance(session.transport, asyncio.WriteTransport):
                    session.transport.abort()

        controller.loop.call_soon_threadsafe(cut)
        controller.stop()
        self._sessions.clear()

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def settings(self, **overrides: Any) -> ChannelSettings:
        """Channel settings that reach this server (its CA trusted; one user's credentials if any)."""
        user = next(iter(self.users.items()), (None, None))
        base = ChannelSettings(
            smtp_host=HOST if self.security == "none" else "localhost",
            smtp_port=self.port,
            smtp_security=self.security,
            smtp_username=user[0],
            smtp_password=user[1],
            smtp_from="alerts@provider.example",
            smtp_timeout=3.0,
            smtp_ca_file=str(self.pki.ca.cert) if self.pki else None,
        )
        return replace(base, **overrides)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        """The messages once at least ``count`` arrived (or what arrived by ``timeout``)."""
        wait_until(lambda: len(self.messages) >= count, timeout)
        with self.lock:
            return list(self.messages)


# ---- HTTP --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        import json

        return json.loads(self.body)


@dataclass
class HttpReceiver:
    """A real HTTP server on ``HOST:port`` in a thread (see the module docstring)."""

    port: int = field(default_factory=free_port)
    status: int = 200
    statuses: list[int] = field(default_factory=list)  # answered first, one per request
    body: bytes = b"ok"
    delay: float = 0.0
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def _next_status(self) -> int:
        with self.lock:
            return self.statuses.pop(0) if self.statuses else self.status

    def start(self) -> HttpReceiver:
        if self._server is not None:
            return self
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # quiet
                return

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                record = Request(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                with owner.lock:
                    owner.requests.append(record)
                if owner.delay:
                    time.sleep(owner.delay)
                status = owner._next_status()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(owner.body)))
                    self.end_headers()
                    self.wfile.write(owner.body)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
                    self.close_connection = True

            do_POST = do_GET = do_PUT = _any

        server: ThreadingHTTPServer | None = None
        for _ in range(50):
            try:
                server = ThreadingHTTPServer((HOST, self.port), Handler)
                break
            except OSError:
                time.sleep(0.1)
        if server is None:
            server = ThreadingHTTPServer((HOST, self.port), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> HttpReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Request]:
        wait_until(lambda: len(self.requests) >= count, timeout)
        with self.lock:
            return list(self.requests)


@dataclass
class Servers:
    """Both servers, for fixtures that need them together."""

    smtp: SmtpServer
    http: HttpReceiver

    def close(self) -> None:
        self.smtp.stop()
        self.http.stop()


def running(server: SmtpServer | HttpReceiver) -> Iterator[Any]:
    """Fixture body: start ``server``, yield it, stop it."""
    server.start()
    try:
        yield server
    finally:
        server.stop()
