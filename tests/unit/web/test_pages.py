"""Server-rendered pages: login with CSRF, SOC console, SME portal, language, escaping."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from tests.support.accounts import web_login
from tests.unit.web.conftest import PASSWORD, World

from mimamori.services import feeds


def form_login(client: TestClient, email: str, password: str = PASSWORD) -> int:
    """The login form (and the TOTP step for staff, see tests/support/accounts.py)."""
    return int(web_login(client, email, password).status_code)


def test_login_page_is_japanese_by_default_and_english_on_request(client: TestClient) -> None:
    assert "ログイン" in client.get("/login").text
    english = client.get("/login?lang=en")
    assert "Log in" in english.text
    assert "ログイン" not in english.text
    assert "ログイン" not in client.get("/login").text  # the choice is remembered in a cookie


def test_login_without_csrf_token_is_refused(client: TestClient) -> None:
    response = client.post("/login", data={"email": "a@a.example", "password": PASSWORD})
    assert response.status_code == 403


def test_wrong_password_shows_the_form_again(client: TestClient) -> None:
    assert form_login(client, "a@a.example", "wrong-password!") == 401


def test_customer_portal_shows_status_and_escapes_titles(client: TestClient, world: World) -> None:
    assert form_login(client, "a@a.example") == 303
    page = client.get("/portal")
    assert page.status_code == 200
    assert "要対応" in page.text  # a high alert is open
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;" in page.text
    assert "secret-of-b" not in page.text


def test_customer_cannot_open_soc_console(client: TestClient) -> None:
    assert form_login(client, "b@b.example") == 303
    assert client.get("/soc").status_code == 403
    assert "安全" in client.get("/portal").text or "注意" in client.get("/portal").text


def test_soc_console_lists_every_tenant_and_filters(client: TestClient, world: World) -> None:
    assert form_login(client, "soc@provider.example") == 303
    page = client.get("/soc/alerts")  # the alert list moved here; /soc is the incident queue
    assert "山田製作所" in page.text
    assert "佐藤商店" in page.text
    low_only = client.get("/soc/alerts?severity=low")
    assert "secret-of-b" in low_only.text
    assert "&lt;script&gt;" not in low_only.text


def test_pages_redirect_to_login_when_logged_out(client: TestClient) -> None:
    response = client.get("/soc", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"


def test_soc_console_shows_failing_feeds_escaped(client: TestClient, world: World, tmp_path: Path) -> None:
    db = world.runtime.db
    broken = tmp_path / "broken.txt"
    broken.write_bytes(b"\xff\xfe<script>not a feed</script>")
    feeds.add_feed(db, "bad<feed>", "feodo-json", str(broken))
    feeds.update_feed(db, next(f for f in feeds.list_feeds(db) if f.name == "bad<feed>"), backoff=0)
    assert form_login(client, "soc@provider.example") == 303
    page = client.get("/soc").text
    assert "脅威情報フィードの更新に失敗しています" in page
    assert "bad&lt;feed&gt;" in page
    assert "<feed>" not in page
