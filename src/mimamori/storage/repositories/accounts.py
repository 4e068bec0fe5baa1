"""Account security: TOTP secrets, personal API tokens, password reset links, and password changes.

Like ``UserRepository`` this is provider-wide (keyed by user, not tenant): the services decide who may act
on which user. Tokens and reset links are looked up by the SHA-256 of their value; the value itself is
never stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, RowMapping, delete, or_, select, update

from mimamori.errors import NotFoundError
from mimamori.storage.dialect import insert_for
from mimamori.storage.scoping import found
from mimamori.storage.tables import new_id, users
from mimamori.storage.tables_accounts import api_tokens, password_resets, user_totp


@dataclass(frozen=True, slots=True)
class TotpRecord:
    """A user's TOTP secret (base32), when it was confirmed (None: pending) and the last step used."""

    user_id: str
    secret: str
    confirmed_at: datetime | None
    last_step: int | None

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None


@dataclass(frozen=True, slots=True)
class ApiTokenRecord:
    """A personal API token as listed (never its value)."""

    id: str
    user_id: str
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class ResetRecord:
    """A password reset link: whose, until when, and whether it was used."""

    id: str
    user_id: str
    expires_at: datetime
    used_at: datetime | None


class AccountRepository:
    """TOTP, API tokens and reset links on one connection (the caller owns the transaction)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    # ---- TOTP --------------------------------------------------------------------------------------

    def totp(self, user_id: str) -> TotpRecord | None:
        row = self._connection.execute(select(user_totp).where(user_totp.c.user_id == user_id)).first()
        if row is None:
            return None
        m = row._mapping
        return TotpRecord(m["user_id"], m["secret"], m["confirmed_at"], m["last_step"])

    def start_totp(self, user_id: str, secret: str, now: datetime) -> None:
        """Store a new, unconfirmed secret (replacing any earlier one)."""
        self.delete_totp(user_id)
        self._connection.execute(
            user_totp.insert().values(
                user_id=user_id, secret=secret, confirmed_at=None, last_step=None, created_at=now
            )
        )

    def confirm_totp(self, user_id: str, now: datetime) -> None:
        self._connection.execute(
            update(user_totp).where(user_totp.c.user_id == user_id).values(confirmed_at=now)
        )

    def use_totp_step(self, user_id: str, step: int) -> bool:
        """Record ``step`` as used; False if it (or a later step) was already used (compare-and-set)."""
        result = self._connection.execute(
            update(user_totp)
            .where(user_totp.c.user_id == user_id)
            .where(or_(user_totp.c.last_step.is_(None), user_totp.c.last_step < step))
            .values(last_step=step)
        )
        return result.rowcount == 1

    def delete_totp(self, user_id: str) -> bool:
        result = self._connection.execute(delete(user_totp).where(user_totp.c.user_id == user_id))
        return result.rowcount > 0

    # ---- password ----------------------------------------------------------------------------------

    def password_hash(self, user_id: str) -> str:
        row = self._connection.execute(select(users.c.password_hash).where(users.c.id == user_id)).first()
        return str(found(row, "user", user_id)["password_hash"])

    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        """Replace the password and clear failures and lock."""
        result = self._connection.execute(
            update(users)
            .where(users.c.id == user_id)
            .values(password_hash=password_hash, failed_logins=0, locked_until=None)
        )
        if result.rowcount == 0:
            raise NotFoundError(f"user {user_id} not found")

    # ---- API tokens --------------------------------------------------------------------------------

    def add_token(
        self,
        user_id: str,
        name: str,
        prefix: str,
        token_hash: str,
        *,
        scopes: tuple[str, ...],
        now: datetime,
        expires_at: datetime | None,
    ) -> ApiTokenRecord:
        record = ApiTokenRecord(new_id(), user_id, name, prefix, scopes, now, expires_at, None, None)
        self._connection.execute(
            insert_for(self._connection, api_tokens).values(
                id=record.id,
                user_id=user_id,
                name=name,
                prefix=prefix,
                token_hash=token_hash,
                scopes=" ".join(scopes),
                created_at=now,
                expires_at=expires_at,
            )
        )
        return record

    def tokens(self, user_id: str) -> list[ApiTokenRecord]:
        query = select(api_tokens).where(api_tokens.c.user_id == user_id).order_by(api_tokens.c.created_at)
        return [_token(row._mapping) for row in self._connection.execute(query)]

    def token(self, token_id: str) -> ApiTokenRecord:
        row = self._connection.execute(select(api_tokens).where(api_tokens.c.id == token_id)).first()
        return _token(found(row, "token", token_id))

    def token_by_hash(self, token_hash: str) -> ApiTokenRecord | None:
        query = select(api_tokens).where(api_tokens.c.token_hash == token_hash)
        row = self._connection.execute(query).first()
        return None if row is None else _token(row._mapping)

    def revoke_token(self, token_id: str, now: datetime) -> None:
        self._connection.execute(
            update(api_tokens)
            .where(api_tokens.c.id == token_id)
            .where(api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    def touch_token(self, token_id: str, now: datetime) -> None:
        self._connection.execute(
            update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_at=now)
        )

    # ---- password reset links ----------------------------------------------------------------------

    def add_reset(self, user_id: str, token_hash: str, now: datetime, expires_at: datetime) -> None:
        self._connection.execute(
            password_resets.insert().values(
                id=new_id(), user_id=user_id, token_hash=token_hash, created_at=now, expires_at=expires_at
            )
        )

    def reset_by_hash(self, token_hash: str) -> ResetRecord | None:
        query = select(password_resets).where(password_resets.c.token_hash == token_hash)
        row = self._connection.execute(query).first()
        if row is None:
            return None
        m = row._mapping
        return ResetRecord(m["id"], m["user_id"], m["expires_at"], m["used_at"])

    def use_resets(self, user_id: str, now: datetime) -> None:
        """Mark every open reset link of the user as used (the one just used and any other)."""
        self._connection.execute(
            update(password_resets)
            .where(password_resets.c.user_id == user_id)
            .where(password_resets.c.used_at.is_(None))
            .values(used_at=now)
        )


def _token(m: RowMapping) -> ApiTokenRecord:
    return ApiTokenRecord(
        id=m["id"],
        user_id=m["user_id"],
        name=m["name"],
        prefix=m["prefix"],
        scopes=tuple(m["scopes"].split()),
        created_at=m["created_at"],
        expires_at=m["expires_at"],
        last_used_at=m["last_used_at"],
        revoked_at=m["revoked_at"],
    )
