"""The Provisioning Key: first-start generation, the request check, rotation.

Only SHA-256 hashes of keys are stored. A key is GUID-shaped, as in Workspace 365, and carries
122 random bits, so a fast hash is enough. A presented key is compared with every valid hash
in constant time.
"""

from __future__ import annotations

import hmac
import logging
import re
import uuid
from datetime import datetime

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from hatchway.audit.service import Actor, ActorType
from hatchway.context import AppContext, client_address, get_context
from hatchway.db.engine import Database
from hatchway.db.models import ProvisioningKeyRecord
from hatchway.errors import AccessDenied
from hatchway.security import ratelimit
from hatchway.security.tokens import token_hash

logger = logging.getLogger(__name__)

HEADER = "ProvisioningKey"


_GUID = re.compile(r"^[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}$")


def generate_provisioning_key() -> str:
    return str(uuid.uuid4()).upper()


def normalize_provisioning_key(key: str) -> str:
    """Trim the key and, when it is GUID-shaped, ignore its letter case, as GUIDs do.

    A GUID in braces (`{...}`, as Windows writes them) or in straight quotes, as scripts
    sometimes send a header value, counts as the GUID itself.
    """
    key = key.strip()
    for opening, closing in (("{", "}"), ('"', '"'), ("'", "'")):
        inner = key[1:-1].strip()
        if key[:1] == opening and key[-1:] == closing and _GUID.match(inner):
            key = inner
    return key.upper() if _GUID.match(key) else key


def _valid_records(session: Session) -> list[ProvisioningKeyRecord]:
    return list(
        session.scalars(
            select(ProvisioningKeyRecord).where(ProvisioningKeyRecord.revoked_at.is_(None))
        )
    )


def _revoke_all(session: Session, now: datetime) -> None:
    for record in _valid_records(session):
        record.revoked_at = now


def ensure_provisioning_key(
    database: Database, configured: str | None, now: datetime
) -> str | None:
    """Make the stored key match the configuration; return a newly generated key, else None.

    With HATCHWAY_PROVISIONING_KEY set, that key becomes the only valid one. Without it, a key is
    generated on the first start only; later starts keep the stored one.
    """
    with database.write() as session:
        records = _valid_records(session)
        if configured is not None:
            wanted = token_hash(normalize_provisioning_key(configured))
            if [record.key_hash for record in records] == [wanted]:
                return None
            _revoke_all(session, now)
            _insert_or_revive(session, wanted, "environment", now)
            logger.info("provisioning_key.configured source=environment")
            return None
        if records:
            return None
        key = generate_provisioning_key()
        session.add(
            ProvisioningKeyRecord(key_hash=token_hash(key), source="generated", created_at=now)
        )
        logger.info("provisioning_key.generated")
        return key


def _insert_or_revive(session: Session, key_hash: str, source: str, now: datetime) -> None:
    existing = session.scalar(
        select(ProvisioningKeyRecord).where(ProvisioningKeyRecord.key_hash == key_hash)
    )
    if existing is not None:
        existing.revoked_at = None
        existing.source = source
        return
    session.add(ProvisioningKeyRecord(key_hash=key_hash, source=source, created_at=now))


def rotate_provisioning_key(database: Database, now: datetime) -> str:
    """Replace every valid key with a new one and return it; the old keys stop working at once."""
    key = generate_provisioning_key()
    with database.write() as session:
        _revoke_all(session, now)
        session.add(
            ProvisioningKeyRecord(key_hash=token_hash(key), source="rotated", created_at=now)
        )
    logger.info("provisioning_key.rotated")
    return key


def _matching_record(session: Session, presented: str) -> ProvisioningKeyRecord | None:
    presented_hash = token_hash(normalize_provisioning_key(presented))
    match = None
    for record in _valid_records(session):
        if hmac.compare_digest(record.key_hash, presented_hash):
            match = record
    return match


def _deny(context: AppContext, address: str | None, reason: str, message: str) -> AccessDenied:
    now = context.now()
    with context.database.write() as session:
        ratelimit.record(session, ratelimit.PROVISIONING_KEY_FAILURES, address or "unknown", now)
    logger.warning("provisioning.denied reason=%s client=%s", reason, address)
    return AccessDenied(reason, message)


def require_provisioning_key(request: Request) -> Actor:
    """Check the ProvisioningKey header; a FastAPI dependency of every Provisioning API route."""
    context = get_context(request)
    address = client_address(request)
    if not context.settings.provisioning_api_enabled:
        raise AccessDenied(
            "ProvisioningApiDisabled",
            "The Provisioning API is disabled on this instance; the operator enables it with "
            "HATCHWAY_PROVISIONING_API_ENABLED=true.",
        )

    with context.database.read() as session:
        ratelimit.check(
            session,
            ratelimit.PROVISIONING_KEY_FAILURES,
            address or "unknown",
            context.now(),
            "Too many requests with a missing or wrong Provisioning Key from this address; "
            "wait before trying again.",
        )
        presented = request.headers.get(HEADER)
        record = _matching_record(session, presented) if presented else None

    if not presented:
        hint = (
            f" The key goes in the {HEADER} header itself, not in Authorization."
            if request.headers.get("authorization")
            else ""
        )
        raise _deny(
            context,
            address,
            "ProvisioningKeyMissing",
            f"The {HEADER} header is missing; send the instance's Provisioning Key in it.{hint}",
        )
    if any(not (" " <= character <= "~") for character in presented):
        raise _deny(
            context,
            address,
            "ProvisioningKeyInvalid",
            f"The {HEADER} header contains characters outside printable ASCII, such as quotes "
            "pasted from a document; send only the key's characters.",
        )
    if record is None:
        raise _deny(
            context,
            address,
            "ProvisioningKeyInvalid",
            f"The {HEADER} header does not match this instance's Provisioning Key; check the "
            "key, or ask the operator for the current one (it changes when rotated).",
        )
    return Actor(ActorType.PROVISIONING_KEY, f"provisioning-key-{record.id}", address)
