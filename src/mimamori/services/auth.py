"""Accounts: password hashing (argon2), login with lockout, and sensor tokens.

Login failures are counted per user; after ``MAX_FAILURES`` the account is locked for ``LOCKOUT``.
The same error is raised for an unknown e-mail, a wrong password and a locked account, so the login
form does not reveal which accounts exist. For an account that needs a second factor (provider staff, and
customers who enrolled TOTP) a correct password does not reset the failure count: only the second factor
does (``services.accounts``), so wrong TOTP codes add up to the same lockout.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from mimamori.domain import Role, User
from mimamori.errors import AuthError, ValidationError
from mimamori.storage import Database, Repositories, read_only, unit_of_work

MAX_FAILURES = 5  # consecutive failed logins before the account locks
LOCKOUT = timedelta(minutes=15)  # how long a locked account stays locked
MIN_PASSWORD_LENGTH = 10

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_password_rule(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")


def needs_second_factor(uow: Repositories, user: User) -> bool:
    """Provider staff always (mandatory TOTP); a customer once they enrolled TOTP themselves."""
    if user.role.is_provider:
        return True
    record = uow.accounts.totp(user.id)
    return record is not None and record.confirmed


def hash_token(token: str) -> str:
    """Sensor and API tokens are long random strings, so a plain SHA-256 is a safe at-rest form."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def create_user(
    db: Database,
    email: str,
    name: str,
    role: Role,
    password: str,
    *,
    tenant_id: str | None = None,
    language: str = "ja",
) -> User:
    check_password_rule(password)
    with unit_of_work(db) as uow:
        return uow.users.add(
            email.strip().lower(), name, role, hash_password(password), tenant_id=tenant_id, language=language
        )


def authenticate(db: Database, email: str, password: str, *, now: datetime | None = None) -> User:
    """The user for these credentials, or AuthError (same message whatever went wrong)."""
    now = now or datetime.now(UTC)
    failure = AuthError("invalid e-mail or password")
    with unit_of_work(db) as uow:
        found = uow.users.get_by_email(email.strip().lower())
        if found is None:
            _hasher.hash(password)  # spend the same time as a real check
            raise failure
        user, password_hash = found
        state = uow.users.login_state(user.id)
        if not user.active or (state.locked_until is not None and state.locked_until > now):
            raise failure
        try:
            _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            failures = state.failed_logins + 1
            lock_until = now + LOCKOUT if failures >= MAX_FAILURES else None
            uow.users.record_login_failure(user.id, lock_until)
            verified = False
        else:
            if not needs_second_factor(uow, user):
                uow.users.record_login_success(user.id)
            verified = True
    # Raised after the transaction committed, so the failure count is kept.
    if not verified:
        raise failure
    return user


def session_stamp(password_hash: str) -> str:
    """A short digest of the password hash kept in the session: changing or resetting the password
    changes it, which ends every other session of that user (a stolen session dies with the old password)."""
    return hashlib.sha256(password_hash.encode("utf-8")).hexdigest()[:24]


def session_user(db: Database, user_id: str) -> tuple[User, str]:
    """The user behind a session and the stamp the session must carry, or NotFoundError."""
    with read_only(db) as uow:
        user, password_hash = uow.users.get_with_hash(user_id)
    return user, session_stamp(password_hash)


def get_user(db: Database, user_id: str) -> User:
    with read_only(db) as uow:
        return uow.users.get(user_id)
