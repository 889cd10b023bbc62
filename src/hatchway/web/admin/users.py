"""The users page: the list with search, and adding a user.

Routes:
    GET  /{env}/AdminPage/Users?q=...   the list, filtered by name or e-mail (admin/users.html)
    POST /{env}/AdminPage/Users         add a user

The actions on one user live in `user_actions.py`. Every change goes through
`hatchway.environments.service`, which owns the rules (such as keeping the last active
administrator) and writes the audit record with the visitor as actor.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from hatchway.context import get_context
from hatchway.db.models import User
from hatchway.environments import service as environments
from hatchway.environments.service import UserInput
from hatchway.errors import ValidationFailed, ValidationResult
from hatchway.web import csrf
from hatchway.web.admin.access import (
    FORM_EXPIRED,
    AdminVisit,
    admin_visit,
    csrf_ok,
    read_form,
    redirect_with_notice,
    render_admin,
)

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 100
MAX_SEARCH_LENGTH = 320
ADD_FIELDS = ("email", "first_name", "last_name", "password", "is_administrator", csrf.CSRF_FIELD)
# The form's field names for the members that the service's messages name.
FORM_FIELD_OF_MEMBER = {
    "EmailAddress": "email",
    "FirstName": "first_name",
    "LastName": "last_name",
    "Password": "password",
}


@dataclass(frozen=True)
class UserRow:
    """A user as the pages show it, detached from its database session."""

    id: int
    email: str
    display_name: str
    first_name: str
    last_name: str
    is_administrator: bool
    is_active: bool
    has_password: bool
    password_is_temporary: bool
    signs_in_with_provider: bool
    created_at: datetime
    last_sign_in_at: datetime | None
    is_visitor: bool

    @classmethod
    def of(cls, user: User, visit: AdminVisit) -> UserRow:
        return cls(
            id=user.id,
            email=user.email,
            display_name=user.display_name,
            first_name=user.first_name,
            last_name=user.last_name,
            is_administrator=user.is_administrator,
            is_active=user.is_active,
            has_password=user.password_hash is not None,
            password_is_temporary=user.password_is_temporary,
            signs_in_with_provider=user.idp_subject is not None,
            created_at=user.created_at,
            last_sign_in_at=user.last_sign_in_at,
            is_visitor=user.id == visit.user_id,
        )


def split_errors(
    errors: list[ValidationResult] | None,
) -> tuple[dict[str, list[str]], list[str]]:
    """Sort messages by form field; those without a field (or another field) are general."""
    by_field: dict[str, list[str]] = {}
    general: list[str] = []
    for error in errors or []:
        field = FORM_FIELD_OF_MEMBER.get(error.member_names[0]) if error.member_names else None
        if field is None:
            general.append(error.message)
        else:
            by_field.setdefault(field, []).append(error.message)
    return by_field, general


def users_path(search: str = "") -> str:
    """Return the users page's path below AdminPage/, keeping a search."""
    return "Users?" + urlencode({"q": search}) if search else "Users"


def _search_problem(search: str) -> str | None:
    if len(search) > MAX_SEARCH_LENGTH:
        return (
            f"The search has {len(search)} characters; use at most {MAX_SEARCH_LENGTH}, such as "
            "part of a name or an e-mail address."
        )
    return None


def users_page(
    request: Request,
    visit: AdminVisit,
    *,
    search: str = "",
    form: dict[str, str] | None = None,
    errors: list[ValidationResult] | None = None,
    status_code: int = 200,
) -> Response:
    """Render the list for `search`, with the add form and any errors of the last action."""
    problem = _search_problem(search)
    if problem is not None:
        errors = [*(errors or []), ValidationResult((), problem)]
        status_code = 400
    context = get_context(request)
    with context.database.read() as session:
        environment = environments.get_environment(session, visit.environment.name)
        found, total = (
            environments.search_users(session, environment, search, limit=PAGE_SIZE)
            if problem is None
            else ([], 0)
        )
        rows = [UserRow.of(user, visit) for user in found]
        administrators = environments.active_administrator_count(session, environment)

    field_errors, general_errors = split_errors(errors)
    values: dict[str, Any] = {
        "rows": rows,
        "total": total,
        "search": search,
        "active_administrators": administrators,
        "form": form or {},
        "field_errors": field_errors,
        "general_errors": general_errors,
    }
    return render_admin(
        request, visit, "admin/users.html", "Users", values, status_code=status_code
    )


@router.get("/{environment_name}/AdminPage/Users")
def list_users(request: Request, environment_name: str) -> Response:
    visit = admin_visit(request, environment_name)
    if isinstance(visit, Response):
        return visit
    return users_page(request, visit, search=request.query_params.get("q", "").strip())


@router.post("/{environment_name}/AdminPage/Users")
async def add_user(request: Request, environment_name: str) -> Response:
    fields = await read_form(request, ADD_FIELDS)
    return await run_in_threadpool(_add_user, request, environment_name, fields)


def _add_user(request: Request, environment_name: str, fields: dict[str, str]) -> Response:
    visit = admin_visit(request, environment_name)
    if isinstance(visit, Response):
        return visit
    # The password is never sent back into the form.
    kept = {name: fields[name] for name in ("email", "first_name", "last_name", "is_administrator")}
    if not csrf_ok(request, fields[csrf.CSRF_FIELD]):
        logger.info(
            "admin.user.csrf_rejected environment=%s by=%d", visit.environment.name, visit.user_id
        )
        expired = ValidationResult((), FORM_EXPIRED)
        return users_page(request, visit, form=kept, errors=[expired], status_code=403)

    wants_administrator = fields["is_administrator"] == "true"
    change = UserInput(
        email=fields["email"],
        first_name=fields["first_name"],
        last_name=fields["last_name"],
        password=fields["password"] or None,
        is_administrator=wants_administrator,
    )
    context = get_context(request)
    try:
        with context.database.write() as session:
            environment = environments.get_environment(session, visit.environment.name)
            user = environments.create_user(
                session, environment, change, actor=visit.actor(request), now=context.now()
            )
            user_id, email = user.id, user.email
    except ValidationFailed as failed:
        logger.info(
            "admin.user.create_rejected environment=%s by=%d fields=%s",
            visit.environment.name,
            visit.user_id,
            ",".join(name for result in failed.results for name in result.member_names),
        )
        return users_page(request, visit, form=kept, errors=failed.results, status_code=400)

    logger.info(
        "admin.user.created environment=%s user=%d by=%d administrator=%s",
        visit.environment.name,
        user_id,
        visit.user_id,
        wants_administrator,
    )
    role = " as an administrator" if wants_administrator else ""
    return redirect_with_notice(request, visit, "Users", f"Added {email}{role}.")
