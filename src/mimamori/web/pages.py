"""Server-rendered pages: the home redirect, login and logout (the SOC console is web/soc_pages.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mimamori.api.deps import OptionalUserDep, RuntimeDep
from mimamori.web.login_pages import password_login
from mimamori.web.render import check_csrf, render

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(user: OptionalUserDep) -> Response:
    if user is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse("/soc" if user.role.is_provider else "/portal", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    return render(request, "login.html", error=None)


@router.post("/login")
def login(
    request: Request,
    runtime: RuntimeDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    check_csrf(request, csrf)
    return password_login(request, runtime, email, password)  # staff continue at /login/totp


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    check_csrf(request, csrf)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
