"""The login steps in the browser: TOTP for staff, enrolment with a QR code, rate limits, password reset,
the /account page, secure cookies and no-store pages."""

from __future__ import annotations

import re
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pyotp
import pytest
from fastapi.testclient import TestClient
from httpx import Response
from tests.support.accounts import csrf_of, enroll_totp, fresh_code, user_id_of, web_login
from tests.unit.web.conftest import PASSWORD, World, make_settings

from mimamori.domain import Role
from mimamori.services import accounts, auth
from mimamori.services.ratelimit import AttemptLimiter
from mimamori.services.runtime import Runtime
from mimamori.web.app import create_app

STAFF = "soc@provider.example"


def post_form(client: TestClient, path: str, page: str, **data: str) -> Response:
    return client.post(path, data={**data, "csrf": csrf_of(client.get(page).text)}, follow_redirects=False)


def password_step(client: TestClient, email: str, password: str = PASSWORD) -> Response:
    return post_form(client, "/login", "/login", email=email, password=password)


def test_staff_password_alone_is_not_a_login(client: TestClient, world: World) -> None:
    before = client.cookies.get("mimamori_session")
    response = password_step(client, STAFF)
    assert response.status_code == 303
    assert response.headers["location"] == "/login/totp"
    assert client.cookies.get("mimamori_session") != before
    assert client.get("/soc", follow_redirects=False).headers["location"] == "/login"  # pending: logged out
    assert client.get("/api/v1/alerts").status_code == 401
    page = client.get("/login/totp")
    assert page.status_code == 200
    assert 'name="code"' in page.text
    assert "2段階認証" in page.text

    db = world.runtime.db
    uid = user_id_of(db, STAFF)
    secret = enroll_totp(db, uid)
    wrong = post_form(client, "/login/totp", "/login/totp", code="12345x")
    assert wrong.status_code == 401
    assert "コードが正しくない" in wrong.text
    code = fresh_code(db, uid, secret)
    done = post_form(client, "/login/totp", "/login/totp", code=code)
    assert done.headers["location"] == "/"
    assert client.get("/soc").status_code == 200

    client.post("/logout", data={"csrf": csrf_of(client.get("/account").text)})
    password_step(client, STAFF)
    replay = post_form(client, "/login/totp", "/login/totp", code=code)
    assert replay.status_code == 401  # the same code is never accepted twice


def test_staff_without_a_secret_enrols_with_a_qr_code(client: TestClient, world: World) -> None:
    db = world.runtime.db
    auth.create_user(db, "tech@provider.example", "Tech", Role.TECHNICIAN, PASSWORD)
    assert password_step(client, "tech@provider.example").headers["location"] == "/account/totp"
    assert client.get("/soc", follow_redirects=False).status_code == 303
    page = client.get("/account/totp")
    assert page.status_code == 200
    assert "<svg" in page.text
    assert "<path" in page.text
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]{32})<', page.text)
    assert secret, page.text
    bad = post_form(client, "/account/totp", "/account/totp", code="12345x")
    assert bad.status_code == 401
    again = re.search(r'data-testid="totp-secret">([A-Z2-7]{32})<', client.get("/account/totp").text)
    assert again
    assert again.group(1) == secret.group(1)  # the same secret after a wrong code or a reload
    ok = post_form(client, "/account/totp", "/account/totp", code=pyotp.TOTP(secret.group(1)).now())
    assert ok.headers["location"] == "/"
    assert client.get("/soc").status_code == 200
    assert accounts.totp_enabled(db, user_id_of(db, "tech@provider.example"))


def test_without_a_pending_login_the_code_pages_lead_to_login(client: TestClient) -> None:
    assert client.get("/login/totp", follow_redirects=False).headers["location"] == "/login"
    assert client.get("/account/totp", follow_redirects=False).headers["location"] == "/login"


def test_five_wrong_codes_end_the_pending_login(client: TestClient) -> None:
    password_step(client, STAFF)
    for _ in range(4):
        assert post_form(client, "/login/totp", "/login/totp", code="12345x").status_code == 401
    last = post_form(client, "/login/totp", "/login/totp", code="12345x")
    assert "もう一度ログインしてください" in last.text
    assert client.get("/login/totp", follow_redirects=False).headers["location"] == "/login"


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_failed_logins_per_address_get_429_with_retry_after(client: TestClient, world: World) -> None:
    clock = Clock()
    client.app.state.login_limiter = AttemptLimiter(3, 600, clock=clock)
    for _ in range(2):
        assert password_step(client, "a@a.example", "wrong password!").status_code == 401
    api = client.post("/api/v1/session", json={"email": "x@x.example", "password": "wrong password!"})
    assert api.status_code == 401
    blocked = client.post("/api/v1/session", json={"email": "a@a.example", "password": PASSWORD})
    assert blocked.status_code == 429
    assert blocked.headers["Retry-After"] == "600"
    assert "too many failed attempts" in blocked.json()["detail"]
    page = password_step(client, "a@a.example")  # even the right password waits
    assert page.status_code == 429
    assert page.headers["Retry-After"] == "600"
    assert "数分おいてから" in page.text
    clock.now = 601
    assert password_step(client, "a@a.example").headers["location"] == "/"


def test_json_login_requires_a_code_for_staff(client: TestClient, world: World) -> None:
    no_code = client.post("/api/v1/session", json={"email": STAFF, "password": PASSWORD})
    assert no_code.status_code == 401
    assert "totp" in no_code.json()["detail"]
    wrong = client.post("/api/v1/session", json={"email": STAFF, "password": PASSWORD, "totp": "12345x"})
    assert wrong.status_code == 401
    db = world.runtime.db
    auth.create_user(db, "new@provider.example", "New", Role.ANALYST, PASSWORD)
    unenrolled = client.post("/api/v1/session", json={"email": "new@provider.example", "password": PASSWORD})
    assert unenrolled.status_code == 401
    assert "not set up" in unenrolled.json()["detail"]
    uid = user_id_of(db, STAFF)
    secret = enroll_totp(db, uid)
    body = {"email": STAFF, "password": PASSWORD, "totp": fresh_code(db, uid, secret)}
    assert client.post("/api/v1/session", json=body).status_code == 200
    assert client.get("/api/v1/alerts").status_code == 200


def test_password_reset_by_mail(client: TestClient, world: World) -> None:
    mail_dir = world.runtime.settings.data_dir / "mail"
    world.runtime.settings.mail_dir = mail_dir
    unknown = post_form(client, "/password/forgot", "/password/forgot", email="nobody@a.example")
    known = post_form(client, "/password/forgot", "/password/forgot", email="a@a.example")
    assert unknown.status_code == known.status_code == 200
    assert unknown.text == known.text  # nothing tells which accounts exist
    (eml,) = mail_dir.glob("*.eml")
    message = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
    body = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    link = re.search(r"/password/reset/[\w-]+", body)
    assert link
    path = link.group(0)
    form = client.get(path)
    assert form.status_code == 200
    assert form.headers["Referrer-Policy"] == "no-referrer"
    mismatch = post_form(client, path, path, password="a new long password", confirm="something else!")
    assert mismatch.status_code == 422
    done = post_form(client, path, path, password="a new long password", confirm="a new long password")
    assert done.status_code == 200
    assert "新しいパスワードでログイン" in done.text
    assert client.get(path).status_code == 404  # single use
    assert web_login(client, "a@a.example", "a new long password").headers["location"] == "/"
    assert web_login(client, "a@a.example", PASSWORD).status_code == 401


def test_account_page_changes_password_and_manages_tokens(client: TestClient, world: World) -> None:
    web_login(client, "a@a.example", PASSWORD)
    page = client.get("/account")
    assert page.status_code == 200
    assert "2段階認証" in page.text
    assert "オフです" in page.text
    assert client.post("/account/tokens", data={"name": "x", "scope": "read"}).status_code == 403  # no CSRF
    created = post_form(client, "/account/tokens", "/account", name="<b>backup</b>", scope="read")
    assert created.status_code == 201
    value = re.search(r'data-testid="new-token">(mmr_[\w-]+)<', created.text)
    assert value
    assert "&lt;b&gt;backup&lt;/b&gt;" in created.text
    listing = client.get("/account").text
    assert value.group(1) not in listing
    assert value.group(1)[:12] in listing
    headers = {"Authorization": f"Bearer {value.group(1)}"}
    assert client.get("/api/v1/alerts", headers=headers).status_code == 200
    db = world.runtime.db
    (token,) = accounts.list_tokens(db, auth.get_user(db, user_id_of(db, "a@a.example")))
    post_form(client, f"/account/tokens/{token.id}/revoke", "/account")
    assert client.get("/api/v1/alerts", headers=headers).status_code == 401

    wrong = post_form(
        client, "/account/password", "/account", current="nope nope nope", password="x" * 12, confirm="x" * 12
    )
    assert wrong.status_code == 422
    assert "現在のパスワードが正しくありません" in wrong.text
    ok = post_form(
        client, "/account/password", "/account", current=PASSWORD, password="x" * 12, confirm="x" * 12
    )
    assert ok.status_code == 200
    assert "パスワードを変更しました" in ok.text


def test_a_customer_may_turn_totp_on_and_is_then_asked_for_codes(client: TestClient, world: World) -> None:
    web_login(client, "a@a.example", PASSWORD)
    page = client.get("/account/totp")
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page.text)
    assert secret
    post_form(client, "/account/totp", "/account/totp", code=pyotp.TOTP(secret.group(1)).now())
    assert "オンです" in client.get("/account").text
    client.cookies.clear()
    assert password_step(client, "a@a.example").headers["location"] == "/login/totp"


def test_headers_no_store_and_session_cookie_flags(client: TestClient, world: World) -> None:
    page = client.get("/login")
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "no-store" not in client.get("/static/style.css").headers.get("Cache-Control", "")
    cookie = page.headers["set-cookie"]
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()


@pytest.mark.parametrize(
    ("public_url", "secure"), [("https://soc.example", True), ("http://127.0.0.1:8000", False)]
)
def test_the_session_cookie_is_secure_behind_https(tmp_path: Path, public_url: str, secure: bool) -> None:
    runtime = Runtime(make_settings(tmp_path, public_url=public_url))
    with TestClient(create_app(runtime), base_url="https://testserver") as https_client:
        cookie = https_client.get("/login").headers["set-cookie"].lower()
    assert ("; secure" in cookie) is secure
    assert runtime.settings.session_secure is secure
    assert make_settings(tmp_path, public_url=public_url, session_https_only=True).session_secure


def test_fresh_code_waits_out_a_used_step(world: World) -> None:
    db = world.runtime.db
    uid = user_id_of(db, STAFF)
    secret = enroll_totp(db, uid)
    first = fresh_code(db, uid, secret)
    accounts.verify_code(db, uid, first)
    accounts.verify_code(db, uid, fresh_code(db, uid, secret))  # the next step's code, not a replay
