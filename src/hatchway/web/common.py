"""Helpers shared by the page routes: environment lookup, cookies, return targets."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hatchway.context import AppContext, get_context
from hatchway.environments import service as environments
from hatchway.web.rendering import message_page
from hatchway.web.sessions import SESSION_COOKIE


@dataclass(frozen=True)
class PageEnvironment:
    """The environment a page belongs to, detached from its database session."""

    id: int
    name: str
    is_active: bool


def environment_path(context: AppContext, name: str, rest: str = "") -> str:
    """Return the path of a page of an environment, with the public URL's prefix."""
    return f"{context.settings.public_base_path}/{name}/{rest}"


def load_environment(request: Request, name: str) -> PageEnvironment | Response:
    """Find the environment of a page; return a page explaining why when it cannot be used."""
    context = get_context(request)
    with context.database.read() as session:
        environment = environments.find_environment(session, name)
        found = (
            PageEnvironment(environment.id, environment.name, environment.is_active)
            if environment is not None
            else None
        )
    if found is not None and found.name != name:
        return _canonical_redirect(request, name, found.name)
    if found is None:
        return message_page(
            request,
            "Environment not found",
            f"There is no environment named {name!r} on this instance.",
            hint="Check the address you were given.",
            status_code=404,
        )
    if not found.is_active:
        return message_page(
            request,
            "Environment deactivated",
            f"The environment '{found.name}' is deactivated, so nobody can sign in to it.",
            hint="Its data is kept. Ask your provider or partner to activate it again.",
            status_code=403,
        )
    return found


def _canonical_redirect(request: Request, requested: str, canonical: str) -> Response:
    """Send a request for '/Contoso/...' to '/contoso/...', where the cookies' paths match."""
    path = request.url.path.replace(f"/{requested}", f"/{canonical}", 1)
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(path + query, status_code=308)


def safe_return_to(context: AppContext, environment_name: str, requested: str | None) -> str:
    """Accept only same-origin paths inside the environment; anything else goes to its home."""
    home = environment_path(context, environment_name)
    if not requested:
        return home
    if not requested.startswith(home) or "//" in requested or "\\" in requested:
        return home
    if any(ord(character) < 0x21 or ord(character) > 0x7E for character in requested):
        return home
    return requested


def session_cookie_path(context: AppContext, environment_name: str) -> str:
    return f"{context.settings.public_base_path}/{environment_name}"


def set_session_cookie(
    response: Response, context: AppContext, environment_name: str, token: str
) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=context.settings.secure_cookies,
        path=session_cookie_path(context, environment_name),
    )


def clear_session_cookie(response: Response, context: AppContext, environment_name: str) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        httponly=True,
        samesite="lax",
        secure=context.settings.secure_cookies,
        path=session_cookie_path(context, environment_name),
    )


def recovery_links(context: AppContext, environment_name: str) -> list[tuple[str, str]]:
    """Return the ways back in that every sign-in error page offers."""
    return [
        ("Try to sign in again", environment_path(context, environment_name, "SignIn")),
        (
            "Sign in with a password (administrators)",
            environment_path(context, environment_name, "SignIn?local=1"),
        ),
        (
            "Request emergency access (administrators)",
            environment_path(context, environment_name, "AdminPage/RequestEmergencyAdminAccess"),
        ),
    ]
