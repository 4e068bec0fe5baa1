"""UserRepository: roles and tenants, email lookup, login throttle state."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mimamori.domain.models import Role, Tenant
from mimamori.errors import NotFoundError, ValidationError
from mimamori.storage import LoginState, Repositories

from ..samples import T0


def test_add_get_and_lookup_by_email(repos: Repositories, tenant_a: Tenant) -> None:
    analyst = repos.users.add("Analyst@Provider.example", "Sato", Role.ANALYST, "hash-1")
    viewer = repos.users.add(
        "it@tanaka.example", "Ito", Role.CUSTOMER_VIEWER, "hash-2", tenant_id=tenant_a.id, language="en"
    )
    assert analyst.email == "analyst@provider.example"
    assert repos.users.get(analyst.id) == analyst
    assert repos.users.get(viewer.id) == viewer
    assert repos.users.get_by_email(" ANALYST@provider.example") == (analyst, "hash-1")
    assert repos.users.get_by_email("nobody@example.jp") is None


@pytest.mark.parametrize(
    ("role", "with_tenant"),
    [
        (Role.PROVIDER_ADMIN, True),
        (Role.TECHNICIAN, True),
        (Role.CUSTOMER_ADMIN, False),
        (Role.CUSTOMER_VIEWER, False),
    ],
)
def test_role_and_tenant_must_agree(
    repos: Repositories, tenant_a: Tenant, role: Role, with_tenant: bool
) -> None:
    with pytest.raises(ValidationError):
        repos.users.add("x@example.jp", "X", role, "h", tenant_id=tenant_a.id if with_tenant else None)


def test_duplicate_email_and_unknown_tenant(repos: Repositories) -> None:
    repos.users.add("a@example.jp", "A", Role.ANALYST, "h")
    with pytest.raises(ValidationError):
        repos.users.add("A@example.jp", "B", Role.ANALYST, "h")
    with pytest.raises(NotFoundError):
        repos.users.add("c@example.jp", "C", Role.CUSTOMER_ADMIN, "h", tenant_id="nope")


def test_login_failures_lock_and_success_resets(repos: Repositories) -> None:
    user = repos.users.add("a@example.jp", "A", Role.ANALYST, "h")
    assert repos.users.login_state(user.id) == LoginState(0, None, True)
    repos.users.record_login_failure(user.id, None)
    repos.users.record_login_failure(user.id, T0 + timedelta(minutes=15))
    state = repos.users.login_state(user.id)
    assert (state.failed_logins, state.locked_until, state.active) == (2, T0 + timedelta(minutes=15), True)
    repos.users.record_login_success(user.id)
    assert repos.users.login_state(user.id).failed_logins == 0
    assert repos.users.login_state(user.id).locked_until is None


def test_missing_user(repos: Repositories) -> None:
    with pytest.raises(NotFoundError):
        repos.users.get("nope")
    with pytest.raises(NotFoundError):
        repos.users.login_state("nope")
    with pytest.raises(NotFoundError):
        repos.users.record_login_failure("nope", None)
