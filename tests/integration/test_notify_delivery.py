"""Notification delivery with real parts: a real SMTP server (aiosmtpd), a real HTTP receiver, a real
database, the real CLI process killed mid-delivery, and the embedded runtime from log line to mail to
acknowledgement."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.notify_servers import HttpReceiver, SmtpServer, wait_until

from mimamori.config import Settings
from mimamori.domain import Finding, RawRecord, Severity
from mimamori.notify.signing import verify
from mimamori.services import Database, contacts, notify, tenants
from mimamori.services.notify_delivery import Deliverer
from mimamori.services.notify_plan import process_outbox
from mimamori.services.runtime import Runtime, open_database
from mimamori.services.triage import record_findings
from mimamori.storage import read_only, unit_of_work
from mimamori.web.app import create_app

SECRET = "n" * 48
NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 11:00 JST


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def make_settings(tmp_path: Path, smtp: SmtpServer | None, **extra: Any) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        secret_key=SECRET,
        smtp_host="127.0.0.1" if smtp else "",
        smtp_port=smtp.port if smtp else 587,
        smtp_security="none",
        smtp_from="alerts@provider.example",
        smtp_timeout=3.0,
        notify_retry_base_seconds=30,
        syslog_tcp_port=0,
        syslog_udp_port=0,
        syslog_tls_port=0,
        batch_linger_ms=20,
        **extra,
    )


def high_incidents(db: Database, tenant: str, count: int) -> None:
    """``count`` 高 incidents on ``count`` devices (one message each to the tenant's contact)."""
    items = []
    for n in range(count):
        finding = Finding(
            tenant_id=tenant,
            detector="sigma",
            key=f"rule-{n}",
            title=f"rule {n}",
            severity=Severity.HIGH,
            timestamp=NOW,
            host=f"PC-{n:02d}",
            source_ip=f"192.168.1.{10 + n}",
            device_ip=f"192.168.1.{10 + n}",
            evidence={"sigma.level": "critical"},
        )
        items.append((f"fp-{tenant}-{n}", finding))
    with unit_of_work(db) as uow:
        record_findings(uow, items)


def customer(db: Database, name: str = "A社", **contact: Any) -> str:
    tenant = tenants.add_tenant(db, name).id
    values = {"name": "総務 花子", "email": "hanako@a.example", "channels": ["email"], **contact}
    contacts.add_contact(db, None, tenant, values)
    return tenant


def rows(db: Database) -> dict[str, int]:
    with read_only(db) as uow:
        return uow.notifications.counts()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    yield server
    server.stop()


def test_smtp_down_for_a_while_then_everything_arrives_once(tmp_path: Path, smtp: SmtpServer) -> None:
    settings = make_settings(tmp_path, smtp)
    db = open_database(settings)
    tenant = customer(db)
    high_incidents(db, tenant, 5)
    clock = Clock(NOW)
    process_outbox(db, settings, clock())
    deliverer = Deliverer(db, settings, clock=clock)
    try:
        # The server is down: every attempt fails, is recorded, and is scheduled again (not dead).
        stats = deliverer.run_once()
        assert (stats.sent, stats.retried, stats.dead) == (0, 5, 0)
        assert deliverer.run_once().attempted == 0  # nothing is due before the backoff
        clock.now += timedelta(seconds=40)
        assert deliverer.run_once().retried == 5  # still down: the second attempt fails too
        smtp.start()
        clock.now += timedelta(minutes=2)  # past the second backoff (60 s ± 20 %)
        assert deliverer.run_once().sent == 5
        clock.now += timedelta(hours=5)
        assert deliverer.run_once().attempted == 0  # never twice
    finally:
        deliverer.close()
    received = smtp.wait_for(5)
    assert len(received) == 5
    assert len({m.message["Message-ID"] for m in received}) == 5
    assert {r for m in received for r in m.rcpt_tos} == {"hanako@a.example"}
    assert rows(db) == {"sent": 5}
    with read_only(db) as uow:
        (one, *_) = uow.notifications.list(tenant)
        attempts = uow.notifications.attempts(one.id)
    assert [a.ok for a in attempts] == [False, False, True]
    assert "refused" in attempts[0].result.lower() or "connect" in attempts[0].result.lower()


def test_failures_are_dead_lettered_after_the_limit_and_shown_then_retried(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    settings = make_settings(tmp_path, smtp, notify_max_attempts=3)
    db = open_database(settings)
    tenant = customer(db, email="gone@a.example")
    high_incidents(db, tenant, 1)
    clock = Clock(NOW)
    process_outbox(db, settings, clock())
    smtp.start()
    smtp.defer.add("gone@a.example")  # 450: temporary, retried until the limit
    deliverer = Deliverer(db, settings, clock=clock)
    try:
        for _ in range(3):
            deliverer.run_once()
            clock.now += timedelta(hours=2)
        assert rows(db) == {"dead": 1}
        (dead,) = notify.dead_letters(db, None)
        assert dead["attempts"] == 3
        assert "450" in dead["last_error"]
        smtp.defer.clear()
        assert notify.retry(db, None, None) == 1
        clock.now = datetime.now(UTC) + timedelta(seconds=1)  # retried "now" by the wall clock
        assert deliverer.run_once().sent == 1
    finally:
        deliverer.close()
    assert rows(db) == {"sent": 1}


def test_permanent_refusal_is_dead_at_once(tmp_path: Path, smtp: SmtpServer) -> None:
    settings = make_settings(tmp_path, smtp)
    db = open_database(settings)
    tenant = customer(db, email="nobody@a.example")
    high_incidents(db, tenant, 1)
    process_outbox(db, settings, NOW)
    smtp.start()
    smtp.refuse.add("nobody@a.example")
    deliverer = Deliverer(db, settings, clock=Clock(NOW))
    try:
        assert deliverer.run_once().dead == 1
    finally:
        deliverer.close()


def test_webhook_receives_signed_json_and_a_retry_keeps_its_idempotency_key(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    with HttpReceiver(statuses=[500]) as http:
        settings = make_settings(
            tmp_path,
            smtp,
            phone_webhook_url=f"{http.url}/phone",
            webhook_secret="w" * 32,
            phone_webhook_secret="p" * 32,
        )
        db = open_database(settings)
        tenant = tenants.add_tenant(db, "B社").id
        contacts.add_contact(
            db,
            None,
            tenant,
            {
                "name": "IT",
                "phone": "+81311112222",
                "channels": ["webhook"],
                "endpoints": {"webhook": "https://placeholder.example/hook"},
            },
        )
        # Contacts' URLs must be https; point the stored one at the local receiver for the test.
        with unit_of_work(db) as uow:
            (contact,) = uow.contacts.list(tenant)
            uow.contacts.update(tenant, contact.id, {"endpoints": {"webhook": f"{http.url}/hook"}})
        high_incidents(db, tenant, 1)
        clock = Clock(NOW)
        process_outbox(db, settings, clock())
        deliverer = Deliverer(db, settings, clock=clock)
        try:
            assert deliverer.run_once().retried == 1  # the receiver answered 500 first
            clock.now += timedelta(minutes=2)
            assert deliverer.run_once().sent == 1
        finally:
            deliverer.close()
        first, second = http.wait_for(2)
        assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
        assert verify("w" * 32, second.body, second.headers["x-mimamori-signature"], now=time.time())
        assert not verify(
            "w" * 32, second.body + b" ", second.headers["x-mimamori-signature"], now=time.time()
        )
        assert second.json()["notice"]["incident_id"]


def _gate(server: SmtpServer, at: int, reached: threading.Event, release: threading.Event) -> None:
    """Make the ``at``-th DATA wait for ``release`` and then fail with 421 (not accepted)."""
    controller = server._controller
    assert controller is not None
    inner = controller.handler
    seen = {"n": 0}

    class Gated:
        async def handle_RCPT(self, *args: Any) -> str:
            return str(await inner.handle_RCPT(*args))

        async def handle_DATA(self, *args: Any) -> str:
            seen["n"] += 1
            if seen["n"] == at:
                reached.set()
                while not release.is_set():
                    await asyncio.sleep(0.02)
                return "421 4.3.0 closing"
            return str(await inner.handle_DATA(*args))

    controller.handler = Gated()


def test_killed_during_delivery_resumes_after_restart_without_duplicates(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    settings = make_settings(tmp_path, smtp)
    db = open_database(settings)
    tenant = customer(db)
    high_incidents(db, tenant, 10)
    env = {
        **os.environ,
        "MIMAMORI_DATA_DIR": str(settings.data_dir),
        "MIMAMORI_SECRET_KEY": SECRET,
        "MIMAMORI_SMTP_HOST": "127.0.0.1",
        "MIMAMORI_SMTP_PORT": str(smtp.port),
        "MIMAMORI_SMTP_SECURITY": "none",
        "MIMAMORI_NOTIFY_LEASE_SECONDS": "1",
        "MIMAMORI_SENSOR_SILENCE_MINUTES": "0",
    }
    smtp.start()
    reached, release = threading.Event(), threading.Event()
    _gate(smtp, 5, reached, release)
    command = [sys.executable, "-m", "mimamori", "notify", "run"]
    log = (tmp_path / "notify.log").open("wb")
    worker = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        assert reached.wait(60), (tmp_path / "notify.log").read_text()
        worker.send_signal(signal.SIGKILL)  # killed while the server holds the 5th message
        worker.wait(10)
        release.set()
        assert len(smtp.messages) == 4
        counts = rows(db)
        assert counts.get("sent") == 4
        assert counts.get("sending", 0) + counts.get("pending", 0) == 6
        worker = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        assert wait_until(lambda: rows(db) == {"sent": 10}, 60), rows(db)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        log.close()
    received = smtp.wait_for(10)
    assert len(received) == 10  # every notification once: none lost, none twice
    assert len({m.message["Message-ID"] for m in received}) == 10


def test_from_log_line_to_mail_to_one_click_acknowledgement(tmp_path: Path, smtp: SmtpServer) -> None:
    smtp.start()
    settings = make_settings(tmp_path, smtp, public_url="http://portal.test")
    runtime = Runtime(settings)
    tenant = customer(runtime.db)
    sensor = tenants.add_sensor(runtime.db, tenant, "utm", "fortigate", with_token=False).sensor
    line = (
        b'<189>date=2026-11-26 time=10:00:00 devname="FGT60F" devid="FGT60FTK0000" tz="+0900" '
        b'logid="0000000013" type="traffic" subtype="forward" level="notice" srcip=192.168.1.5 srcport=50000 '
        b'dstip=203.0.113.66 dstport=443 proto=6 action="accept" policyid=1 service="HTTPS" srcname="PC-KEIRI-01"'
    )
    with TestClient(create_app(runtime)) as client:
        created = time.monotonic()
        # The pipeline stage, as the bus worker runs it; the runtime's notifier does the rest.
        runtime.pipeline.process([RawRecord(tenant, sensor.id, "fortigate", line, datetime.now(UTC), "test")])
        assert runtime.notifier is not None
        runtime.notifier.wake()
        (mail,) = smtp.wait_for(1, timeout=15)
        assert time.monotonic() - created < 15
        assert mail.rcpt_tos == ("hanako@a.example",)
        assert "緊急度" in str(mail.message["Subject"]) or "高" in str(mail.message["Subject"])
        html = mail.part("html")
        link = html.split('href="http://portal.test/ack/', 1)[1].split('"', 1)[0]
        path = "/ack/" + link.replace("&amp;", "&")
        page = client.get(path)
        assert page.status_code == 200
        assert "確認しました" in page.text
        csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        done = client.post(path, data={"csrf": csrf})
        assert done.status_code == 200
        assert "ありがとうございます" in done.text
        (incident_id,) = {notify.list_notifications(runtime.db, None, tenant)[0].incident_id}
        with read_only(runtime.db) as uow:
            escalation = uow.escalations.get(tenant, incident_id or "")
        assert escalation is not None
        assert (
            escalation.acknowledged_by
            == f"link:contact:{contacts.list_contacts(runtime.db, None, tenant)[0].id}"
        )
        assert client.get(path.replace("/ack/", "/ack/x")).status_code == 404
