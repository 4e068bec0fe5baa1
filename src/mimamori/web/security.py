"""Response headers every page and API answer gets (pure ASGI, so streamed bodies pass untouched).

``Cache-Control: no-store`` keeps pages with customers' data and API answers out of browser and proxy
caches (the back button after a logout shows nothing); static files keep their own caching.
``X-Frame-Options: DENY`` and ``X-Content-Type-Options: nosniff`` stop framing (clickjacking on the
account forms) and type sniffing. A header the route set itself is kept.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADERS = (
    ("cache-control", "no-store"),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
)


class NoStoreMiddleware:
    def __init__(self, app: ASGIApp, *, skip_prefixes: tuple[str, ...] = ("/static/",)) -> None:
        self.app = app
        self.skip_prefixes = skip_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(self.skip_prefixes):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS:
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
