"""unit_of_work commits a whole batch or nothing."""

from __future__ import annotations

import pytest

from mimamori.storage import Database, read_only, unit_of_work

from .samples import finding


def test_batch_is_atomic(database: Database) -> None:
    with unit_of_work(database) as repos:
        tenant = repos.tenants.add("atomic")
    with pytest.raises(RuntimeError), unit_of_work(database) as repos:  # noqa: PT012 - fails mid-batch
        repos.alerts.record([("fp", finding(tenant.id))])
        repos.outbox.add(tenant.id, None, "email", {}, "k")
        raise RuntimeError("pipeline failed half-way")
    with read_only(database) as repos:
        assert repos.alerts.count(tenant.id) == 0
        assert repos.outbox.pending(10) == []
    with unit_of_work(database) as repos:
        repos.alerts.record([("fp", finding(tenant.id))])
        repos.outbox.add(tenant.id, None, "email", {}, "k")
    with read_only(database) as repos:
        assert repos.alerts.count(tenant.id) == 1
        assert len(repos.outbox.pending(10)) == 1
