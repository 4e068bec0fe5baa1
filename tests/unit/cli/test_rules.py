"""``mimamori rules``: update / status / rollback / tenant, and Sigma alerts from an imported EVTX file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mimamori.cli.main import app
from mimamori.errors import NotFoundError, ValidationError

SHARED = Path(__file__).resolve().parents[4] / "shared" / "data"
CLEARED = SHARED / "evtx-attack-samples" / "Defense Evasion" / "DE_104_system_log_cleared.evtx"
RULE = """title: Security log cleared (test copy)
id: 5f0b6c84-0000-4000-8000-000000000001
status: test
level: high
logsource: {product: windows, service: security}
detection:
  selection: {EventID: 1102}
  condition: selection
"""


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("MIMAMORI_DATA_DIR", str(tmp_path / "data"))
    return CliRunner()


def run(cli: CliRunner, *args: str, code: int = 0) -> str:
    result = cli.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.stdout


def test_update_status_rollback(cli: CliRunner, tmp_path: Path) -> None:
    assert "no ruleset installed" in run(cli, "rules", "status")
    source = tmp_path / "rules"
    source.mkdir()
    (source / "cleared.yml").write_text(RULE)
    installed = json.loads(run(cli, "rules", "update", str(source), "--json"))
    assert installed["changed"]
    assert installed["compiled"] == 1
    assert installed["files"] == 1
    assert "unchanged" in run(cli, "rules", "update", str(source))
    (source / "second.yml").write_text(RULE.replace("0001", "0002").replace("(test copy)", "again"))
    second = json.loads(run(cli, "rules", "update", str(source), "--json"))
    status = json.loads(run(cli, "rules", "status", "--json"))
    assert status["current"] == second["version"]
    assert status["previous"] == installed["version"]
    assert installed["version"] in run(cli, "rules", "rollback")
    assert json.loads(run(cli, "rules", "status", "--json"))["current"] == installed["version"]


def test_update_errors_exit_with_a_message(cli: CliRunner, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = cli.invoke(app, ["rules", "update", str(empty)])
    assert isinstance(result.exception, ValidationError)
    result = cli.invoke(app, ["rules", "rollback"])
    assert isinstance(result.exception, NotFoundError)


def test_tenant_switches(cli: CliRunner) -> None:
    tenant = run(cli, "tenants", "add", "A").strip()
    shown = json.loads(run(cli, "rules", "tenant", tenant, "--json"))
    assert shown == {"disabled_rules": [], "enabled_rules": [], "placeholders": {}}
    changed = json.loads(
        run(
            cli,
            "rules",
            "tenant",
            tenant,
            "--disable",
            "r1",
            "--disabled-levels",
            "informational,low",
            "--placeholder",
            "Admins=taro,hanako",
            "--json",
        )
    )
    assert changed == {
        "disabled_rules": ["r1"],
        "enabled_rules": [],
        "placeholders": {"Admins": ["taro", "hanako"]},
        "disabled_levels": ["informational", "low"],
    }
    assert "placeholder %Admins%: taro, hanako" in run(cli, "rules", "tenant", tenant)
    result = cli.invoke(app, ["rules", "tenant", tenant, "--placeholder", "novalue"])
    assert isinstance(result.exception, ValidationError)  # main() maps it to exit code 2
    result = cli.invoke(app, ["rules", "tenant", "nope", "--disable", "x"])
    assert isinstance(result.exception, NotFoundError)  # exit code 3


@pytest.mark.skipif(not CLEARED.exists(), reason=f"EVTX sample not found: {CLEARED}")
def test_ingest_evtx_raises_a_sigma_alert_with_the_ruleset_version(cli: CliRunner) -> None:
    tenant = run(cli, "tenants", "add", "A").strip()
    other = run(cli, "tenants", "add", "B").strip()
    summary = json.loads(run(cli, "ingest", str(CLEARED), "--tenant", tenant, "--json").splitlines()[-1])
    assert summary["parsed"] >= 1
    alerts = json.loads(run(cli, "alerts", "list", "--tenant", tenant, "--json"))
    sigma = [a for a in alerts if a["detector"] == "sigma"]
    assert any(
        a["title"] == "Important Windows Eventlog Cleared" and a["severity"] == "high" for a in sigma
    ), alerts
    version = json.loads(run(cli, "rules", "status", "--json"))["current"]
    assert version  # the bundled starter rules were installed on first use
    assert json.loads(run(cli, "alerts", "list", "--tenant", other, "--json")) == []
