"""Fixtures for storage tests: repositories on the rolled-back test connection, two tenants."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection

from mimamori.domain.models import Tenant
from mimamori.storage import Repositories


@pytest.fixture
def repos(connection: Connection) -> Repositories:
    return Repositories(connection)


@pytest.fixture
def tenant_a(repos: Repositories) -> Tenant:
    return repos.tenants.add("Tanaka Seisakusho")


@pytest.fixture
def tenant_b(repos: Repositories) -> Tenant:
    return repos.tenants.add("Suzuki Shoten")
