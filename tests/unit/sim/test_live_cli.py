"""live() pacing with a fake clock, and the run_sim command function."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mimamori.sim import GroundTruth, SimRecord, live
from mimamori.sim.cli import bind_addresses, run_sim


def test_live_paces_benign_traffic_and_injects_scenarios() -> None:
    now = [1_800_000_000 * 10**9]

    def clock() -> int:
        now[0] += 30 * 10**9  # each tick is 30 simulated seconds
        return now[0]

    truths: list[GroundTruth] = []

    async def collect() -> list[SimRecord]:
        got: list[SimRecord] = []
        stream = live(
            tenants=2,
            seed=1,
            scenarios=["xp-malware"],
            events_per_minute=60,
            scenario_every_minutes=5,
            tick_seconds=0,
            on_truth=truths.append,
            clock=clock,
        )
        async for record in stream:
            got.append(record)
            if len(got) >= 400:
                break
        await stream.aclose()  # type: ignore[attr-defined]
        return got

    got = asyncio.run(collect())
    stamps = [r.timestamp.timestamp() for r in got]
    assert stamps == sorted(stamps)
    assert stamps[-1] * 1e9 <= now[0]
    assert truths
    assert truths[0].scenario == "xp-malware"
    assert any(b"203.0.113.66" in r.line for r in got)


def test_run_sim_writes_and_summarises(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sim.log"
    assert run_sim("all", 2, 1, "fortigate", out, None, None, 30, None) == 0
    text = capsys.readouterr().out
    assert "truth xp-malware" in text
    assert "truth byod-iphone" in text
    assert out.read_bytes().count(b"\n") > 1000
    assert run_sim("nope", 1, 1, "fortigate", None, None, None, 1, None) == 2


def test_bind_addresses_count_up() -> None:
    assert bind_addresses("127.0.1.1", 3) == {0: "127.0.1.1", 1: "127.0.1.2", 2: "127.0.1.3"}
