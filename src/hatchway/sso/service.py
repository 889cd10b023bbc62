"""An environment's SSO settings: reading, changing with versions, and the redacted view."""

from __future__ import annotations

import enum
import logging
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, select
from sqlalchemy.orm import Session

from hatchway.audit import service as audit
from hatchway.audit.service import Actor
from hatchway.db.models import Environment, SsoSettings, SsoVersion
from hatchway.errors import PreconditionFailed
from hatchway.security.sealing import Keyring

# The static checks live in `hatchway.sso.validation`; these names stay importable from here.
from hatchway.sso.validation import OAuth2Input as OAuth2Input
from hatchway.sso.validation import OAuth2Values as OAuth2Values
from hatchway.sso.validation import check_oauth2_input as check_oauth2_input

logger = logging.getLogger(__name__)


class SsoMode(enum.StrEnum):
    NONE = "None"
    OAUTH2 = "OAuth2"


def redirect_uri_for(public_url: str, environment_name: str) -> str:
    """Return the exact redirect URI to register at the identity provider."""
    return f"{public_url.rstrip('/')}/{environment_name}/OAuth2/HandleAuthorityResponse"


_ENVIRONMENTS = Environment.__table__
_SETTINGS = SsoSettings.__table__

# The GET view in one query: the environment and its settings row. A missing settings row reads
# as what `get_settings` would create: mode None, version 0, the environment's creation time.
_VIEW_BY_NAME = (
    select(
        _ENVIRONMENTS.c.name,
        func.coalesce(_SETTINGS.c.mode, SsoMode.NONE.value).label("mode"),
        _SETTINGS.c.authority,
        _SETTINGS.c.client_id,
        _SETTINGS.c.key_sealed.is_not(None).label("key_set"),
        _SETTINGS.c.key_updated_at,
        _SETTINGS.c.key_expires_on,
        _SETTINGS.c.allowed_tenants,
        func.coalesce(_SETTINGS.c.version, 0).label("version"),
        func.coalesce(_SETTINGS.c.updated_at, _ENVIRONMENTS.c.created_at).label("updated_at"),
        _SETTINGS.c.last_known_good_version,
    )
    .select_from(
        _ENVIRONMENTS.outerjoin(_SETTINGS, _SETTINGS.c.environment_id == _ENVIRONMENTS.c.id)
    )
    .where(_ENVIRONMENTS.c.name == bindparam("name"))
)


def find_settings_view(
    connection: Connection, environment_name: str, public_url: str, today: date
) -> tuple[dict[str, Any], str] | None:
    """Return the GET view and ETag of an environment's settings, or None for no such name.

    Reads with one query and writes nothing; the name matches as in `find_environment`.
    """
    key = environment_name.lower()
    if not (key.isascii() and key.isalnum()):
        return None
    row = connection.execute(_VIEW_BY_NAME, {"name": key}).one_or_none()
    if row is None:
        return None
    return _view(row, row.key_set, row.name, public_url, today), f'"{row.version}"'


def get_settings(session: Session, environment: Environment, *, lock: bool = False) -> SsoSettings:
    """Return the environment's settings row, creating mode None if missing."""
    query = select(SsoSettings).where(SsoSettings.environment_id == environment.id)
    if lock:
        query = query.with_for_update()
    settings = session.scalar(query)
    if settings is None:
        settings = SsoSettings(
            environment_id=environment.id,
            mode=SsoMode.NONE.value,
            version=0,
            updated_at=environment.created_at,
        )
        session.add(settings)
        session.flush()
    return settings


def is_complete(settings: SsoSettings) -> bool:
    """Tell whether sign-in can go to the identity provider with these settings."""
    return (
        settings.mode == SsoMode.OAUTH2.value
        and bool(settings.authority)
        and bool(settings.client_id)
        and bool(settings.key_sealed)
    )


def etag(settings: SsoSettings) -> str:
    return f'"{settings.version}"'


def key_days_left(settings: SsoSettings | SsoVersion, today: date) -> int | None:
    if settings.key_expires_on is None:
        return None
    return (settings.key_expires_on - today).days


def settings_view(
    settings: SsoSettings, environment: Environment, public_url: str, today: date
) -> dict[str, Any]:
    """Return the GET representation: everything but the Key, which only shows as set or not."""
    return _view(settings, settings.key_sealed is not None, environment.name, public_url, today)


def _view(
    settings: SsoSettings | Row[Any],
    key_set: bool,
    environment_name: str,
    public_url: str,
    today: date,
) -> dict[str, Any]:
    expires_on = settings.key_expires_on
    return {
        "Mode": settings.mode,
        "Authority": settings.authority,
        "ClientId": settings.client_id,
        "KeySet": key_set,
        "KeyUpdatedOn": settings.key_updated_at,
        "KeyExpiresOn": expires_on,
        "KeyDaysLeft": None if expires_on is None else (expires_on - today).days,
        "AllowedTenants": list(settings.allowed_tenants or []),
        "Version": settings.version,
        "UpdatedOn": settings.updated_at,
        "LastKnownGoodVersion": settings.last_known_good_version,
        "RedirectUri": redirect_uri_for(public_url, environment_name),
    }


def snapshot(settings: SsoSettings | SsoVersion) -> dict[str, Any]:
    """Return the secret-free values that versions and audit records compare."""
    return {
        "Mode": settings.mode,
        "Authority": settings.authority,
        "ClientId": settings.client_id,
        "KeyFingerprint": settings.key_fingerprint,
        "KeyExpiresOn": settings.key_expires_on.isoformat() if settings.key_expires_on else None,
        "AllowedTenants": list(settings.allowed_tenants or []),
    }


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {
        name: {"From": before[name], "To": after[name]}
        for name in after
        if before.get(name) != after[name]
    }


def check_if_match(settings: SsoSettings, if_match: str | None) -> None:
    if if_match is None or if_match.strip() == "*":
        return
    wanted = [tag.strip().removeprefix("W/") for tag in if_match.split(",")]
    if etag(settings) not in wanted:
        raise PreconditionFailed(if_match.strip(), etag(settings))


def record_version(
    session: Session,
    settings: SsoSettings,
    actor: Actor,
    now: datetime,
    changes: dict[str, Any],
    *,
    verification: dict[str, Any] | None = None,
    verification_skipped: bool = False,
    restored_from: int | None = None,
) -> SsoVersion:
    version = SsoVersion(
        **version_columns(
            settings, actor, now, changes, verification, verification_skipped, restored_from
        )
    )
    session.add(version)
    return version


def version_columns(
    settings: SsoSettings,
    actor: Actor,
    now: datetime,
    changes: dict[str, Any],
    verification: dict[str, Any] | None,
    verification_skipped: bool,
    restored_from: int | None,
) -> dict[str, Any]:
    return {
        "environment_id": settings.environment_id,
        "version": settings.version,
        "mode": settings.mode,
        "authority": settings.authority,
        "client_id": settings.client_id,
        "key_sealed": settings.key_sealed,
        "key_fingerprint": settings.key_fingerprint,
        "key_expires_on": settings.key_expires_on,
        "allowed_tenants": settings.allowed_tenants,
        "created_at": now,
        "actor_type": actor.type.value,
        "actor": actor.name,
        "client_address": actor.client_address,
        "changes": changes,
        "verification": verification,
        "verification_skipped": verification_skipped,
        "restored_from": restored_from,
    }


def save_detail(verified: bool, skipped: bool, failed_checks: tuple[str, ...]) -> str | None:
    if not skipped:
        return "verified before saving" if verified else None
    if not failed_checks:
        return "saved with SkipVerification; every check passed"
    return f"saved with SkipVerification although checks failed: {', '.join(failed_checks)}"


def disable_oauth2(
    session: Session,
    environment: Environment,
    *,
    actor: Actor,
    now: datetime,
    if_match: str | None = None,
) -> SsoSettings:
    """Switch to mode None; the stored values stay in the version history for a restore."""
    settings = get_settings(session, environment, lock=True)
    check_if_match(settings, if_match)
    before = snapshot(settings)

    settings.mode = SsoMode.NONE.value
    settings.authority = None
    settings.client_id = None
    settings.key_sealed = None
    settings.key_fingerprint = None
    settings.key_updated_at = None
    settings.key_expires_on = None
    settings.allowed_tenants = None
    after = snapshot(settings)
    changes = changes_between(before, after)
    if not changes:
        return settings
    settings.version += 1
    settings.updated_at = now
    record_version(session, settings, actor, now, changes)
    audit.record(
        session,
        actor,
        audit.AuditAction.SSO_DISABLE,
        environment.name,
        now=now,
        environment=environment,
        before=before,
        after=after,
    )
    logger.info(
        "sso.settings.disabled environment=%s version=%d", environment.name, settings.version
    )
    return settings


def unseal_key(keyring: Keyring, settings: SsoSettings) -> str:
    assert settings.key_sealed is not None, "unseal_key needs stored settings with a Key"
    return keyring.unseal(settings.key_sealed)
