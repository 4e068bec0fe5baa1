"""Ticket tables (migration 0010), kept beside ``tables`` on the same metadata.

A ticket is a request from a customer's portal to the provider: ``consult`` (相談する: call me back) or
``onsite`` (駆け付けを依頼: send a technician). It belongs to one tenant, may name one incident, and moves
``open`` → ``in_progress`` → ``done`` in the SOC console.
"""

from __future__ import annotations

import sqlalchemy as sa

from mimamori.storage.tables import ID_LENGTH, UTCDateTime, _id, _tenant_fk, metadata

tickets = sa.Table(
    "tickets",
    metadata,
    _id(),
    _tenant_fk(),
    sa.Column("kind", sa.String(16), nullable=False),  # consult | onsite
    sa.Column("incident_id", sa.String(ID_LENGTH), nullable=True),
    sa.Column("requester_id", sa.String(ID_LENGTH), nullable=True),  # NULL: made by the local operator
    sa.Column("requester_name", sa.String(320), nullable=False),
    sa.Column("message", sa.String(2000), nullable=False),
    sa.Column("phone", sa.String(32), nullable=True),
    sa.Column("preferred_time", sa.String(200), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),  # open | in_progress | done
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("updated_by", sa.String(320), nullable=True),
    sa.Index(None, "tenant_id", "created_at"),
    sa.Index(None, "status", "created_at"),
)
