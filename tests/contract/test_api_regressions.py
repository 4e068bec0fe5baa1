"""Answers the contract tests found wrong once (5xx, 403 before the tenant check), kept as examples."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from tests.contract.conftest import B_ADMIN, MARK_A, ContractWorld, sign_in


def staff(world: ContractWorld) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.analyst_token}"}


@pytest.mark.parametrize("path", ["/api/v1/notifications", "/api/v1/alerts", "/api/v1/incidents"])
def test_an_empty_tenant_id_is_no_tenant(
    contract_client: TestClient, contract_world: ContractWorld, path: str
) -> None:
    """``?tenant_id=`` was a 500 for staff on notifications (the scoping guard refused the empty id)."""
    response = contract_client.get(path, params={"tenant_id": ""}, headers=staff(contract_world))
    assert response.status_code == 404, response.text
    assert response.json() == {"detail": "not found"}


def test_an_empty_patch_changes_nothing(contract_client: TestClient, contract_world: ContractWorld) -> None:
    """``PATCH .../contacts/{id}`` with ``{}`` was a 500 (an UPDATE without columns)."""
    url = f"/api/v1/tenants/{contract_world.tenant_a}/contacts/{contract_world.objects['contact_id']}"
    response = contract_client.patch(url, json={}, headers=staff(contract_world))
    assert response.status_code == 200, response.text
    assert MARK_A in response.json()["name"]


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("POST", "incidents/{incident_id}/status", {"status": "acknowledged"}),
        ("POST", "incidents/{incident_id}/notes", {"text": "x"}),
        ("GET", "suppressions", None),
        ("PATCH", "tickets/{ticket_id}", {"status": "done"}),
    ],
)
def test_staff_only_changes_of_another_tenant_are_404_not_403(
    contract_client: TestClient, contract_world: ContractWorld, method: str, suffix: str, body: object
) -> None:
    """These answered 403 (role) before looking at the tenant; now the tenant is resolved first."""
    sign_in(contract_client, B_ADMIN)
    path = f"/api/v1/tenants/{contract_world.tenant_a}/" + suffix.format(**contract_world.objects)
    response = contract_client.request(method, path, json=body)
    assert response.status_code == 404, response.text
