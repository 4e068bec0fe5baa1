"""TOTP login steps, replay guard and lockout; password change; API tokens (scopes, expiry, revocation)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from mimamori.domain import Role, User
from mimamori.errors import AuthError, NotFoundError, PermissionDeniedError, ValidationError
from mimamori.services import accounts, auth, tenants
from mimamori.services.accounts import NextStep
from mimamori.storage import Database, read_only

PASSWORD = "correct horse battery"
NOW = datetime(2026, 11, 26, 3, 0, 15, tzinfo=UTC)


@pytest.fixture
def staff(db: Database) -> User:
    return auth.create_user(db, "soc@provider.example", "SOC", Role.ANALYST, PASSWORD)


@pytest.fixture
def customer(db: Database) -> User:
    tenant = tenants.add_tenant(db, "山田製作所")
    return auth.create_user(db, "a@a.example", "A", Role.CUSTOMER_ADMIN, PASSWORD, tenant_id=tenant.id)


def code(secret: str, moment: datetime, steps: int = 0) -> str:
    return accounts.code_at(secret, accounts.step_of(moment) + steps)


def wrong_code(secret: str) -> str:
    """A code that is not valid now (nor one step either side)."""
    step = accounts.step_of(datetime.now(UTC))
    valid = {accounts.code_at(secret, s) for s in range(step - 1, step + 3)}
    return next(c for c in ("123456", "654321", "000000", "999999") if c not in valid)


def failures(db: Database, user: User) -> int:
    with read_only(db) as uow:
        return uow.users.login_state(user.id).failed_logins


def test_staff_must_enrol_then_enter_a_code_customers_need_nothing(
    db: Database, staff: User, customer: User
) -> None:
    assert accounts.begin_login(db, staff.email, PASSWORD).next is NextStep.ENROL
    assert accounts.begin_login(db, customer.email, PASSWORD).next is NextStep.DONE
    enrolment = accounts.start_enrolment(db, staff)
    assert enrolment.uri.startswith("otpauth://totp/")
    assert enrolment.secret in enrolment.uri
    assert accounts.start_enrolment(db, staff).secret == enrolment.secret  # a reload shows the same secret
    assert accounts.begin_login(db, staff.email, PASSWORD).next is NextStep.ENROL  # not confirmed yet
    with pytest.raises(AuthError):
        accounts.confirm_enrolment(db, staff, wrong_code(enrolment.secret))
    accounts.confirm_enrolment(db, staff, pyotp.TOTP(enrolment.secret).now())
    assert accounts.totp_enabled(db, staff.id)
    assert accounts.begin_login(db, staff.email, PASSWORD).next is NextStep.TOTP
    with pytest.raises(ValidationError):
        accounts.start_enrolment(db, staff)  # already set up: an administrator resets it


def test_a_code_is_accepted_once_and_for_one_step_of_drift(db: Database, staff: User) -> None:
    secret = pyotp.random_base32()
    accounts.enrol_with_secret(db, staff.id, secret, now=NOW)
    assert accounts.verify_code(db, staff.id, code(secret, NOW), now=NOW) == staff
    with pytest.raises(AuthError):
        accounts.verify_code(db, staff.id, code(secret, NOW), now=NOW)  # replay in the same window
    with pytest.raises(AuthError):
        accounts.verify_code(db, staff.id, code(secret, NOW, -1), now=NOW)  # an older step: refused too
    accounts.verify_code(db, staff.id, code(secret, NOW, 1), now=NOW)  # the phone is 30 s ahead
    later = NOW + timedelta(minutes=5)
    with pytest.raises(AuthError):
        accounts.verify_code(db, staff.id, code(secret, later, 2), now=later)  # two steps off
    accounts.verify_code(db, staff.id, f" {code(secret, later)[:3]} {code(secret, later)[3:]} ", now=later)
    assert accounts.last_step(db, staff.id) == accounts.step_of(later)


def test_wrong_codes_lock_the_account_and_a_correct_password_does_not_reset_the_count(
    db: Database, staff: User
) -> None:
    secret = pyotp.random_base32()
    accounts.enrol_with_secret(db, staff.id, secret)
    wrong = wrong_code(secret)
    for _ in range(auth.MAX_FAILURES - 1):
        accounts.begin_login(db, staff.email, PASSWORD)  # the password alone does not clear failures
        with pytest.raises(AuthError):
            accounts.verify_code(db, staff.id, wrong)
    assert failures(db, staff) == auth.MAX_FAILURES - 1
    with pytest.raises(AuthError):
        accounts.verify_code(db, staff.id, wrong)
    with pytest.raises(AuthError):  # locked: even the right password and code are refused now
        accounts.begin_login(db, staff.email, PASSWORD)
    with pytest.raises(AuthError):
        accounts.verify_code(db, staff.id, pyotp.TOTP(secret).now())
    unlocked = datetime.now(UTC) + auth.LOCKOUT + timedelta(seconds=1)
    accounts.begin_login(db, staff.email, PASSWORD, now=unlocked)
    accounts.verify_code(db, staff.id, code(secret, unlocked), now=unlocked)
    assert failures(db, staff) == 0


def test_reset_and_disable(db: Database, staff: User, customer: User) -> None:
    accounts.enrol_with_secret(db, staff.id, pyotp.random_base32())
    assert accounts.reset_totp(db, "SOC@provider.example") == staff
    assert accounts.begin_login(db, staff.email, PASSWORD).next is NextStep.ENROL
    with pytest.raises(NotFoundError):
        accounts.reset_totp(db, "nobody@provider.example")
    with pytest.raises(PermissionDeniedError):
        accounts.disable_totp(db, staff, "123456")  # mandatory for staff
    secret = pyotp.random_base32()
    accounts.enrol_with_secret(db, customer.id, secret, now=NOW)
    assert accounts.begin_login(db, customer.email, PASSWORD).next is NextStep.TOTP  # opted in: asked too
    accounts.disable_totp(db, customer, code(secret, NOW), now=NOW)
    assert accounts.begin_login(db, customer.email, PASSWORD).next is NextStep.DONE
    with pytest.raises(ValueError):
        accounts.enrol_with_secret(db, customer.id, "not base32 at all!")


def test_change_password_checks_the_current_one_and_the_length(db: Database, customer: User) -> None:
    with pytest.raises(AuthError):
        accounts.change_password(db, customer, "wrong password", "a new long password")
    with pytest.raises(ValidationError):
        accounts.change_password(db, customer, PASSWORD, "short")
    accounts.change_password(db, customer, PASSWORD, "a new long password")
    with pytest.raises(AuthError):
        auth.authenticate(db, customer.email, PASSWORD)
    assert auth.authenticate(db, customer.email, "a new long password") == customer


def test_tokens_are_hashed_scoped_expire_and_revoke(db: Database, customer: User, staff: User) -> None:
    record, value = accounts.create_token(db, customer, "  backup   script ", ["read"], now=NOW)
    assert value.startswith("mmr_")
    assert record.prefix == value[:12]
    assert record.name == "backup script"
    assert record.scopes == ("read",)
    with read_only(db) as uow:
        rows = uow.connection.exec_driver_sql("SELECT token_hash FROM api_tokens").all()
    assert rows == [(auth.hash_token(value),)]  # only the hash is stored
    user, found = accounts.authenticate_token(db, value, now=NOW)
    assert user == customer
    assert found.id == record.id
    assert accounts.list_tokens(db, customer)[0].last_used_at == NOW
    assert accounts.list_tokens(db, staff) == []
    for bad in ("", "mmr_nope", value + "x", value[4:]):
        with pytest.raises(AuthError):
            accounts.authenticate_token(db, bad, now=NOW)
    assert accounts.allows(("read",), "GET")
    assert not accounts.allows(("read",), "POST")
    assert not accounts.allows(("read",), "DELETE")
    assert accounts.allows(("read", "write"), "PATCH")

    _, expiring = accounts.create_token(db, customer, "week", "write", expires_in_days=7, now=NOW)
    assert accounts.authenticate_token(db, expiring, now=NOW + timedelta(days=6))[1].scopes == (
        "read",
        "write",
    )
    with pytest.raises(AuthError):
        accounts.authenticate_token(db, expiring, now=NOW + timedelta(days=7))

    with pytest.raises(NotFoundError):
        accounts.revoke_token(db, staff, record.id)  # not theirs: looks missing
    accounts.revoke_token(db, customer, record.id)
    with pytest.raises(AuthError):
        accounts.authenticate_token(db, value, now=NOW)
    for scopes in ([], ["admin"], "read root"):
        with pytest.raises(ValidationError):
            accounts.create_token(db, customer, "x", scopes)
    with pytest.raises(ValidationError):
        accounts.create_token(db, customer, " ", ["read"])
    with pytest.raises(ValidationError):
        accounts.create_token(db, customer, "x", ["read"], expires_in_days=0)


def test_the_demo_enrols_its_soc_login_with_the_printed_secret(db: Database) -> None:
    from mimamori.services import demo

    setup = demo.prepare(db, tenants=1, seed=1)
    demo.prepare(db, tenants=1, seed=1)  # idempotent
    staff = accounts.user_by_email(db, demo.PROVIDER_EMAIL)
    assert accounts.begin_login(db, staff.email, demo.DEMO_PASSWORD).next is NextStep.TOTP
    accounts.verify_code(db, staff.id, pyotp.TOTP(demo.DEMO_TOTP_SECRET).now())
    banner = demo.banner(setup, "http://127.0.0.1:8000")
    assert demo.DEMO_TOTP_SECRET in banner
    assert "otpauth://totp/" in banner
