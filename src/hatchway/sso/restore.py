"""Restoring an earlier version of the SSO settings, verified as a PUT is.

A restore reads the version in one transaction. It verifies the version's values, with its
sealed Key, with no transaction open, because the provider may take seconds to respond. It then
saves in a write transaction that checks `If-Match` again under the row lock.

A version that signed someone in once, or passed a test sign-in, proves nothing about today:
the client may have been deleted at the provider, or the secret may have expired. So only
today's checks count. When they fail and no active administrator has a password,
`hatchway.sso.guard` rejects the restore. Otherwise the restore goes through, and the failed
checks come back as warnings.
The Provisioning API and the administration pages both restore through this module.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from hatchway import metrics
from hatchway.audit import service as audit
from hatchway.audit.service import Actor
from hatchway.context import AppContext
from hatchway.db.models import SsoSettings, SsoVersion
from hatchway.environments import service as environments
from hatchway.errors import HatchwayError, ValidationFailed, ValidationResult
from hatchway.security.sealing import SealingError
from hatchway.sso import guard, history, service, staging
from hatchway.sso.checks import VerificationReport, VerificationRequest
from hatchway.sso.service import SsoMode
from hatchway.sso.validation import OAuth2Input, check_oauth2_input
from hatchway.sso.verification import report_for_invalid_settings, verify

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RestoredVersion:
    """The outcome of a restore: the GET view after it, and the verification that ran before.

    `verification` is None for a version in mode None, which has nothing to verify.
    """

    view: dict[str, Any]
    etag: str
    changed: bool
    version: int
    verification: VerificationReport | None

    @property
    def warnings(self) -> tuple[ValidationResult, ...]:
        """Return one result per check that failed, for a restore that went through anyway."""
        if self.verification is None:
            return ()
        return tuple(self.verification.failures())


class UnconfirmedRestore(HatchwayError):
    """The version's values fail checks now, and the caller asked to confirm such a restore."""

    def __init__(self, environment_name: str, number: int, report: VerificationReport) -> None:
        super().__init__(
            f"The values of version {number} of the single sign-on settings of "
            f"'{environment_name}' fail verification now ({', '.join(report.failed_names())}); "
            "confirm the restore or pick another version."
        )
        self.number = number
        self.report = report


@dataclass(frozen=True)
class _Source:
    """A version to restore, read and through the static checks, with its clear Key."""

    environment_name: str
    number: int
    mode: str
    snapshot: dict[str, Any]
    request: VerificationRequest | None = field(default=None, repr=False)
    invalid: VerificationReport | None = None


def _unreadable_key(number: int) -> ValidationFailed:
    return ValidationFailed.single(
        "Key",
        f"The Key of version {number} cannot be opened with this instance's sealing keys, so "
        "that version cannot be restored; send the Key again with a PUT.",
    )


def _as_settings(version: SsoVersion) -> SsoSettings:
    """Return a detached settings row with the version's values, for the static checks."""
    return SsoSettings(
        mode=version.mode,
        authority=version.authority,
        client_id=version.client_id,
        key_sealed=version.key_sealed,
        key_fingerprint=version.key_fingerprint,
        key_expires_on=version.key_expires_on,
        allowed_tenants=version.allowed_tenants,
    )


def _read_source(
    context: AppContext, environment_name: str, number: int, if_match: str | None
) -> _Source:
    with context.database.read() as session:
        environment = environments.get_environment(session, environment_name)
        stored = service.get_settings(session, environment)
        # Fail before any network call when the caller's version is already stale.
        service.check_if_match(stored, if_match)
        version = history.get_version(session, environment, number)
        snapshot = service.snapshot(version)
        if version.mode != SsoMode.OAUTH2.value or version.key_sealed is None:
            return _Source(environment.name, number, version.mode, snapshot)
        redirect_uri = service.redirect_uri_for(context.settings.public_url, environment.name)
        try:
            key = context.keyring.unseal(version.key_sealed)
        except SealingError:
            raise _unreadable_key(number) from None
        try:
            # The version's Key goes through the static checks as if it had been sent.
            values = check_oauth2_input(
                OAuth2Input(key=key),
                _as_settings(version),
                allow_loopback_http=context.settings.insecure_loopback_idp,
            )
        except ValidationFailed as failed:
            invalid = report_for_invalid_settings(
                version.authority or "", redirect_uri, failed.results
            )
            return _Source(environment.name, number, version.mode, snapshot, invalid=invalid)
        request = VerificationRequest(
            authority=values.authority,
            entra=values.entra,
            client_id=values.client_id,
            client_secret=key,
            redirect_uri=redirect_uri,
        )
        return _Source(environment.name, number, version.mode, snapshot, request)


def _verify(context: AppContext, source: _Source) -> VerificationReport | None:
    if source.invalid is not None:
        report = source.invalid
    elif source.request is not None:
        report = verify(context.http_client, source.request)
    else:
        return None
    for name in report.failed_names():
        metrics.record_verification_failure(name)
    return report


def _sign_in_values(settings: SsoSettings | SsoVersion) -> str | None:
    """Return the fingerprint of the values that decide sign-in, or None in mode None."""
    if settings.mode != SsoMode.OAUTH2.value:
        return None
    return staging.values_fingerprint(
        settings.authority, settings.client_id, settings.key_fingerprint, settings.allowed_tenants
    )


def _record_rejection(
    context: AppContext, actor: Actor, source: _Source, rejected: guard.RestoreRejected
) -> None:
    with context.database.write() as session:
        environment = environments.get_environment(session, source.environment_name)
        audit.record(
            session,
            actor,
            audit.AuditAction.SSO_RESTORE,
            environment.name,
            now=context.now(),
            environment=environment,
            after=source.snapshot,
            outcome="rejected",
            detail=(
                f"version {source.number} not restored: verification failed "
                f"({', '.join(rejected.report.failed_names())}) and no active administrator has "
                "a password"
            ),
        )
    logger.info(
        "sso.settings.restore_rejected environment=%s version=%d failed=%s",
        source.environment_name,
        source.number,
        ",".join(rejected.report.failed_names()),
    )


def restore_version(
    context: AppContext,
    environment_name: str,
    number: int,
    *,
    actor: Actor,
    if_match: str | None,
    require_confirmation: bool = False,
) -> RestoredVersion:
    """Verify an earlier version and make it current again, unless that could lock everyone out.

    With `require_confirmation`, a version whose values fail checks and would change how
    sign-in works raises `UnconfirmedRestore` after the guard passed. The administration pages
    use this to ask for a confirmation.
    """
    source = _read_source(context, environment_name, number, if_match)
    report = _verify(context, source)
    try:
        return _save(context, source, report, actor, if_match, require_confirmation)
    except guard.RestoreRejected as rejected:
        _record_rejection(context, actor, source, rejected)
        raise


def _save(
    context: AppContext,
    source: _Source,
    report: VerificationReport | None,
    actor: Actor,
    if_match: str | None,
    require_confirmation: bool,
) -> RestoredVersion:
    now = context.now()
    with context.database.write() as session:
        environment = environments.get_environment(session, source.environment_name)
        stored = service.get_settings(session, environment, lock=True)
        service.check_if_match(stored, if_match)
        version = history.get_version(session, environment, source.number)
        if _sign_in_values(version) != _sign_in_values(stored):
            guard.check_restore(session, environment, version, stored, report, now)
            if require_confirmation and report is not None and not report.passed:
                raise UnconfirmedRestore(environment.name, source.number, report)
        settings, changed = history.restore_version(
            session,
            environment,
            source.number,
            actor=actor,
            now=now,
            if_match=if_match,
            verification=report,
        )
        view = service.settings_view(settings, environment, context.settings.public_url, now.date())
        return RestoredVersion(view, service.etag(settings), changed, settings.version, report)
