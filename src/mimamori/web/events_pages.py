"""The SOC's event search page (``/soc/events``): one customer, a time range in Japan time, a text and
a few field filters, over the event archive. Provider staff only (customers get 403). A GET form: the
search changes nothing, so the URL can be shared and bookmarked."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from mimamori.api.deps import RuntimeDep, UserDep
from mimamori.errors import PermissionDeniedError, ValidationError
from mimamori.services import events, tenants
from mimamori.web.render import JAPAN, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 100
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends
# The form's filter inputs: query parameter -> archive filter.
FORM_FILTERS = {
    "source_ip": "source.ip",
    "destination_ip": "destination.ip",
    "host_name": "host.name",
    "dns_question_name": "dns.question.name",
}
Field = Annotated[str, Query(max_length=500)]


def _local(value: str, fallback: datetime) -> datetime:
    """A datetime-local value, read as Japan time."""
    if not value:
        return fallback
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError("times look like 2026-11-26T09:00") from None
    return parsed.replace(tzinfo=JAPAN) if parsed.tzinfo is None else parsed.astimezone(JAPAN)


def _row(event: Any) -> dict[str, Any]:
    return {
        "when": event.timestamp.astimezone(JAPAN).strftime("%Y-%m-%d %H:%M:%S"),
        "iso": event.timestamp.isoformat(),
        "sensor": event.get("sensor_id") or "",
        "dataset": event.get("dataset") or event.get("format") or "",
        "source": event.get("source.ip") or "",
        "destination": event.get("destination.ip") or "",
        "port": event.get("destination.port"),
        "host": event.get("host.name") or "",
        "summary": events.summary(event),
        "raw": event.raw or "",
    }


@router.get("/soc/events", response_class=HTMLResponse)
def events_page(
    request: Request,
    user: UserDep,
    runtime: RuntimeDep,
    tenant: Annotated[str, Query(max_length=64)] = "",
    start: Annotated[str, Query(max_length=40)] = "",
    end: Annotated[str, Query(max_length=40)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
    source_ip: Field = "",
    destination_ip: Field = "",
    host_name: Field = "",
    dns_question_name: Field = "",
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    if not user.role.is_provider:
        raise PermissionDeniedError("provider staff only")
    now = datetime.now(JAPAN).replace(second=0, microsecond=0)
    form_values = {"source_ip": source_ip, "destination_ip": destination_ip, "host_name": host_name}
    form_values["dns_question_name"] = dns_question_name
    context: dict[str, Any] = {
        "user": user,
        "section": "events",
        "customers": tenants.list_tenants(runtime.db),
        "tenant": tenant,
        "q": q,
        "form": form_values,
        "rows": [],
        "searched": False,
        "error": None,
        "newer": None,
        "older": None,
    }
    status = 200
    try:
        end_at = _local(end, now + timedelta(minutes=1))
        start_at = _local(start, end_at - timedelta(hours=24))
    except ValidationError as error:
        end_at, start_at = now, now - timedelta(hours=24)
        context["error"], status = str(error), 422
    context["start"] = start_at.strftime(LOCAL_FORMAT)
    context["end"] = end_at.strftime(LOCAL_FORMAT)
    if tenant and context["error"] is None:
        filters = {FORM_FILTERS[k]: v.strip() for k, v in form_values.items() if v.strip()}
        try:
            page = events.search_events(
                runtime.settings,
                runtime.db,
                user,
                tenant,
                start_at,
                end_at,
                text=q or None,
                filters=filters,
                limit=PAGE_SIZE,
                offset=offset,
            )
        except ValidationError as error:
            context["error"], status = str(error), 422
        else:
            context["searched"] = True
            context["rows"] = [_row(e) for e in page.events]
            base = {"tenant": tenant, "start": context["start"], "end": context["end"], "q": q}
            base.update({k: v for k, v in form_values.items() if v})
            if offset:
                context["newer"] = "?" + urlencode({**base, "offset": max(0, offset - PAGE_SIZE)})
            if page.has_more:
                context["older"] = "?" + urlencode({**base, "offset": offset + PAGE_SIZE})
    return render(request, "events.html", status_code=status, **context)
