"""``mimamori contacts|oncall|notify`` and ``sensors silence``: names, options and output shapes, with a
real SMTP server behind ``notify test`` and ``notify run --once``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.notify_servers import SmtpServer
from typer.testing import CliRunner

from mimamori.cli.main import app
from mimamori.errors import NotFoundError, ValidationError

LINE = (
    '<189>date=2026-11-26 time=10:00:00 devname="FGT60F" devid="FGT60FTK0000" tz="+0900" logid="0000000013" '
    'type="traffic" subtype="forward" level="notice" srcip=192.168.1.5 srcport=50000 dstip=203.0.113.66 '
    'dstport=443 proto=6 action="accept" policyid=1 service="HTTPS" srcname="PC-XP-01"'
)


@pytest.fixture
def smtp() -> SmtpServer:
    server = SmtpServer().start()
    yield server  # type: ignore[misc]
    server.stop()


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp: SmtpServer) -> CliRunner:
    monkeypatch.setenv("MIMAMORI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MIMAMORI_SECRET_KEY", "c" * 48)
    monkeypatch.setenv("MIMAMORI_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("MIMAMORI_SMTP_PORT", str(smtp.port))
    monkeypatch.setenv("MIMAMORI_SMTP_SECURITY", "none")
    return CliRunner()


def run(cli: CliRunner, *args: str, code: int = 0) -> str:
    result = cli.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.stdout


def refused(cli: CliRunner, error: type[Exception], *args: str) -> None:
    """The command raises ``error`` (which ``mimamori.cli.main.main`` maps to its exit code)."""
    with pytest.raises(error):
        cli.invoke(app, list(args), catch_exceptions=False)


def test_contacts_policy_and_a_high_incident_mailed_by_notify_run(
    cli: CliRunner, smtp: SmtpServer, tmp_path: Path
) -> None:
    tenant = run(cli, "tenants", "add", "山田製作所").strip()
    added = json.loads(
        run(
            cli,
            "contacts",
            "add",
            "--tenant",
            tenant,
            "--name",
            "総務 花子",
            "--email",
            "hanako@yamada.example",
            "--hours",
            "Mon-Fri 09:00-18:00",
            "--role",
            "総務",
        )
    )
    assert added["channels"] == ["email"]
    assert added["priority"] == 1
    listed = json.loads(run(cli, "contacts", "list", "--tenant", tenant, "--json"))
    assert [c["id"] for c in listed] == [added["id"]]
    assert json.loads(run(cli, "notify", "policy", "--tenant", tenant))["high"] == "immediate"
    changed = json.loads(
        run(cli, "notify", "policy", "--tenant", tenant, "--medium", "immediate", "--quiet", "")
    )
    assert changed["medium"] == "immediate"
    assert changed["quiet_hours"] is None
    refused(cli, ValidationError, "notify", "policy", "--tenant", tenant, "--medium", "sometimes")
    refused(
        cli, ValidationError, "contacts", "add", "--tenant", tenant, "--name", "x", "--channel", "phone"
    )  # no number
    sensor = json.loads(
        run(cli, "sensors", "add", "--tenant", tenant, "--name", "utm", "--format", "fortigate", "--json")
    )["id"]
    assert "silence limit 30 min" in run(cli, "sensors", "silence", sensor, "30", "--tenant", tenant)
    log = tmp_path / "fw.log"
    log.write_text(LINE + "\n", encoding="utf-8")
    run(cli, "ingest", str(log), "--tenant", tenant, "--format", "fortigate")
    totals = json.loads(run(cli, "notify", "run", "--once"))
    assert totals["sent"] == 1
    assert totals["queued"] == 1
    (mail,) = smtp.wait_for(1)
    assert mail.rcpt_tos == ("hanako@yamada.example",)
    assert json.loads(run(cli, "notify", "status"))["sent"] == 1
    (sent,) = json.loads(run(cli, "notify", "list", "--tenant", tenant, "--json"))
    assert sent["status"] == "sent"
    assert sent["kind"] == "incident"
    shown = json.loads(run(cli, "notify", "show", sent["id"]))
    assert [a["ok"] for a in shown["attempts"]] == [True]
    run(cli, "contacts", "remove", added["id"], "--tenant", tenant)
    refused(cli, NotFoundError, "contacts", "remove", added["id"], "--tenant", tenant)


def test_notify_test_sends_a_real_message_and_fails_loudly(cli: CliRunner, smtp: SmtpServer) -> None:
    result = json.loads(run(cli, "notify", "test", "--to", "soc@provider.example", "--language", "en"))
    assert result["status"] == "sent"
    (mail,) = smtp.wait_for(1)
    assert "Test notification" in str(mail.message["Subject"])
    smtp.refuse.add("nobody@provider.example")
    failed = json.loads(run(cli, "notify", "test", "--to", "nobody@provider.example", code=1))
    assert failed["status"] == "dead"
    assert "550" in failed["last_error"]
    assert len(json.loads(run(cli, "notify", "list", "--status", "dead", "--json"))) == 1
    assert "1 notification(s) queued again" in run(cli, "notify", "retry", "--all-dead")
    refused(cli, ValidationError, "notify", "retry")


def test_oncall_rota(cli: CliRunner) -> None:
    shift = json.loads(
        run(
            cli,
            "oncall",
            "add",
            "--name",
            "Analyst",
            "--email",
            "a1@soc.example",
            "--from",
            "2026-01-01T09:00+09:00",
            "--to",
            "2099-01-01T09:00+09:00",
        )
    )
    assert shift["level"] == 1
    assert [s["id"] for s in json.loads(run(cli, "oncall", "list", "--now", "--json"))] == [shift["id"]]
    refused(
        cli,
        ValidationError,
        "oncall",
        "add",
        "--name",
        "x",
        "--email",
        "a@b.example",
        "--from",
        "2026-01-01T09:00",  # no time zone
        "--to",
        "2026-01-02T09:00",
    )  # no time zone
    run(cli, "oncall", "remove", shift["id"])
    assert json.loads(run(cli, "oncall", "list", "--json")) == []
