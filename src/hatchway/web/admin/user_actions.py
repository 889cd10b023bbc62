"""The actions on one user: role, activation, password and deletion.

Routes:
    GET  /{env}/AdminPage/Users/{id}                 the user with every action (admin/user.html)
    POST /{env}/AdminPage/Users/{id}/Administrator   make or remove administrator
    POST /{env}/AdminPage/Users/{id}/Active          activate or deactivate
    POST /{env}/AdminPage/Users/{id}/Password        set a password
    GET  /{env}/AdminPage/Users/{id}/Delete          the confirmation page; deletes nothing
    POST /{env}/AdminPage/Users/{id}/Delete          delete

Changes are POST only and carry the CSRF token. A change posted from the list returns to the
list (field `back=list`, with the search in `q`), any other to the user's page. A rejected change
shows the service's sentence on the page it came from.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from hatchway.audit.service import Actor
from hatchway.context import get_context
from hatchway.db.models import Environment, User
from hatchway.environments import service as environments
from hatchway.environments.service import MAX_USER_ID, UserInput
from hatchway.errors import NotFound, ValidationFailed, ValidationResult
from hatchway.web import csrf
from hatchway.web.admin.access import (
    FORM_EXPIRED,
    AdminVisit,
    admin_path,
    admin_visit,
    csrf_ok,
    read_form,
    redirect_with_notice,
    render_admin,
)
from hatchway.web.admin.users import UserRow, split_errors, users_page, users_path
from hatchway.web.rendering import message_page

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

USER_PAGE = "/{environment_name}/AdminPage/Users/{user_id}"
ORIGIN_FIELDS = ("back", "q", csrf.CSRF_FIELD)
PASSWORD_FIELDS = ("password", "confirm_password", *ORIGIN_FIELDS)

# A change to one user: it applies itself through the service and returns the notice to show.
Change = Callable[[Session, Environment, User, Actor, datetime], str]


def parse_user_id(text: str) -> int | None:
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    number = int(text)
    return number if 1 <= number <= MAX_USER_ID else None


def _user_not_found(request: Request, visit: AdminVisit, user_id: str) -> Response:
    return message_page(
        request,
        "User not found",
        f"Environment '{visit.environment.name}' has no user with id {user_id!r}; it may have "
        "been deleted.",
        links=[("Back to the users", admin_path(request, visit, "Users"))],
        status_code=404,
    )


def user_page(
    request: Request,
    visit: AdminVisit,
    user_id: int,
    *,
    errors: list[ValidationResult] | None = None,
    status_code: int = 200,
) -> Response:
    """Render one user with the forms of every action, or the 'not found' page."""
    context = get_context(request)
    with context.database.read() as session:
        environment = environments.get_environment(session, visit.environment.name)
        try:
            user = environments.get_user(session, environment, user_id)
        except NotFound:
            return _user_not_found(request, visit, str(user_id))
        row = UserRow.of(user, visit)
        administrators = environments.active_administrator_count(session, environment)
    field_errors, general_errors = split_errors(errors)
    values = {
        "user": row,
        "active_administrators": administrators,
        "field_errors": field_errors,
        "general_errors": general_errors,
    }
    return render_admin(
        request, visit, "admin/user.html", row.email, values, status_code=status_code
    )


def _origin_page(
    request: Request,
    visit: AdminVisit,
    fields: dict[str, str],
    user_id: int,
    errors: list[ValidationResult],
    status_code: int,
) -> Response:
    if fields.get("back") == "list":
        return users_page(
            request, visit, search=fields.get("q", ""), errors=errors, status_code=status_code
        )
    return user_page(request, visit, user_id, errors=errors, status_code=status_code)


def _origin_path(fields: dict[str, str], user_id: int) -> str:
    if fields.get("back") == "list":
        return users_path(fields.get("q", ""))
    return f"Users/{user_id}"


def apply_change(
    request: Request,
    environment_name: str,
    user_id_text: str,
    fields: dict[str, str],
    change: Change,
    *,
    after_path: str | None = None,
) -> Response:
    """Check the visitor and the form, apply `change` in one transaction, and redirect."""
    visit = admin_visit(request, environment_name)
    if isinstance(visit, Response):
        return visit
    user_id = parse_user_id(user_id_text)
    if user_id is None:
        return _user_not_found(request, visit, user_id_text)
    if not csrf_ok(request, fields[csrf.CSRF_FIELD]):
        logger.info(
            "admin.user.csrf_rejected environment=%s user=%d by=%d",
            visit.environment.name,
            user_id,
            visit.user_id,
        )
        expired = ValidationResult((), FORM_EXPIRED)
        return _origin_page(request, visit, fields, user_id, [expired], 403)

    context = get_context(request)
    try:
        with context.database.write() as session:
            environment = environments.get_environment(session, visit.environment.name)
            user = environments.get_user(session, environment, user_id)
            notice = change(session, environment, user, visit.actor(request), context.now())
    except NotFound:
        logger.info("admin.user.not_found environment=%s user=%d", visit.environment.name, user_id)
        return _user_not_found(request, visit, user_id_text)
    except ValidationFailed as failed:
        if isinstance(failed, environments.LastAdministratorRejected):
            with context.database.write() as session:
                environments.record_last_administrator_rejection(
                    session, failed, actor=visit.actor(request), now=context.now()
                )
        logger.info(
            "admin.user.change_rejected environment=%s user=%d by=%d fields=%s",
            visit.environment.name,
            user_id,
            visit.user_id,
            ",".join(name for result in failed.results for name in result.member_names),
        )
        return _origin_page(request, visit, fields, user_id, failed.results, 400)

    logger.info(
        "admin.user.changed environment=%s user=%d by=%d emergency=%s",
        visit.environment.name,
        user_id,
        visit.user_id,
        visit.is_emergency,
    )
    target = after_path if after_path is not None else _origin_path(fields, user_id)
    return redirect_with_notice(request, visit, target, notice)


def _flag(fields: dict[str, str], name: str) -> bool:
    """Read a 'true' or 'false' button value; anything else is a form that was tampered with."""
    value = fields.get(name, "")
    if value not in ("true", "false"):
        raise ValidationFailed.single(
            "", f"The form sent {name}={value!r}; reload the page and use its buttons."
        )
    return value == "true"


@router.get(USER_PAGE)
def show_user(request: Request, environment_name: str, user_id: str) -> Response:
    visit = admin_visit(request, environment_name)
    if isinstance(visit, Response):
        return visit
    number = parse_user_id(user_id)
    if number is None:
        return _user_not_found(request, visit, user_id)
    return user_page(request, visit, number)


@router.post(USER_PAGE + "/Administrator")
async def set_administrator(request: Request, environment_name: str, user_id: str) -> Response:
    fields = await read_form(request, ("is_administrator", *ORIGIN_FIELDS))

    def change(
        session: Session, environment: Environment, user: User, actor: Actor, now: datetime
    ) -> str:
        wanted = _flag(fields, "is_administrator")
        if user.is_administrator == wanted:
            return f"{user.email} {'is' if wanted else 'is not'} an administrator already."
        environments.update_user(
            session, environment, user, UserInput(is_administrator=wanted), actor=actor, now=now
        )
        if wanted:
            return f"{user.email} is now an administrator."
        return f"{user.email} is no longer an administrator."

    return await run_in_threadpool(apply_change, request, environment_name, user_id, fields, change)


@router.post(USER_PAGE + "/Active")
async def set_active(request: Request, environment_name: str, user_id: str) -> Response:
    fields = await read_form(request, ("is_active", *ORIGIN_FIELDS))

    def change(
        session: Session, environment: Environment, user: User, actor: Actor, now: datetime
    ) -> str:
        wanted = _flag(fields, "is_active")
        if user.is_active == wanted:
            return f"{user.email} is {'active' if wanted else 'deactivated'} already."
        environments.update_user(
            session, environment, user, UserInput(is_active=wanted), actor=actor, now=now
        )
        if wanted:
            return f"{user.email} is active again and can sign in."
        return f"{user.email} is deactivated: their sessions have ended and they cannot sign in."

    return await run_in_threadpool(apply_change, request, environment_name, user_id, fields, change)


@router.post(USER_PAGE + "/Password")
async def set_password(request: Request, environment_name: str, user_id: str) -> Response:
    fields = await read_form(request, PASSWORD_FIELDS)

    def change(
        session: Session, environment: Environment, user: User, actor: Actor, now: datetime
    ) -> str:
        if fields["password"] != fields["confirm_password"]:
            raise ValidationFailed.single(
                "Password", "The two passwords differ; type the same password twice."
            )
        environments.update_user(
            session,
            environment,
            user,
            UserInput(password=fields["password"]),
            actor=actor,
            now=now,
        )
        return (
            f"Set a new password for {user.email}; their open sessions have ended. Tell them "
            "the password by a channel other than e-mail."
        )

    # The user's page shows a rejected password at its field, so the list is not an origin here.
    fields["back"] = "user"
    return await run_in_threadpool(apply_change, request, environment_name, user_id, fields, change)


@router.get(USER_PAGE + "/Delete")
def confirm_delete(request: Request, environment_name: str, user_id: str) -> Response:
    """Show the confirmation page; only the POST of its form deletes."""
    visit = admin_visit(request, environment_name)
    if isinstance(visit, Response):
        return visit
    number = parse_user_id(user_id)
    if number is None:
        return _user_not_found(request, visit, user_id)
    context = get_context(request)
    with context.database.read() as session:
        environment = environments.get_environment(session, visit.environment.name)
        try:
            row = UserRow.of(environments.get_user(session, environment, number), visit)
        except NotFound:
            return _user_not_found(request, visit, user_id)
    return render_admin(
        request, visit, "admin/user_delete.html", f"Delete {row.email}", {"user": row}
    )


@router.post(USER_PAGE + "/Delete")
async def delete_user(request: Request, environment_name: str, user_id: str) -> Response:
    fields = await read_form(request, ORIGIN_FIELDS)

    def change(
        session: Session, environment: Environment, user: User, actor: Actor, now: datetime
    ) -> str:
        email = user.email
        environments.delete_user(session, environment, user, actor=actor, now=now)
        return f"Deleted {email}."

    fields["back"] = "user"
    return await run_in_threadpool(
        apply_change, request, environment_name, user_id, fields, change, after_path="Users"
    )
