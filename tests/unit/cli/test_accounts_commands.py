"""``mimamori users token create|list|revoke`` and ``mimamori users reset-totp``."""

from __future__ import annotations

import json
from pathlib import Path

import pyotp
import pytest
from typer.testing import CliRunner

from mimamori.cli.main import app
from mimamori.config import Settings
from mimamori.domain import Role
from mimamori.services import accounts, auth
from mimamori.services.runtime import open_database


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("MIMAMORI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MIMAMORI_DATABASE_URL", raising=False)
    return CliRunner()


def run(cli: CliRunner, *args: str) -> str:
    result = cli.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_token_create_list_revoke(cli: CliRunner, tmp_path: Path) -> None:
    run(
        cli,
        "users",
        "add",
        "soc@provider.example",
        "--name",
        "SOC",
        "--role",
        "analyst",
        "--password",
        "x" * 12,
    )
    created = json.loads(
        run(
            cli,
            "users",
            "token",
            "create",
            "soc@provider.example",
            "--name",
            "export",
            "--scope",
            "write",
            "--json",
        )
    )
    assert created["scopes"] == ["read", "write"]
    assert created["token"].startswith("mmr_")
    listed = json.loads(run(cli, "users", "token", "list", "soc@provider.example", "--json"))
    assert [t["id"] for t in listed] == [created["id"]]
    assert created["token"] not in json.dumps(listed)
    plain = run(cli, "users", "token", "list", "soc@provider.example")
    assert created["prefix"] in plain
    assert "expires never" in plain
    run(cli, "users", "token", "revoke", created["id"])
    db = open_database(Settings(data_dir=tmp_path / "data"))
    (record,) = accounts.list_tokens(db, accounts.user_by_email(db, "soc@provider.example"))
    assert record.revoked_at is not None
    missing = cli.invoke(app, ["users", "token", "list", "nobody@provider.example"])
    assert missing.exit_code != 0


def test_reset_totp_makes_the_user_enrol_again(cli: CliRunner, tmp_path: Path) -> None:
    db = open_database(Settings(data_dir=tmp_path / "data"))
    user = auth.create_user(db, "soc@provider.example", "SOC", Role.ANALYST, "x" * 12)
    accounts.enrol_with_secret(db, user.id, pyotp.random_base32())
    assert "new secret" in run(cli, "users", "reset-totp", "SOC@provider.example")
    assert accounts.begin_login(db, user.email, "x" * 12).next is accounts.NextStep.ENROL
