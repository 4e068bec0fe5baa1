"""A session is bound to the password it was opened with: changing or resetting the password ends every
other session of that user (a stolen cookie dies with the old password)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.support.accounts import csrf_of
from tests.unit.web.conftest import PASSWORD, World, login

from mimamori.services import password_reset
from mimamori.web.app import create_app

NEW_PASSWORD = "a much longer new passphrase"


def test_changing_the_password_ends_the_other_sessions_but_not_this_one(world: World) -> None:
    with (
        TestClient(create_app(world.runtime)) as here,
        TestClient(create_app(world.runtime, manage_runtime=False)) as elsewhere,  # a second device
    ):
        login(here, "a@a.example")
        login(elsewhere, "a@a.example")
        assert elsewhere.get("/api/v1/alerts").status_code == 200

        page = here.get("/account").text
        changed = here.post(
            "/account/password",
            data={
                "current": PASSWORD,
                "password": NEW_PASSWORD,
                "confirm": NEW_PASSWORD,
                "csrf": csrf_of(page),
            },
        )
        assert changed.status_code == 200, changed.text

        assert elsewhere.get("/api/v1/alerts").status_code == 401  # the other device is logged out
        assert here.get("/api/v1/alerts").status_code == 200  # the one that changed it goes on


def test_a_password_reset_ends_every_session(client: TestClient, world: World) -> None:
    login(client, "a@a.example")
    assert client.get("/api/v1/alerts").status_code == 200
    mail = password_reset.request_reset(world.runtime.db, "a@a.example", "https://soc.example")
    assert mail is not None
    password_reset.complete_reset(world.runtime.db, mail.link.rsplit("/", 1)[1], NEW_PASSWORD)
    assert client.get("/api/v1/alerts").status_code == 401
    assert client.get("/portal", follow_redirects=False).headers["location"] == "/login"
