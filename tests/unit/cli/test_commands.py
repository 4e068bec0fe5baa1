"""The scripting interface: command names, options and output shapes are contracts."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mimamori.cli.main import app

C2 = "203.0.113.66"  # in the bundled demo indicators
LINE = (
    '<189>date=2026-11-26 time=10:00:00 devname="FGT60F" devid="FGT60FTK0000" tz="+0900" logid="0000000013" '
    'type="traffic" subtype="forward" level="notice" srcip=192.168.1.5 srcport=50000 dstip={dst} dstport=443 '
    'proto=6 action="accept" policyid=1 service="HTTPS" srcname="PC-XP-01"'
)


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("MIMAMORI_DATA_DIR", str(tmp_path / "data"))
    return CliRunner()


def run(cli: CliRunner, *args: str) -> str:
    result = cli.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_tenants_add_prints_the_id_and_list_shows_it(cli: CliRunner) -> None:
    tenant_id = run(cli, "tenants", "add", "山田製作所").strip()
    assert len(tenant_id) >= 8
    listed = json.loads(run(cli, "tenants", "list", "--json"))
    assert listed == [{"id": tenant_id, "name": "山田製作所"}]


def test_ingest_then_alerts_list_json(cli: CliRunner, tmp_path: Path) -> None:
    tenant = run(cli, "tenants", "add", "A").strip()
    other = run(cli, "tenants", "add", "B").strip()
    log = tmp_path / "fgt.log.gz"
    lines = [LINE.format(dst=C2), LINE.format(dst="13.107.42.14"), "garbage \x00 line"]
    log.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    out = run(cli, "ingest", str(log), "--tenant", tenant, "--format", "fortigate", "--json")
    summary = json.loads(out.strip().splitlines()[-1])
    assert {k: summary[k] for k in ("received", "parsed", "quarantined", "duplicates")} == {
        "received": 3,
        "parsed": 2,
        "quarantined": 1,
        "duplicates": 0,
    }
    assert summary["seconds"] >= 0

    alerts = json.loads(run(cli, "alerts", "list", "--tenant", tenant, "--json"))
    assert len(alerts) == 1
    alert = alerts[0]
    assert {
        "id",
        "tenant_id",
        "severity",
        "title",
        "detector",
        "host",
        "source_ip",
        "destination_ip",
        "first_seen",
        "last_seen",
        "count",
    } <= set(alert)
    assert (alert["tenant_id"], alert["severity"], alert["detector"]) == (tenant, "high", "indicator")
    assert (alert["host"], alert["source_ip"], alert["destination_ip"]) == ("PC-XP-01", "192.168.1.5", C2)
    assert json.loads(run(cli, "alerts", "list", "--tenant", other, "--json")) == []
    assert len(json.loads(run(cli, "alerts", "list", "--json"))) == 1
    (bad,) = json.loads(run(cli, "quarantine", "list", "--tenant", tenant, "--json"))
    assert bad["data"] == "garbage \x00 line"
    assert bad["reason"]


def test_sensors_add_prints_a_token_once_and_lists_counters(cli: CliRunner) -> None:
    tenant = run(cli, "tenants", "add", "A").strip()
    added = json.loads(
        run(
            cli,
            "sensors",
            "add",
            "--tenant",
            tenant,
            "--name",
            "utm",
            "--format",
            "fortigate",
            "--source-address",
            "203.0.113.10",
            "--json",
        )
    )
    assert len(added["token"]) >= 32
    (listed,) = json.loads(run(cli, "sensors", "list", "--tenant", tenant, "--json"))
    assert listed["id"] == added["id"]
    assert "token" not in listed
    assert listed["received"] == 0


def test_errors_map_to_exit_codes_and_readable_messages(tmp_path: Path) -> None:
    env = {"MIMAMORI_DATA_DIR": str(tmp_path / "d"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "mimamori", "alerts", "list", "--tenant", "missing", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 3
    assert done.stderr.startswith("error:")
    assert "Traceback" not in done.stderr
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "mimamori",
            "sensors",
            "add",
            "--tenant",
            "x",
            "--name",
            "n",
            "--format",
            "nope",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2
    assert "unknown format" in bad.stderr


def test_serve_refuses_a_placeholder_secret(tmp_path: Path) -> None:
    env = {
        "MIMAMORI_DATA_DIR": str(tmp_path / "d"),
        "MIMAMORI_SECRET_KEY": "change-me",
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, "-m", "mimamori", "serve", "--port", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 5
    assert "MIMAMORI_SECRET_KEY" in done.stderr


def test_sim_writes_a_scenario_file(cli: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "xp.log"
    result = cli.invoke(
        app,
        [
            "sim",
            "--scenario",
            "xp-malware",
            "--tenants",
            "1",
            "--seed",
            "3",
            "--format",
            "fortigate",
            "--out",
            str(out),
            "--minutes",
            "10",
        ],
    )
    assert result.exit_code == 0, result.output
    assert C2 in out.read_text(encoding="utf-8")


def _ingest_json(cli: CliRunner, *args: str, code: int = 0) -> dict[str, object]:
    result = cli.invoke(app, ["ingest", *args, "--json"], catch_exceptions=False)
    assert result.exit_code == code, result.output
    last = result.stdout.strip().splitlines()[-1]
    assert result.stdout.strip().count("\n") == 0, "--json prints exactly one line on stdout"
    summary: dict[str, object] = json.loads(last)
    return summary


def test_ingest_json_contract_a_directory_twice_and_zeek_tsv_without_format(
    cli: CliRunner, tmp_path: Path
) -> None:
    tenant = run(cli, "tenants", "add", "A").strip()
    logs = tmp_path / "logs"
    (logs / "zeek").mkdir(parents=True)
    (logs / "fgt.log.gz").write_bytes(gzip.compress((LINE.format(dst=C2) + "\n").encode()))
    (logs / "zeek" / "dns.log").write_bytes(
        b"#separator \\x09\n#path\tdns\n#fields\tts\tquery\n#types\ttime\tstring\n1.0\texample.com\n"
    )
    first = _ingest_json(cli, str(logs), "--tenant", tenant, "--format", "fortigate")
    assert {"received", "parsed", "quarantined", "duplicates", "seconds"} <= set(first)
    assert (first["received"], first["parsed"], first["duplicates"]) == (2, 2, 0)
    again = _ingest_json(cli, str(logs), "--tenant", tenant, "--format", "fortigate")
    assert (again["received"], again["duplicates"], again["alerts_created"]) == (0, 2, 0)
    zeek_only = _ingest_json(cli, str(logs / "zeek"), "--tenant", tenant)
    assert zeek_only["duplicates"] == 1  # the same content, recognised as Zeek without --format


def test_ingest_reports_unreadable_files_with_exit_code_6_and_goes_on(cli: CliRunner, tmp_path: Path) -> None:
    tenant = run(cli, "tenants", "add", "A").strip()
    logs = tmp_path / "logs"
    logs.mkdir()
    data = gzip.compress(("\n".join(LINE.format(dst="192.0.2.1") for _ in range(500)) + "\n").encode())
    (logs / "a.log.gz").write_bytes(data[: len(data) // 2])
    (logs / "b.log").write_text(LINE.format(dst=C2) + "\n")
    summary = _ingest_json(cli, str(logs), "--tenant", tenant, "--format", "fortigate", code=6)
    errors = summary["errors"]
    assert isinstance(errors, list)
    assert len(errors) == 1
    assert "a.log.gz" in errors[0]
    assert summary["parsed"] == summary["received"]
    plain = cli.invoke(app, ["ingest", str(logs / "b.log"), "--tenant", tenant])
    assert plain.exit_code == 6
    assert "--format is required" in plain.stderr


def test_sensors_token_rotates_and_revokes(cli: CliRunner) -> None:
    from mimamori.cli.context import database
    from mimamori.services import tenants

    tenant = run(cli, "tenants", "add", "A").strip()
    added = json.loads(
        run(cli, "sensors", "add", "--tenant", tenant, "--name", "zeek", "--format", "zeek", "--json")
    )
    old = added["token"]
    out = run(cli, "sensors", "token", added["id"], "--tenant", tenant)
    new = out.split("token", 1)[1].split()[0]
    assert new != old
    db = database()
    assert tenants.sensor_for_token(db, old) is None
    found = tenants.sensor_for_token(db, new)
    assert found is not None
    assert found.id == added["id"]
    assert "revoked" in run(cli, "sensors", "token", added["id"], "--tenant", tenant, "--revoke")
    assert tenants.sensor_for_token(db, new) is None
