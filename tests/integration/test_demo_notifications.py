"""The demo (the README's first command) shows real notifications: the simulated scenarios' 高 incidents
are mailed to the customer contacts and the SOC on-call, as .eml files when no SMTP server is set."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_demo_writes_notification_mails(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    env = {
        **os.environ,
        "MIMAMORI_DATA_DIR": str(data),
        "MIMAMORI_SYSLOG_TCP_PORT": str(free_port()),
        "MIMAMORI_SYSLOG_UDP_PORT": str(free_port(socket.SOCK_DGRAM)),
        "MIMAMORI_SYSLOG_TLS_PORT": str(free_port()),
    }
    env.pop("MIMAMORI_SMTP_HOST", None)
    port = free_port()
    log = (tmp_path / "demo.log").open("wb")
    demo = subprocess.Popen(
        [sys.executable, "-m", "mimamori", "demo", "--port", str(port), "--tenants", "1"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    mails: list[Path] = []
    try:
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline and len(mails) < 2:
            assert demo.poll() is None, (tmp_path / "demo.log").read_text()
            mails = sorted((data / "mail").glob("*.eml")) if (data / "mail").is_dir() else []
            time.sleep(1)
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(30)
        except subprocess.TimeoutExpired:
            demo.kill()
        log.close()
    output = (tmp_path / "demo.log").read_text()
    assert "notification mails" in output
    assert len(mails) >= 2, output
    messages = [BytesParser(policy=policy.default).parsebytes(p.read_bytes()) for p in mails]
    recipients = {str(m["To"]) for m in messages}
    assert "soc@provider.example" in recipients
    assert "admin@customer1.example" in recipients
    customer = next(m for m in messages if str(m["To"]) == "admin@customer1.example")
    html = customer.get_body(preferencelist=("html",))
    assert html is not None
    assert f"http://127.0.0.1:{port}/ack/" in html.get_content()
