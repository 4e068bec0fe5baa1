"""Where a received record belongs: the route from a sender to its tenant, sensor and parser.

A receiver knows *who sent* something (a peer address today; a token in the structured data or a TLS
client certificate later) and asks a resolver for the ``Route``. Receivers never guess a tenant: when the
resolver answers ``None`` the input is rejected and counted as an unknown source.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mimamori.domain import DEFAULT_TIMEZONE

__all__ = ["Resolver", "Route"]


@dataclass(frozen=True, slots=True)
class Route:
    """The tenant and sensor a sender is registered as, and the parser (``format``) of its records."""

    tenant_id: str
    sensor_id: str
    format: str
    timezone: str = DEFAULT_TIMEZONE


Resolver = Callable[[str], Route | None]
"""Given a peer IP address in canonical text form (IPv4-mapped IPv6 unwrapped), the sender's route.

Called for every connection and every datagram, so it should be a dictionary look-up kept current by the
service that owns the sensor table, not a database query.
"""
