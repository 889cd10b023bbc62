"""The single sign-on page: verify, test, save and restore SSO settings in the browser.

Routes (every POST checks the CSRF token):
    GET  /{env}/AdminPage/SingleSignOn                          settings, form, history
    POST /{env}/AdminPage/SingleSignOn                          save (mode None or OAuth2)
    POST /{env}/AdminPage/SingleSignOn/Verify                   run the checks, save nothing
    POST /{env}/AdminPage/SingleSignOn/TestSignIn               test sign-in (sso_test_start.py)
    POST /{env}/AdminPage/SingleSignOn/History/{n}/Restore      verify version n and make it
                                                                current again; a version whose
                                                                checks fail needs a second POST
                                                                with confirm_failed_checks=1

Every change goes through `hatchway.sso.operations` or `hatchway.sso.restore`, as the
Provisioning API's do, so both verify the same way and both refuse changes that would lock
every administrator out.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from hatchway.context import get_context
from hatchway.environments import service as environments
from hatchway.errors import NotFound, PreconditionFailed, ValidationFailed, ValidationResult
from hatchway.sso import operations, staging
from hatchway.sso import restore as restore_service
from hatchway.sso.guard import RestoreRejected
from hatchway.sso.operations import UntestedSettings, VerificationFailed
from hatchway.sso.restore import RestoredVersion, UnconfirmedRestore
from hatchway.web.admin import sso_test_start
from hatchway.web.admin.access import AdminVisit, admin_visit, csrf_ok
from hatchway.web.admin.sso_form import (
    EXPIRED_FORM,
    SsoForm,
    keep_key,
    oauth2_input,
    staged_key,
)
from hatchway.web.admin.sso_view import PageState, page_values, verification_heading
from hatchway.web.rendering import render

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)
router.include_router(sso_test_start.router)

PAGE = "/{environment_name}/AdminPage/SingleSignOn"


def _page(
    request: Request, visit: AdminVisit, state: PageState, status_code: int = 200
) -> Response:
    return render(
        request, "admin/sso.html", page_values(request, visit, state), status_code=status_code
    )


def _stale(stale: PreconditionFailed, form: SsoForm | None = None) -> PageState:
    current = stale.current.strip('"')
    message = (
        f"The single sign-on settings changed while you edited them (now version {current}), "
        "so nothing was saved. Review the current settings and the version history, then "
        "try again."
    )
    # The form shown again is based on the current version, which the message asks to review.
    shown = {**form.shown(), "based_on_version": ""} if form is not None else None
    return PageState(form=shown, errors=[ValidationResult((), message)])


@router.get(PAGE)
def sso_page(request: Request, environment_name: str) -> Response:
    visit = admin_visit(request, environment_name)
    if isinstance(visit, Response):
        return visit
    return _page(request, visit, PageState())


async def _read_form(request: Request) -> SsoForm:
    return SsoForm.read(await request.form())


# Verify


@router.post(f"{PAGE}/Verify")
async def verify(request: Request, environment_name: str) -> Response:
    form = await _read_form(request)
    return await run_in_threadpool(_verify, request, environment_name, form)


def _verify(request: Request, environment_name: str, form: SsoForm) -> Response:
    visit = admin_visit(request, environment_name)
    if isinstance(visit, Response):
        return visit
    if not csrf_ok(request, form.csrf_token):
        return _page(request, visit, PageState(form=form.shown(), errors=[_expired()]), 403)

    context = get_context(request)
    try:
        key = staged_key(request, visit, form)
        report = operations.verify_oauth2(context, visit.environment.name, oauth2_input(form, key))
    except ValidationFailed as failed:
        return _page(request, visit, PageState(form=form.shown(), errors=failed.results), 400)

    logger.info(
        "admin.sso.verified environment=%s user=%d passed=%s",
        visit.environment.name,
        visit.user_id,
        report.passed,
    )
    state = PageState(
        form=form.shown(),
        draft_id=keep_key(request, visit, key),
        notices=list(report.notices),
        verification=report,
        verification_heading=verification_heading(report),
    )
    return _page(request, visit, state)


def _expired() -> ValidationResult:
    return ValidationResult((), EXPIRED_FORM)


# Save


@router.post(PAGE)
async def save(request: Request, environment_name: str) -> Response:
    form = await _read_form(request)
    return await run_in_threadpool(_save, request, environment_name, form)


def _save(request: Request, environment_name: str, form: SsoForm) -> Response:
    visit = admin_visit(request, environment_name)
    if isinstance(visit, Response):
        return visit
    if not csrf_ok(request, form.csrf_token):
        return _page(request, visit, PageState(form=form.shown(), errors=[_expired()]), 403)
    if form.mode == "None":
        return _switch_to_none(request, visit, form)
    return _save_oauth2(request, visit, form)


def _switch_to_none(request: Request, visit: AdminVisit, form: SsoForm) -> Response:
    context = get_context(request)
    try:
        change = operations.disable_oauth2(
            context, visit.environment.name, actor=visit.actor(request), if_match=form.if_match()
        )
    except PreconditionFailed as stale:
        return _page(request, visit, _stale(stale, form), 412)
    except ValidationFailed as failed:
        return _page(request, visit, PageState(form=form.shown(), errors=failed.results), 400)

    logger.info(
        "admin.sso.disabled environment=%s user=%d version=%d changed=%s",
        visit.environment.name,
        visit.user_id,
        change.version,
        change.changed,
    )
    if change.changed:
        message = (
            "Single sign-on is off (mode None): everyone signs in with a password. The previous "
            "settings stay in the version history."
        )
    elif form.has_oauth2_values():
        message = (
            "Nothing changed: single sign-on was already off (mode None). To use the values you "
            "entered, choose mode OAuth2 and save again."
        )
    else:
        message = "Nothing changed: single sign-on was already off (mode None)."
    return _page(request, visit, PageState(message=message))


def _save_oauth2(request: Request, visit: AdminVisit, form: SsoForm) -> Response:
    context = get_context(request)
    key = None
    try:
        key = staged_key(request, visit, form)
        saved = operations.update_oauth2(
            context,
            visit.environment.name,
            oauth2_input(form, key),
            actor=visit.actor(request),
            if_match=form.if_match(),
            skip_verification=form.skip_verification,
            require_tested=not form.confirm_untested,
        )
    except UntestedSettings as untested:
        assert key is not None
        return _confirmation(request, visit, form, keep_key(request, visit, key), untested)
    except VerificationFailed as failed:
        assert key is not None
        state = PageState(
            form=form.shown(),
            draft_id=keep_key(request, visit, key),
            errors=failed.results,
            verification=failed.report,
            verification_heading=verification_heading(failed.report),
        )
        return _page(request, visit, state, 400)
    except PreconditionFailed as stale:
        state = _stale(stale, form)
        if key is not None:
            state.draft_id = keep_key(request, visit, key)
        return _page(request, visit, state, 412)
    except ValidationFailed as failed:
        state = PageState(form=form.shown(), errors=failed.results)
        if key is not None:
            state.draft_id = keep_key(request, visit, key, failed.results)
        return _page(request, visit, state, 400)

    _clear_tested_keys(request, visit)
    logger.info(
        "admin.sso.saved environment=%s user=%d version=%s changed=%s emergency=%s",
        visit.environment.name,
        visit.user_id,
        saved.view["Version"],
        saved.changed,
        visit.is_emergency,
    )
    message = (
        f"Saved as version {saved.view['Version']}. Sign-in now uses these settings."
        if saved.changed
        else "Nothing changed: the values equal the stored ones."
    )
    return _page(
        request,
        visit,
        PageState(message=message, notices=list(saved.notices), warnings=list(saved.warnings)),
    )


def _clear_tested_keys(request: Request, visit: AdminVisit) -> None:
    """Clear the Keys that the user's test sign-ins kept for Save, now that settings are saved."""
    context = get_context(request)
    with context.database.write() as session:
        environment = environments.get_environment(session, visit.environment.name)
        staging.clear_tested_keys(session, environment, visit.user_id, context.now())


def _confirmation(
    request: Request,
    visit: AdminVisit,
    form: SsoForm,
    draft_id: int | None,
    untested: UntestedSettings,
) -> Response:
    """Ask whether to save values that have not passed a test sign-in, naming the ways back in."""
    state = PageState(
        form=form.shown(),
        draft_id=draft_id,
        verification=untested.report,
        verification_heading=verification_heading(untested.report),
    )
    values = page_values(request, visit, state)
    values.update(
        {
            "title": "Save without a test sign-in?",
            "based_on_version": form.based_on_version,
            "key_is_new": form.key != "" or form.draft_id is not None,
            "prepared": untested.prepared,
        }
    )
    return render(request, "admin/sso_confirm.html", values)


# Restore


@router.post(f"{PAGE}/History/{{version}}/Restore")
async def restore(request: Request, environment_name: str, version: str) -> Response:
    form = await _read_form(request)
    return await run_in_threadpool(_restore, request, environment_name, version, form)


def _restore(request: Request, environment_name: str, version: str, form: SsoForm) -> Response:
    """Verify a version and restore it, asking first when its checks fail now.

    A restore that could lock every administrator out is rejected with the ways back in.
    """
    visit = admin_visit(request, environment_name)
    if isinstance(visit, Response):
        return visit
    if not csrf_ok(request, form.csrf_token):
        return _page(request, visit, PageState(errors=[_expired()]), 403)
    if not version.isdigit() or len(version) > 9:
        error = ValidationResult((), f"Version {version!r} is not a version number.")
        return _page(request, visit, PageState(errors=[error]), 404)

    context = get_context(request)
    number = int(version)
    try:
        restored = restore_service.restore_version(
            context,
            visit.environment.name,
            number,
            actor=visit.actor(request),
            if_match=form.if_match(),
            require_confirmation=not form.confirm_failed_checks,
        )
    except PreconditionFailed as stale:
        return _page(request, visit, _stale(stale), 412)
    except NotFound:
        error = ValidationResult((), f"Version {number} does not exist; pick one from the list.")
        return _page(request, visit, PageState(errors=[error]), 404)
    except UnconfirmedRestore as unconfirmed:
        return _restore_confirmation(request, visit, form, unconfirmed)
    except RestoreRejected as rejected:
        return _page(request, visit, _restore_rejected(rejected), 400)
    except ValidationFailed as failed:
        return _page(request, visit, PageState(errors=failed.results), 400)

    logger.info(
        "admin.sso.restored environment=%s user=%d version=%d restored_from=%d passed=%s",
        visit.environment.name,
        visit.user_id,
        restored.version,
        number,
        restored.verification is None or restored.verification.passed,
    )
    return _page(request, visit, _restored_state(number, restored))


def _restored_state(number: int, restored: RestoredVersion) -> PageState:
    report = restored.verification
    if not restored.changed:
        message = f"Nothing changed: version {number} has the current values."
    elif restored.warnings:
        message = (
            f"Restored version {number} as version {restored.version}, although checks failed: "
            "sign-in now uses these settings, and may fail until the failed checks are corrected."
        )
    else:
        message = (
            f"Restored version {number} as version {restored.version}. Sign-in now uses these "
            "settings."
        )
    return PageState(
        message=message,
        warnings=list(restored.warnings),
        warnings_lead="Restored although a check failed:",
        verification=report,
        verification_heading=verification_heading(report) if report is not None else None,
    )


def _restore_rejected(rejected: RestoreRejected) -> PageState:
    # Only the first result, which names the ways back in, because the report below lists the
    # failed checks. It names no field, since the fields of the form are not what failed.
    errors = [ValidationResult((), rejected.results[0].message)]
    return PageState(
        errors=errors,
        verification=rejected.report,
        verification_heading=verification_heading(rejected.report),
    )


def _restore_confirmation(
    request: Request, visit: AdminVisit, form: SsoForm, unconfirmed: UnconfirmedRestore
) -> Response:
    """Ask whether to restore a version whose checks fail now, naming the ways back in."""
    state = PageState(
        verification=unconfirmed.report,
        verification_heading=verification_heading(unconfirmed.report),
    )
    values = page_values(request, visit, state)
    values.update(
        {
            "title": f"Restore version {unconfirmed.number} although checks fail?",
            "restore_version": unconfirmed.number,
            "based_on_version": form.based_on_version,
        }
    )
    return render(request, "admin/sso_restore_confirm.html", values)
