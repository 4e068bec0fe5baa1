"""OutboxRepository."""

from __future__ import annotations

import pytest

from mimamori.domain.models import Tenant
from mimamori.errors import NotFoundError
from mimamori.storage import Repositories

from ..samples import finding


def test_add_is_idempotent_and_pending_until_sent(repos: Repositories, tenant_a: Tenant) -> None:
    assert repos.outbox.add(tenant_a.id, None, "email", {"to": "it@example.jp", "n": 1}, "alert-1:email")
    assert not repos.outbox.add(tenant_a.id, None, "email", {"to": "other"}, "alert-1:email")
    assert repos.outbox.add(tenant_a.id, None, "webhook", {}, "alert-1:webhook")
    pending = repos.outbox.pending(10)
    assert [(m.kind, m.payload) for m in pending] == [
        ("email", {"to": "it@example.jp", "n": 1}),
        ("webhook", {}),
    ]
    repos.outbox.mark_failed(pending[0].id)
    repos.outbox.mark_sent(pending[1].id)
    [left] = repos.outbox.pending(10)
    assert (left.id, left.attempts, left.sent_at) == (pending[0].id, 1, None)
    sent = [m for m in repos.outbox.list(tenant_a.id) if m.sent_at is not None]
    assert [m.kind for m in sent] == ["webhook"]


def test_outbox_references_an_alert(repos: Repositories, tenant_a: Tenant) -> None:
    [change] = repos.alerts.record([("fp", finding(tenant_a.id))])
    repos.outbox.add(tenant_a.id, change.alert_id, "email", {}, "k")
    assert repos.outbox.pending(1)[0].alert_id == change.alert_id


def test_mark_sent_of_missing_message(repos: Repositories) -> None:
    with pytest.raises(NotFoundError):
        repos.outbox.mark_sent("missing")


def test_mark_sent_many_in_one_statement(repos: Repositories, tenant_a: Tenant, tenant_b: Tenant) -> None:
    for n in range(3):
        repos.outbox.add(tenant_a.id, None, "email", {"n": n}, f"a-{n}")
    repos.outbox.add(tenant_b.id, None, "email", {}, "b-0")
    pending = repos.outbox.pending(10)
    chosen = [pending[0].id, pending[3].id, pending[0].id]  # across tenants (the sender is provider-wide)
    assert repos.outbox.mark_sent_many(chosen) == 2
    assert repos.outbox.mark_sent_many(chosen) == 0  # already sent: left as they are
    assert repos.outbox.mark_sent_many([]) == 0
    assert [m.id for m in repos.outbox.pending(10)] == [pending[1].id, pending[2].id]
    assert repos.outbox.mark_sent_many(["missing"]) == 0
