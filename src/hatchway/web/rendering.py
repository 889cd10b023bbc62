"""Jinja2 templates and the page responses built from them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from hatchway.context import get_context
from hatchway.web import csrf

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

_templates = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self' http: https:; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def render(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    """Render a page with a CSRF token for its forms and the security headers."""
    app_context = get_context(request)
    cookie, is_new = csrf.cookie_value(request)
    values = {
        "request": request,
        "base_path": app_context.settings.public_base_path,
        "csrf_field": csrf.CSRF_FIELD,
        "csrf_token": csrf.form_token(app_context.keyring, cookie),
        **context,
    }
    response = HTMLResponse(
        _templates.get_template(template).render(values),
        status_code=status_code,
        headers=SECURITY_HEADERS,
    )
    if is_new:
        response.set_cookie(
            csrf.CSRF_COOKIE,
            cookie,
            httponly=True,
            samesite="lax",
            secure=app_context.settings.secure_cookies,
            path=app_context.settings.public_base_path or "/",
        )
    return response


def message_page(
    request: Request,
    title: str,
    message: str,
    *,
    hint: str | None = None,
    links: list[tuple[str, str]] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a page that states what happened and offers the next steps as links."""
    return render(
        request,
        "message.html",
        {"title": title, "message": message, "hint": hint, "links": links or []},
        status_code=status_code,
    )
