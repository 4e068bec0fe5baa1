"""Tickets in storage (SQLite and PostgreSQL): scoped by tenant, listed across tenants for staff."""

from __future__ import annotations

import pytest

from mimamori.errors import NotFoundError
from mimamori.storage import Repositories


def _values(kind: str, message: str) -> dict[str, object]:
    return {
        "kind": kind,
        "incident_id": None,
        "requester_id": None,
        "requester_name": "総務 山田",
        "message": message,
        "phone": "+81312345678",
        "preferred_time": None,
    }


def test_tickets_are_scoped_and_change_status(repos: Repositories) -> None:
    a = repos.tenants.add("山田製作所")
    b = repos.tenants.add("佐藤商店")
    consult = repos.tickets.add(a.id, _values("consult", "<script>x</script> 電話ください"))
    onsite = repos.tickets.add(b.id, _values("onsite", "来てください"))

    assert repos.tickets.get(a.id, consult.id).message == "<script>x</script> 電話ください"
    with pytest.raises(NotFoundError):
        repos.tickets.get(b.id, consult.id)  # another tenant's ticket looks missing
    assert [t.id for t in repos.tickets.list(a.id)] == [consult.id]
    assert {t.id for t in repos.tickets.list_across_tenants()} == {consult.id, onsite.id}

    done = repos.tickets.set_status(a.id, consult.id, "done", "soc@provider.example")
    assert done.status == "done"
    assert [t.id for t in repos.tickets.list_across_tenants(statuses=("open",))] == [onsite.id]
    with pytest.raises(NotFoundError):
        repos.tickets.set_status(b.id, consult.id, "open", "x")
    with pytest.raises(NotFoundError):
        repos.tickets.add("no-such-tenant", _values("consult", "x"))
