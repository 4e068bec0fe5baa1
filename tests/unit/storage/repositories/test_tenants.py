"""TenantRepository."""

from __future__ import annotations

import pytest

from mimamori.errors import NotFoundError, ValidationError
from mimamori.storage import Repositories


def test_add_get_list(repos: Repositories) -> None:
    b = repos.tenants.add("  Suzuki Shoten ")
    a = repos.tenants.add("Abe Kogyo")
    assert repos.tenants.get(b.id) == b
    assert b.name == "Suzuki Shoten"
    assert repos.tenants.list() == [a, b]


def test_get_missing_and_blank_name(repos: Repositories) -> None:
    with pytest.raises(NotFoundError):
        repos.tenants.get("nope")
    with pytest.raises(ValidationError):
        repos.tenants.add("   ")
