"""Who may open the administration pages: administrators and emergency sessions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hatchway.audit.service import Actor, ActorType
from hatchway.context import client_address, get_context
from hatchway.web import csrf
from hatchway.web.common import PageEnvironment, environment_path, load_environment
from hatchway.web.rendering import message_page, render
from hatchway.web.workspace import current_session, sign_in_redirect

FORM_EXPIRED = "The form has expired; reload the page and try again."

# A sentence that the page after a redirect shows once ("Post/Redirect/Get").
NOTICE_COOKIE = "hatchway_notice"
MAX_NOTICE_LENGTH = 500


@dataclass(frozen=True)
class AdminVisit:
    """A request to an administration page by a signed-in administrator."""

    environment: PageEnvironment
    user_id: int
    email: str
    display_name: str
    is_emergency: bool
    session_expires_at: datetime

    def actor(self, request: Request) -> Actor:
        kind = ActorType.EMERGENCY_SESSION if self.is_emergency else ActorType.ADMINISTRATOR
        return Actor(kind, self.email, client_address(request))


def admin_visit(request: Request, environment_name: str) -> AdminVisit | Response:
    """Return the visit, or the response for a visitor who is not an administrator.

    Without a session the browser goes to the sign-in page and comes back; a signed-in user who
    is not an administrator gets a 403 page.
    """
    context = get_context(request)
    environment = load_environment(request, environment_name)
    if isinstance(environment, Response):
        return environment
    active = current_session(context, request, environment)
    if active is None:
        return sign_in_redirect(context, environment.name, request.url.path)
    if not active.user.is_administrator:
        return message_page(
            request,
            "Administrators only",
            f"The administration pages of '{environment.name}' are for administrators, and "
            f"{active.user.email} is not one.",
            hint="Ask an administrator of this environment to make you one.",
            links=[("Back to the workspace", environment_path(context, environment.name))],
            status_code=403,
        )
    return AdminVisit(
        environment=environment,
        user_id=active.user.id,
        email=active.user.email,
        display_name=active.user.display_name,
        is_emergency=active.is_emergency,
        session_expires_at=active.record.expires_at,
    )


def csrf_ok(request: Request, submitted: str) -> bool:
    """Check a form's CSRF token against the browser's CSRF cookie."""
    context = get_context(request)
    return csrf.is_valid(context.keyring, request.cookies.get(csrf.CSRF_COOKIE), submitted)


async def read_form(request: Request, names: Iterable[str]) -> dict[str, str]:
    """Return the named fields of a posted form as text, empty when a field is missing."""
    form = await request.form()
    return {name: str(form.get(name, "")) for name in names}


def admin_path(request: Request, visit: AdminVisit, rest: str = "") -> str:
    """Return the path of an administration page of the visited environment."""
    return environment_path(get_context(request), visit.environment.name, f"AdminPage/{rest}")


def render_admin(
    request: Request,
    visit: AdminVisit,
    template: str,
    title: str,
    values: dict[str, Any],
    *,
    status_code: int = 200,
) -> Response:
    """Render an administration page, with the notice that a redirect left for it."""
    notice = request.cookies.get(NOTICE_COOKIE)
    page_values = {
        "title": title,
        "environment_name": visit.environment.name,
        "visit": visit,
        "session_ends": visit.session_expires_at.strftime("%H:%M UTC"),
        "admin_base": admin_path(request, visit),
        "notice": unquote(notice)[:MAX_NOTICE_LENGTH] if notice else None,
        **values,
    }
    response = render(request, template, page_values, status_code=status_code)
    if notice is not None:
        response.delete_cookie(NOTICE_COOKIE, path=_notice_path(request, visit), httponly=True)
    return response


def redirect_with_notice(request: Request, visit: AdminVisit, rest: str, notice: str) -> Response:
    """Redirect to an administration page after a change, which shows `notice` once."""
    response = RedirectResponse(admin_path(request, visit, rest), status_code=303)
    response.set_cookie(
        NOTICE_COOKIE,
        quote(notice[:MAX_NOTICE_LENGTH]),
        max_age=60,
        httponly=True,
        samesite="lax",
        secure=get_context(request).settings.secure_cookies,
        path=_notice_path(request, visit),
    )
    return response


def _notice_path(request: Request, visit: AdminVisit) -> str:
    return admin_path(request, visit).rstrip("/")
