"""The signed-in user's pages: workspace home, sign-out and the first-time password change."""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from hatchway.context import AppContext, get_context
from hatchway.db.models import Environment, User
from hatchway.environments.passwords import hash_password, password_problem, verify_password
from hatchway.web import csrf
from hatchway.web.common import (
    PageEnvironment,
    clear_session_cookie,
    environment_path,
    load_environment,
)
from hatchway.web.rendering import message_page, render
from hatchway.web.sessions import SESSION_COOKIE, ActiveSession, end_session, find_active_session

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

SESSION_KIND_LABELS = {
    "sso": "the identity provider",
    "local": "a password",
    "emergency": "emergency access",
}


@router.get("/")
def landing(request: Request) -> Response:
    context = get_context(request)
    return render(
        request,
        "landing.html",
        {"title": "Hatchway", "example": context.settings.public_link("/contoso/")},
    )


def current_session(
    context: AppContext, request: Request, environment: PageEnvironment
) -> ActiveSession | None:
    """Return the open session of this browser in the environment, or None."""
    with context.database.write() as session:
        db_environment = session.get_one(Environment, environment.id)
        active = find_active_session(
            session, db_environment, request.cookies.get(SESSION_COOKIE), context.now()
        )
        if active is not None:
            active.record.last_seen_at = context.now()
            session.expunge(active.user)
    return active


def sign_in_redirect(context: AppContext, environment_name: str, return_to: str) -> Response:
    target = environment_path(context, environment_name, f"SignIn?return_to={quote(return_to)}")
    return RedirectResponse(target, status_code=303)


def _to_admin_pages(context: AppContext, environment_name: str) -> Response:
    """Send an emergency session, which reaches only the administration pages, there."""
    return RedirectResponse(
        environment_path(context, environment_name, "AdminPage/"), status_code=303
    )


@router.get("/{environment_name}/")
def home(request: Request, environment_name: str) -> Response:
    """Show the signed-in user's name and e-mail address."""
    context = get_context(request)
    environment = load_environment(request, environment_name)
    if isinstance(environment, Response):
        return environment
    active = current_session(context, request, environment)
    if active is None:
        return sign_in_redirect(
            context, environment.name, environment_path(context, environment.name)
        )
    if active.is_emergency:
        return _to_admin_pages(context, environment.name)
    if active.user.password_is_temporary:
        return RedirectResponse(
            environment_path(context, environment.name, "ChangePassword"), status_code=303
        )
    return render(
        request,
        "home.html",
        {
            "title": environment.name,
            "environment_name": environment.name,
            "user": active.user,
            "session_kind": SESSION_KIND_LABELS.get(active.record.kind, active.record.kind),
        },
    )


@router.get("/{environment_name}")
def home_without_slash(request: Request, environment_name: str) -> Response:
    # Environment names are letters and digits, so '/favicon.ico' is no environment's address.
    if not environment_name.isascii() or not environment_name.isalnum():
        raise HTTPException(status_code=404)
    context = get_context(request)
    return RedirectResponse(environment_path(context, environment_name.lower()), status_code=308)


def _sign_out(request: Request, environment_name: str) -> Response:
    context = get_context(request)
    with context.database.write() as session:
        ended = end_session(session, request.cookies.get(SESSION_COOKIE), context.now())
    if ended:
        logger.info("signout environment=%s", environment_name)
    response = message_page(
        request,
        "Signed out",
        "You are signed out of this environment.",
        links=[("Sign in again", environment_path(context, environment_name, "SignIn"))],
    )
    clear_session_cookie(response, context, environment_name)
    return response


@router.get("/{environment_name}/SignOut")
def sign_out_link(request: Request, environment_name: str) -> Response:
    """End the session. Allowed by GET too, because ending a session harms nobody."""
    return _sign_out(request, environment_name.lower())


@router.post("/{environment_name}/SignOut")
def sign_out(request: Request, environment_name: str) -> Response:
    return _sign_out(request, environment_name.lower())


@router.get("/{environment_name}/ChangePassword")
def change_password_form(request: Request, environment_name: str) -> Response:
    context = get_context(request)
    environment = load_environment(request, environment_name)
    if isinstance(environment, Response):
        return environment
    active = current_session(context, request, environment)
    if active is None:
        return sign_in_redirect(
            context, environment.name, environment_path(context, environment.name)
        )
    if active.is_emergency:
        return _to_admin_pages(context, environment.name)
    return render(
        request,
        "change_password.html",
        {"title": "Choose a new password", "environment_name": environment.name},
    )


@router.post("/{environment_name}/ChangePassword")
async def change_password(request: Request, environment_name: str) -> Response:
    form = await request.form()
    values = {
        name: str(form.get(name, ""))
        for name in ("new_password", "confirm_password", csrf.CSRF_FIELD)
    }
    return await run_in_threadpool(_change_password, request, environment_name, values)


def _change_password(request: Request, environment_name: str, values: dict[str, str]) -> Response:
    context = get_context(request)
    environment = load_environment(request, environment_name)
    if isinstance(environment, Response):
        return environment
    active = current_session(context, request, environment)
    if active is None:
        return sign_in_redirect(
            context, environment.name, environment_path(context, environment.name)
        )
    if active.is_emergency:
        return _to_admin_pages(context, environment.name)

    def form_again(error: str, status_code: int) -> Response:
        return render(
            request,
            "change_password.html",
            {
                "title": "Choose a new password",
                "environment_name": environment.name,
                "error": error,
            },
            status_code=status_code,
        )

    if not csrf.is_valid(
        context.keyring, request.cookies.get(csrf.CSRF_COOKIE), values[csrf.CSRF_FIELD]
    ):
        return form_again("The form has expired. Please try again.", 403)
    password = values["new_password"]
    if password != values["confirm_password"]:
        return form_again("The two passwords differ; type the same password twice.", 400)
    if problem := password_problem(password, active.user.email):
        return form_again(problem, 400)
    if verify_password(active.user.password_hash, password):
        return form_again("The new password must differ from the temporary one.", 400)

    with context.database.write() as session:
        user = session.get_one(User, active.user.id)
        user.password_hash = hash_password(password)
        user.password_is_temporary = False
        user.updated_at = context.now()
    logger.info("password.changed environment=%s user=%d", environment.name, active.user.id)
    return RedirectResponse(environment_path(context, environment.name), status_code=303)
