"""Real servers for the channel tests (see ``tests/notify_servers.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.notify_servers import HttpReceiver, SmtpServer, smtp_pki
from tests.unit.ingest.certificates import Pki


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return smtp_pki(Path(tmp_path_factory.mktemp("smtp-pki")))


@pytest.fixture
def smtp(pki: Pki) -> Iterator[SmtpServer]:
    """STARTTLS required, AUTH required (user ``alerts`` / ``pw-1``)."""
    with SmtpServer(security="starttls", pki=pki, users={"alerts": "pw-1"}) as server:
        yield server


@pytest.fixture
def plain_smtp() -> Iterator[SmtpServer]:
    """A local relay without TLS or AUTH."""
    with SmtpServer() as server:
        yield server


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as server:
        yield server
