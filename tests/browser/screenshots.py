"""Screenshots of the main pages into docs/screenshots/ (run by ``scripts/screenshots``).

Starts ``mimamori demo`` (simulated customers, real receivers and detections) on free ports in a
temporary directory, waits for a 高 incident, logs in as the demo's customer (on a 375 px phone, in
Japanese) and as the provider's SOC login (desktop, with a TOTP code when that feature exists), and saves
one PNG per page. ``capture`` is the code path ``tests/browser/test_screenshots.py`` runs too.

Usage: ``scripts/screenshots [--out DIR] [--only NAME ...] [--keep]``
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.browser.harness import Service, enroll_totp, find_chromium, login, wait_for

from mimamori.services import auth

DEMO_PASSWORD = "mimamori-demo"
DEMO_STAFF = "soc@provider.example"
DEMO_CUSTOMER = "admin@customer1.example"
PHONE: dict[str, Any] = {
    "viewport": {"width": 375, "height": 812},
    "device_scale_factor": 1,
    "is_mobile": True,
    "has_touch": True,
}
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 860}, "device_scale_factor": 1}
OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@dataclass(frozen=True)
class Shot:
    name: str  # the PNG's file name, without .png
    path: str  # URL path; {tenant} and {incident} are filled in
    who: str  # "customer", "staff" or "anonymous"
    phone: bool = False
    lang: str = "ja"
    caption: str = ""
    full_page: bool = True  # False: only the first screen (long result tables)


SHOTS = (
    Shot("login", "/login", "anonymous", phone=True, caption="Login, phone, Japanese"),
    Shot("portal-home", "/portal", "customer", phone=True, caption="SME portal home: status 要対応"),
    Shot("portal-incident", "/portal/incidents/{incident}", "customer", phone=True, caption="An incident"),
    Shot(
        "portal-devices",
        "/portal/devices",
        "customer",
        phone=True,
        caption="Devices with the network map",
        full_page=False,
    ),
    Shot("portal-settings", "/portal/settings", "customer", phone=True, caption="Settings of the customer"),
    Shot("portal-home-en", "/portal", "customer", phone=True, lang="en", caption="Portal home in English"),
    Shot("soc-queue", "/soc", "staff", caption="SOC incident queue across customers"),
    Shot("soc-incident", "/soc/incidents/{tenant}/{incident}", "staff", caption="SOC incident view"),
    Shot("soc-tenants", "/soc/tenants", "staff", caption="Customers"),
    Shot("soc-onboarding", "/soc/tenants/new", "staff", caption="Onboarding a new customer"),
    Shot("soc-health", "/soc/health", "staff", caption="Sensor health"),
    Shot(
        "soc-events",
        "/soc/events?tenant={tenant}",
        "staff",
        caption="Event search, one customer's last 24 h",
        full_page=False,
    ),
)


class Sessions:
    """Logs each kind of user in once (a TOTP code cannot be used twice) and reuses the cookies."""

    def __init__(self, sign_in: Callable[[Any, str], object]) -> None:
        self.sign_in = sign_in
        self.states: dict[str, Any] = {}

    def context(self, browser: Any, who: str, **options: Any) -> Any:
        if who == "anonymous":
            return browser.new_context(**options)
        if who not in self.states:
            context = browser.new_context(**options)
            self.sign_in(context.new_page(), who)
            self.states[who] = context.storage_state()
            context.close()
        return browser.new_context(storage_state=self.states[who], **options)


def capture(browser: Any, base: str, shot: Shot, out: Path, sessions: Sessions, **values: str) -> Path:
    """Open ``shot`` in a fresh context (logged in as ``shot.who``), save a full-page PNG, return its path.

    Raises AssertionError when the page does not answer 200 (a broken page is not photographed).
    """
    options = {**(PHONE if shot.phone else DESKTOP), "locale": "ja-JP" if shot.lang == "ja" else "en-US"}
    context = sessions.context(browser, shot.who, **options)
    try:
        page = context.new_page()
        separator = "&" if "?" in shot.path else "?"
        url = f"{base}{shot.path.format(**values)}{separator}lang={shot.lang}"
        response = page.goto(url, wait_until="networkidle")
        assert response is not None
        assert response.status == 200, f"{shot.name}: {url} answered {response.status}"
        page.evaluate("document.fonts.ready")
        out.mkdir(parents=True, exist_ok=True)
        target = out / f"{shot.name}.png"
        page.screenshot(path=str(target), full_page=shot.full_page, animations="disabled")
        return target
    finally:
        context.close()


def _demo_ready(service: Service) -> tuple[str, str]:
    """The first customer's tenant and 高 incident, once its devices are in the inventory too (30 s)."""
    client = service.api(DEMO_CUSTOMER, password=DEMO_PASSWORD)

    def incident() -> tuple[str, str] | None:
        found = client.get("/api/v1/incidents").json()
        high = [i for i in found if isinstance(i, dict) and i.get("severity") == "high"]
        return (high[0]["tenant_id"], high[0]["id"]) if high else None

    try:
        tenant, first = wait_for(incident, "a 高 incident of the demo's first customer", timeout=180, every=2)
        wait_for(
            lambda: client.get(f"/api/v1/tenants/{tenant}/assets").json(),
            "the demo's devices in the inventory",
            timeout=120,
            every=2,
        )
        return tenant, first
    finally:
        client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=OUT, help=f"directory of the PNGs (default {OUT})")
    parser.add_argument("--only", nargs="*", default=None, help="names of the shots to take")
    parser.add_argument("--keep", action="store_true", help="keep the demo's temporary data directory")
    args = parser.parse_args(argv)
    chromium = find_chromium()
    if chromium is None:
        print("no Chromium found: apt-get install chromium fonts-noto-cjk (or set MIMAMORI_CHROMIUM)")
        return 2
    from playwright.sync_api import sync_playwright

    shots = [s for s in SHOTS if args.only is None or s.name in args.only]
    root = Path(tempfile.mkdtemp(prefix="mimamori-screenshots-"))
    service = Service(root, MIMAMORI_ARCHIVE_FLUSH_SECONDS="5")
    failures: list[str] = []
    try:
        service.start("demo", "--tenants", "3", "--seed", "1")
        secrets: dict[str, str | None] = {}

        def staff_secret(db: Any) -> str | None:
            return enroll_totp(db, auth.authenticate(db, DEMO_STAFF, DEMO_PASSWORD).id)

        secrets[DEMO_STAFF] = service.seed(staff_secret)
        tenant, incident = _demo_ready(service)
        print(f"demo on {service.base}; incident {incident} of tenant {tenant}")

        def sign_in(page: Any, who: str) -> None:
            email = DEMO_STAFF if who == "staff" else DEMO_CUSTOMER
            login(page, service.base, email, secrets.get(email), password=DEMO_PASSWORD)

        sessions = Sessions(sign_in)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium, headless=True, args=["--lang=ja-JP"]
            )
            for shot in shots:
                try:
                    path = capture(
                        browser, service.base, shot, args.out, sessions, tenant=tenant, incident=incident
                    )
                    print(f"  {path}")
                except AssertionError as error:
                    failures.append(f"{shot.name}: {error}")
                    print(f"  FAILED {shot.name}: {error}", file=sys.stderr)
            browser.close()
    finally:
        service.stop()
        if args.keep:
            print(f"data kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
