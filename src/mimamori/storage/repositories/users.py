"""Users who log in: provider staff (no tenant) and customer users (exactly one tenant).

Users are looked up by email before anyone's tenant is known, so this repository is provider-wide; the web
layer decides what a user may see. Emails are stored trimmed and lower-cased, so lookups ignore case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, select, update

from mimamori.domain.models import Role, User
from mimamori.errors import NotFoundError, ValidationError
from mimamori.storage.dialect import insert_for
from mimamori.storage.repositories.tenants import TenantRepository
from mimamori.storage.scoping import found
from mimamori.storage.tables import new_id, users, utcnow


@dataclass(frozen=True, slots=True)
class LoginState:
    """What the login throttle needs: failures in a row and the lock, if any."""

    failed_logins: int
    locked_until: datetime | None
    active: bool


class UserRepository:
    """Users on one connection (the caller owns the transaction)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(
        self,
        email: str,
        name: str,
        role: Role,
        password_hash: str,
        *,
        tenant_id: str | None = None,
        language: str = "ja",
    ) -> User:
        """Create a user; ValidationError for a taken email or a role/tenant mismatch.

        Customer roles need a tenant and provider roles must not have one: a provider account tied to a
        tenant, or a customer account without one, would break the tenant boundary in the web layer.
        """
        role = Role(role)
        email = email.strip().lower()
        if "@" not in email:
            raise ValidationError(f"not an email address: {email!r}")
        if role.is_provider and tenant_id is not None:
            raise ValidationError(f"role {role.value} is a provider role and cannot belong to a tenant")
        if not role.is_provider and tenant_id is None:
            raise ValidationError(f"role {role.value} is a customer role and needs a tenant")
        if tenant_id is not None and not TenantRepository(self._connection).exists(tenant_id):
            raise NotFoundError(f"tenant {tenant_id} not found")
        user = User(id=new_id(), email=email, name=name, role=role, tenant_id=tenant_id, language=language)
        statement = (
            insert_for(self._connection, users)
            .values(
                id=user.id,
                email=email,
                name=name,
                role=role.value,
                tenant_id=tenant_id,
                password_hash=password_hash,
                language=language,
                active=True,
                failed_logins=0,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=[users.c.email])
            .returning(users.c.id)
        )
        if self._connection.execute(statement).first() is None:
            raise ValidationError(f"a user with email {email} already exists")
        return user

    def get(self, user_id: str) -> User:
        """The user, or NotFoundError."""
        row = self._connection.execute(select(users).where(users.c.id == user_id)).first()
        return _user(found(row, "user", user_id))

    def get_with_hash(self, user_id: str) -> tuple[User, str]:
        """The user and their password hash (sessions are bound to it), or NotFoundError."""
        row = self._connection.execute(select(users).where(users.c.id == user_id)).first()
        mapping = found(row, "user", user_id)
        return _user(mapping), str(mapping["password_hash"])

    def get_by_email(self, email: str) -> tuple[User, str] | None:
        """The user and their password hash, for the login check; None if no such email."""
        query = select(users).where(users.c.email == email.strip().lower())
        row = self._connection.execute(query).first()
        return None if row is None else (_user(row._mapping), row.password_hash)

    def record_login_failure(self, user_id: str, lock_until: datetime | None) -> None:
        """Count one more failed login; ``lock_until`` (decided by the caller's policy) locks the account."""
        values: dict[str, Any] = {"failed_logins": users.c.failed_logins + 1}
        if lock_until is not None:
            values["locked_until"] = lock_until
        self._update(user_id, values)

    def record_login_success(self, user_id: str) -> None:
        """Reset the failure count and any lock."""
        self._update(user_id, {"failed_logins": 0, "locked_until": None})

    def login_state(self, user_id: str) -> LoginState:
        """Failures, lock and active flag of the user, or NotFoundError."""
        query = select(users.c.failed_logins, users.c.locked_until, users.c.active).where(
            users.c.id == user_id
        )
        row = found(self._connection.execute(query).first(), "user", user_id)
        return LoginState(row["failed_logins"], row["locked_until"], bool(row["active"]))

    def set_language(self, user_id: str, language: str) -> None:
        """The user's language for pages and messages (ja or en; the caller validates)."""
        self._update(user_id, {"language": language})

    def _update(self, user_id: str, values: dict[str, Any]) -> None:
        result = self._connection.execute(update(users).where(users.c.id == user_id).values(**values))
        if result.rowcount == 0:
            raise NotFoundError(f"user {user_id} not found")


def _user(row: RowMapping) -> User:
    return User(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        role=Role(row["role"]),
        tenant_id=row["tenant_id"],
        language=row["language"],
        active=bool(row["active"]),
    )
