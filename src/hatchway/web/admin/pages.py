"""The single sign-on administration page; the overview lives in `overview.py`.

Routes:
    GET  /{env}/AdminPage/SingleSignOn         current settings and the form (admin/sso.html)
    POST /{env}/AdminPage/SingleSignOn         save Authority, Client ID, Key, Key expiry
    POST /{env}/AdminPage/SingleSignOn/Disable switch to mode None (sign-in with passwords)
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from hatchway.context import get_context
from hatchway.environments import service as environments
from hatchway.errors import ValidationFailed, ValidationResult
from hatchway.sso import service as sso
from hatchway.sso.service import OAuth2Input
from hatchway.web import csrf
from hatchway.web.admin.access import AdminVisit, admin_visit, csrf_ok
from hatchway.web.rendering import render

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

SSO_FORM_FIELDS = ("authority", "client_id", "key", "key_expires_on", csrf.CSRF_FIELD)


def _page_values(visit: AdminVisit, title: str) -> dict[str, Any]:
    return {
        "title": title,
        "environment_name": visit.environment.name,
        "visit": visit,
        "session_ends": visit.session_expires_at.strftime("%H:%M UTC"),
    }


def _settings_view(request: Request, visit: AdminVisit) -> dict[str, Any]:
    context = get_context(request)
    with context.database.read() as session:
        environment = environments.get_environment(session, visit.environment.name)
        settings = sso.get_settings(session, environment)
        return sso.settings_view(
            settings, environment, context.settings.public_url, context.now().date()
        )


def _sso_page(
    request: Request,
    visit: AdminVisit,
    *,
    form: dict[str, str] | None = None,
    errors: list[ValidationResult] | None = None,
    notices: list[ValidationResult] | None = None,
    saved_message: str | None = None,
    status_code: int = 200,
) -> Response:
    view = _settings_view(request, visit)
    if form is None:
        expires = view["KeyExpiresOn"]
        form = {
            "authority": view["Authority"] or "",
            "client_id": view["ClientId"] or "",
            "key_expires_on": expires.isoformat() if expires else "",
        }
    field_errors: dict[str, list[str]] = {}
    general_errors: list[str] = []
    for error in errors or []:
        if error.member_names:
            field_errors.setdefault(error.member_names[0], []).append(error.message)
        else:
            general_errors.append(error.message)
    values = _page_values(visit, "Single sign-on")
    values.update(
        {
            "sso": view,
            "form": form,
            "field_errors": field_errors,
            "general_errors": general_errors,
            "notices": [notice.message for notice in notices or []],
            "saved_message": saved_message,
        }
    )
    return render(request, "admin/sso.html", values, status_code=status_code)


@router.get("/{environment_name}/AdminPage/SingleSignOn")
def sso_settings_page(request: Request, environment_name: str) -> Response:
    visit = admin_visit(request, environment_name)
    if isinstance(visit, Response):
        return visit
    return _sso_page(request, visit)


@router.post("/{environment_name}/AdminPage/SingleSignOn")
async def save_sso_settings(request: Request, environment_name: str) -> Response:
    form = await request.form()
    fields = {name: str(form.get(name, "")) for name in SSO_FORM_FIELDS}
    return await run_in_threadpool(_save_sso_settings, request, environment_name, fields)


def _parse_expiry(raw: str) -> date | None:
    if not raw.strip():
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise ValidationFailed.single(
            "KeyExpiresOn",
            f"KeyExpiresOn {raw.strip()!r} is not a date; use the form YYYY-MM-DD, such as "
            "'2026-12-31', or leave it empty.",
        ) from None


def _save_sso_settings(request: Request, environment_name: str, fields: dict[str, str]) -> Response:
    visit = admin_visit(request, environment_name)
    if isinstance(visit, Response):
        return visit
    submitted_values = {name: fields[name] for name in ("authority", "client_id", "key_expires_on")}
    if not csrf_ok(request, fields[csrf.CSRF_FIELD]):
        expired = ValidationResult((), "The form has expired; reload the page and try again.")
        return _sso_page(request, visit, form=submitted_values, errors=[expired], status_code=403)

    context = get_context(request)
    try:
        # An empty Key field keeps the stored Key, as a PUT without Key does.
        change = OAuth2Input(
            authority=fields["authority"],
            client_id=fields["client_id"],
            key=fields["key"] or None,
            key_expires_on=_parse_expiry(fields["key_expires_on"]),
        )
        with context.database.read() as session:
            environment = environments.get_environment(session, visit.environment.name)
            stored = sso.get_settings(session, environment)
            values = sso.check_oauth2_input(
                change, stored, allow_loopback_http=context.settings.insecure_loopback_idp
            )
        with context.database.write() as session:
            environment = environments.get_environment(session, visit.environment.name)
            settings, changed = sso.save_oauth2(
                session,
                environment,
                values,
                keyring=context.keyring,
                actor=visit.actor(request),
                now=context.now(),
            )
            version = settings.version
    except ValidationFailed as failed:
        return _sso_page(
            request, visit, form=submitted_values, errors=failed.results, status_code=400
        )

    logger.info(
        "admin.sso.saved environment=%s user=%d version=%d emergency=%s",
        visit.environment.name,
        visit.user_id,
        version,
        visit.is_emergency,
    )
    message = (
        f"Saved as version {version}. Sign-in now uses these settings."
        if changed
        else "Nothing changed: the values equal the stored ones."
    )
    return _sso_page(request, visit, notices=list(values.notices), saved_message=message)


@router.post("/{environment_name}/AdminPage/SingleSignOn/Disable")
async def disable_sso(request: Request, environment_name: str) -> Response:
    form = await request.form()
    submitted = str(form.get(csrf.CSRF_FIELD, ""))
    return await run_in_threadpool(_disable_sso, request, environment_name, submitted)


def _disable_sso(request: Request, environment_name: str, submitted: str) -> Response:
    visit = admin_visit(request, environment_name)
    if isinstance(visit, Response):
        return visit
    if not csrf_ok(request, submitted):
        expired = ValidationResult((), "The form has expired; reload the page and try again.")
        return _sso_page(request, visit, errors=[expired], status_code=403)

    context = get_context(request)
    with context.database.write() as session:
        environment = environments.get_environment(session, visit.environment.name)
        settings = sso.disable_oauth2(
            session, environment, actor=visit.actor(request), now=context.now()
        )
        version = settings.version
    logger.info(
        "admin.sso.disabled environment=%s user=%d version=%d",
        visit.environment.name,
        visit.user_id,
        version,
    )
    return _sso_page(
        request,
        visit,
        saved_message="Single sign-on is off (mode None): everyone signs in with a password. "
        "The previous settings stay in the version history.",
    )
