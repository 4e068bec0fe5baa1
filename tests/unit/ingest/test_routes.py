"""Resolvers: a plain address callable still works; RouteTable answers by each credential."""

from __future__ import annotations

from mimamori.ingest import AddressResolver, Route, RouteTable, SenderResolver
from mimamori.ingest.routes import sender_resolver

ROUTE = Route("tenant-a", "sensor-1", "fortigate")


def test_a_plain_callable_becomes_an_address_only_resolver() -> None:
    resolver = sender_resolver(lambda ip: ROUTE if ip == "192.0.2.1" else None)
    assert isinstance(resolver, AddressResolver)
    assert resolver.by_address("192.0.2.1") == ROUTE
    assert resolver.by_address("192.0.2.2") is None
    assert resolver.by_token("anything") is None
    assert resolver.by_certificate("ab" * 32) is None


def test_a_sender_resolver_is_used_as_it_is() -> None:
    table = RouteTable(addresses={"192.0.2.1": ROUTE}, certificates={"ab" * 32: ROUTE}, tokens={"t": ROUTE})
    assert isinstance(table, SenderResolver)
    assert sender_resolver(table) is table
    assert table.by_certificate("ab" * 32) == table.by_token("t") == table.by_address("192.0.2.1") == ROUTE
    assert table.by_token("u") is None
