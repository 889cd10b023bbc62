"""Rotation of the sealing keys without losing any sealed value.

A new key goes in front of the keyring file first, so that every process seals with it from
then on (`Keyring.seal` rereads a changed file). Then one write transaction reseals every stored
value with it: the SSO Key of each environment, the Key of every saved version, the Keys that
administrators staged on the SSO page (drafts and test sign-ins), and the bodies of mail still
in the outbox. Only after that transaction commits are the old keys retired; a
failure before that leaves them in place, so every value still opens.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hatchway.audit import service as audit
from hatchway.audit.service import Actor
from hatchway.db.engine import Database
from hatchway.db.models import OutboxMessage, SsoSettings, SsoStagedSettings, SsoVersion
from hatchway.db.types import utcnow
from hatchway.security.sealing import Keyring

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RotationResult:
    """How many stored values were sealed again with the new key, by kind."""

    sso_settings: int
    sso_versions: int
    outbox_messages: int
    staged_keys: int = 0


def reseal_stored_values(session: Session, keyring: Keyring) -> RotationResult:
    """Seal every stored sealed value again with the keyring's newest key."""
    settings_rows = list(
        session.scalars(select(SsoSettings).where(SsoSettings.key_sealed.is_not(None)))
    )
    for settings in settings_rows:
        assert settings.key_sealed is not None
        settings.key_sealed = keyring.reseal(settings.key_sealed)

    versions = list(session.scalars(select(SsoVersion).where(SsoVersion.key_sealed.is_not(None))))
    for version in versions:
        assert version.key_sealed is not None
        version.key_sealed = keyring.reseal(version.key_sealed)

    staged = list(
        session.scalars(
            select(SsoStagedSettings).where(SsoStagedSettings.key_sealed.is_not(None))
        )
    )
    for row in staged:
        assert row.key_sealed is not None
        row.key_sealed = keyring.reseal(row.key_sealed)

    messages = list(
        session.scalars(select(OutboxMessage).where(OutboxMessage.body_sealed.is_not(None)))
    )
    for message in messages:
        assert message.body_sealed is not None
        message.body_sealed = keyring.reseal(message.body_sealed)
    return RotationResult(len(settings_rows), len(versions), len(messages), len(staged))


# NOTE: a server that checked the keyring file just before the new key was written can still
# seal one value with the old key; if that value is committed after the reseal transaction has
# read its table, it is lost when the old key is retired. Rotate when no settings are changing.
def rotate_sealing_keys(database: Database, keyring: Keyring, actor: Actor) -> RotationResult:
    """Put a new key first, reseal every stored value in one transaction, retire the old keys.

    With keys from HATCHWAY_SEALING_KEYS, which only the operator can change, nothing is
    generated or retired: every value is resealed with the first key of that variable, after
    which the operator can remove the others. Raises `SealingError` when a stored value opens
    with no key; the old keys then stay.
    """
    if keyring.file_backed:
        keyring.rotate()
    logger.info("sealing.rotation.started keys=%d", keyring.key_count)
    with database.write() as session:
        result = reseal_stored_values(session, keyring)
        audit.record(
            session,
            actor,
            audit.AuditAction.KEYS_ROTATE,
            "sealing keys",
            now=utcnow(),
            after={
                "SsoSettings": result.sso_settings,
                "SsoVersions": result.sso_versions,
                "OutboxMessages": result.outbox_messages,
                "StagedKeys": result.staged_keys,
            },
            detail="every stored value resealed with the newest sealing key",
        )
    keyring.retire_old_keys()
    logger.info(
        "sealing.rotation.done sso_settings=%d sso_versions=%d outbox_messages=%d staged_keys=%d",
        result.sso_settings,
        result.sso_versions,
        result.outbox_messages,
        result.staged_keys,
    )
    return result
