"""Who may open the administration pages: administrators and emergency sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response

from hatchway.audit.service import Actor, ActorType
from hatchway.context import client_address, get_context
from hatchway.web import csrf
from hatchway.web.common import PageEnvironment, environment_path, load_environment
from hatchway.web.rendering import message_page
from hatchway.web.workspace import current_session, sign_in_redirect


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
