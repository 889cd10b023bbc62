"""Sign-in pages: the identity provider redirect, its callback, and the local password form."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from hatchway import metrics
from hatchway.context import AppContext, client_address, get_context
from hatchway.db.models import SsoSettings
from hatchway.environments import service as environments
from hatchway.environments.passwords import verify_password
from hatchway.errors import RateLimited
from hatchway.oidc import accounts
from hatchway.oidc.discovery import ProviderDirectory
from hatchway.oidc.errors import SignInError, SignInFailure
from hatchway.oidc.flow import (
    ClientConfiguration,
    SignInAttempt,
    complete_sign_in,
    start_sign_in,
)
from hatchway.security import ratelimit
from hatchway.security.sealing import SealingError
from hatchway.sso import service as sso
from hatchway.web import csrf
from hatchway.web.admin.sso_test_result import finish_test_sign_in
from hatchway.web.common import (
    PageEnvironment,
    environment_path,
    load_environment,
    recovery_links,
    safe_return_to,
    set_session_cookie,
)
from hatchway.web.rendering import message_page, render
from hatchway.web.sessions import SessionKind, create_session

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

ATTEMPT_COOKIE_PREFIX = "hatchway_signin_"
ATTEMPT_LIFETIME = timedelta(minutes=10)
FAILED_SIGN_IN = "The e-mail address or the password is wrong."


def directory_of(request: Request) -> ProviderDirectory:
    directory = request.app.state.provider_directory
    assert isinstance(directory, ProviderDirectory)
    return directory


def attempt_cookie_name(state: str) -> str:
    """Name the cookie after the attempt's state, so that two tabs keep separate attempts."""
    return ATTEMPT_COOKIE_PREFIX + hashlib.sha256(state.encode("utf-8")).hexdigest()[:16]


def _attempt_cookie_path(context: AppContext, environment_name: str) -> str:
    return environment_path(context, environment_name, "OAuth2")


def client_configuration(
    context: AppContext, environment_name: str, settings: SsoSettings
) -> ClientConfiguration:
    assert settings.authority is not None and settings.client_id is not None
    return ClientConfiguration(
        authority=settings.authority,
        client_id=settings.client_id,
        client_secret=sso.unseal_key(context.keyring, settings),
        redirect_uri=sso.redirect_uri_for(context.settings.public_url, environment_name),
        allowed_tenants=tuple(settings.allowed_tenants or ()),
    )


def _load_settings(context: AppContext, environment_id: int) -> SsoSettings | None:
    with context.database.read() as session:
        settings = session.get(SsoSettings, environment_id)
        if settings is not None:
            session.expunge(settings)
    return settings


def _failure_page(
    request: Request, environment_name: str, error: SignInError, status_code: int = 400
) -> Response:
    context = get_context(request)
    logger.warning("signin.failed environment=%s reason=%s", environment_name, error.reason.value)
    metrics.record_sign_in("sso", error.reason.value)
    return message_page(
        request,
        "Sign-in failed",
        error.message,
        hint=error.hint,
        links=recovery_links(context, environment_name),
        status_code=status_code,
    )


def _local_form(
    request: Request,
    environment: PageEnvironment,
    *,
    return_to: str,
    local: bool,
    sso_available: bool,
    error: str | None = None,
    email: str = "",
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "signin.html",
        {
            "title": "Sign in",
            "environment_name": environment.name,
            "return_to": return_to,
            "local": local,
            "sso_available": sso_available,
            "error": error,
            "email": email,
            "notice": notice,
        },
        status_code=status_code,
    )


@router.get("/{environment_name}/SignIn")
def sign_in(request: Request, environment_name: str) -> Response:
    """Redirect to the identity provider in mode OAuth2; show the password form otherwise."""
    context = get_context(request)
    environment = load_environment(request, environment_name)
    if isinstance(environment, Response):
        return environment
    return_to = safe_return_to(context, environment.name, request.query_params.get("return_to"))
    settings = _load_settings(context, environment.id)
    sso_ready = settings is not None and sso.is_complete(settings)
    if request.query_params.get("local") == "1" or not sso_ready:
        notice = (
            "Single sign-on is not configured for this environment; sign in with your password."
            if settings is not None and settings.mode == sso.SsoMode.OAUTH2.value and not sso_ready
            else None
        )
        return _local_form(
            request,
            environment,
            return_to=return_to,
            local=request.query_params.get("local") == "1",
            sso_available=sso_ready,
            notice=notice,
        )

    assert settings is not None
    try:
        client = client_configuration(context, environment.name, settings)
        url, attempt = start_sign_in(directory_of(request), client, return_to, settings.version)
    except SealingError:
        return _failure_page(request, environment.name, _unreadable_key_error(), 503)
    except SignInError as error:
        return _failure_page(request, environment.name, error, 502)

    response = RedirectResponse(url, status_code=302)
    set_attempt_cookie(response, context, environment.name, attempt)
    logger.info("signin.redirected environment=%s", environment.name)
    return response


def set_attempt_cookie(
    response: Response, context: AppContext, environment_name: str, attempt: SignInAttempt
) -> None:
    """Keep the attempt sealed in a cookie of its own until the identity provider's callback."""
    sealed = context.keyring.seal(
        json.dumps(
            {**attempt.as_dict(), "e": environment_name, "t": int(context.now().timestamp())}
        )
    )
    response.set_cookie(
        attempt_cookie_name(attempt.state),
        sealed,
        max_age=int(ATTEMPT_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=context.settings.secure_cookies,
        path=_attempt_cookie_path(context, environment_name),
    )


def _unreadable_key_error() -> SignInError:
    return SignInError(
        SignInFailure.SETTINGS_INCOMPLETE,
        "The stored Key of this environment cannot be opened with this instance's sealing keys.",
        "The operator must restore the sealing keys, or an administrator must enter the Key again.",
    )


def _read_attempt(
    context: AppContext, request: Request, environment_name: str, state: str | None
) -> SignInAttempt:
    unknown = SignInError(
        SignInFailure.ATTEMPT_UNKNOWN,
        "This sign-in attempt is unknown or has expired. An attempt lasts 10 minutes and must "
        "finish in the browser that started it.",
        "Start the sign-in again.",
    )
    if not state:
        raise unknown
    sealed = request.cookies.get(attempt_cookie_name(state))
    if not sealed:
        raise unknown
    try:
        data: dict[str, Any] = json.loads(context.keyring.unseal(sealed))
        attempt = SignInAttempt.from_dict(data)
    except (SealingError, ValueError, KeyError, TypeError):
        raise unknown from None
    started = int(data.get("t", 0))
    if data.get("e") != environment_name or attempt.state != state:
        raise unknown
    if context.now().timestamp() - started > ATTEMPT_LIFETIME.total_seconds():
        raise unknown
    return attempt


def _provider_refusal(request: Request) -> SignInError:
    error = request.query_params.get("error", "")
    description = request.query_params.get("error_description", "").strip()
    detail = f"{error}: {description}" if description else error
    return SignInError(
        SignInFailure.PROVIDER_ERROR,
        f"The identity provider refused the sign-in ({detail[:500]}).",
        "If the message names the app registration or the redirect URI, an administrator must "
        "correct the single sign-on settings or the app registration.",
    )


@router.get("/{environment_name}/OAuth2/HandleAuthorityResponse")
def handle_authority_response(request: Request, environment_name: str) -> Response:
    """Finish the sign-in: check the attempt, exchange the code, validate, start a session."""
    context = get_context(request)
    environment = load_environment(request, environment_name)
    if isinstance(environment, Response):
        return environment
    state = request.query_params.get("state")
    cookie_name = attempt_cookie_name(state) if state else None

    test_attempt = _test_attempt(context, request, environment.name, state)
    if test_attempt is not None:
        response = finish_test_sign_in(request, environment, test_attempt)
        _forget_attempt(response, context, environment.name, cookie_name)
        return response

    try:
        if request.query_params.get("error"):
            raise _provider_refusal(request)
        attempt = _read_attempt(context, request, environment.name, state)
        code = request.query_params.get("code")
        if not code:
            raise SignInError(
                SignInFailure.PROVIDER_ERROR,
                "The identity provider sent neither an authorization code nor an error.",
                "Start the sign-in again.",
            )
        response = _finish(context, request, environment, attempt, code)
    except SignInError as error:
        response = _failure_page(request, environment.name, error)
    except SealingError:
        response = _failure_page(request, environment.name, _unreadable_key_error(), 503)

    _forget_attempt(response, context, environment.name, cookie_name)
    return response


def _test_attempt(
    context: AppContext, request: Request, environment_name: str, state: str | None
) -> SignInAttempt | None:
    """Return the attempt when it is a test sign-in from the SSO page, else None."""
    try:
        attempt = _read_attempt(context, request, environment_name, state)
    except SignInError:
        return None
    return attempt if attempt.test_run_id is not None else None


def _forget_attempt(
    response: Response, context: AppContext, environment_name: str, cookie_name: str | None
) -> None:
    if cookie_name is None:
        return
    response.delete_cookie(
        cookie_name,
        httponly=True,
        samesite="lax",
        secure=context.settings.secure_cookies,
        path=_attempt_cookie_path(context, environment_name),
    )


def _finish(
    context: AppContext,
    request: Request,
    environment: PageEnvironment,
    attempt: SignInAttempt,
    code: str,
) -> Response:
    settings = _load_settings(context, environment.id)
    if settings is None or not sso.is_complete(settings):
        raise SignInError(
            SignInFailure.SETTINGS_INCOMPLETE,
            "Single sign-on was switched off for this environment during the sign-in.",
            "Sign in with your password instead.",
        )
    client = client_configuration(context, environment.name, settings)
    identity = complete_sign_in(
        directory_of(request),
        context.http_client,
        client,
        attempt,
        code=code,
        issuer_parameter=request.query_params.get("iss"),
        now=context.now(),
        leeway_seconds=context.settings.clock_leeway_seconds,
    )

    now = context.now()
    with context.database.write() as session:
        db_environment = environments.get_environment(session, environment.name)
        user = accounts.bind_user(session, db_environment, identity, now=now)
        token = create_session(
            session,
            db_environment,
            user,
            SessionKind.SSO,
            now=now,
            client_address=client_address(request),
            sso_version=settings.version,
        )
        _mark_last_known_good(session, environment.id, settings.version)
        user_id = user.id

    logger.info("signin.succeeded environment=%s user=%d kind=sso", environment.name, user_id)
    metrics.record_sign_in("sso", "success")
    response = RedirectResponse(attempt.return_to, status_code=303)
    set_session_cookie(response, context, environment.name, token)
    return response


def _mark_last_known_good(session: Session, environment_id: int, version: int) -> None:
    current = session.get(SsoSettings, environment_id)
    if current is not None and current.version == version:
        current.last_known_good_version = version


@router.post("/{environment_name}/SignIn")
async def sign_in_with_password(request: Request, environment_name: str) -> Response:
    """Check the local form's e-mail address and password and start a session."""
    form = await request.form()
    fields = {name: str(form.get(name, "")) for name in ("email", "password", "return_to", "local")}
    submitted = str(form.get(csrf.CSRF_FIELD, ""))
    return await run_in_threadpool(
        _sign_in_with_password, request, environment_name, fields, submitted
    )


def _sign_in_with_password(
    request: Request, environment_name: str, fields: dict[str, str], submitted_token: str
) -> Response:
    context = get_context(request)
    environment = load_environment(request, environment_name)
    if isinstance(environment, Response):
        return environment
    return_to = safe_return_to(context, environment.name, fields["return_to"] or None)
    local = fields["local"] == "1"
    settings = _load_settings(context, environment.id)
    sso_ready = settings is not None and sso.is_complete(settings)

    def form_again(error: str, status_code: int) -> Response:
        return _local_form(
            request,
            environment,
            return_to=return_to,
            local=local,
            sso_available=sso_ready,
            error=error,
            email=fields["email"],
            status_code=status_code,
        )

    if not csrf.is_valid(context.keyring, request.cookies.get(csrf.CSRF_COOKIE), submitted_token):
        return form_again("The form has expired. Please sign in again.", 403)

    address = client_address(request) or "unknown"
    now = context.now()
    try:
        with context.database.write() as session:
            ratelimit.check(
                session,
                ratelimit.SIGN_IN_FAILURES,
                address,
                now,
                "Too many failed sign-in attempts from this address.",
            )
            db_environment = environments.get_environment(session, environment.name)
            user = environments.find_user_by_email(session, db_environment, fields["email"])
            password_ok = verify_password(
                user.password_hash if user is not None else None, fields["password"]
            )
            if user is None or not password_ok or not user.is_active:
                ratelimit.record(session, ratelimit.SIGN_IN_FAILURES, address, now)
                logger.info("signin.password_rejected environment=%s", environment.name)
                metrics.record_sign_in("local", "password_rejected")
                return form_again(FAILED_SIGN_IN, 401)
            if sso_ready and not user.is_administrator:
                return form_again(
                    "In this environment users sign in through the identity provider; only "
                    "administrators can sign in with a password here.",
                    403,
                )
            user.last_sign_in_at = now
            token = create_session(
                session,
                db_environment,
                user,
                SessionKind.LOCAL,
                now=now,
                client_address=address,
            )
            must_change = user.password_is_temporary
            user_id = user.id
    except RateLimited as limited:
        metrics.record_sign_in("local", "rate_limited")
        response = form_again(
            f"{limited} Wait {limited.retry_after} seconds before trying again.", 429
        )
        response.headers["Retry-After"] = str(limited.retry_after)
        return response

    logger.info("signin.succeeded environment=%s user=%d kind=local", environment.name, user_id)
    metrics.record_sign_in("local", "success")
    target = (
        environment_path(context, environment.name, "ChangePassword") if must_change else return_to
    )
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, context, environment.name, token)
    return response
