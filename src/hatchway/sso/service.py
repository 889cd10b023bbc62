"""An environment's SSO settings: reading, changing with versions, and the redacted view."""

from __future__ import annotations

import enum
import logging
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Connection, Row, Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from hatchway.audit import service as audit
from hatchway.audit.service import Actor
from hatchway.db.models import Environment, SsoSettings, SsoVersion
from hatchway.errors import NotFound, PreconditionFailed
from hatchway.security.sealing import Keyring
from hatchway.security.tokens import fingerprint

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


_ENVIRONMENTS = cast(Table, Environment.__table__)
_SETTINGS = cast(Table, SsoSettings.__table__)
_VERSIONS = cast(Table, SsoVersion.__table__)

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


# The environment and its settings row in one query, for changes that read before they write.
_STORED_BY_NAME = (
    select(
        _ENVIRONMENTS.c.id.label("environment_key"),
        _ENVIRONMENTS.c.name.label("environment_name"),
        _ENVIRONMENTS.c.created_at.label("environment_created_at"),
        *_SETTINGS.c,
    )
    .select_from(
        _ENVIRONMENTS.outerjoin(_SETTINGS, _SETTINGS.c.environment_id == _ENVIRONMENTS.c.id)
    )
    .where(_ENVIRONMENTS.c.name == bindparam("name"))
)
# The same with the settings row locked, for a write transaction. It joins without "outer",
# because PostgreSQL refuses FOR UPDATE on the nullable side of an outer join.
_LOCKED_BY_NAME = (
    select(*_STORED_BY_NAME.selected_columns)
    .select_from(_ENVIRONMENTS.join(_SETTINGS, _SETTINGS.c.environment_id == _ENVIRONMENTS.c.id))
    .where(_ENVIRONMENTS.c.name == bindparam("name"))
    .with_for_update(of=_SETTINGS)
)
_ENVIRONMENT_BY_NAME = select(
    _ENVIRONMENTS.c.id.label("environment_key"),
    _ENVIRONMENTS.c.name.label("environment_name"),
    _ENVIRONMENTS.c.created_at.label("environment_created_at"),
).where(_ENVIRONMENTS.c.name == bindparam("name"))
_SETTINGS_COLUMNS = tuple(column.name for column in _SETTINGS.c)
_INSERT_SETTINGS = insert(_SETTINGS)
_UPDATE_SETTINGS = update(_SETTINGS).where(
    _SETTINGS.c.environment_id == bindparam("settings_environment_id")
)
_INSERT_VERSION = insert(_VERSIONS)


def _detached(row: Row[Any]) -> tuple[Environment, SsoSettings]:
    """Copy a row of `_STORED_BY_NAME` into objects that belong to no session."""
    environment = Environment(
        id=row.environment_key, name=row.environment_name, created_at=row.environment_created_at
    )
    if row.environment_id is None:
        return environment, _new_settings(environment)
    mapping = row._mapping
    return environment, SsoSettings(**{name: mapping[name] for name in _SETTINGS_COLUMNS})


def _new_settings(environment: Environment) -> SsoSettings:
    return SsoSettings(
        environment_id=environment.id,
        mode=SsoMode.NONE.value,
        version=0,
        updated_at=environment.created_at,
    )


def find_stored_settings(
    connection: Connection, environment_name: str
) -> tuple[Environment, SsoSettings] | None:
    """Return copies of an environment and its settings, or None for no such name.

    Reads with one query and writes nothing: a missing settings row reads as mode None at
    version 0, as `get_settings` would create it. The name matches as in `find_environment`.
    """
    key = environment_name.lower()
    if not (key.isascii() and key.isalnum()):
        return None
    row = connection.execute(_STORED_BY_NAME, {"name": key}).one_or_none()
    return None if row is None else _detached(row)


def lock_stored_settings(
    connection: Connection, environment_name: str
) -> tuple[Environment, SsoSettings]:
    """In a write transaction, return copies of an environment and its locked settings row.

    `environment_name` is the stored name. A missing settings row is created as mode None.
    """
    row = connection.execute(_LOCKED_BY_NAME, {"name": environment_name}).one_or_none()
    if row is not None:
        return _detached(row)
    found = connection.execute(_ENVIRONMENT_BY_NAME, {"name": environment_name}).one_or_none()
    if found is None:
        raise NotFound("Environment", environment_name)
    environment = Environment(
        id=found.environment_key,
        name=found.environment_name,
        created_at=found.environment_created_at,
    )
    settings = _new_settings(environment)
    connection.execute(
        _INSERT_SETTINGS,
        {"environment_id": environment.id, **_settings_columns(settings, with_key=True)},
    )
    return environment, settings


def _settings_columns(settings: SsoSettings, *, with_key: bool) -> dict[str, Any]:
    return {
        "mode": settings.mode,
        "authority": settings.authority,
        "client_id": settings.client_id,
        **(
            {
                "key_sealed": settings.key_sealed,
                "key_fingerprint": settings.key_fingerprint,
                "key_updated_at": settings.key_updated_at,
            }
            if with_key
            else {}
        ),
        "key_expires_on": settings.key_expires_on,
        "allowed_tenants": settings.allowed_tenants,
        "version": settings.version,
        "updated_at": settings.updated_at,
    }


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
        **_version_columns(
            settings, actor, now, changes, verification, verification_skipped, restored_from
        )
    )
    session.add(version)
    return version


def _version_columns(
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


def _save_detail(verified: bool, skipped: bool, failed_checks: tuple[str, ...]) -> str | None:
    if not skipped:
        return "verified before saving" if verified else None
    if not failed_checks:
        return "saved with SkipVerification; every check passed"
    return f"saved with SkipVerification although checks failed: {', '.join(failed_checks)}"


def save_oauth2(
    connection: Connection,
    environment: Environment,
    stored: SsoSettings,
    values: OAuth2Values,
    *,
    keyring: Keyring,
    actor: Actor,
    now: datetime,
    verification: dict[str, Any] | None = None,
    verification_skipped: bool = False,
    failed_checks: tuple[str, ...] = (),
) -> tuple[SsoSettings, bool]:
    """Store checked values as a new version; return the settings and whether anything changed.

    `stored` is the settings row that `lock_stored_settings` locked in this transaction. It
    stays as it is; the settings returned are a new copy.
    """
    settings = SsoSettings(**{name: getattr(stored, name) for name in _SETTINGS_COLUMNS})
    settings.mode = SsoMode.OAUTH2.value
    settings.authority = values.authority
    settings.client_id = values.client_id
    key_changed = values.key is not None and fingerprint(values.key) != stored.key_fingerprint
    if values.key is not None and key_changed:
        settings.key_sealed = keyring.seal(values.key)
        settings.key_fingerprint = fingerprint(values.key)
        settings.key_updated_at = now
    settings.key_expires_on = values.key_expires_on
    settings.allowed_tenants = list(values.allowed_tenants) or None
    before, after = snapshot(stored), snapshot(settings)

    changes = changes_between(before, after)
    if not changes:
        return stored, False
    settings.version = stored.version + 1
    settings.updated_at = now
    connection.execute(
        _UPDATE_SETTINGS,
        {
            "settings_environment_id": environment.id,
            **_settings_columns(settings, with_key=key_changed),
        },
    )
    connection.execute(
        _INSERT_VERSION,
        _version_columns(settings, actor, now, changes, verification, verification_skipped, None),
    )
    audit.insert_record(
        connection,
        actor,
        audit.AuditAction.SSO_UPDATE,
        environment.name,
        now=now,
        environment=environment,
        before=before,
        after=after,
        detail=_save_detail(verification is not None, verification_skipped, failed_checks),
    )
    logger.info(
        "sso.settings.saved environment=%s version=%d changed=%s",
        environment.name,
        settings.version,
        ",".join(sorted(changes)),
    )
    return settings, True


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
