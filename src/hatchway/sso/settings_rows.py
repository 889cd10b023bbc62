"""An environment's settings row read, locked and saved with SQLAlchemy Core.

A PUT of the SSO settings reads the row before it verifies and saves it afterwards. The ORM's
session and flush would cost more than the few statements this takes. The objects returned are
copies that belong to no session. Other changes of the settings go through
`hatchway.sso.service` and the ORM, and both write the same rows.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Row, Table, bindparam, insert, select, update

from hatchway.audit import service as audit
from hatchway.audit.service import Actor
from hatchway.db.models import Environment, SsoSettings, SsoVersion
from hatchway.errors import NotFound
from hatchway.security.sealing import Keyring
from hatchway.security.tokens import fingerprint
from hatchway.sso import service
from hatchway.sso.validation import OAuth2Values

logger = logging.getLogger(__name__)

_ENVIRONMENTS = cast(Table, Environment.__table__)
_SETTINGS = cast(Table, SsoSettings.__table__)
_VERSIONS = cast(Table, SsoVersion.__table__)

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
        mode=service.SsoMode.NONE.value,
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
    settings.mode = service.SsoMode.OAUTH2.value
    settings.authority = values.authority
    settings.client_id = values.client_id
    key_changed = values.key is not None and fingerprint(values.key) != stored.key_fingerprint
    if values.key is not None and key_changed:
        settings.key_sealed = keyring.seal(values.key)
        settings.key_fingerprint = fingerprint(values.key)
        settings.key_updated_at = now
    settings.key_expires_on = values.key_expires_on
    settings.allowed_tenants = list(values.allowed_tenants) or None
    before, after = service.snapshot(stored), service.snapshot(settings)

    changes = service.changes_between(before, after)
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
        service.version_columns(
            settings, actor, now, changes, verification, verification_skipped, None
        ),
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
        detail=service.save_detail(verification is not None, verification_skipped, failed_checks),
    )
    logger.info(
        "sso.settings.saved environment=%s version=%d changed=%s",
        environment.name,
        settings.version,
        ",".join(sorted(changes)),
    )
    return settings, True
