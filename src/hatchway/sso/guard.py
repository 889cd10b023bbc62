"""The rule that keeps a way in: no SSO change may lock every administrator out.

An administrator signs in either with a password on the local form (the only form in mode
None, and `/SignIn?local=1` in mode OAuth2) or through the identity provider in mode OAuth2.
For an environment with at least one active administrator:

- switching to mode None needs an active administrator with a password, because mode None
  offers nothing but the password form;
- saving OAuth2 settings needs an active administrator with a password, or settings that
  have shown they work: they pass verification now, or passed a test sign-in within its
  lifetime;
- restoring an OAuth2 version needs an active administrator with a password, or values that
  pass verification now. Neither an earlier sign-in nor an earlier test sign-in with them
  counts, because the identity provider may reject them today (a deleted client, a secret
  that expired).

Emergency access stays open in every case, but it depends on mail or on the Provisioning Key,
so it does not count here. An environment without active administrators has nobody to lock
out: its administrators are still to be added through the Provisioning API, so nothing is
refused there. The Provisioning API and the administration pages both call this module.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.orm import Session

from hatchway.db.models import Environment, SsoSettings, SsoVersion, User
from hatchway.errors import ValidationFailed, ValidationResult
from hatchway.sso import staging
from hatchway.sso.checks import VerificationReport
from hatchway.sso.service import SsoMode

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PasswordAdministrator:
    display_name: str
    email: str


@dataclass(frozen=True)
class WaysIn:
    """The active administrators of an environment and those who can sign in with a password."""

    administrators: int
    with_password: tuple[PasswordAdministrator, ...]


def ways_in(session: Session, environment: Environment) -> WaysIn:
    administrators = session.scalars(
        select(User)
        .where(
            User.environment_id == environment.id,
            User.is_administrator.is_(True),
            User.is_active.is_(True),
        )
        .order_by(User.email_key)
    ).all()
    with_password = tuple(
        PasswordAdministrator(user.display_name, user.email)
        for user in administrators
        if user.password_hash is not None
    )
    return WaysIn(len(administrators), with_password)


class LockoutRejected(ValidationFailed):
    """Rejection of a change that would leave no administrator a way to sign in."""


# Active administrators, and how many of them have a password, in one row.
_ADMINISTRATORS = select(func.count(User.id), func.count(User.password_hash)).where(
    User.environment_id == bindparam("environment_id"),
    User.is_administrator.is_(True),
    User.is_active.is_(True),
)


def has_password_way_in(database: Session | Connection, environment_id: int) -> bool:
    """Tell whether an active administrator has a password, or there is no active administrator.

    Either way no SSO change can lock an administrator out.
    """
    administrators, with_password = database.execute(
        _ADMINISTRATORS, {"environment_id": environment_id}
    ).one()
    return bool(administrators == 0 or with_password > 0)


def _password_advice() -> str:
    return "give an administrator a password first (Users page or the Provisioning API)"


def check_switch_to_none(session: Session, environment: Environment) -> None:
    """Refuse mode None when no active administrator has a password."""
    if has_password_way_in(session, environment.id):
        return
    logger.info("sso.guard.refused environment=%s change=mode_none", environment.name)
    raise LockoutRejected.single(
        "Mode",
        f"No active administrator of '{environment.name}' has a password, so switching to mode "
        f"None would lock everyone out; {_password_advice()}, or keep single sign-on.",
    )


def check_oauth2_save(
    database: Session | Connection,
    environment: Environment,
    *,
    verified: bool,
    values_fingerprint: str,
    now: datetime,
) -> None:
    """Apply the rule to saving new OAuth2 values, with the cheapest question asked first.

    The values have shown they work when they passed verification or a test sign-in.
    """
    if verified or has_password_way_in(database, environment.id):
        return
    if staging.has_passed_test(database, environment.id, values_fingerprint, now):
        return
    raise _unproven_oauth2(environment.name, "saving them")


def _unproven_oauth2(environment_name: str, action: str) -> ValidationFailed:
    logger.info("sso.guard.refused environment=%s change=unproven_oauth2", environment_name)
    return LockoutRejected.single(
        "Mode",
        f"No active administrator of '{environment_name}' has a password, and these OAuth2 "
        f"settings have neither passed verification nor a test sign-in, so {action} could lock "
        f"everyone out; {_password_advice()}, or use settings that pass verification.",
    )


def signed_in_before(
    session: Session, environment: Environment, source: SsoVersion, current: SsoSettings
) -> bool:
    """Tell whether the last successful sign-in used the values of `source`.

    Versions with the same values count too, because a restore copies values into a new version.
    """
    good = current.last_known_good_version
    if good is None:
        return False
    version = session.scalar(
        select(SsoVersion).where(
            SsoVersion.environment_id == environment.id, SsoVersion.version == good
        )
    )
    return version is not None and _values_of(version) == _values_of(source)


def _values_of(version: SsoVersion) -> str | None:
    if version.mode != SsoMode.OAUTH2.value:
        return None
    return staging.values_fingerprint(
        version.authority, version.client_id, version.key_fingerprint, version.allowed_tenants
    )


def check_restore(
    session: Session,
    environment: Environment,
    source: SsoVersion,
    current: SsoSettings,
    report: VerificationReport | None,
    now: datetime,
) -> None:
    """Apply the rule to making `source` current again, with `report` its verification now.

    The report is None for a version in mode None, which has nothing to verify.
    """
    if source.mode == SsoMode.NONE.value:
        if current.mode != SsoMode.NONE.value:
            check_switch_to_none(session, environment)
        return
    assert report is not None, "an OAuth2 version is verified before it is restored"
    if report.passed:
        return
    # Neither an earlier sign-in nor an earlier test sign-in with these values counts: the
    # provider may have deleted the client or expired the secret since, as the checks now show.
    found = ways_in(session, environment)
    if found.administrators == 0 or found.with_password:
        return
    logger.info(
        "sso.guard.refused environment=%s change=failed_restore version=%d",
        environment.name,
        source.version,
    )
    once = signed_in_before(session, environment, source, current)
    raise RestoreRejected(environment.name, source.version, report, signed_in_before=once)


class RestoreRejected(LockoutRejected):
    """A restore rejected because its values fail checks now and no administrator has a password.

    The first result names the ways back in; one result per failed check follows.
    """

    def __init__(
        self,
        environment_name: str,
        version: int,
        report: VerificationReport,
        *,
        signed_in_before: bool,
    ) -> None:
        failed = ", ".join(report.failed_names())
        history = (
            f" Version {version} signed someone in before, but the identity provider rejects "
            "these values today."
            if signed_in_before
            else ""
        )
        message = (
            f"No active administrator of '{environment_name}' has a password, and the values of "
            f"version {version} fail verification now ({failed}), so restoring version "
            f"{version} could lock everyone out; nothing was changed.{history} To restore it "
            "anyway, give an administrator a password first (Users page or the Provisioning "
            f"API), who can then sign in at /{environment_name}/SignIn?local=1; the restore "
            "then goes through with the failed checks as Warnings. Otherwise save settings that "
            "pass verification. If nobody can sign in now, emergency access issues a one-time "
            f"sign-in link for an administrator (the page /{environment_name}/AdminPage/"
            f"RequestEmergencyAdminAccess, or POST /Provisioning/{environment_name}/"
            "EmergencyAccess)."
        )
        super().__init__([ValidationResult(("Mode",), message), *report.failures()])
        self.report = report
        self.version = version
