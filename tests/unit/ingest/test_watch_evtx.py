"""DirectoryWatcher on Windows event logs (``*.evtx``): copied again and again, followed by record id."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest
from tests.unit.ingest.test_watch import run, watching

from mimamori.domain import RawRecord

SAMPLES = (
    Path(
        os.environ.get("MIMAMORI_SHARED_DATA", Path(__file__).resolve().parents[3].parent / "shared" / "data")
    )
    / "evtx-attack-samples"
)
EVTX_LOG = SAMPLES / "Lateral Movement" / "LM_5145_Remote_FileCopy.evtx"  # 10 chunks, ids 1..869
OTHER_LOG = SAMPLES / "Execution" / "rogue_msi_url_1040_1042.evtx"  # another log: ids 1..351


def evtx_copy(path: Path, *chunks: int) -> None:
    """An agent's copy of the log: its file header and these chunks, written then renamed into place."""
    if not EVTX_LOG.is_file():
        pytest.skip(f"sample data absent: {EVTX_LOG}")
    data = EVTX_LOG.read_bytes()
    body = b"".join(data[0x1000 + c * 0x10000 : 0x1000 + (c + 1) * 0x10000] for c in chunks)
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(data[:0x1000] + body)
    temporary.replace(path)


def record_ids(records: Sequence[RawRecord]) -> list[int]:
    return [json.loads(r.data)["event_record_id"] for r in records]


def test_an_event_log_copied_again_sends_only_its_new_records(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with watching(tmp_path, pattern="*.evtx", batch_size=100) as env:
            log = env.logs / "Security.evtx"
            evtx_copy(log, 0, 1, 2)
            first = await env.records()
            ids = record_ids(first)
            assert ids == list(range(1, len(ids) + 1))
            assert {(r.format, r.origin) for r in first} == {("evtx", f"file:{log}")}
            assert await env.records() == []  # unchanged
            evtx_copy(log, *range(6))  # grown, under a new inode
            assert record_ids(await env.records()) == list(range(ids[-1] + 1, 531))
            evtx_copy(log, *range(6))  # copied again, nothing new
            assert await env.records() == []
            state = json.loads((tmp_path / "state" / "watch.json").read_text())
            assert state["evtx"][str(log)]["last_id"] == 530
            await env.watcher.stop()
            evtx_copy(log, *range(10))  # grows while mimamori is down
            env.watcher = env.new_watcher()
            assert record_ids(await env.records()) == list(range(531, 870))
            evtx_copy(log, 0)  # cleared: ids restart
            assert record_ids(await env.records()) == list(range(1, 99))
            evtx_copy(log, 0, 1)
            assert record_ids(await env.records()) == list(range(99, 198))
            if not OTHER_LOG.is_file():
                pytest.skip(f"sample data absent: {OTHER_LOG}")
            shutil.copyfile(OTHER_LOG, log)  # another log over it: it holds an id 197, with other content
            assert record_ids(await env.records()) == list(range(1, 352))

    run(scenario())


def test_an_event_log_present_at_the_first_poll_starts_after_its_newest_record(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with watching(tmp_path, pattern="*.evtx", from_start=False) as env:
            log = env.logs / "System.evtx"
            evtx_copy(log, 0, 1)
            assert await env.records() == []
            evtx_copy(log, 0, 1, 2)
            assert record_ids(await env.records()) == list(range(198, 288))
            (env.logs / "fake.evtx").write_bytes(b"not an event log\n")  # refused, never raised
            assert await env.records() == []

    run(scenario())
