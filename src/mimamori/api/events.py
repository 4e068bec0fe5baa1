"""``/api/v1`` event search over the archive. Thin: parse, call the service, render JSON; scoping and
limits are the service's (another tenant's events are a 404, a range over 31 days a 422)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from mimamori.api.deps import RuntimeDep, UserDep
from mimamori.services import events

router = APIRouter(prefix="/api/v1")

Text = Annotated[str | None, Query(max_length=500)]


@router.get("/tenants/{tenant_id}/events")
def search_events(
    tenant_id: str,
    user: UserDep,
    runtime: RuntimeDep,
    start: Annotated[datetime | None, Query(description="ISO 8601 with offset; default end - 24 h")] = None,
    end: Annotated[datetime | None, Query(description="ISO 8601 with offset, exclusive; default now")] = None,
    q: Annotated[str | None, Query(max_length=200, description="case-insensitive text")] = None,
    source_ip: Text = None,
    destination_ip: Text = None,
    destination_port: Text = None,
    host_name: Text = None,
    user_name: Text = None,
    dns_question_name: Text = None,
    url_domain: Text = None,
    event_action: Text = None,
    event_outcome: Text = None,
    dataset: Text = None,
    sensor_id: Text = None,
    limit: Annotated[int, Query(ge=1, le=events.MAX_LIMIT)] = events.DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    """The tenant's archived events in a time range, newest first (イベント検索)."""
    end = end or datetime.now(UTC)
    start = start or end - timedelta(hours=24)
    given = {
        "source.ip": source_ip,
        "destination.ip": destination_ip,
        "destination.port": destination_port,
        "host.name": host_name,
        "user.name": user_name,
        "dns.question.name": dns_question_name,
        "url.domain": url_domain,
        "event.action": event_action,
        "event.outcome": event_outcome,
        "dataset": dataset,
        "sensor_id": sensor_id,
    }
    page = events.search_events(
        runtime.settings,
        runtime.db,
        user,
        tenant_id,
        start,
        end,
        text=q,
        filters={k: v for k, v in given.items() if v},
        limit=limit,
        offset=offset,
    )
    return events.page_to_dict(page)
