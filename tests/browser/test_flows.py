"""What people do in a real browser: the SME clerk on a phone, the analyst with TOTP, the language switch."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from tests.browser.world import ANALYST, OPS, QUIET, SME, Tab, World

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
TICKET_NUMBER = re.compile(r"[0-9A-F]{4}-[0-9A-F]{4}")
# The elements that stick out to the right of the viewport (what makes a phone page scroll sideways).
WIDE = """() => {
  const width = document.documentElement.clientWidth;
  return [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > width + 1)
    .slice(0, 5)
    .map(e => `<${e.tagName.toLowerCase()} class="${e.className}"> ${(e.textContent || '').trim().slice(0, 40)}`
      + ` (right edge ${Math.round(e.getBoundingClientRect().right)} px)`);
}"""


def overflow(page: Page) -> str | None:
    """None when the page fits the phone's width, else what sticks out."""
    width = page.evaluate("document.documentElement.scrollWidth")
    return None if width <= 375 else f"{width} px wide: {page.evaluate(WIDE)}"


def test_sme_clerk_on_a_phone_sees_action_needed_and_asks_the_desk(world: World, phone: Tab) -> None:
    incident = world.wait_incident(SME, world.sme.id, "high")  # xp-malware, sent over syslog TCP
    page = phone.page
    world.login(page, SME)
    page.goto(f"{world.base}/portal")
    expect(page.get_by_test_id("status")).to_contain_text("要対応")

    link = page.locator(f"a[href='/portal/incidents/{incident['id']}']").first
    expect(link).to_be_visible()
    link.tap()
    page.wait_for_url(f"**/portal/incidents/{incident['id']}")
    guidance = incident["guidance"]["ja"]
    body = page.locator("main")
    expect(body).to_contain_text(guidance["steps"][0])  # what to do, in plain Japanese

    page.get_by_test_id("ask-desk").first.tap()
    page.wait_for_url("**/portal/ask?**")
    form = page.locator("form[action='/portal/tickets']")
    form.locator("textarea[name=message]").fill("LANケーブルを抜きました。折り返しお電話ください。")
    form.locator("input[name=phone]").fill("03-1234-5678")
    form.locator("[type=submit]").tap()
    expect(page.get_by_test_id("ticket-number")).to_have_text(TICKET_NUMBER)
    number = page.get_by_test_id("ticket-number").inner_text().strip()

    tickets = world.api(SME).get(f"/api/v1/tenants/{world.sme.id}/tickets").json()
    assert [(t["kind"], t.get("incident_id")) for t in tickets] == [("consult", incident["id"])]
    assert number == tickets[0]["number"]


def test_sme_pages_fit_a_phone_without_scrolling_sideways(world: World, phone: Tab) -> None:
    """Mobile first: no customer page is wider than 375 px, even with long alert names from the UTM."""
    incident = world.wait_incident(SME, world.sme.id, "high")
    page = phone.page
    world.login(page, SME)
    wide: dict[str, str] = {}
    for path in (
        "/portal",
        f"/portal/incidents/{incident['id']}",
        "/portal/devices",
        "/portal/settings",
        f"/portal/ask?kind=consult&incident={incident['id']}",
    ):
        response = page.goto(f"{world.base}{path}")
        assert response is not None
        assert response.status == 200, f"{path} answered {response.status}"
        problem = overflow(page)
        if problem:
            wide[path] = problem
    assert wide == {}, f"pages scroll sideways on a phone: {wide}"


def test_analyst_with_totp_acknowledges_and_resolves_from_the_queue(world: World, desktop: Tab) -> None:
    incident = world.wait_incident(OPS, world.ops.id, "high")
    page = desktop.page
    assert world.totp[ANALYST], "no TOTP enrolment for staff (tests/support/accounts.py)"
    steps = world.login(page, ANALYST)
    assert any("/login/totp" in url for url in steps), f"staff login skipped the TOTP step: {steps}"
    page.goto(f"{world.base}/soc")
    path = f"/soc/incidents/{world.ops.id}/{incident['id']}"
    page.locator(f"a[href='{path}']").first.click()
    page.wait_for_url(f"**{path}")

    expect(page.get_by_test_id("incident-status").locator(".state")).to_have_class(re.compile("state-new"))
    page.get_by_test_id("ack").click()
    page.wait_for_load_state("domcontentloaded")
    expect(page.get_by_test_id("incident-status").locator(".state")).to_have_class(
        re.compile("state-acknowledged")
    )
    page.get_by_test_id("resolution").select_option("true_positive")
    page.get_by_test_id("resolve").click()
    page.wait_for_load_state("domcontentloaded")
    expect(page.get_by_test_id("incident-status").locator(".state")).to_have_class(
        re.compile("state-resolved")
    )

    (after,) = [i for i in world.incidents(OPS, world.ops.id) if i["id"] == incident["id"]]
    assert after["status"] == "resolved"


def test_language_switch_changes_the_text_and_sticks(world: World, phone: Tab) -> None:
    page = phone.page
    world.login(page, QUIET)
    page.goto(f"{world.base}/portal")
    status = page.get_by_test_id("status")
    expect(status).to_contain_text("安全")

    page.locator("header a[href='?lang=en']").tap()
    page.wait_for_load_state("domcontentloaded")
    expect(page.get_by_test_id("status")).to_contain_text("Safe")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.goto(f"{world.base}/portal/settings")  # another page, no ?lang: the cookie remembers
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto(f"{world.base}/portal")
    expect(page.get_by_test_id("status")).to_contain_text("Safe")

    page.locator("header a[href='?lang=ja']").tap()
    page.wait_for_load_state("domcontentloaded")
    expect(page.get_by_test_id("status")).to_contain_text("安全")
    page.reload()
    expect(page.get_by_test_id("status")).to_contain_text("安全")
