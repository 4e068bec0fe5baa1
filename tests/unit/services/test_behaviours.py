"""Behaviour policy documents and the state file that carries the behaviours across a restart."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from tests.unit.detection.behaviours.test_runner import Counting, events

from mimamori.config import Settings
from mimamori.detection.behaviours import BEHAVIOURS, BehaviourDetector
from mimamori.errors import ValidationError
from mimamori.services import Database, behaviours, tenants


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, secret_key="s" * 40)


def test_state_survives_a_restart_and_a_corrupt_file_means_a_fresh_start(settings: Settings) -> None:
    before = BehaviourDetector([Counting()])
    list(before.detect(events("t1", 2)))
    assert behaviours.save_state([before], settings)
    after = BehaviourDetector([Counting()])
    assert behaviours.load_state([object(), after], settings) == 1
    assert len(list(after.detect(events("t1", 1)))) == 1  # 2 + 1 = the threshold
    behaviours.state_path(settings).write_bytes(gzip.compress(b"{not json"))
    assert behaviours.load_state([BehaviourDetector([Counting()])], settings) == 0
    behaviours.state_path(settings).write_bytes(b"\x00garbage")
    assert behaviours.load_state([BehaviourDetector([Counting()])], settings) == 0
    assert not behaviours.save_state([object()], settings)


def test_tenant_thresholds_and_mail_servers(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(BEHAVIOURS, "counting", Counting)
    tenant = tenants.add_tenant(db, "A").id
    document = behaviours.change_tenant_settings(
        db, None, tenant, thresholds={"counting": {"fire_at": 5}}, mail_servers=["192.168.1.25"]
    )
    assert document == {"thresholds": {"counting": {"fire_at": 5}}, "mail_servers": ["192.168.1.25"]}
    policy = behaviours.load_policy(db)
    assert policy.value(tenant, "counting", "fire_at", 3) == 5
    assert policy.mail_servers[tenant] == frozenset({"192.168.1.25"})
    for bad in ({"nope": {"x": 1}}, {"counting": {"fire_at": -1}}, {"counting": {"fire_at": "5"}}):
        with pytest.raises(ValidationError):
            behaviours.change_tenant_settings(db, None, tenant, thresholds=bad)
    with pytest.raises(ValidationError):
        behaviours.change_tenant_settings(db, None, tenant, mail_servers=["mail.example"])
    runner = BehaviourDetector.build(behaviours.load_policy(db), {"counting"})
    behaviours.refresh([runner], db)
    assert list(runner.detect(events(tenant, 4))) == []
    assert len(list(runner.detect(events(tenant, 1)))) == 1
