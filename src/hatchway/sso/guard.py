"""The rule that keeps a way in: no SSO change may lock every administrator out.

An administrator signs in either with a password on the local form (the only form in mode
None, and `/SignIn?local=1` in mode OAuth2) or through the identity provider in mode OAuth2.
For an environment with at least one active administrator:

- switching to mode None needs an active administrator with a password, because mode None
  offers nothing but the password form;
- saving or restoring OAuth2 settings needs an active administrator with a password, or
  settings that have shown they work. They work when they passed verification or a test
  sign-in, or (for a restore) when the same values produced a successful sign-in.

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
from hatchway.errors import ValidationFailed
from hatchway.sso import staging
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
    raise ValidationFailed.single(
        "Mode",
        f"No active administrator of '{environment.name}' has a password, so switching to mode "
        f"None would lock everyone out; {_password_advice()}, or keep single sign-on.",
    )


def check_oauth2_change(
    session: Session, environment: Environment, *, proven: bool, action: str
) -> None:
    """Refuse OAuth2 settings that have not shown they work when no administrator has a password.

    `action` names the change in the message, such as 'saving these settings'.
    """
    if proven or has_password_way_in(session, environment.id):
        return
    raise _unproven_oauth2(environment.name, action)


def check_oauth2_save(
    connection: Connection,
    environment: Environment,
    *,
    verified: bool,
    values_fingerprint: str,
    now: datetime,
) -> None:
    """Apply the rule to saving new OAuth2 values, with the cheapest question asked first.

    The values have shown they work when they passed verification or a test sign-in.
    """
    if verified or has_password_way_in(connection, environment.id):
        return
    if staging.has_passed_test(connection, environment.id, values_fingerprint, now):
        return
    raise _unproven_oauth2(environment.name, "saving them")


def _unproven_oauth2(environment_name: str, action: str) -> ValidationFailed:
    logger.info("sso.guard.refused environment=%s change=unproven_oauth2", environment_name)
    return ValidationFailed.single(
        "Mode",
        f"No active administrator of '{environment_name}' has a password, and these OAuth2 "
        f"settings have neither passed verification nor a test sign-in, so {action} could lock "
        f"everyone out; {_password_advice()}, or use settings that pass verification.",
    )


def version_is_proven(
    session: Session,
    environment: Environment,
    source: SsoVersion,
    current: SsoSettings,
    now: datetime,
) -> bool:
    """Tell whether a version's values passed verification or a test sign-in, or signed someone in.

    Versions with the same values count too, because a restore copies values into a new version.
    """
    fingerprint = staging.values_fingerprint(
        source.authority, source.client_id, source.key_fingerprint, source.allowed_tenants
    )
    same_values = [
        version
        for version in session.scalars(
            select(SsoVersion).where(
                SsoVersion.environment_id == environment.id,
                SsoVersion.mode == SsoMode.OAUTH2.value,
                SsoVersion.authority == source.authority,
                SsoVersion.client_id == source.client_id,
                SsoVersion.key_fingerprint == source.key_fingerprint,
            )
        )
        if staging.values_fingerprint(
            version.authority, version.client_id, version.key_fingerprint, version.allowed_tenants
        )
        == fingerprint
    ]
    for version in same_values:
        if version.version == current.last_known_good_version:
            return True
        verification = version.verification or {}
        if verification.get("Passed") is True:
            return True
    return staging.find_passed_test(session, environment, fingerprint, now) is not None


def check_restore(
    session: Session,
    environment: Environment,
    source: SsoVersion,
    current: SsoSettings,
    now: datetime,
) -> None:
    """Apply the rule to making `source` current again."""
    if source.mode == SsoMode.NONE.value:
        if current.mode != SsoMode.NONE.value:
            check_switch_to_none(session, environment)
        return
    check_oauth2_change(
        session,
        environment,
        proven=version_is_proven(session, environment, source, current, now),
        action=f"restoring version {source.version}",
    )
