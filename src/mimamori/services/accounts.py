"""Account security: the login steps with TOTP two-factor, password changes and personal API tokens.

TOTP (RFC 6238, 30 s steps, 6 digits) is mandatory for provider staff and optional for customers. A code is
accepted for the previous, current or next step (clock drift) and only once: the last accepted step is
stored and a code for it or an earlier step is refused. Wrong codes count as failed logins (the lockout of
``services.auth``). Secrets are stored as base32 text (docs/accounts.md says why and how to protect them).

API tokens (``mmr_`` + 43 random characters) act as their owner. Only a SHA-256 of the value is stored;
the value is shown once at creation. Scope ``read`` allows GET/HEAD/OPTIONS, ``write`` everything.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import pyotp

from mimamori.domain import User
from mimamori.errors import AuthError, NotFoundError, PermissionDeniedError, ValidationError
from mimamori.services import auth
from mimamori.storage import Database, read_only, unit_of_work
from mimamori.storage.repositories import ApiTokenRecord

TOTP_PERIOD = 30  # seconds per step
TOTP_DRIFT = 1  # steps accepted either side of the current one
ISSUER = "mimamori"
TOKEN_PREFIX = "mmr_"  # noqa: S105 - a public marker, not a secret
SCOPES = ("read", "write")
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_TOKEN_DAYS = 366
TOUCH_EVERY = timedelta(minutes=1)  # last-used time is written at most this often per token


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


class NextStep(StrEnum):
    """What a password login still needs."""

    DONE = "done"  # no second factor: logged in
    TOTP = "totp"  # enter a code
    ENROL = "enrol"  # staff without a confirmed secret: set one up first


@dataclass(frozen=True, slots=True)
class LoginStep:
    user: User
    next: NextStep


@dataclass(frozen=True, slots=True)
class Enrolment:
    """A secret being set up: the base32 text to type and the otpauth:// URI for a QR code."""

    secret: str
    uri: str


def begin_login(db: Database, email: str, password: str, *, now: datetime | None = None) -> LoginStep:
    """Check the password (AuthError if wrong) and say what the login still needs."""
    user = auth.authenticate(db, email, password, now=now)
    with read_only(db) as uow:
        record = uow.accounts.totp(user.id)
        required = auth.needs_second_factor(uow, user)
    if not required:
        return LoginStep(user, NextStep.DONE)
    if record is None or not record.confirmed:
        return LoginStep(user, NextStep.ENROL)
    return LoginStep(user, NextStep.TOTP)


# ---- TOTP ---------------------------------------------------------------------------------------------


def step_of(moment: datetime) -> int:
    return int(moment.timestamp()) // TOTP_PERIOD


def code_at(secret: str, step: int) -> str:
    return pyotp.TOTP(secret, interval=TOTP_PERIOD).at(step * TOTP_PERIOD)


def provisioning_uri(secret: str, email: str, issuer: str = ISSUER) -> str:
    return pyotp.TOTP(secret, interval=TOTP_PERIOD).provisioning_uri(name=email, issuer_name=issuer)


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    code = "".join(code.split())
    if len(code) != 6 or not (code.isascii() and code.isdigit()):
        return None
    current = step_of(now)
    for step in range(current - TOTP_DRIFT, current + TOTP_DRIFT + 1):
        if hmac.compare_digest(code_at(secret, step), code):
            return step
    return None


def totp_enabled(db: Database, user_id: str) -> bool:
    with read_only(db) as uow:
        record = uow.accounts.totp(user_id)
    return record is not None and record.confirmed


def start_enrolment(db: Database, user: User, *, now: datetime | None = None) -> Enrolment:
    """The pending secret of ``user`` (created on first call; the same on a reload until confirmed)."""
    with unit_of_work(db) as uow:
        record = uow.accounts.totp(user.id)
        if record is not None and record.confirmed:
            raise ValidationError("two-factor authentication is already set up")
        if record is None:
            secret = pyotp.random_base32()
            uow.accounts.start_totp(user.id, secret, _now(now))
        else:
            secret = record.secret
    return Enrolment(secret, provisioning_uri(secret, user.email))


def confirm_enrolment(db: Database, user: User, code: str, *, now: datetime | None = None) -> None:
    """Confirm the pending secret with a code from the app; AuthError if the code is wrong."""
    now = _now(now)
    with unit_of_work(db) as uow:
        record = uow.accounts.totp(user.id)
        if record is None or record.confirmed:
            raise ValidationError("no two-factor set-up is in progress; reload the page")
        step = _matching_step(record.secret, code, now)
        if step is not None:
            uow.accounts.confirm_totp(user.id, now)
            uow.accounts.use_totp_step(user.id, step)
            uow.users.record_login_success(user.id)
    if step is None:
        raise AuthError("wrong code: check the time on your phone and enter the current code")


def verify_code(db: Database, user_id: str, code: str, *, now: datetime | None = None) -> User:
    """The second login step: the user if ``code`` is valid and unused, else AuthError (counted)."""
    now = _now(now)
    failure = AuthError("invalid or already used code")
    with unit_of_work(db) as uow:
        user = uow.users.get(user_id)
        state = uow.users.login_state(user_id)
        record = uow.accounts.totp(user_id)
        if not user.active or (state.locked_until is not None and state.locked_until > now):
            raise failure
        if record is None or not record.confirmed:
            raise failure
        step = _matching_step(record.secret, code, now)
        accepted = step is not None and uow.accounts.use_totp_step(user_id, step)
        if accepted:
            uow.users.record_login_success(user_id)
        else:
            locked = now + auth.LOCKOUT if state.failed_logins + 1 >= auth.MAX_FAILURES else None
            uow.users.record_login_failure(user_id, locked)
    if not accepted:  # raised after the commit, so the failure is kept
        raise failure
    return user


def enrol_with_secret(db: Database, user_id: str, secret: str, *, now: datetime | None = None) -> None:
    """Set and confirm ``secret`` directly (the demo's fixed secret; tests). Replaces any earlier one."""
    secret = secret.strip().upper()
    pyotp.TOTP(secret).now()  # raises on a secret that is not base32
    with unit_of_work(db) as uow:
        uow.users.get(user_id)
        uow.accounts.start_totp(user_id, secret, _now(now))
        uow.accounts.confirm_totp(user_id, _now(now))


def last_step(db: Database, user_id: str) -> int | None:
    with read_only(db) as uow:
        record = uow.accounts.totp(user_id)
    return None if record is None else record.last_step


def user_by_email(db: Database, email: str) -> User:
    with read_only(db) as uow:
        found = uow.users.get_by_email(email)
    if found is None:
        raise NotFoundError(f"user {email} not found")
    return found[0]


def reset_totp(db: Database, email: str) -> User:
    """An administrator's reset: the user sets up a new secret at the next login."""
    with unit_of_work(db) as uow:
        found = uow.users.get_by_email(email)
        if found is None:
            raise NotFoundError(f"user {email} not found")
        uow.accounts.delete_totp(found[0].id)
    return found[0]


def disable_totp(db: Database, user: User, code: str, *, now: datetime | None = None) -> None:
    """A customer turns their optional two-factor off with a current code; staff cannot."""
    if user.role.is_provider:
        raise PermissionDeniedError("two-factor authentication is mandatory for provider staff")
    verify_code(db, user.id, code, now=now)
    with unit_of_work(db) as uow:
        uow.accounts.delete_totp(user.id)


# ---- passwords ----------------------------------------------------------------------------------------


def change_password(db: Database, user: User, current: str, new: str) -> None:
    """Replace the password after checking the current one (AuthError) and the length rule."""
    auth.check_password_rule(new)
    with read_only(db) as uow:
        known = uow.accounts.password_hash(user.id)
    if not auth.verify_password(known, current):
        raise AuthError("the current password is wrong")
    set_password(db, user.id, new)


def set_password(db: Database, user_id: str, new: str) -> None:
    auth.check_password_rule(new)
    hashed = auth.hash_password(new)
    with unit_of_work(db) as uow:
        uow.accounts.set_password_hash(user_id, hashed)


# ---- API tokens ---------------------------------------------------------------------------------------


def normalise_scopes(scopes: list[str] | tuple[str, ...] | str) -> tuple[str, ...]:
    """``write`` implies ``read``; unknown scopes are a ValidationError."""
    wanted = set(scopes.split() if isinstance(scopes, str) else scopes)
    unknown = wanted - set(SCOPES)
    if unknown or not wanted:
        raise ValidationError(f"scopes must be some of: {', '.join(SCOPES)}")
    if "write" in wanted:
        wanted.add("read")
    return tuple(s for s in SCOPES if s in wanted)


def create_token(
    db: Database,
    user: User,
    name: str,
    scopes: list[str] | tuple[str, ...] | str,
    *,
    expires_in_days: int | None = None,
    now: datetime | None = None,
) -> tuple[ApiTokenRecord, str]:
    """A new token of ``user`` and its value (shown once)."""
    now = _now(now)
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise ValidationError("a token needs a name of 1-100 characters")
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_TOKEN_DAYS:
        raise ValidationError(f"expiry must be 1-{MAX_TOKEN_DAYS} days")
    expires = now + timedelta(days=expires_in_days) if expires_in_days else None
    value = TOKEN_PREFIX + auth.new_token()
    with unit_of_work(db) as uow:
        record = uow.accounts.add_token(
            user.id,
            name,
            value[:12],
            auth.hash_token(value),
            scopes=normalise_scopes(scopes),
            now=now,
            expires_at=expires,
        )
    return record, value


def list_tokens(db: Database, user: User) -> list[ApiTokenRecord]:
    with read_only(db) as uow:
        return uow.accounts.tokens(user.id)


def revoke_token(db: Database, user: User | None, token_id: str, *, now: datetime | None = None) -> None:
    """Revoke a token of ``user`` (another user's is NotFoundError); ``user`` None: any (the CLI)."""
    with unit_of_work(db) as uow:
        record = uow.accounts.token(token_id)
        if user is not None and record.user_id != user.id:
            raise NotFoundError(f"token {token_id} not found")
        uow.accounts.revoke_token(token_id, _now(now))


def authenticate_token(
    db: Database, value: str, *, now: datetime | None = None
) -> tuple[User, ApiTokenRecord]:
    """The owner and the token for a bearer value, or AuthError (unknown, revoked, expired, inactive)."""
    now = _now(now)
    failure = AuthError("invalid, revoked or expired API token")
    if not value.startswith(TOKEN_PREFIX):
        raise failure
    with read_only(db) as uow:
        record = uow.accounts.token_by_hash(auth.hash_token(value))
        if record is None or record.revoked_at is not None:
            raise failure
        if record.expires_at is not None and record.expires_at <= now:
            raise failure
        user = uow.users.get(record.user_id)
    if not user.active:
        raise failure
    if record.last_used_at is None or now - record.last_used_at >= TOUCH_EVERY:
        with unit_of_work(db) as uow:  # a write at most once a minute per token, not on every request
            uow.accounts.touch_token(record.id, now)
    return user, record


def allows(scopes: tuple[str, ...], method: str) -> bool:
    """Whether a token with ``scopes`` may make a request with ``method``."""
    return "write" in scopes or (method.upper() in READ_METHODS and "read" in scopes)


def token_to_dict(record: ApiTokenRecord) -> dict[str, object]:
    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "id": record.id,
        "name": record.name,
        "prefix": record.prefix,
        "scopes": list(record.scopes),
        "created_at": iso(record.created_at),
        "expires_at": iso(record.expires_at),
        "last_used_at": iso(record.last_used_at),
        "revoked_at": iso(record.revoked_at),
    }
