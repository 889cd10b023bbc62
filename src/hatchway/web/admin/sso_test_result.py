"""The end of a test sign-in from the SSO page: validate with the staged values and report.

The identity provider sends the browser to the registered redirect URI, so the sign-in callback
(`hatchway.web.signin`) hands attempts that carry a test run id to `finish_test_sign_in`. It
exchanges the code and validates the ID token with the staged Authority, Client ID and Key,
records who signed in, and shows the result. It saves no settings, starts no session, and
neither creates nor links a user.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from hatchway.audit import service as audit
from hatchway.audit.service import Actor, ActorType
from hatchway.context import AppContext, client_address, get_context
from hatchway.db.models import Environment, SsoStagedSettings, User
from hatchway.environments import service as environments
from hatchway.environments.service import email_key
from hatchway.oidc.accounts import email_from_claims
from hatchway.oidc.discovery import ProviderDirectory
from hatchway.oidc.errors import SignInError, SignInFailure
from hatchway.oidc.flow import (
    ClientConfiguration,
    SignedInIdentity,
    SignInAttempt,
    complete_sign_in,
)
from hatchway.security.sealing import SealingError
from hatchway.sso import service as sso
from hatchway.sso import staging
from hatchway.web.common import PageEnvironment, environment_path
from hatchway.web.rendering import render

logger = logging.getLogger(__name__)

NOT_CHANGED = (
    "The saved single sign-on settings were not changed: this test started no session and "
    "neither created nor linked a user."
)


@dataclass(frozen=True)
class _StagedClient:
    """A pending test run's values, detached from the database session."""

    run_id: int
    authority: str
    client_id: str
    key_sealed: str = field(repr=False)
    allowed_tenants: tuple[str, ...]


@dataclass(frozen=True)
class TestResult:
    passed: bool
    message: str
    hint: str | None = None
    authority: str | None = None
    client_id: str | None = None


def _directory(request: Request) -> ProviderDirectory:
    directory = request.app.state.provider_directory
    assert isinstance(directory, ProviderDirectory)
    return directory


def _load_pending(
    context: AppContext, environment: PageEnvironment, run_id: int
) -> _StagedClient | None:
    with context.database.read() as session:
        db_environment = environments.get_environment(session, environment.name)
        run = staging.find_pending_test(session, db_environment, run_id, context.now())
        if run is None or run.authority is None or run.client_id is None:
            return None
        assert run.key_sealed is not None
        return _StagedClient(
            run.id,
            run.authority,
            run.client_id,
            run.key_sealed,
            tuple(run.allowed_tenants or ()),
        )


def _provider_refusal(request: Request) -> SignInError:
    error = request.query_params.get("error", "")
    description = request.query_params.get("error_description", "").strip()
    detail = f"{error}: {description}" if description else error
    return SignInError(
        SignInFailure.PROVIDER_ERROR,
        f"The identity provider refused the sign-in ({detail[:500]}).",
        "If the message names the client or the redirect URI, correct the Client ID or register "
        "the redirect URI shown on the single sign-on page at the identity provider.",
    )


def _identify(
    context: AppContext,
    request: Request,
    environment: PageEnvironment,
    staged: _StagedClient,
    attempt: SignInAttempt,
) -> SignedInIdentity:
    """Exchange the code and validate the ID token with the staged values."""
    if request.query_params.get("error"):
        raise _provider_refusal(request)
    code = request.query_params.get("code")
    if not code:
        raise SignInError(
            SignInFailure.PROVIDER_ERROR,
            "The identity provider sent neither an authorization code nor an error.",
        )
    client = ClientConfiguration(
        authority=staged.authority,
        client_id=staged.client_id,
        client_secret=context.keyring.unseal(staged.key_sealed),
        redirect_uri=sso.redirect_uri_for(context.settings.public_url, environment.name),
        allowed_tenants=staged.allowed_tenants,
    )
    return complete_sign_in(
        _directory(request),
        context.http_client,
        client,
        attempt,
        code=code,
        issuer_parameter=request.query_params.get("iss"),
        now=context.now(),
        leeway_seconds=context.settings.clock_leeway_seconds,
    )


def _person(identity: SignedInIdentity) -> staging.SignedInPerson:
    claims = identity.claims
    name = claims.get("name")
    if not isinstance(name, str) or not name.strip():
        parts = [claims.get("given_name"), claims.get("family_name")]
        name = " ".join(part for part in parts if isinstance(part, str) and part.strip())
    return staging.SignedInPerson(
        name=name.strip(),
        email=email_from_claims(claims),
        subject=str(claims.get("sub", identity.subject)),
        issuer=str(claims.get("iss", identity.issuer)),
    )


def _user_sentence(
    session: Session, environment: Environment, identity: SignedInIdentity, email: str | None
) -> str:
    """Say what a real sign-in would do with this person in the environment."""
    user = session.scalar(
        select(User).where(
            User.environment_id == environment.id,
            User.idp_issuer == identity.issuer,
            User.idp_subject == identity.subject,
        )
    )
    linked = user is not None
    if user is None and email is not None:
        user = session.scalar(
            select(User).where(
                User.environment_id == environment.id, User.email_key == email_key(email)
            )
        )
    if user is None:
        who = email or "This person"
        return (
            f"{who} is not a user of '{environment.name}' yet; a real sign-in would create a user "
            "without administrator rights."
        )
    role = "an administrator" if user.is_administrator else "a user without administrator rights"
    if not user.is_active:
        return (
            f"{user.email} is a deactivated user of '{environment.name}', so a real sign-in "
            "would be refused."
        )
    if linked:
        return f"A real sign-in would sign in {user.email}, {role} of '{environment.name}'."
    return (
        f"A real sign-in would link this identity to {user.email}, {role} of "
        f"'{environment.name}', and sign them in."
    )


def _passed_message(person: staging.SignedInPerson) -> str:
    who = " ".join(part for part in (person.name, person.email or person.subject) if part)
    return f"Test sign-in succeeded: {who} signed in through {person.issuer}."


def _record(
    context: AppContext,
    request: Request,
    environment: PageEnvironment,
    staged: _StagedClient,
    identity: SignedInIdentity | None,
    error: SignInError | None,
) -> TestResult | None:
    """Store the outcome on the test run and in the audit log; None when the run is gone."""
    now = context.now()
    with context.database.write() as session:
        db_environment = environments.get_environment(session, environment.name)
        run = staging.find_pending_test(session, db_environment, staged.run_id, now, lock=True)
        if run is None:
            return None
        hint: str | None
        if identity is not None:
            person = _person(identity)
            message = _passed_message(person)
            hint = _user_sentence(session, db_environment, identity, person.email)
            staging.record_passed(run, person, message, now)
        else:
            assert error is not None
            message = f"Test sign-in failed: {error.message}"
            hint = error.hint
            staging.record_failed(run, message, now)
        _audit(session, request, db_environment, run, now)
    logger.info(
        "sso.test_run.completed environment=%s run=%d outcome=%s reason=%s",
        environment.name,
        staged.run_id,
        "passed" if identity is not None else "failed",
        error.reason.value if error is not None else "-",
    )
    return TestResult(identity is not None, message, hint, staged.authority, staged.client_id)


def _audit(
    session: Session,
    request: Request,
    environment: Environment,
    run: SsoStagedSettings,
    now: datetime,
) -> None:
    actor = Actor(ActorType(run.created_by_type), run.created_by, client_address(request))
    audit.record(
        session,
        actor,
        audit.AuditAction.SSO_TEST_SIGN_IN,
        environment.name,
        now=now,
        environment=environment,
        after={
            "Authority": run.authority,
            "ClientId": run.client_id,
            "KeyFingerprint": run.key_fingerprint,
        },
        outcome="success" if run.outcome == staging.Outcome.PASSED.value else "failure",
        detail=run.message,
    )


def finish_test_sign_in(
    request: Request, environment: PageEnvironment, attempt: SignInAttempt
) -> Response:
    """Complete a test sign-in at the redirect URI and show its result page."""
    context = get_context(request)
    assert attempt.test_run_id is not None
    staged = _load_pending(context, environment, attempt.test_run_id)
    result: TestResult | None = None
    if staged is not None:
        identity: SignedInIdentity | None = None
        error: SignInError | None = None
        try:
            identity = _identify(context, request, environment, staged, attempt)
        except SignInError as failure:
            error = failure
        except SealingError:
            error = SignInError(
                SignInFailure.SETTINGS_INCOMPLETE,
                "The staged Key cannot be opened with this instance's sealing keys.",
                "Start the test sign-in again.",
            )
        result = _record(context, request, environment, staged, identity, error)
    if result is None:
        result = TestResult(
            False,
            "This test sign-in is unknown, has expired or has already finished. A test "
            f"sign-in lasts {int(staging.STAGED_LIFETIME.total_seconds() // 60)} minutes and "
            "reports its result once.",
            "Start the test sign-in again from the single sign-on page.",
        )
    return render_result(request, environment.name, result)


def render_result(
    request: Request, environment_name: str, result: TestResult, status_code: int | None = None
) -> Response:
    """Show a test sign-in's outcome and state that the saved settings did not change."""
    context = get_context(request)
    if status_code is None:
        status_code = 200 if result.passed else 400
    return render(
        request,
        "admin/sso_test_result.html",
        {
            "title": "Test sign-in succeeded" if result.passed else "Test sign-in failed",
            "environment_name": environment_name,
            "result": result,
            "not_changed": NOT_CHANGED,
            "sso_page": environment_path(context, environment_name, "AdminPage/SingleSignOn"),
            "lifetime_minutes": int(staging.STAGED_LIFETIME.total_seconds() // 60),
        },
        status_code=status_code,
    )
