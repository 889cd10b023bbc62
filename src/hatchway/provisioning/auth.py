"""The Provisioning Key: first-start generation, the request check, rotation.

Only SHA-256 hashes of keys are stored. A key is GUID-shaped, as in Workspace 365, and carries
122 random bits, so a fast hash is enough. A presented key is compared with every valid hash
in constant time. Each process keeps the valid hashes in a snapshot (see `key_cache`), so that
a valid key costs no database round trip.
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import datetime, timedelta

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from hatchway.audit import service as audit
from hatchway.audit.service import SYSTEM_ACTOR, Actor, ActorType
from hatchway.context import AppContext, client_address, get_context
from hatchway.db.engine import Database
from hatchway.db.models import ProvisioningKeyRecord
from hatchway.errors import AccessDenied
from hatchway.provisioning.key_cache import KeySnapshot
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


def rotate_provisioning_key(
    database: Database, now: datetime, actor: Actor = SYSTEM_ACTOR
) -> str:
    """Replace every valid key with a new one and return it; the old keys stop working at once.

    The audit record names `actor` and the ids of the key records, never a key or its hash.
    """
    key = generate_provisioning_key()
    with database.write() as session:
        revoked = [record.id for record in _valid_records(session)]
        _revoke_all(session, now)
        record = ProvisioningKeyRecord(key_hash=token_hash(key), source="rotated", created_at=now)
        session.add(record)
        session.flush()
        audit.record(
            session,
            actor,
            audit.AuditAction.PROVISIONING_KEY_ROTATE,
            "Provisioning Key",
            now=now,
            before={"ValidKeys": [f"provisioning-key-{key_id}" for key_id in revoked]},
            after={"ValidKeys": [f"provisioning-key-{record.id}"]},
            detail="a new Provisioning Key was generated; the previous keys stopped working",
        )
    logger.info("provisioning_key.rotated key=provisioning-key-%d", record.id)
    return key


def _deny(context: AppContext, address: str | None, reason: str, message: str) -> AccessDenied:
    now = context.now()
    subject = address or "unknown"
    rule = ratelimit.PROVISIONING_KEY_FAILURES
    with context.database.write() as session:
        count = ratelimit.record(session, rule, subject, now)
    if count >= rule.limit:
        # The window may have started earlier, so this end is late; the database check decides.
        until = now + timedelta(seconds=rule.window_seconds)
        context.provisioning_keys.note_limited(subject, until)
    logger.warning("provisioning.denied reason=%s client=%s", reason, address)
    return AccessDenied(reason, message)


def _accept_from_snapshot(
    context: AppContext, snapshot: KeySnapshot, presented: str, address: str | None
) -> Actor | None:
    """Return the actor when the snapshot alone shows a valid key from an unlimited address."""
    if snapshot.is_limited(address or "unknown", context.now()):
        return None
    record_id = snapshot.match(token_hash(normalize_provisioning_key(presented)))
    if record_id is None:
        return None
    return Actor(ActorType.PROVISIONING_KEY, f"provisioning-key-{record_id}", address)


def _check_in_database(
    context: AppContext, presented: str | None, authorization: str | None, address: str | None
) -> Actor:
    """Check the key against the database, counting failures; raise with the reason."""
    now = context.now()
    with context.database.read() as session:
        ratelimit.check(
            session,
            ratelimit.PROVISIONING_KEY_FAILURES,
            address or "unknown",
            now,
            "Too many requests with a missing or wrong Provisioning Key from this address.",
        )
        snapshot = context.provisioning_keys.reload(session, now)
    record_id = (
        snapshot.match(token_hash(normalize_provisioning_key(presented))) if presented else None
    )

    if not presented:
        hint = (
            f" The key goes in the {HEADER} header itself, not in Authorization."
            if authorization
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
    if record_id is None:
        raise _deny(
            context,
            address,
            "ProvisioningKeyInvalid",
            f"The {HEADER} header does not match this instance's Provisioning Key; check the "
            "key, or ask the operator for the current one (it changes when rotated).",
        )
    return Actor(ActorType.PROVISIONING_KEY, f"provisioning-key-{record_id}", address)


async def require_provisioning_key(request: Request) -> Actor:
    """Check the ProvisioningKey header; a FastAPI dependency of every Provisioning API route.

    A valid key from an address that is not rate-limited is accepted from the process's key
    snapshot, on the event loop. Every other request is checked against the database in a
    worker thread, which also counts its failure.
    """
    context = get_context(request)
    address = client_address(request)
    if not context.settings.provisioning_api_enabled:
        raise AccessDenied(
            "ProvisioningApiDisabled",
            "The Provisioning API is disabled on this instance; the operator enables it with "
            "HATCHWAY_PROVISIONING_API_ENABLED=true.",
        )

    presented = request.headers.get(HEADER)
    if presented:
        keys = context.provisioning_keys
        snapshot = keys.current()
        if snapshot is None:
            snapshot = await run_in_threadpool(keys.refresh, context.now())
        actor = _accept_from_snapshot(context, snapshot, presented, address)
        if actor is not None:
            return actor
    return await run_in_threadpool(
        _check_in_database, context, presented, request.headers.get("authorization"), address
    )
