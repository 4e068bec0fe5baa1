"""Logging in as provider staff in tests, now that TOTP is mandatory for them.

- ``enroll_totp(db, user_id) -> secret``: enrol and confirm a random base32 secret through the service.
- ``fresh_code(db, user_id, secret)``: a code the server has not seen yet (the replay guard refuses a
  code of an already used 30-second step; the next step's code is accepted too, so at most one wait).
- ``staff_login(client, email, password, secret)``: JSON login (``/api/v1/session`` with ``totp``).
- ``web_login(client, email, password, secret=None)``: the HTML form, then ``/login/totp`` if asked.
- ``login_any(client, email, password)``: either kind of user. Staff not enrolled yet are enrolled on
  the fly (``secret_for``), so fixtures that only create users keep working.

``client`` is a Starlette ``TestClient`` over ``create_app(runtime)`` (its ``app.state.runtime`` is used).
"""

from __future__ import annotations

import re
import time
from typing import Any

import pyotp

from mimamori.services import accounts
from mimamori.storage import Database, read_only

_SECRETS: dict[str, str] = {}  # user id -> secret enrolled by enroll_totp


def enroll_totp(db: Database, user_id: str) -> str:
    secret = pyotp.random_base32()
    accounts.enrol_with_secret(db, user_id, secret)
    _SECRETS[user_id] = secret
    return secret


def fresh_code(db: Database, user_id: str, secret: str) -> str:
    step = int(time.time()) // accounts.TOTP_PERIOD
    last = accounts.last_step(db, user_id)
    if last is not None and last > step:  # the next step was used already: wait until it is current
        time.sleep(last * accounts.TOTP_PERIOD - time.time() + 0.05)
        step = last
    if last is not None and last >= step:
        step += 1
    return accounts.code_at(secret, step)


def _db(client: Any) -> Database:
    db: Database = client.app.state.runtime.db
    return db


def user_id_of(db: Database, email: str) -> str:
    with read_only(db) as uow:
        found = uow.users.get_by_email(email)
    assert found is not None, f"no user {email}"
    return found[0].id


def secret_for(db: Database, email: str) -> str | None:
    """The secret of ``email``: the one ``enroll_totp`` set, or a new one for staff not enrolled yet."""
    with read_only(db) as uow:
        found = uow.users.get_by_email(email)
    assert found is not None, f"no user {email}"
    user = found[0]
    if user.id in _SECRETS:
        return _SECRETS[user.id]
    if user.role.is_provider and not accounts.totp_enabled(db, user.id):
        return enroll_totp(db, user.id)
    return None


def staff_login(client: Any, email: str, password: str, secret: str) -> Any:
    db = _db(client)
    code = fresh_code(db, user_id_of(db, email), secret)
    response = client.post("/api/v1/session", json={"email": email, "password": password, "totp": code})
    assert response.status_code == 200, response.text
    return response


def login_any(client: Any, email: str, password: str) -> Any:
    """JSON login of any user (staff with a TOTP code, enrolled on the fly if needed)."""
    secret = secret_for(_db(client), email)
    if secret is not None:
        return staff_login(client, email, password, secret)
    response = client.post("/api/v1/session", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return response


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def web_login(client: Any, email: str, password: str, secret: str | None = None) -> Any:
    """Log in through /login (and /login/totp); returns the last response (a redirect to /)."""
    db = _db(client)
    secret = secret or secret_for(db, email)
    csrf = csrf_of(client.get("/login").text)
    response = client.post(
        "/login", data={"email": email, "password": password, "csrf": csrf}, follow_redirects=False
    )
    if response.headers.get("location") == "/login/totp":
        uid = user_id_of(db, email)
        assert secret, f"{email} needs a TOTP secret (enroll_totp)"
        csrf = csrf_of(client.get("/login/totp").text)
        response = client.post(
            "/login/totp", data={"code": fresh_code(db, uid, secret), "csrf": csrf}, follow_redirects=False
        )
    return response
