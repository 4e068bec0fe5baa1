"""Where a received record belongs: the route from a sender to its tenant, sensor and parser.

A receiver knows *who sent* something by up to three credentials, tried in this order: the SHA-256
fingerprint of a TLS client certificate, a sensor token in the RFC 5424 structured data, the peer
address. A ``SenderResolver`` answers each look-up with the sender's ``Route``. Receivers never guess a
tenant: when every look-up answers ``None`` the input is rejected and counted as an unknown source.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from mimamori.domain import DEFAULT_TIMEZONE

__all__ = ["AddressResolver", "Resolver", "Route", "RouteTable", "SenderResolver", "sender_resolver"]


@dataclass(frozen=True, slots=True)
class Route:
    """The tenant and sensor a sender is registered as, and the parser (``format``) of its records."""

    tenant_id: str
    sensor_id: str
    format: str
    timezone: str = DEFAULT_TIMEZONE


Resolver = Callable[[str], Route | None]
"""Given a peer IP address in canonical text form (IPv4-mapped IPv6 unwrapped), the sender's route.

The original, address-only form of a resolver; ``sender_resolver`` adapts it to ``SenderResolver``.
"""


@runtime_checkable
class SenderResolver(Protocol):
    """Looks senders up by credential; every method answers ``None`` for an unknown one.

    ``by_certificate`` and ``by_address`` are called for every connection (and ``by_address`` for every
    datagram), so they should be dictionary look-ups kept current by the service that owns the sensor
    table. ``by_token`` may query the database on a cache miss: receivers call it at most once per
    connection, and for UDP once per new token (they cache its answer for ``TOKEN_CACHE_S``), from a
    worker thread, so it must be thread-safe.
    """

    def by_certificate(self, sha256_hex: str) -> Route | None:
        """The sensor whose TLS client certificate has this SHA-256 fingerprint (of the DER, lower hex)."""
        ...

    def by_token(self, token: str) -> Route | None:
        """The sensor owning this token (sent as ``[mimamori@32473 token="..."]``)."""
        ...

    def by_address(self, ip: str) -> Route | None:
        """The sensor registered for this source address (canonical text, IPv4-mapped unwrapped)."""
        ...


@dataclass(frozen=True, slots=True)
class AddressResolver:
    """Adapts a plain address ``Resolver`` callable: knows no certificates and no tokens."""

    resolve: Resolver

    def by_certificate(self, sha256_hex: str) -> Route | None:
        return None

    def by_token(self, token: str) -> Route | None:
        return None

    def by_address(self, ip: str) -> Route | None:
        return self.resolve(ip)


@dataclass(frozen=True, slots=True)
class RouteTable:
    """A ``SenderResolver`` over fixed mappings (tests, tools, small static setups).

    ``certificates`` is keyed by lower-case hex SHA-256 fingerprints; ``tokens`` by the token itself.
    """

    addresses: Mapping[str, Route] = field(default_factory=dict)
    certificates: Mapping[str, Route] = field(default_factory=dict)
    tokens: Mapping[str, Route] = field(default_factory=dict)

    def by_certificate(self, sha256_hex: str) -> Route | None:
        return self.certificates.get(sha256_hex)

    def by_token(self, token: str) -> Route | None:
        return self.tokens.get(token)

    def by_address(self, ip: str) -> Route | None:
        return self.addresses.get(ip)


def sender_resolver(resolve: SenderResolver | Resolver) -> SenderResolver:
    """``resolve`` itself if it is a ``SenderResolver``, else an address-only adapter around it."""
    if isinstance(resolve, SenderResolver):
        return resolve
    return AddressResolver(resolve)
