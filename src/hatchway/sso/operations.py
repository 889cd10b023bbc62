"""SSO settings changes that verify against the identity provider before they save.

Each operation reads in one transaction and verifies with no transaction open, because the
provider may take seconds to respond. It then saves in a write transaction that checks
`If-Match` again under the row lock, so that of several concurrent changes based on one version
only the first one saves. Every change passes `hatchway.sso.guard`, which refuses changes that
would lock every administrator out. The Provisioning API and the administration pages both
change settings through this module; restores go through `hatchway.sso.restore`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from hatchway import metrics
from hatchway.audit import service as audit
from hatchway.audit.service import Actor
from hatchway.context import AppContext
from hatchway.db.models import Environment, SsoSettings, SsoVersion
from hatchway.environments import service as environments
from hatchway.errors import HatchwayError, ValidationFailed, ValidationResult
from hatchway.security.sealing import SealingError
from hatchway.security.tokens import fingerprint
from hatchway.sso import guard, service, settings_rows, staging
from hatchway.sso.service import SsoMode
from hatchway.sso.validation import OAuth2Input, OAuth2Values, check_oauth2_input
from hatchway.sso.verification import (
    VerificationReport,
    VerificationRequest,
    report_for_invalid_settings,
    verify,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SavedChange:
    """The outcome of a PUT: the GET view after saving, and what to tell the caller."""

    view: dict[str, Any]
    etag: str
    changed: bool
    notices: tuple[ValidationResult, ...]
    verification: VerificationReport
    warnings: tuple[ValidationResult, ...]


@dataclass(frozen=True)
class SettingsChange:
    """The outcome of a switch to mode None: the GET view after the change."""

    view: dict[str, Any]
    etag: str
    changed: bool
    version: int


@dataclass(frozen=True)
class PreparedChange:
    """A change through the static checks, merged with the stored settings, with the clear Key."""

    environment_name: str
    values: OAuth2Values
    client_secret: str = field(repr=False)
    redirect_uri: str

    @property
    def values_fingerprint(self) -> str:
        return staging.values_fingerprint(
            self.values.authority,
            self.values.client_id,
            fingerprint(self.client_secret),
            self.values.allowed_tenants,
        )


class VerificationFailed(ValidationFailed):
    """Verification failed and was not skipped; one result per failed check, and the report."""

    def __init__(self, report: VerificationReport) -> None:
        super().__init__(report.failures())
        self.report = report


class UntestedSettings(HatchwayError):
    """New OAuth2 values have not passed a test sign-in, and the caller requested a confirmation."""

    def __init__(self, prepared: PreparedChange, report: VerificationReport) -> None:
        super().__init__(
            f"The OAuth2 settings for '{prepared.environment_name}' have not passed a test "
            "sign-in; confirm the change or run a test sign-in first."
        )
        self.prepared = prepared
        self.report = report


def read_settings_view(context: AppContext, environment_name: str) -> tuple[dict[str, Any], str]:
    """Return the GET view and ETag of an environment's settings; raise NotFound if it is absent."""
    public_url = context.settings.public_url
    today = context.now().date()
    # A Core connection, because an ORM session adds cost and nothing else to one SELECT.
    with context.database.engine.connect() as connection:
        found = service.find_settings_view(connection, environment_name, public_url, today)
    if found is not None:
        return found
    with context.database.read() as session:
        # Raises NotFound, naming the sanitized name when that one exists.
        environment = environments.get_environment(session, environment_name)
        settings = service.get_settings(session, environment)
        view = service.settings_view(settings, environment, public_url, today)
        return view, service.etag(settings)


def _unreadable_key() -> ValidationFailed:
    return ValidationFailed.single(
        "Key",
        "The stored Key cannot be opened with this instance's sealing keys; send the Key again.",
    )


def _read_stored(context: AppContext, environment_name: str) -> tuple[Environment, SsoSettings]:
    """Return copies of an environment and its settings; raise NotFound if it is absent."""
    with context.database.engine.connect() as connection:
        found = settings_rows.find_stored_settings(connection, environment_name)
    if found is not None:
        return found
    with context.database.read() as session:
        # Raises NotFound, naming the sanitized name when that one exists.
        environment = environments.get_environment(session, environment_name)
        return environment, service.get_settings(session, environment)


def prepare_oauth2(
    context: AppContext, environment_name: str, change: OAuth2Input, if_match: str | None = None
) -> PreparedChange:
    """Run the static checks on the change merged with the stored settings."""
    environment, stored = _read_stored(context, environment_name)
    # Fail before any network call when the caller's version is already stale.
    service.check_if_match(stored, if_match)
    values = check_oauth2_input(
        change,
        stored,
        allow_loopback_http=context.settings.insecure_loopback_idp,
        today=context.now().date(),
    )
    try:
        secret = (
            values.key if values.key is not None else service.unseal_key(context.keyring, stored)
        )
    except SealingError:
        raise _unreadable_key() from None
    return PreparedChange(
        environment.name,
        values,
        secret,
        service.redirect_uri_for(context.settings.public_url, environment.name),
    )


def _verify(context: AppContext, prepared: PreparedChange) -> VerificationReport:
    request = VerificationRequest(
        authority=prepared.values.authority,
        entra=prepared.values.entra,
        client_id=prepared.values.client_id,
        client_secret=prepared.client_secret,
        redirect_uri=prepared.redirect_uri,
        key_stored=prepared.values.key is None,
    )
    report = verify(context.http_client, request, notices=prepared.values.notices)
    for name in report.failed_names():
        metrics.record_verification_failure(name)
    return report


def _proposed(values: OAuth2Values, secret: str) -> dict[str, Any]:
    return {
        "Mode": SsoMode.OAUTH2.value,
        "Authority": values.authority,
        "ClientId": values.client_id,
        "KeyFingerprint": fingerprint(secret),
        "KeyExpiresOn": values.key_expires_on.isoformat() if values.key_expires_on else None,
        "AllowedTenants": list(values.allowed_tenants),
    }


def _record_rejection(
    context: AppContext, actor: Actor, prepared: PreparedChange, report: VerificationReport
) -> None:
    with context.database.write() as session:
        environment = environments.get_environment(session, prepared.environment_name)
        audit.record(
            session,
            actor,
            audit.AuditAction.SSO_UPDATE,
            environment.name,
            now=context.now(),
            environment=environment,
            after=_proposed(prepared.values, prepared.client_secret),
            outcome="rejected",
            detail=f"not saved, verification failed: {', '.join(report.failed_names())}",
        )
    logger.info(
        "sso.settings.rejected environment=%s failed=%s",
        prepared.environment_name,
        ",".join(report.failed_names()),
    )


def _sign_in_values(settings: SsoSettings | SsoVersion) -> str | None:
    """Return the fingerprint of the stored values that decide sign-in, or None in mode None."""
    if settings.mode != SsoMode.OAUTH2.value:
        return None
    return staging.values_fingerprint(
        settings.authority, settings.client_id, settings.key_fingerprint, settings.allowed_tenants
    )


def _is_untested(context: AppContext, prepared: PreparedChange) -> bool:
    """Tell whether the values change how sign-in works and no test sign-in passed with them."""
    with context.database.read() as session:
        environment = environments.get_environment(session, prepared.environment_name)
        stored = service.get_settings(session, environment)
        if _sign_in_values(stored) == prepared.values_fingerprint:
            return False
        found = staging.find_passed_test(
            session, environment, prepared.values_fingerprint, context.now()
        )
        return found is None


def _guard_oauth2_save(
    database: Session | Connection,
    environment: Environment,
    stored: SsoSettings,
    prepared: PreparedChange,
    report: VerificationReport,
    now: datetime,
) -> None:
    if _sign_in_values(stored) == prepared.values_fingerprint:
        return
    try:
        guard.check_oauth2_save(
            database,
            environment,
            verified=report.passed,
            values_fingerprint=prepared.values_fingerprint,
            now=now,
        )
    except guard.LockoutRejected as rejected:
        # The failed checks follow the rejection, so the response names what to correct.
        raise guard.LockoutRejected([*rejected.results, *report.failures()]) from None


def _record_save_lockout(
    context: AppContext,
    actor: Actor,
    prepared: PreparedChange,
    report: VerificationReport,
    skip_verification: bool,
) -> None:
    skipped = " (saving despite failed checks was requested)" if skip_verification else ""
    _record_lockout_rejection(
        context,
        actor,
        prepared.environment_name,
        audit.AuditAction.SSO_UPDATE,
        after=_proposed(prepared.values, prepared.client_secret),
        detail=(
            "not saved: no active administrator has a password and verification failed: "
            + ", ".join(report.failed_names())
            + skipped
        ),
    )


def _record_lockout_rejection(
    context: AppContext,
    actor: Actor,
    environment_name: str,
    action: audit.AuditAction,
    *,
    after: dict[str, Any] | None,
    detail: str,
) -> None:
    """Audit a change that the lock-out guard rejected, after its transaction rolled back."""
    with context.database.write() as session:
        environment = environments.get_environment(session, environment_name)
        audit.record(
            session,
            actor,
            action,
            environment.name,
            now=context.now(),
            environment=environment,
            after=after,
            outcome="rejected",
            detail=detail,
        )


def update_oauth2(
    context: AppContext,
    environment_name: str,
    change: OAuth2Input,
    *,
    actor: Actor,
    if_match: str | None,
    skip_verification: bool,
    require_tested: bool = False,
) -> SavedChange:
    """Check, verify and save a PUT; with `skip_verification` failed checks become warnings.

    With `require_tested`, values that change how sign-in works raise `UntestedSettings` after
    verification unless a test sign-in passed with them. The administration pages use this to
    ask for a confirmation.
    """
    prepared = prepare_oauth2(context, environment_name, change, if_match)
    report = _verify(context, prepared)
    if not report.passed and not skip_verification:
        _record_rejection(context, actor, prepared, report)
        raise VerificationFailed(report)
    if require_tested and _is_untested(context, prepared):
        # A confirmation would be pointless when the guard rejects the save anyway.
        try:
            with context.database.read() as session:
                environment = environments.get_environment(session, prepared.environment_name)
                stored = service.get_settings(session, environment)
                _guard_oauth2_save(session, environment, stored, prepared, report, context.now())
        except guard.LockoutRejected:
            _record_save_lockout(context, actor, prepared, report, skip_verification)
            raise
        raise UntestedSettings(prepared, report)

    now = context.now()
    try:
        with context.database.write_connection() as connection:
            environment, stored = settings_rows.lock_stored_settings(
                connection, prepared.environment_name
            )
            service.check_if_match(stored, if_match)
            _guard_oauth2_save(connection, environment, stored, prepared, report, now)
            settings, changed = settings_rows.save_oauth2(
                connection,
                environment,
                stored,
                prepared.values,
                keyring=context.keyring,
                actor=actor,
                now=now,
                verification=report.as_json(),
                verification_skipped=skip_verification,
                failed_checks=tuple(report.failed_names()),
            )
    except guard.LockoutRejected:
        _record_save_lockout(context, actor, prepared, report, skip_verification)
        raise
    view = service.settings_view(settings, environment, context.settings.public_url, now.date())
    etag = service.etag(settings)
    warnings = tuple(report.failures()) if skip_verification else ()
    return SavedChange(view, etag, changed, prepared.values.notices, report, warnings)


def disable_oauth2(
    context: AppContext, environment_name: str, *, actor: Actor, if_match: str | None
) -> SettingsChange:
    """Switch to mode None, unless no active administrator could sign in with a password."""
    now = context.now()
    try:
        with context.database.write() as session:
            environment = environments.get_environment(session, environment_name)
            stored = service.get_settings(session, environment, lock=True)
            service.check_if_match(stored, if_match)
            before = stored.version
            if stored.mode != SsoMode.NONE.value:
                guard.check_switch_to_none(session, environment)
            settings = service.disable_oauth2(
                session, environment, actor=actor, now=now, if_match=if_match
            )
            return _settings_change(context, settings, environment, settings.version != before)
    except guard.LockoutRejected:
        _record_lockout_rejection(
            context,
            actor,
            environment_name,
            audit.AuditAction.SSO_DISABLE,
            after={"Mode": SsoMode.NONE.value},
            detail="not changed: no active administrator has a password for mode None",
        )
        raise


def _settings_change(
    context: AppContext, settings: SsoSettings, environment: Environment, changed: bool
) -> SettingsChange:
    view = service.settings_view(
        settings, environment, context.settings.public_url, context.now().date()
    )
    return SettingsChange(view, service.etag(settings), changed, settings.version)


def verify_oauth2(
    context: AppContext, environment_name: str, change: OAuth2Input | None
) -> VerificationReport:
    """Verify a body merged with the stored settings, or the stored settings alone; save nothing.

    A body that fails the static checks is refused with 400. Stored settings that fail them
    (saved before a check existed) are reported as failed checks instead.
    """
    if change is not None:
        return _verify(context, prepare_oauth2(context, environment_name, change, None))

    with context.database.read() as session:
        environment = environments.get_environment(session, environment_name)
        stored = service.get_settings(session, environment)
        if not service.is_complete(stored):
            raise ValidationFailed.single(
                "",
                f"Environment '{environment.name}' has no stored OAuth2 settings to verify; send "
                "Authority, ClientId and Key in the body.",
            )
        redirect_uri = service.redirect_uri_for(context.settings.public_url, environment.name)
        try:
            stored_key = service.unseal_key(context.keyring, stored)
        except SealingError:
            raise _unreadable_key() from None
        try:
            # The stored Key goes through the static checks as if it had been sent.
            check_oauth2_input(
                OAuth2Input(key=stored_key),
                stored,
                allow_loopback_http=context.settings.insecure_loopback_idp,
            )
        except ValidationFailed as failed:
            return report_for_invalid_settings(stored.authority or "", redirect_uri, failed.results)
    return _verify(context, prepare_oauth2(context, environment_name, OAuth2Input(), None))
