"""The version history of an environment's SSO settings, and rollback to an earlier version."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hatchway.audit import service as audit
from hatchway.audit.service import Actor
from hatchway.db.models import Environment, SsoSettings, SsoVersion
from hatchway.errors import NotFound
from hatchway.sso.checks import VerificationReport
from hatchway.sso.service import (
    changes_between,
    check_if_match,
    get_settings,
    record_version,
    snapshot,
)

logger = logging.getLogger(__name__)


def list_versions(session: Session, environment: Environment) -> list[SsoVersion]:
    """Return every saved version of the environment's settings, newest first."""
    query = (
        select(SsoVersion)
        .where(SsoVersion.environment_id == environment.id)
        .order_by(SsoVersion.version.desc())
    )
    return list(session.scalars(query))


def get_version(session: Session, environment: Environment, number: int) -> SsoVersion:
    version = session.scalar(
        select(SsoVersion).where(
            SsoVersion.environment_id == environment.id, SsoVersion.version == number
        )
    )
    if version is None:
        raise NotFound(
            "SingleSignOnSettingsVersion",
            str(number),
            message=_unknown_version_message(session, environment, number),
        )
    return version


def _unknown_version_message(session: Session, environment: Environment, number: int) -> str:
    lowest, highest = session.execute(
        select(func.min(SsoVersion.version), func.max(SsoVersion.version)).where(
            SsoVersion.environment_id == environment.id
        )
    ).one()
    missing = f"Version {number} of the single sign-on settings does not exist"
    if highest is None:
        return (
            f"{missing}; the single sign-on settings of environment '{environment.name}' have no "
            "versions yet."
        )
    versions = f"only version {lowest}" if lowest == highest else f"{lowest} to {highest}"
    return (
        f"{missing}; GET /Provisioning/{environment.name}/SingleSignOnSettings/History lists the "
        f"versions ({versions})."
    )


def version_view(version: SsoVersion, current: SsoSettings) -> dict[str, Any]:
    """Return one History entry: who, when, from where, what changed; the Key as fingerprint."""
    return {
        "Version": version.version,
        "CreatedOn": version.created_at,
        "ActorType": version.actor_type,
        "Actor": version.actor,
        "ClientAddress": version.client_address,
        "Mode": version.mode,
        "Authority": version.authority,
        "ClientId": version.client_id,
        "KeyFingerprint": version.key_fingerprint,
        "KeyExpiresOn": version.key_expires_on,
        "Changes": version.changes or {},
        "VerificationSkipped": version.verification_skipped,
        "RestoredFrom": version.restored_from,
        "IsCurrent": version.version == current.version,
        "IsLastKnownGood": version.version == current.last_known_good_version,
    }


def restore_version(
    session: Session,
    environment: Environment,
    number: int,
    *,
    actor: Actor,
    now: datetime,
    if_match: str | None = None,
    verification: VerificationReport | None = None,
) -> tuple[SsoSettings, bool]:
    """Make an earlier version current again, its sealed Key with it, as a new version.

    Returns the settings and whether anything changed; restoring the values that are already
    current creates no version. `verification` is the report of the checks that ran before.
    """
    settings = get_settings(session, environment, lock=True)
    check_if_match(settings, if_match)
    source = get_version(session, environment, number)
    before = snapshot(settings)

    settings.mode = source.mode
    settings.authority = source.authority
    settings.client_id = source.client_id
    if source.key_fingerprint != settings.key_fingerprint:
        settings.key_updated_at = now if source.key_sealed is not None else None
    settings.key_sealed = source.key_sealed
    settings.key_fingerprint = source.key_fingerprint
    settings.key_expires_on = source.key_expires_on
    settings.allowed_tenants = list(source.allowed_tenants) if source.allowed_tenants else None
    after = snapshot(settings)

    changes = changes_between(before, after)
    if not changes:
        return settings, False
    settings.version += 1
    settings.updated_at = now
    record_version(
        session,
        settings,
        actor,
        now,
        changes,
        verification=verification.as_json() if verification is not None else None,
        restored_from=number,
    )
    detail = f"restored version {number} as version {settings.version}"
    if verification is not None and not verification.passed:
        detail += f", although checks failed: {', '.join(verification.failed_names())}"
    audit.record(
        session,
        actor,
        audit.AuditAction.SSO_RESTORE,
        environment.name,
        now=now,
        environment=environment,
        before=before,
        after=after,
        detail=detail,
    )
    logger.info(
        "sso.settings.restored environment=%s version=%d restored_from=%d",
        environment.name,
        settings.version,
        number,
    )
    return settings, True
