"""Hostile values that arrive through the real ingest API are shown as text, never run, on every page.

The ``hostile`` tenant's FortiGate, Zeek and Suricata records carry ``<script>``, attribute-breaking
``"><img onerror>``, ``javascript:`` URLs, ``<svg onload>`` and ``{{7*7}}`` in device names, host names,
URLs, DNS names, user agents and IDS signatures (tests/browser/world.py). Each page that shows them is
opened in Chromium; ``window.__xss`` must stay undefined, no dialog may open, no script, event handler or
``javascript:`` link may carry a payload, and the payload must be visible literally.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import quote

import pytest
from tests.browser.harness import wait_for
from tests.browser.world import (
    HOSTILE_DEVICE,
    HOSTILE_USER,
    HOSTILE_USER_NAME,
    IMG,
    JS_URL,
    PAYLOADS,
    SCRIPT,
    SOC_ADMIN,
    SVG,
    TEMPLATE,
    Tab,
    World,
    benign_record,
)

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

# Anything executable that mentions the payload's marker, and every javascript: URL in the document.
FIND_INJECTED = """() => {
  const bad = [];
  for (const s of document.querySelectorAll('script')) {
    if (s.textContent.includes('__xss') || (s.getAttribute('src') || '').includes('__xss')) bad.push(s.outerHTML);
  }
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      if (a.name.toLowerCase().startsWith('on') && a.value.includes('__xss')) bad.push(el.outerHTML);
    }
  }
  for (const el of document.querySelectorAll('[href],[src],[action],[formaction]')) {
    for (const n of ['href', 'src', 'action', 'formaction']) {
      const v = (el.getAttribute(n) || '').replace(/\\s/g, '').toLowerCase();
      if (v.startsWith('javascript:')) bad.push(el.outerHTML);
    }
  }
  return bad;
}"""


def hostile_incidents(world: World) -> list[dict[str, Any]]:
    """The hostile tenant's incidents once all four records surfaced (the device name among them)."""

    def probe() -> list[dict[str, Any]] | None:
        found = world.incidents(HOSTILE_USER, world.hostile.id)
        hosts = {i.get("host") for i in found}
        return found if HOSTILE_DEVICE in hosts and len(found) >= 4 else None

    return wait_for(probe, "the hostile records' incidents", timeout=60)


def assert_inert(tab: Tab, url: str, *, shows: bool = True) -> set[str]:
    """Open ``url``; assert nothing ran and nothing was injected; return the payloads shown as text.

    ``shows``: the page must show at least one payload literally (False for a page whose content may
    legitimately hold none, e.g. a customer's view of an incident whose only hostile value is raw data).
    """
    response = tab.page.goto(url, wait_until="load")
    assert response is not None
    assert response.status == 200, f"{url} answered {response.status}"
    return assert_page_inert(tab, shows=shows)


def assert_page_inert(tab: Tab, *, shows: bool = True) -> set[str]:
    """The checks of ``assert_inert`` on the page as it is."""
    page, url = tab.page, tab.page.url
    page.wait_for_timeout(100)  # let an injected onerror/onload fire if there were one
    assert page.evaluate("typeof window.__xss") == "undefined", f"{url}: a payload ran"
    assert tab.dialogs == [], f"{url}: dialogs opened: {tab.dialogs}"
    injected = page.evaluate(FIND_INJECTED)
    assert injected == [], f"{url}: executable payload in the DOM: {injected}"
    text = page.inner_text("body")
    shown = {p for p in PAYLOADS if p in text}
    assert shown or not shows, f"{url}: none of the hostile values is shown literally"
    return shown


def test_customer_pages_show_hostile_values_as_text(world: World, desktop: Tab) -> None:
    incidents = hostile_incidents(world)
    world.login(desktop.page, HOSTILE_USER)
    home = assert_inert(desktop, f"{world.base}/portal")
    assert any(p in HOSTILE_DEVICE for p in home)  # the device name is on the home page
    assert HOSTILE_USER_NAME in desktop.page.inner_text("header")
    assert_inert(desktop, f"{world.base}/portal/incidents")
    for incident in incidents:
        named = incident.get("host") == HOSTILE_DEVICE  # the customer sees the device name, not raw logs
        assert_inert(desktop, f"{world.base}/portal/incidents/{incident['id']}", shows=named)
    assert_inert(desktop, f"{world.base}/portal/settings", shows=False)

    # The device inventory is written every 30 s by a batch: send harmless ones until it lists the device.
    assets: list[dict[str, Any]] = []

    def listed() -> bool:
        world.service.ingest(world.hostile.tokens["zeek"], [benign_record()])
        assets[:] = world.api(HOSTILE_USER).get(f"/api/v1/tenants/{world.hostile.id}/assets").json()
        return any(HOSTILE_DEVICE in (a.get("hostname"), *a.get("names", ())) for a in assets)

    try:
        wait_for(listed, "the hostile device in the inventory", timeout=60, every=2)
    except AssertionError as error:
        raise AssertionError(
            f"{error}; the inventory has {[(a['ip'], a['hostname']) for a in assets]}"
        ) from None
    assert SCRIPT in assert_inert(desktop, f"{world.base}/portal/devices")

    # What the customer types is hostile too: a request to the desk through the real form.
    (named,) = [i for i in incidents if i.get("host") == HOSTILE_DEVICE]
    assert_inert(desktop, f"{world.base}/portal/ask?kind=onsite&incident={named['id']}")  # "about" the device
    form = desktop.page.locator("form[action='/portal/tickets']")
    form.locator("textarea[name=message]").fill(f"{SCRIPT} {IMG} {TEMPLATE}")
    form.locator("input[name=preferred_time]").fill(SVG)
    form.locator("[type=submit]").click()
    desktop.page.wait_for_load_state("load")
    assert_page_inert(desktop, shows=False)  # the confirmation shows the request number
    assert {SCRIPT, IMG, TEMPLATE} <= assert_inert(desktop, f"{world.base}/portal/tickets")


def test_soc_pages_show_hostile_values_as_text(world: World, desktop: Tab) -> None:
    incidents = hostile_incidents(world)
    tenant = world.hostile.id
    world.login(desktop.page, SOC_ADMIN)
    assert_inert(desktop, f"{world.base}/soc")
    assert_inert(desktop, f"{world.base}/tenants/{tenant}")
    seen: set[str] = set()
    for incident in incidents:
        seen |= assert_inert(desktop, f"{world.base}/soc/incidents/{tenant}/{incident['id']}")
    assert seen == set(PAYLOADS), f"raw evidence did not show {set(PAYLOADS) - seen}"
    assert_inert(desktop, f"{world.base}/soc/tenants/{tenant}")
    assert {SCRIPT, IMG} <= assert_inert(desktop, f"{world.base}/soc/tickets")  # the world's hostile ticket

    # Event search: the archived events (flushed every second here), and a hostile search text echoed.
    events = f"{world.base}/soc/events?tenant={tenant}"

    def archived() -> bool:
        desktop.page.goto(events)
        return HOSTILE_DEVICE in desktop.page.inner_text("main")

    wait_for(archived, "the hostile events in the event search", timeout=30, every=1)
    assert_inert(desktop, events)
    assert_inert(desktop, f"{events}&q={quote(IMG)}&host_name={quote(SCRIPT)}")
    assert desktop.page.locator("input[name=q]").input_value() == IMG
    assert desktop.page.locator("input[name=host_name]").input_value() == SCRIPT


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (f"<p>{SCRIPT}</p>", "a payload ran"),
        (f'<input value="{IMG}">', "a payload ran"),
        ('<p><a href="javascript:void(0)">x</a> &lt;svg&gt;</p>', "executable payload"),
        ("<p>&lt;b&gt;</p>", "none of the hostile values"),
        ("<script>alert(1)</script><p>{{7*7}}</p>", "dialogs opened"),
    ],
)
def test_the_checks_catch_an_injection(desktop: Tab, body: str, complaint: str) -> None:
    """The assertions above fail on a page that renders the payloads raw (they can fail)."""

    def serve(route: Any) -> None:
        route.fulfill(
            status=200, content_type="text/html", body=f"<html><body><main>{body}</main></body></html>"
        )

    desktop.page.route("http://vulnerable.test/", serve)
    with pytest.raises(AssertionError, match=complaint):
        assert_inert(desktop, "http://vulnerable.test/")


def test_the_checks_pass_an_escaped_page(desktop: Tab) -> None:
    escaped = html.escape(f"{SCRIPT} {IMG} {JS_URL}")
    desktop.page.route(
        "http://safe.test/",
        lambda route: route.fulfill(content_type="text/html", body=f"<main>{escaped}</main>"),
    )
    assert assert_inert(desktop, "http://safe.test/") == {SCRIPT, IMG, JS_URL}
