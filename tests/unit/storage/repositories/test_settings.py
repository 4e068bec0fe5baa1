"""SettingsRepository: per-tenant JSON documents, on SQLite and PostgreSQL."""

from __future__ import annotations

from mimamori.domain.models import Tenant
from mimamori.storage import Repositories


def test_put_get_replace_remove(repos: Repositories, tenant_a: Tenant) -> None:
    assert repos.settings.get(tenant_a.id, "sigma") is None
    repos.settings.put(tenant_a.id, "sigma", {"disabled_levels": ["low"]})
    assert repos.settings.get(tenant_a.id, "sigma") == {"disabled_levels": ["low"]}
    repos.settings.put(
        tenant_a.id, "sigma", {"disabled_rules": ["x"], "placeholders": {"Admins": ["a", "b"]}}
    )
    assert repos.settings.get(tenant_a.id, "sigma") == {
        "disabled_rules": ["x"],
        "placeholders": {"Admins": ["a", "b"]},
    }
    assert repos.settings.remove(tenant_a.id, "sigma")
    assert not repos.settings.remove(tenant_a.id, "sigma")
    assert repos.settings.get(tenant_a.id, "sigma") is None


def test_tenant_isolation_and_all_of(repos: Repositories, tenant_a: Tenant, tenant_b: Tenant) -> None:
    repos.settings.put(tenant_a.id, "sigma", {"disabled_rules": ["a-only"]})
    repos.settings.put(tenant_b.id, "other", {"k": 1})
    assert repos.settings.get(tenant_b.id, "sigma") is None
    assert not repos.settings.remove(tenant_b.id, "sigma")
    assert repos.settings.get(tenant_a.id, "sigma") == {"disabled_rules": ["a-only"]}
    assert repos.settings.all_of("sigma") == {tenant_a.id: {"disabled_rules": ["a-only"]}}


def test_get_many_reads_each_named_tenants_document(
    repos: Repositories, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    repos.settings.put(tenant_a.id, "notify", {"quiet": "a"})
    repos.settings.put(tenant_b.id, "notify", {"quiet": "b"})
    repos.settings.put(tenant_b.id, "other", {"k": 1})
    assert repos.settings.get_many([tenant_a.id], "notify") == {tenant_a.id: {"quiet": "a"}}
    both = repos.settings.get_many([tenant_a.id, tenant_b.id], "notify")
    assert both == {tenant_a.id: {"quiet": "a"}, tenant_b.id: {"quiet": "b"}}
    assert repos.settings.get_many([tenant_a.id], "other") == {tenant_a.id: None}
    assert repos.settings.get_many([], "notify") == {}
