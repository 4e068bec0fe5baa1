"""Import ledger: EVTX files followed by record id (the last id committed and that record's digest).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("imports") as batch:
        batch.add_column(sa.Column("last_record_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("last_record_digest", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("imports") as batch:
        batch.drop_column("last_record_digest")
        batch.drop_column("last_record_id")
