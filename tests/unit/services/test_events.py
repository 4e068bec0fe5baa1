"""Event search as a use case: tenant scoping (another tenant is a 404), limits, the pipeline hook."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mimamori.archive import ArchiveWriter
from mimamori.config import Settings
from mimamori.domain import Event, RawRecord, Role, User
from mimamori.errors import NotFoundError, PermissionDeniedError, ValidationError
from mimamori.services import Database, auth, events, tenants
from mimamori.services.pipeline import Pipeline

T0 = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
LINE = (
    b'{"_path":"conn","ts":1795654800.0,"uid":"C1","id.orig_h":"192.168.1.5","id.orig_p":50000,'
    b'"id.resp_h":"203.0.113.66","id.resp_p":443,"proto":"tcp"}'
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", secret_key="x" * 48)


@pytest.fixture
def world(settings: Settings, db: Database) -> dict[str, str]:
    a = tenants.add_tenant(db, "A").id
    b = tenants.add_tenant(db, "B").id
    writer = ArchiveWriter(settings.archive_dir, fsync=False)
    for tenant, message in ((a, "secret-of-a"), (b, "secret-of-b")):
        raw = RawRecord(tenant, "s", "zeek", message.encode(), T0)
        writer.append([Event(T0, tenant, "zeek.conn", {"message": message}, "s", raw)])
    writer.flush()
    return {"a": a, "b": b}


def _user(db: Database, role: Role, tenant_id: str | None, email: str) -> User:
    return auth.create_user(db, email, email, role, PASSWORD, tenant_id=tenant_id)


def _search(settings: Settings, db: Database, viewer: User | None, tenant_id: str, **kw: object) -> list[str]:
    page = events.search_events(
        settings,
        db,
        viewer,
        tenant_id,
        T0 - timedelta(hours=1),
        T0 + timedelta(hours=1),
        **kw,  # type: ignore[arg-type]
    )
    return [str(e.get("message")) for e in page.events]


def test_staff_see_any_tenant(settings: Settings, db: Database, world: dict[str, str]) -> None:
    staff = _user(db, Role.ANALYST, None, "soc@p.example")
    assert _search(settings, db, staff, world["a"]) == ["secret-of-a"]
    assert _search(settings, db, staff, world["b"]) == ["secret-of-b"]


def test_customer_sees_own_tenant_and_another_is_404(
    settings: Settings, db: Database, world: dict[str, str]
) -> None:
    customer = _user(db, Role.CUSTOMER_VIEWER, world["a"], "a@a.example")
    assert _search(settings, db, customer, world["a"]) == ["secret-of-a"]
    with pytest.raises(NotFoundError):
        _search(settings, db, customer, world["b"])
    with pytest.raises(NotFoundError):  # exactly like a tenant that does not exist
        _search(settings, db, _user(db, Role.ANALYST, None, "s@p.example"), "0123456789abcdef")


def test_customer_without_tenant_is_refused(settings: Settings, db: Database, world: dict[str, str]) -> None:
    orphan = User(id="u", email="o@o.example", name="o", role=Role.CUSTOMER_ADMIN, tenant_id=None)
    with pytest.raises(PermissionDeniedError):
        _search(settings, db, orphan, world["a"])


def test_limits(settings: Settings, db: Database, world: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match="31 days"):
        events.search_events(settings, db, None, world["a"], T0 - timedelta(days=32), T0)
    events.search_events(settings, db, None, world["a"], T0 - timedelta(days=31), T0)  # exactly 31: fine
    with pytest.raises(ValidationError):
        _search(settings, db, None, world["a"], limit=1001)
    with pytest.raises(ValidationError):
        _search(settings, db, None, world["a"], limit=0)
    with pytest.raises(ValidationError):
        events.search_events(settings, db, None, world["a"], T0, T0 - timedelta(hours=1))
    with pytest.raises(ValidationError):
        events.search_events(settings, db, None, world["a"], T0.replace(tzinfo=None), T0 + timedelta(hours=1))


def test_filters_and_text_reach_the_archive(settings: Settings, db: Database, world: dict[str, str]) -> None:
    assert _search(settings, db, None, world["a"], text="SECRET") == ["secret-of-a"]
    assert _search(settings, db, None, world["a"], text="secret-of-b") == []
    assert _search(settings, db, None, world["a"], filters={"source.ip": "10.9.9.9"}) == []


def test_dict_shape(settings: Settings, db: Database, world: dict[str, str]) -> None:
    page = events.search_events(
        settings, db, None, world["a"], T0 - timedelta(hours=1), T0 + timedelta(hours=1)
    )
    shaped = events.page_to_dict(page)
    assert shaped["has_more"] is False
    (event,) = shaped["events"]
    assert event["timestamp"] == "2026-11-26T01:00:00+00:00"
    assert event["tenant_id"] == world["a"]
    assert event["fields"] == {"message": "secret-of-a"}
    assert event["raw"] == "secret-of-a"
    assert {"source.ip", "destination.port", "summary", "dataset", "sensor_id"} <= set(event)


def test_pipeline_archives_parsed_events_after_commit(
    settings: Settings, db: Database, pipeline: Pipeline
) -> None:
    tenant = tenants.add_tenant(db, "C").id
    sensor = tenants.add_sensor(db, tenant, "zeek", "zeek").sensor.id
    writer = events.open_writer(settings)
    assert writer is not None
    pipeline.archive = writer
    pipeline.process(
        [RawRecord(tenant, sensor, "zeek", LINE, T0), RawRecord(tenant, sensor, "zeek", b"{bad", T0)]
    )
    assert writer.buffered == 1  # the parsed event only; the bad record went to quarantine
    pipeline.flush()
    assert writer.buffered == 0
    page = events.search_events(settings, db, None, tenant, T0 - timedelta(days=1), T0 + timedelta(days=1))
    (found,) = page.events
    assert found.get("source.ip") == "192.168.1.5"
    assert found.get("destination.port") == 443
    assert found.raw == LINE.decode()


def test_archive_can_be_switched_off(tmp_path: Path) -> None:
    assert events.open_writer(Settings(data_dir=tmp_path, secret_key="x" * 48, archive_enabled=False)) is None
