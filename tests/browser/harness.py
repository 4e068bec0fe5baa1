"""The real mimamori service for browser tests and screenshots: seed, start, wait, log in.

Used by ``tests/browser/conftest.py`` and by ``scripts/screenshots`` (``tests/browser/screenshots.py``),
so the screenshot code path is exercised by the test suite and cannot rot.

The service runs as ``mimamori serve`` (or ``mimamori demo``) in a subprocess with its own data directory,
free ports and a throwaway secret; tenants, sensors and users are created beforehand through the services
on the same SQLite file, exactly as the CLI would.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from mimamori.config import Settings
from mimamori.domain import Role
from mimamori.services import auth, content, tenants
from mimamori.services.runtime import open_database

PASSWORD = "browser-password-123"
CHROMIUM_ENV = "MIMAMORI_CHROMIUM"  # explicit path to a Chromium/Chrome binary
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
T = TypeVar("T")


def find_chromium() -> str | None:
    """The Chromium binary to drive: ``$MIMAMORI_CHROMIUM``, else Debian's ``/usr/bin/chromium``, else PATH.

    Never Playwright's own download (``playwright install`` is not used anywhere).
    """
    explicit = os.environ.get(CHROMIUM_ENV)
    if explicit:
        return explicit if Path(explicit).is_file() else None
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(probe: Callable[[], T | None], what: str, timeout: float = 45.0, every: float = 0.3) -> T:
    """Call ``probe`` until it returns something other than None/empty; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


@dataclass
class SeededTenant:
    id: str
    name: str
    tokens: dict[str, str] = field(default_factory=dict)  # sensor name -> bearer token


class Service:
    """One ``mimamori`` process on free ports, with a data directory under ``root``."""

    def __init__(self, root: Path, **env: str) -> None:
        self.root = root
        self.data_dir = root / "data"
        self.web_port = free_port()
        self.tcp_port = free_port()
        self.secret = "browser-" + "s" * 60
        self.env = {
            **os.environ,
            "MIMAMORI_DATA_DIR": str(self.data_dir),
            "MIMAMORI_SECRET_KEY": self.secret,
            "MIMAMORI_SYSLOG_TCP_PORT": str(self.tcp_port),
            "MIMAMORI_SYSLOG_UDP_PORT": str(free_port(socket.SOCK_DGRAM)),
            "MIMAMORI_SYSLOG_TLS_PORT": str(free_port()),
            "MIMAMORI_PUBLIC_URL": f"http://127.0.0.1:{self.web_port}",
            "MIMAMORI_MAIL_DIR": str(root / "mail"),
            **env,
        }
        self.env.pop("MIMAMORI_DATABASE_URL", None)  # always the service's own SQLite file
        self.env.pop("MIMAMORI_CONFIG_FILE", None)
        self.base = f"http://127.0.0.1:{self.web_port}"
        self.log = root / "serve.log"
        self.process: subprocess.Popen[bytes] | None = None

    # -- seeding (before start) --------------------------------------------------------------------

    def settings(self) -> Settings:
        return Settings(data_dir=self.data_dir, secret_key=self.secret, database_url="")

    def seed(self, build: Callable[[Any], T]) -> T:
        """Run ``build(db)`` on the migrated database (bundled content seeded), then close it."""
        current = self.settings()
        content.ensure_content(current)
        db = open_database(current)
        try:
            return build(db)
        finally:
            db.dispose()

    # -- process -----------------------------------------------------------------------------------

    def start(self, command: str = "serve", *args: str, timeout: float = 60.0) -> None:
        argv = [
            sys.executable,
            "-m",
            "mimamori",
            command,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.web_port),
        ]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*argv, *args], env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=self.root
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mimamori {command} exited:\n{self.log.read_text(errors='replace')}")
            try:
                if httpx.get(f"{self.base}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"mimamori {command} not ready in {timeout:.0f} s:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    # -- talking to it -----------------------------------------------------------------------------

    def ingest(self, token: str, lines: Iterable[bytes]) -> dict[str, int]:
        body = b"\n".join(lines) + b"\n"
        response = httpx.post(
            f"{self.base}/api/v1/ingest",
            content=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"},
            timeout=10,
        )
        assert response.status_code == 202, response.text
        return dict(response.json())

    def api(self, email: str, password: str = PASSWORD, totp: str | None = None) -> httpx.Client:
        """An API client logged in as ``email`` (session cookie)."""
        client = httpx.Client(base_url=self.base, timeout=10)
        body: dict[str, str] = {"email": email, "password": password}
        if totp is not None:
            body["totp"] = totp
        response = client.post("/api/v1/session", json=body)
        assert response.status_code == 200, response.text
        return client


def add_tenant(db: Any, name: str, sensors: Iterable[tuple[str, str, str | None]] = ()) -> SeededTenant:
    """A tenant with sensors ``(name, format, source address or None)``, each with a token."""
    tenant = tenants.add_tenant(db, name)
    seeded = SeededTenant(tenant.id, tenant.name)
    for sensor_name, fmt, address in sensors:
        new = tenants.add_sensor(db, tenant.id, sensor_name, fmt, source_address=address)
        assert new.token is not None
        seeded.tokens[sensor_name] = new.token
    return seeded


def add_user(db: Any, email: str, name: str, role: Role, tenant_id: str | None = None) -> str:
    return auth.create_user(db, email, name, role, PASSWORD, tenant_id=tenant_id).id


def enroll_totp(db: Any, user_id: str) -> str | None:
    """Enrol ``user_id`` for TOTP and return the base32 secret; None while the feature does not exist.

    Prefers the accounts helper's ``tests/support/accounts.py``, else the accounts service directly.
    """
    try:
        from tests.support.accounts import enroll_totp as enroll
    except ImportError:
        try:
            import pyotp

            from mimamori.services.accounts import enrol_with_secret
        except ImportError:
            return None
        secret = pyotp.random_base32()
        enrol_with_secret(db, user_id, secret)
        return secret
    return str(enroll(db, user_id))


_LAST_CODE: dict[str, str] = {}


def totp_code(secret: str) -> str:
    """The current TOTP code, waiting for the next period if this one was already used (replay guard)."""
    import pyotp

    totp = pyotp.TOTP(secret)
    code = totp.now()
    while _LAST_CODE.get(secret) == code:
        time.sleep(0.5)
        code = totp.now()
    _LAST_CODE[secret] = code
    return code


def login(
    page: Any, base: str, email: str, totp_secret: str | None = None, password: str = PASSWORD
) -> list[str]:
    """Log in through the real login form (and the TOTP step for provider staff); the URLs passed."""
    page.goto(f"{base}/login")
    form = page.locator("form[action='/login']")
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=password]").fill(password)
    form.locator("[type=submit]").click()
    page.wait_for_load_state("domcontentloaded")
    steps = [page.url]
    if "/login/totp" in page.url:
        assert totp_secret, f"{email} is asked for a TOTP code but has no enrolled secret"
        page.locator("input[name=code]").fill(totp_code(totp_secret))
        page.locator("form [type=submit]").first.click()
        page.wait_for_load_state("domcontentloaded")
    assert "/login" not in page.url, f"login of {email} failed: still on {page.url}"
    assert "/account/totp" not in page.url, f"{email} must enrol TOTP first (use enroll_totp)"
    return [*steps, page.url]
