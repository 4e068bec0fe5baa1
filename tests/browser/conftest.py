"""Browser tests: the real service in a subprocess, driven by Playwright through Debian's Chromium.

One service for the whole session (start-up and detection are the slow parts), seeded with four
customers so that the tests do not disturb each other:

- ``hostile``: FortiGate, Zeek and Suricata sensors fed over HTTP ingest with XSS / template payloads in
  host names, URLs, DNS names, user agents and signatures, plus a known-bad address so they surface;
- ``sme``: a FortiGate registered by source address, fed the ``xp-malware`` scenario over syslog TCP by
  ``mimamori sim`` (the SME's 要対応 flow);
- ``ops``: one FortiGate connection to a known C2 address over HTTP (the analyst acknowledges/resolves it);
- ``quiet``: no sensors, so its portal says 安全 (the language switch).

Without Chromium (or Playwright) the tests are skipped with the reason, unless
``MIMAMORI_REQUIRE_SERVICES=1`` (CI), which turns the skip into a failure. See docs/testing-browser.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
from tests.browser.harness import (
    CHROMIUM_ENV,
    SeededTenant,
    Service,
    add_tenant,
    add_user,
    enroll_totp,
    find_chromium,
)
from tests.browser.world import (
    ANALYST,
    HOSTILE_TENANT,
    HOSTILE_USER,
    HOSTILE_USER_NAME,
    IMG,
    OPS,
    PHONE,
    QUIET,
    SCRIPT,
    SME,
    SME_SOURCE,
    SOC_ADMIN,
    Tab,
    World,
    hostile_records,
    ops_record,
)

from mimamori.domain import Role


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives Chromium against the real service (Playwright)")


def require_service(name: str, reason: str) -> NoReturn:
    """Skip (or fail under ``MIMAMORI_REQUIRE_SERVICES=1``), as tests/conftest.py does for PostgreSQL."""
    message = f"{name} unavailable: {reason}"
    if os.environ.get("MIMAMORI_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message} (MIMAMORI_REQUIRE_SERVICES=1 requires it)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as error:
        require_service("Playwright", f"{error} (pip install -e '.[dev]')")
    path = find_chromium()
    if path is None:
        explicit = os.environ.get(CHROMIUM_ENV)
        require_service(
            "Chromium",
            f"{CHROMIUM_ENV}={explicit} is not a file"
            if explicit
            else "not at /usr/bin/chromium nor on PATH (apt-get install chromium fonts-noto-cjk, "
            f"or set {CHROMIUM_ENV})",
        )
    return path


@pytest.fixture(scope="session")
def world(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    service = Service(tmp_path_factory.mktemp("browser"), MIMAMORI_ARCHIVE_FLUSH_SECONDS="1")

    def build(db: Any) -> tuple[SeededTenant, SeededTenant, SeededTenant, SeededTenant, dict[str, Any]]:
        hostile = add_tenant(
            db,
            HOSTILE_TENANT,
            [("utm", "fortigate", None), ("zeek", "zeek", None), ("ids", "suricata", None)],
        )
        sme = add_tenant(db, "みどり商店", [("utm", "fortigate", SME_SOURCE)])
        ops = add_tenant(db, "さくら歯科", [("utm", "fortigate", None)])
        quiet = add_tenant(db, "あおば会計", [])
        add_user(db, HOSTILE_USER, HOSTILE_USER_NAME, Role.CUSTOMER_ADMIN, hostile.id)
        add_user(db, SME, "みどり商店 総務", Role.CUSTOMER_ADMIN, sme.id)
        add_user(db, OPS, "さくら歯科 受付", Role.CUSTOMER_VIEWER, ops.id)
        add_user(db, QUIET, "あおば会計 総務", Role.CUSTOMER_ADMIN, quiet.id)
        analyst = add_user(db, ANALYST, "アナリスト", Role.ANALYST)
        admin = add_user(db, SOC_ADMIN, "SOC 管理者", Role.PROVIDER_ADMIN)
        totp = {ANALYST: enroll_totp(db, analyst), SOC_ADMIN: enroll_totp(db, admin)}
        return hostile, sme, ops, quiet, totp

    hostile, sme, ops, quiet, totp = service.seed(build)
    service.start()
    sim = subprocess.Popen(
        [
            sys.executable, "-m", "mimamori", "sim", "--scenario", "xp-malware", "--tenants", "1",
            "--seed", "11", "--minutes", "30", "--bind-base", SME_SOURCE,
            "--send", f"syslog+tcp://127.0.0.1:{service.tcp_port}",
        ],
        env=service.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        for sensor, lines in hostile_records().items():
            assert service.ingest(hostile.tokens[sensor], lines) == {"accepted": len(lines), "rejected": 0}
        service.ingest(ops.tokens["utm"], [ops_record()])
        world = World(service, hostile, sme, ops, quiet, totp, sim)
        ticket = {"kind": "consult", "message": f"{SCRIPT} {IMG}", "phone": "03-0000-0000"}
        created = world.api(HOSTILE_USER).post(f"/api/v1/tenants/{hostile.id}/tickets", json=ticket)
        assert created.status_code == 201, created.text
        yield world
        world.close()
    finally:
        if sim.poll() is None:
            sim.kill()
        sim.wait(timeout=10)
        if sim.stdout is not None:
            sim.stdout.close()
        service.stop()


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    """One chromium per test module. Not per session: Playwright's sync API keeps an event loop running
    in the main thread while it is open, and every later test that calls ``asyncio.run`` would fail."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        headless = os.environ.get("MIMAMORI_HEADED") != "1"
        browser = playwright.chromium.launch(executable_path=chromium_path, headless=headless)
        yield browser
        browser.close()


def _open(browser: Any, request: pytest.FixtureRequest, **options: Any) -> Iterator[Tab]:
    context = browser.new_context(**options)
    context.set_default_timeout(10_000)
    tracing = os.environ.get("MIMAMORI_TRACE") == "1"
    if tracing:
        context.tracing.start(screenshots=True, snapshots=True)
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    context.on("dialog", on_dialog)
    page = context.new_page()
    try:
        yield Tab(page, dialogs)
    finally:
        if tracing:
            out = Path(os.environ.get("MIMAMORI_TRACE_DIR", "test-results"))
            out.mkdir(parents=True, exist_ok=True)
            context.tracing.stop(path=str(out / f"{request.node.name}.zip"))
        context.close()


@pytest.fixture
def desktop(browser: Any, request: pytest.FixtureRequest) -> Iterator[Tab]:
    yield from _open(browser, request, viewport={"width": 1280, "height": 900}, locale="ja-JP")


@pytest.fixture
def phone(browser: Any, request: pytest.FixtureRequest) -> Iterator[Tab]:
    yield from _open(browser, request, **PHONE)
