"""The start of a test sign-in from the SSO page, in a new window.

The form's values go through the static checks and are staged as a test run on the server.
The browser then goes to the identity provider with those values and an attempt cookie that
carries the run's id. At the callback, `hatchway.web.admin.sso_test_result` finishes the run.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from hatchway.context import get_context
from hatchway.environments import service as environments
from hatchway.errors import ValidationFailed
from hatchway.oidc.errors import SignInError
from hatchway.oidc.flow import ClientConfiguration, start_sign_in
from hatchway.sso import operations, staging
from hatchway.sso.operations import PreparedChange
from hatchway.web.admin.access import AdminVisit, admin_visit, csrf_ok
from hatchway.web.admin.sso_form import EXPIRED_FORM, SsoForm, oauth2_input, staged_key
from hatchway.web.admin.sso_test_result import TestResult, render_result
from hatchway.web.common import environment_path
from hatchway.web.signin import directory_of, set_attempt_cookie

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)


@router.post("/{environment_name}/AdminPage/SingleSignOn/TestSignIn")
async def test_sign_in(request: Request, environment_name: str) -> Response:
    form = SsoForm.read(await request.form())
    return await run_in_threadpool(_test_sign_in, request, environment_name, form)


def _test_failure(
    request: Request, visit: AdminVisit, message: str, hint: str | None, status_code: int
) -> Response:
    result = TestResult(False, message, hint)
    return render_result(request, visit.environment.name, result, status_code)


def _test_sign_in(request: Request, environment_name: str, form: SsoForm) -> Response:
    """Start a sign-in with the staged values; the callback reports it and saves nothing."""
    visit = admin_visit(request, environment_name)
    if isinstance(visit, Response):
        return visit
    if not csrf_ok(request, form.csrf_token):
        return _test_failure(request, visit, f"Test sign-in not started: {EXPIRED_FORM}", None, 403)

    context = get_context(request)
    try:
        key = staged_key(request, visit, form)
        prepared = operations.prepare_oauth2(
            context, visit.environment.name, oauth2_input(form, key)
        )
    except ValidationFailed as failed:
        logger.info(
            "admin.sso.test_not_started environment=%s user=%d reason=invalid_values",
            visit.environment.name,
            visit.user_id,
        )
        problems = " ".join(result.message for result in failed.results)
        hint = "Correct the values on the single sign-on page and start the test again."
        return _test_failure(request, visit, f"Test sign-in not started: {problems}", hint, 400)

    run_id = _stage_test_run(request, visit, prepared)
    client = ClientConfiguration(
        authority=prepared.values.authority,
        client_id=prepared.values.client_id,
        client_secret=prepared.client_secret,
        redirect_uri=prepared.redirect_uri,
        allowed_tenants=prepared.values.allowed_tenants,
    )
    return_to = environment_path(context, visit.environment.name, "AdminPage/SingleSignOn")
    try:
        # prompt=login: the provider shows its sign-in form even when this browser already has a
        # session there, so the test proves that these values sign a person in.
        url, attempt = start_sign_in(directory_of(request), client, return_to, 0, prompt="login")
    except SignInError as error:
        logger.warning(
            "admin.sso.test_failed environment=%s run=%d reason=%s",
            visit.environment.name,
            run_id,
            error.reason.value,
        )
        _fail_test_run(request, visit, run_id, error)
        return _test_failure(
            request, visit, f"Test sign-in failed: {error.message}", error.hint, 502
        )

    response = RedirectResponse(url, status_code=303)
    set_attempt_cookie(
        response, context, visit.environment.name, replace(attempt, test_run_id=run_id)
    )
    logger.info(
        "admin.sso.test_started environment=%s user=%d run=%d",
        visit.environment.name,
        visit.user_id,
        run_id,
    )
    return response


def _stage_test_run(request: Request, visit: AdminVisit, prepared: PreparedChange) -> int:
    context = get_context(request)
    with context.database.write() as session:
        environment = environments.get_environment(session, visit.environment.name)
        run = staging.create_test_run(
            session,
            environment,
            authority=prepared.values.authority,
            client_id=prepared.values.client_id,
            key=prepared.client_secret,
            allowed_tenants=prepared.values.allowed_tenants,
            keyring=context.keyring,
            creator=staging.Creator(visit.user_id, visit.actor(request)),
            now=context.now(),
        )
        return run.id


def _fail_test_run(request: Request, visit: AdminVisit, run_id: int, error: SignInError) -> None:
    context = get_context(request)
    now = context.now()
    with context.database.write() as session:
        environment = environments.get_environment(session, visit.environment.name)
        run = staging.find_pending_test(session, environment, run_id, now, lock=True)
        if run is not None:
            staging.record_failed(run, f"Test sign-in failed: {error.message}", now)
