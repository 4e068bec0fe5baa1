"""The FastAPI application: API routes, portal pages, sessions, and the one error mapping of the web."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from mimamori import __version__
from mimamori.api.accounts import router as accounts_api_router
from mimamori.api.assets import router as assets_router
from mimamori.api.events import router as events_api_router
from mimamori.api.incidents import router as incidents_router
from mimamori.api.me import router as me_router
from mimamori.api.notify import router as notify_router
from mimamori.api.openapi import install as install_openapi
from mimamori.api.routes import router as api_router
from mimamori.api.tenants import router as tenants_api_router
from mimamori.api.tickets import router as tickets_router
from mimamori.errors import (
    AuthError,
    BackpressureError,
    MimamoriError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    ValidationError,
)
from mimamori.services.app_runtime import AppRuntime
from mimamori.web.account_pages import router as account_pages_router
from mimamori.web.events_pages import router as events_pages_router
from mimamori.web.login_pages import router as login_pages_router
from mimamori.web.notify_pages import router as notify_pages_router
from mimamori.web.pages import router as pages_router
from mimamori.web.portal_devices import router as portal_devices_router
from mimamori.web.portal_pages import router as portal_router
from mimamori.web.portal_settings import router as portal_settings_router
from mimamori.web.security import NoStoreMiddleware
from mimamori.web.soc_pages import router as soc_pages_router
from mimamori.web.soc_tenant_pages import router as soc_tenant_pages_router
from mimamori.web.soc_tickets import router as soc_tickets_router

# Every router of the app, in matching order.
ROUTERS: tuple[APIRouter, ...] = (
    api_router,
    incidents_router,
    notify_router,
    assets_router,
    events_api_router,
    events_pages_router,
    pages_router,
    accounts_api_router,
    login_pages_router,
    account_pages_router,
    tenants_api_router,
    soc_pages_router,
    soc_tenant_pages_router,
    notify_pages_router,
    tickets_router,
    me_router,
    portal_router,
    portal_devices_router,
    portal_settings_router,
    soc_tickets_router,
)


SESSION_MAX_AGE = 8 * 3600  # seconds; staff log in again after a working day


def _status(exc: MimamoriError) -> int:
    if isinstance(exc, PermissionDeniedError):
        return 403
    if isinstance(exc, AuthError):
        return 401
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, PayloadTooLargeError):
        return 413
    if isinstance(exc, BackpressureError):
        return 429
    if isinstance(exc, ValidationError):
        return 422
    return 400


async def _on_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, MimamoriError)
    status = _status(exc)
    if not request.url.path.startswith("/api/"):
        if status == 401:
            return RedirectResponse("/login", status_code=303)
        if status == 404:
            return Response("404 Not Found", status_code=404, media_type="text/plain")
    headers = {}
    if isinstance(exc, BackpressureError):
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    detail = "not found" if status == 404 else str(exc)
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


BackgroundJob = Callable[[], Coroutine[Any, Any, None]]


def create_app(
    runtime: AppRuntime, *, manage_runtime: bool = True, background: Sequence[BackgroundJob] = ()
) -> FastAPI:
    """The web application over ``runtime``.

    With ``manage_runtime`` the app's lifespan starts the runtime (receivers, bus, worker) before serving
    and stops it after, then runs each ``background`` job (e.g. the demo's traffic feeder) as a task.
    """

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if manage_runtime:
            await runtime.start()
        tasks: list[asyncio.Task[None]] = [asyncio.create_task(job()) for job in background]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if manage_runtime:
                await runtime.stop()

    app = FastAPI(
        title="mimamori",
        version=__version__,
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.add_middleware(
        SessionMiddleware,
        secret_key=runtime.settings.secret_key,
        session_cookie="mimamori_session",
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        https_only=runtime.settings.session_secure,
    )
    app.add_middleware(NoStoreMiddleware)  # pages and API answers are not cached (docs/accounts.md)
    app.add_exception_handler(MimamoriError, _on_error)
    for router in ROUTERS:
        app.include_router(router)
    static = Path(__file__).parent / "static"
    app.mount("/static", StaticFiles(directory=static), name="static")
    install_openapi(app)  # security schemes, tags; see docs/api.md

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> Response:
        checks = runtime.ready()
        ok = all(checks.values())
        return JSONResponse({"ready": ok, "checks": checks}, status_code=200 if ok else 503)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        """Prometheus text format; process totals only, nothing per tenant."""
        lines = []
        for name, value in runtime.metrics().items():
            lines.append(f"# TYPE mimamori_{name} {'gauge' if name.startswith('bus_depth') else 'counter'}")
            lines.append(f"mimamori_{name} {value}")
        return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")

    return app
