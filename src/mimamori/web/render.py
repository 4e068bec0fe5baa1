"""Template rendering with autoescaping and the request's language."""

from __future__ import annotations

import secrets
from datetime import datetime
from functools import cache, partial
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from mimamori.errors import PermissionDeniedError
from mimamori.web import titles
from mimamori.web.i18n import LANGUAGES, pick_language, translations

LANG_COOKIE = "mimamori_lang"
CSRF_KEY = "csrf"


JAPAN = ZoneInfo("Asia/Tokyo")


def local_time(moment: datetime) -> str:
    """Times are shown in Japan time: the customers and the SOC work in it."""
    return moment.astimezone(JAPAN).strftime("%Y-%m-%d %H:%M JST")


@cache
def environment(language: str) -> Environment:
    env = Environment(
        loader=PackageLoader("mimamori.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        auto_reload=False,
    )
    catalogue = translations(language)
    env.install_gettext_translations(catalogue, newstyle=True)  # type: ignore[attr-defined]

    env.filters["alert_title"] = partial(titles.alert_title, catalogue)
    env.filters["incident_title"] = partial(titles.alert_title, catalogue)
    env.filters["customer_title"] = partial(titles.customer_title, catalogue)
    env.filters["local_time"] = local_time
    return env


def language(request: Request) -> str:
    return pick_language(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE))


def csrf_token(request: Request) -> str:
    token = request.session.get(CSRF_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(24)
        request.session[CSRF_KEY] = token
    return token


def check_csrf(request: Request, submitted: str | None) -> None:
    expected = request.session.get(CSRF_KEY)
    if not isinstance(expected, str) or not submitted or not secrets.compare_digest(expected, submitted):
        raise PermissionDeniedError("invalid or missing CSRF token; reload the page and try again")


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    lang = language(request)
    page = environment(lang).get_template(template)
    html = page.render(
        request=request, lang=lang, languages=LANGUAGES, csrf_token=csrf_token(request), **context
    )
    response = HTMLResponse(html, status_code=status_code)
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
    return response
