"""Property-based tests of the API from its own OpenAPI document (schemathesis): no 5xx, ever.

Every operation of ``/api/openapi.json`` is called as a provider analyst (API token) — the ingest
route with tenant A's sensor token — in three passes: requests that match the schema with generated
path parameters (mostly unknown ids: the 404 paths), the same with tenant A's real object ids pinned
(the paths that reach the services), and requests that break the schema (negative mode: wrong types,
missing fields — they must be refused with 4xx). No answer may be a server error, and the answers of
the operations whose response models we document must match them.

Bounded for the 2-core CI box: ``EXAMPLES`` per operation and pass, derandomized (the same cases on
every run, so a failure reproduces), no example database. A new route is picked up automatically; if
it answers 5xx to some input, fix the input validation (a 422/400), not this test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance
from schemathesis.python.asgi import shutdown_lifespans
from tests.contract.conftest import ContractWorld

from mimamori.web.app import create_app

EXAMPLES = 16  # per operation and positive pass (all passes: about a minute on the 2-core box)
NEGATIVE_EXAMPLES = 6
# Operations whose answers are fully described by models in mimamori.api.schemas (response checked).
TYPED_TAGS = {"alerts", "incidents", "suppressions", "assets", "contacts", "notifications", "on-call"}


@pytest.fixture(scope="module")
def api_schema(contract_world: ContractWorld) -> Iterator[Any]:
    """The schema of an app whose lifespan runs the runtime (the bus must run for ingest to queue).

    Schemathesis starts the app's lifespan on its own event loop at the first call and keeps it until
    ``shutdown_lifespans`` (else until the process exits), so the runtime is stopped here."""
    app = create_app(contract_world.runtime)
    try:
        yield schemathesis.openapi.from_asgi("/api/openapi.json", app)
    finally:
        shutdown_lifespans()


def _headers(operation: Any, world: ContractWorld) -> dict[str, str]:
    token = world.sensor_token_a if operation.path == "/api/v1/ingest" else world.analyst_token
    return {"Authorization": f"Bearer {token}"}


def _run(operation: Any, world: ContractWorld, pinned: bool, mode: GenerationMode) -> None:
    names = {p.name for p in operation.path_parameters}
    path_parameters = {k: v for k, v in world.objects.items() if k in names} if pinned else None
    strategy = operation.as_strategy(mode, path_parameters=path_parameters)
    headers = _headers(operation, world)
    checks = [not_a_server_error]
    if mode is GenerationMode.POSITIVE and TYPED_TAGS & set(operation.tags or ()):
        checks.append(response_schema_conformance)

    @settings(
        max_examples=EXAMPLES if mode is GenerationMode.POSITIVE else NEGATIVE_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        case = data.draw(strategy)
        case.call_and_validate(headers=headers, checks=checks)

    run()


PASSES = (
    ("generated ids", False, GenerationMode.POSITIVE),
    ("tenant A's ids", True, GenerationMode.POSITIVE),
    ("invalid requests", True, GenerationMode.NEGATIVE),
)


def test_no_operation_answers_a_server_error(api_schema: Any, contract_world: ContractWorld) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 30, "the OpenAPI document lost its operations"
    failures: list[str] = []
    for operation in operations:
        for name, pinned, mode in PASSES:
            if pinned and mode is GenerationMode.POSITIVE and not operation.path_parameters:
                continue  # the same as the first pass
            try:
                _run(operation, contract_world, pinned, mode)
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, operation.label  # nothing in it can be invalid
            except Exception as error:  # collect every failing operation, not only the first
                failures.append(f"{operation.label} ({name}): {error}")
    assert failures == [], "\n\n".join(failures)
