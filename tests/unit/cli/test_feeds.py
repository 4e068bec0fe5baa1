"""``mimamori feeds``: the commands a provider scripts (run on the sub-app until main registers it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mimamori.cli.feeds import app

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "feeds"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("MIMAMORI_DATA_DIR", str(tmp_path / "data"))
    return CliRunner()


def run(cli: CliRunner, *args: str, code: int = 0) -> str:
    result = cli.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.stdout


def test_import_lookup_and_formats(cli: CliRunner) -> None:
    assert "feodo-csv" in run(cli, "formats")
    out = json.loads(
        run(cli, "import", str(SAMPLES / "feodo_ipblocklist.csv"), "--format", "feodo-csv", "--json")
    )
    assert (out["name"], out["indicators"], out["status"]) == ("import-feodo_ipblocklist", 3, "updated")
    (row,) = json.loads(run(cli, "lookup", "203.0.113.66", "--json"))
    assert (row["source"], row["threat"]) == ("import-feodo_ipblocklist", "QakBot")
    assert run(cli, "lookup", "192.0.2.250").strip() == "not listed"


def test_csv_import_with_a_column_mapping(cli: CliRunner) -> None:
    out = run(
        cli, "import", str(SAMPLES / "mapped.csv"), "--format", "csv", "--name", "partner",
        "--option", "value=indicator", "--option", "type=kind", "--option", "delimiter=;",
    )  # fmt: skip
    assert out.startswith("partner: 2 indicators")


def test_feeds_update_reports_per_feed_and_fails_with_exit_6(cli: CliRunner, tmp_path: Path) -> None:
    good = tmp_path / "list.txt"
    good.write_text("evil.example\n", encoding="utf-8")
    run(cli, "add", "own", "--format", "plain", "--url", str(good))
    run(cli, "add", "gone", "--format", "plain", "--url", str(tmp_path / "missing.txt"))
    result = cli.invoke(app, ["update", "--json"], catch_exceptions=False)
    assert result.exit_code == 6
    by_name = {r["name"]: r for r in json.loads(result.stdout)}
    assert by_name["own"]["status"] == "updated"
    assert by_name["gone"]["status"] == "failed"
    listing = run(cli, "list")
    assert "WARNING" in listing
    assert "own\tplain\t1 indicators" in listing


def test_manual_indicators_and_the_allowlist(cli: CliRunner) -> None:
    assert run(cli, "add-indicator", "Bad.Example", "--threat", "phishing").startswith(
        "added domain:bad.example"
    )
    entry_id = run(cli, "allow", "cdn.example", "--reason", "shared CDN").strip()
    (entry,) = json.loads(run(cli, "allowlist", "--json"))
    assert (entry["id"], entry["tenant_id"], entry["reason"]) == (entry_id, None, "shared CDN")
    run(cli, "disallow", entry_id)
    run(cli, "remove-indicator", "bad.example")
    assert "0 new alerts" in run(cli, "hunt", "--days", "7")
    bad = cli.invoke(app, ["add-indicator", "999.1.1.1", "--type", "ip"])
    assert bad.exit_code != 0
