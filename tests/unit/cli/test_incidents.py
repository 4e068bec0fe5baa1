"""``mimamori incidents``: the JSON contract and the workflow commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from mimamori.cli import incidents
from mimamori.cli.main import app as main_app
from mimamori.errors import NotFoundError

C2 = "203.0.113.66"  # in the bundled demo indicators
LINE = (
    '<189>date=2026-11-26 time=10:00:00 devname="FGT60F" devid="FGT60FTK0000" tz="+0900" logid="0000000013" '
    'type="traffic" subtype="forward" level="notice" srcip={src} srcport=50000 dstip={dst} dstport=443 '
    'proto=6 action="accept" policyid=1 service="HTTPS" srcname="{name}" osname="Windows" osversion="XP"'
)


def _app() -> typer.Typer:
    """The root app with ``incidents`` mounted as cli/main.py will (its registration is the lead's)."""
    if not any(group.name == "incidents" for group in main_app.registered_groups):
        main_app.add_typer(incidents.app, name="incidents")
    return main_app


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("MIMAMORI_DATA_DIR", str(tmp_path / "data"))
    return CliRunner()


def run(cli: CliRunner, *args: str) -> str:
    result = cli.invoke(_app(), list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_incidents_list_json_contract_and_workflow(cli: CliRunner, tmp_path: Path) -> None:
    tenant = run(cli, "tenants", "add", "A").strip()
    other = run(cli, "tenants", "add", "B").strip()
    log = tmp_path / "fgt.log"
    lines = [
        LINE.format(src="192.168.1.5", dst=C2, name="PC-SEIZOU-XP"),
        LINE.format(src="192.168.1.5", dst=C2, name="PC-SEIZOU-XP"),
    ]
    log.write_text("\n".join(lines) + "\n")
    run(cli, "ingest", str(log), "--tenant", tenant, "--format", "fortigate")
    (incident,) = json.loads(run(cli, "incidents", "list", "--tenant", tenant, "--json"))
    assert {"id", "severity", "score", "host", "alerts", "guidance", "damage"} <= set(incident)
    assert incident["severity"] == "high"
    assert isinstance(incident["score"], int)
    assert incident["score"] >= 60
    assert incident["host"] == "PC-SEIZOU-XP"
    alert_ids = {a["id"] for a in json.loads(run(cli, "alerts", "list", "--tenant", tenant, "--json"))}
    assert set(incident["alerts"]) == alert_ids
    assert set(incident["guidance"]) >= {"ja", "en"}
    assert "製造のパソコン PC-SEIZOU-XP" in incident["guidance"]["ja"]["what"]
    assert {"low_yen", "high_yen", "breakdown"} <= set(incident["damage"])
    assert incident["damage"]["low_yen"] < incident["damage"]["high_yen"]
    assert json.loads(run(cli, "incidents", "list", "--tenant", other, "--json")) == []
    assert len(json.loads(run(cli, "incidents", "list", "--json"))) == 1

    iid = incident["id"]
    run(cli, "incidents", "status", iid, "acknowledged", "--tenant", tenant)
    run(cli, "incidents", "assign", iid, "tanaka", "--tenant", tenant)
    run(cli, "incidents", "note", iid, "電話済み", "--tenant", tenant)
    done = json.loads(
        run(cli, "incidents", "status", iid, "resolved", "--resolution", "true_positive", "--tenant", tenant)
    )
    assert (done["status"], done["resolution"], done["assignee"]) == ("resolved", "true_positive", "tanaka")
    automatic = {"severity", "alerts_added"}  # triage's own entries as more detectors report on the PC
    workflow = [h["action"] for h in done["history"] if h["action"] not in automatic]
    assert workflow == ["created", "status", "assign", "note", "status"]
    assert "history" in json.loads(run(cli, "incidents", "show", iid, "--tenant", tenant))
    with pytest.raises(NotFoundError):  # cli/main.py maps it to exit code 3
        run(cli, "incidents", "show", iid, "--tenant", other)


def test_suppression_commands(cli: CliRunner) -> None:
    tenant = run(cli, "tenants", "add", "A").strip()
    assert json.loads(run(cli, "incidents", "suppress", "preview", "tenant", "--tenant", tenant)) == {
        "preview": 0
    }
    rule = json.loads(
        run(
            cli,
            "incidents",
            "suppress",
            "add",
            "indicator",
            "--tenant",
            tenant,
            "--value",
            f"ip:{C2}",
            "--reason",
            "sinkhole test",
            "--expires",
            "2099-01-01T00:00:00",
        )
    )
    assert (rule["detector"], rule["key"], rule["preview"]) == ("indicator", f"ip:{C2}", 0)
    assert [r["id"] for r in json.loads(run(cli, "incidents", "suppress", "list", "--tenant", tenant))] == [
        rule["id"]
    ]
    run(cli, "incidents", "suppress", "remove", rule["id"], "--tenant", tenant)
    assert json.loads(run(cli, "incidents", "suppress", "list", "--tenant", tenant)) == []
