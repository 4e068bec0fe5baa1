"""A pipeline batch against a PostgreSQL server that restarts or crashes (``tests/support/pg_server.py``).

A batch is one transaction: during the outage ``Pipeline.process`` fails with the driver's connection error,
nothing of the batch is committed, and the same call after the server is back commits it exactly once; the
engine's pool replaces its dead connections by itself (``pool_pre_ping``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy.exc import OperationalError
from tests.conftest import require_service
from tests.support.pg_server import PgServer, find_binaries

from mimamori.detection import DetectorContext, build_engine
from mimamori.detection.indicators import Indicator, IndicatorSet
from mimamori.domain import RawRecord
from mimamori.services import tenants
from mimamori.services.pipeline import Pipeline
from mimamori.storage import Database, Repositories, read_only

C2 = "203.0.113.66"
NOW = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)


def fortigate(src: str, dst: str) -> bytes:
    return (
        f'<189>date=2026-11-26 time=10:00:00 devname="FGT60F" devid="FGT60FTK0000" eventtime=1764118800000000000 '
        f'tz="+0900" logid="0000000013" type="traffic" subtype="forward" level="notice" srcip={src} '
        f'srcport=50000 dstip={dst} dstport=443 proto=6 action="accept" policyid=1 service="HTTPS" '
        f'sentbyte=100 rcvdbyte=200 srcname="PC-{src.rsplit(".", 1)[1]}"'
    ).encode()


@dataclass
class Setup:
    server: PgServer
    db: Database
    pipeline: Pipeline
    tenant_id: str
    sensor_id: str

    def batch(self, *hosts: int) -> list[RawRecord]:
        """One C2 connection per host plus one harmless connection."""
        payloads = [fortigate(f"192.168.1.{h}", C2) for h in hosts] + [fortigate("192.168.1.9", "192.0.2.1")]
        return [RawRecord(self.tenant_id, self.sensor_id, "fortigate", p, NOW, "test") for p in payloads]

    def totals(self) -> tuple[int, int, int, int]:
        """(alerts, sum of alert counts, outbox rows, records the sensor received)."""
        with read_only(self.db) as uow:
            alerts = uow.alerts.list(self.tenant_id)
            outbox = uow.outbox.list(self.tenant_id)
            (sensor,) = uow.sensors.list(self.tenant_id)
        return len(alerts), sum(a.count for a in alerts), len(outbox), sensor.received


@pytest.fixture(scope="module")
def server() -> Iterator[PgServer]:
    if find_binaries() is None:
        require_service("postgresql server binaries", "initdb/pg_ctl/postgres not found")
    with PgServer.create() as pg:
        yield pg


@pytest.fixture
def setup(server: PgServer, request: pytest.FixtureRequest) -> Iterator[Setup]:
    if server.pid is None:  # a failed test may have left it down
        server.start()
    name = f"outage_{abs(hash(request.node.nodeid)):x}"
    with psycopg.connect(server.url().replace("+psycopg", ""), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    db = Database(server.url(name))
    db.migrate()
    tenant = tenants.add_tenant(db, "停電テスト")
    sensor = tenants.add_sensor(db, tenant.id, "utm", "fortigate", with_token=False).sensor
    engine = build_engine(
        DetectorContext(indicators=IndicatorSet.from_indicators([Indicator(C2, "ip", "C2")]))
    )
    try:
        yield Setup(server, db, Pipeline(db, engine, max_record=4096), tenant.id, sensor.id)
    finally:
        db.dispose()


def crash(server: PgServer) -> None:
    """A crash (SIGKILL of the postmaster), then a start with crash recovery."""
    server.kill()
    server.start()


OUTAGES: dict[str, Callable[[PgServer], None]] = {
    "restart": PgServer.restart,  # pg_ctl stop -m fast + start: every session is terminated
    "kill-9": crash,
}


@pytest.mark.parametrize("outage", OUTAGES)
def test_the_pool_survives_an_outage_and_a_failed_batch_commits_once_on_retry(
    setup: Setup, outage: str
) -> None:
    assert setup.pipeline.process(setup.batch(10)).alerts_created == 1
    OUTAGES[outage](setup.server)  # the pool now holds connections the server has closed
    assert setup.pipeline.process(setup.batch(11)).alerts_created == 1  # replaced without an error
    assert setup.totals() == (2, 2, 2, 4)
    if outage == "restart":
        setup.server.stop()
    else:
        setup.server.kill()
    with pytest.raises(OperationalError, match=r"(?i)connection|server closed|terminat"):
        setup.pipeline.process(setup.batch(12))
    assert setup.server.pid is None
    setup.server.start()
    retried = setup.pipeline.process(setup.batch(12))  # the caller's retry of the same batch
    assert retried.alerts_created == 1
    assert setup.totals() == (3, 3, 3, 6)


@pytest.mark.parametrize("outage", ["stop", "kill-9"])
def test_a_server_lost_inside_the_batch_transaction_commits_nothing(setup: Setup, outage: str) -> None:
    setup.pipeline.process(setup.batch(10))
    before = setup.totals()

    def lose_the_server(_uow: Repositories) -> None:  # everything of the batch is written, not committed
        if outage == "stop":
            setup.server.stop("immediate")
        else:
            setup.server.kill()

    with pytest.raises(OperationalError):
        setup.pipeline.process(setup.batch(20, 21), on_commit=lose_the_server)
    setup.server.start()
    assert setup.totals() == before  # no half-committed batch
    retried = setup.pipeline.process(setup.batch(20, 21))
    assert retried.alerts_created == 2
    alerts, hits, outbox, received = setup.totals()
    assert (alerts, hits, outbox, received) == (before[0] + 2, before[1] + 2, before[2] + 2, before[3] + 3)
