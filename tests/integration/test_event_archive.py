"""End to end through the event archive: records in (HTTP ingest into a running runtime, and
``mimamori ingest`` of a FortiGate file) -> parsed -> archived (flushed at shutdown / end of import) ->
found by event search (service, API and ``mimamori events search``)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from mimamori.cli.main import app as cli_app
from mimamori.config import Settings
from mimamori.errors import NotFoundError
from mimamori.services import events, tenants
from mimamori.services.runtime import Runtime
from mimamori.web.app import create_app

ZEEK_TS = datetime(2026, 11, 26, 1, 0, 1, 500000, tzinfo=UTC)
ZEEK = (
    f'{{"_path":"dns","ts":{ZEEK_TS.timestamp()},"uid":"C9","id.orig_h":"192.168.7.21","id.orig_p":53001,'
    '"id.resp_h":"192.168.7.1","id.resp_p":53,"proto":"udp","query":"Archive-Probe.example.jp",'
    '"qtype_name":"A","rcode_name":"NOERROR"}'
)
FORTIGATE = (
    '<189>date=2026-11-26 time=10:00:00 devname="FGT60F" devid="FGT60FTK0000" tz="+0900" '
    'logid="0000000013" type="traffic" subtype="forward" level="notice" srcip=192.168.1.5 srcport=50000 '
    'dstip=198.51.100.77 dstport=8443 proto=6 action="accept" policyid=1 service="HTTPS" srcname="PC-SOUMU-01"'
)
SECRET = "s" * 48


def _cli(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(cli_app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("MIMAMORI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MIMAMORI_SECRET_KEY", SECRET)
    return Settings(data_dir=tmp_path / "data", secret_key=SECRET, syslog_tcp_port=0, syslog_udp_port=0)


def test_http_ingest_is_archived_at_shutdown_and_searchable(env: Settings) -> None:
    runtime = Runtime(env)
    tenant = tenants.add_tenant(runtime.db, "山田製作所").id
    other = tenants.add_tenant(runtime.db, "佐藤商店").id
    token = tenants.add_sensor(runtime.db, tenant, "zeek-dns", "zeek").token
    with TestClient(create_app(runtime)) as client:
        response = client.post(
            "/api/v1/ingest", content=ZEEK.encode(), headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 202
        deadline = time.monotonic() + 15
        while runtime.processed.parsed < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert runtime.processed.parsed == 1
        assert runtime.pipeline.archive is not None
        assert runtime.pipeline.archive.buffered == 1  # held until the flush period or shutdown
    # Shutdown flushed the archive.
    assert list((env.archive_dir / f"tenant={tenant}").rglob("part-*.parquet"))
    start, end = ZEEK_TS - timedelta(minutes=5), ZEEK_TS + timedelta(minutes=5)
    page = events.search_events(env, runtime.db, None, tenant, start, end, text="archive-probe")
    (found,) = page.events
    assert found.get("dns.question.name") == "archive-probe.example.jp"  # the parser normalises names
    assert found.get("source.ip") == "192.168.7.21"
    assert found.raw == ZEEK
    assert events.search_events(env, runtime.db, None, other, start, end).events == []

    out = _cli(
        CliRunner(),
        "events", "search", "--tenant", tenant,
        "--start", start.isoformat(), "--end", end.isoformat(),
        "--filter", "dns.question.name=archive-probe.example.jp", "--json",
    )  # fmt: skip
    shaped = json.loads(out)
    assert [e["source.ip"] for e in shaped["events"]] == ["192.168.7.21"]


def test_cli_ingest_of_a_fortigate_file_is_searchable(env: Settings, tmp_path: Path) -> None:
    runner = CliRunner()
    tenant = _cli(runner, "tenants", "add", "山田製作所").strip()
    log = tmp_path / "fgt.log"
    log.write_text(FORTIGATE + "\nnot a fortigate line\n", encoding="utf-8")
    _cli(runner, "ingest", str(log), "--tenant", tenant, "--format", "fortigate", "--json")

    out = _cli(
        runner,
        "events", "search", "--tenant", tenant,
        "--start", "2026-11-26T09:00", "--end", "2026-11-26T11:00",  # Japan time
        "--query", "pc-soumu", "--json",
    )  # fmt: skip
    (event,) = json.loads(out)["events"]
    assert event["destination.ip"] == "198.51.100.77"
    assert event["destination.port"] == 8443
    assert event["timestamp"] == "2026-11-26T01:00:00+00:00"
    assert event["format"] == "fortigate"
    assert "PC-SOUMU-01" in event["raw"]

    text = _cli(
        runner,
        "events",
        "search",
        "--tenant",
        tenant,
        "--start",
        "2026-11-26T09:00",
        "--end",
        "2026-11-26T11:00",
    )
    assert "2026-11-26 10:00:00 JST" in text
    assert "198.51.100.77:8443" in text
    assert "0 days compacted" in _cli(runner, "events", "compact")
    assert "0 days deleted" in _cli(runner, "events", "prune")

    hostile = runner.invoke(cli_app, ["events", "search", "--tenant", "../" + tenant])
    assert isinstance(hostile.exception, NotFoundError)  # like any unknown tenant (exit code 3)


def test_running_runtime_writes_due_buffers_without_shutdown(env: Settings) -> None:
    settings = env.model_copy(update={"archive_flush_seconds": 1.0})
    runtime = Runtime(settings)
    tenant = tenants.add_tenant(runtime.db, "山田製作所").id
    token = tenants.add_sensor(runtime.db, tenant, "zeek-dns", "zeek").token
    day = settings.archive_dir / f"tenant={tenant}"
    with TestClient(create_app(runtime)) as client:
        headers = {"Authorization": f"Bearer {token}"}
        assert client.post("/api/v1/ingest", content=ZEEK.encode(), headers=headers).status_code == 202
        deadline = time.monotonic() + 20
        while not list(day.rglob("part-*.parquet")) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert list(day.rglob("part-*.parquet")), "the event-archive task did not write the due buffer"
        metrics = client.get("/metrics").text
        assert "mimamori_archive_events_written 1" in metrics
