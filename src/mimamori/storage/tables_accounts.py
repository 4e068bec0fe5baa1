"""Account security tables (migration 0009), kept beside ``tables`` on the same metadata.

``user_totp`` holds one TOTP secret per user (base32, see docs/accounts.md for why it is a plain column),
when it was confirmed and the last accepted time step (a code is never accepted twice). ``api_tokens``
are personal API tokens: only a SHA-256 of the token is stored, with a short display prefix, scopes,
expiry, last use and revocation. ``password_resets`` are single-use e-mailed reset links, also stored as
hashes only.
"""

from __future__ import annotations

import sqlalchemy as sa

from mimamori.storage.tables import ID_LENGTH, UTCDateTime, _id, metadata


def _user_fk(*, primary_key: bool = False) -> sa.Column[str]:
    return sa.Column(
        "user_id", sa.String(ID_LENGTH), sa.ForeignKey("users.id"), nullable=False, primary_key=primary_key
    )


user_totp = sa.Table(
    "user_totp",
    metadata,
    _user_fk(primary_key=True),
    sa.Column("secret", sa.String(64), nullable=False),  # base32
    sa.Column("confirmed_at", UTCDateTime, nullable=True),  # NULL: enrolment started, not confirmed
    sa.Column("last_step", sa.BigInteger, nullable=True),  # last accepted time step (unix time // 30)
    sa.Column("created_at", UTCDateTime, nullable=False),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    _id(),
    _user_fk(),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("prefix", sa.String(16), nullable=False),  # shown in lists to recognise a token
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("scopes", sa.String(64), nullable=False),  # space separated: "read" or "read write"
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=True),
    sa.Column("last_used_at", UTCDateTime, nullable=True),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
    sa.Index(None, "user_id"),
)

password_resets = sa.Table(
    "password_resets",
    metadata,
    _id(),
    _user_fk(),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("used_at", UTCDateTime, nullable=True),
    sa.Index(None, "user_id"),
)
