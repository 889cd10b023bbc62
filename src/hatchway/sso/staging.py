"""Staged SSO values: drafts of the SSO page's form and test sign-in runs.

Both keep values an administrator entered but has not saved, on the server and never in a
cookie, because they include the Key:

- a draft keeps a typed Key while the page shows its form again, since a Key field is always
  empty when a page is sent (after Verify, a refused Save, or the confirmation step);
- a test run keeps Authority, Client ID and Key for a sign-in through the identity provider
  that saves nothing, and records who signed in or why it failed.

Rows expire after 30 minutes and are deleted when the next row is staged. A failed test run's
Key is cleared as soon as the run completes. A passed run keeps its Key until it expires or
until its administrator saves settings, so that Save uses the Key that passed the test even
after the page was loaded again.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, delete, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from hatchway.audit.service import Actor
from hatchway.db.models import Environment, SsoStagedSettings
from hatchway.security.sealing import Keyring
from hatchway.security.tokens import fingerprint

STAGED_LIFETIME = timedelta(minutes=30)


class Purpose(enum.StrEnum):
    DRAFT = "draft"
    TEST = "test"


class Outcome(enum.StrEnum):
    PENDING = "pending"
    PASSED = "passed"
    FAILED = "failed"


@dataclass(frozen=True)
class Creator:
    """The administrator who staged the values, and how they act (as administrator or emergency)."""

    user_id: int
    actor: Actor


def values_fingerprint(
    authority: str | None,
    client_id: str | None,
    key_fingerprint: str | None,
    allowed_tenants: Sequence[str] | None,
) -> str:
    """Hash the values that decide how sign-in behaves; the Key enters only as its fingerprint."""
    material = json.dumps(
        [authority or "", client_id or "", key_fingerprint or "", sorted(allowed_tenants or [])]
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def purge_expired(session: Session, now: datetime) -> None:
    session.execute(delete(SsoStagedSettings).where(SsoStagedSettings.expires_at <= now))


def create_draft(
    session: Session,
    environment: Environment,
    key: str,
    *,
    keyring: Keyring,
    creator: Creator,
    now: datetime,
) -> SsoStagedSettings:
    """Keep a typed Key for the next submission of the same form."""
    purge_expired(session, now)
    draft = SsoStagedSettings(
        environment_id=environment.id,
        purpose=Purpose.DRAFT.value,
        key_sealed=keyring.seal(key),
        key_fingerprint=fingerprint(key),
        created_by_user_id=creator.user_id,
        created_by=creator.actor.name,
        created_by_type=creator.actor.type.value,
        created_at=now,
        expires_at=now + STAGED_LIFETIME,
        outcome=Outcome.PENDING.value,
    )
    session.add(draft)
    session.flush()
    return draft


def create_test_run(
    session: Session,
    environment: Environment,
    *,
    authority: str,
    client_id: str,
    key: str,
    allowed_tenants: Sequence[str],
    keyring: Keyring,
    creator: Creator,
    now: datetime,
) -> SsoStagedSettings:
    """Store the values of a test sign-in that is about to start."""
    purge_expired(session, now)
    key_fingerprint = fingerprint(key)
    run = SsoStagedSettings(
        environment_id=environment.id,
        purpose=Purpose.TEST.value,
        authority=authority,
        client_id=client_id,
        key_sealed=keyring.seal(key),
        key_fingerprint=key_fingerprint,
        allowed_tenants=list(allowed_tenants) or None,
        values_fingerprint=values_fingerprint(
            authority, client_id, key_fingerprint, allowed_tenants
        ),
        created_by_user_id=creator.user_id,
        created_by=creator.actor.name,
        created_by_type=creator.actor.type.value,
        created_at=now,
        expires_at=now + STAGED_LIFETIME,
        outcome=Outcome.PENDING.value,
    )
    session.add(run)
    session.flush()
    return run


def find_draft(
    session: Session, environment: Environment, draft_id: int, user_id: int, now: datetime
) -> SsoStagedSettings | None:
    """Return the user's own unexpired draft with this id, or None."""
    draft = session.get(SsoStagedSettings, draft_id)
    if (
        draft is None
        or draft.purpose != Purpose.DRAFT.value
        or draft.environment_id != environment.id
        or draft.created_by_user_id != user_id
        or draft.expires_at <= now
        or draft.key_sealed is None
    ):
        return None
    return draft


def find_pending_test(
    session: Session, environment: Environment, run_id: int, now: datetime, *, lock: bool = False
) -> SsoStagedSettings | None:
    """Return the unexpired, not yet completed test run with this id; `lock` it to complete it."""
    query = select(SsoStagedSettings).where(SsoStagedSettings.id == run_id)
    if lock:
        query = query.with_for_update()
    run = session.scalar(query)
    if (
        run is None
        or run.purpose != Purpose.TEST.value
        or run.environment_id != environment.id
        or run.outcome != Outcome.PENDING.value
        or run.expires_at <= now
        or run.key_sealed is None
    ):
        return None
    return run


def find_passed_test(
    session: Session, environment: Environment, values: str, now: datetime
) -> SsoStagedSettings | None:
    """Return an unexpired test run that passed with the values of this fingerprint."""
    return session.scalars(
        select(SsoStagedSettings)
        .where(
            SsoStagedSettings.environment_id == environment.id,
            SsoStagedSettings.values_fingerprint == values,
            SsoStagedSettings.purpose == Purpose.TEST.value,
            SsoStagedSettings.outcome == Outcome.PASSED.value,
            SsoStagedSettings.expires_at > now,
        )
        .order_by(SsoStagedSettings.id.desc())
    ).first()


_PASSED_TEST = (
    select(SsoStagedSettings.id)
    .where(
        SsoStagedSettings.environment_id == bindparam("environment_id"),
        SsoStagedSettings.values_fingerprint == bindparam("values"),
        SsoStagedSettings.purpose == Purpose.TEST.value,
        SsoStagedSettings.outcome == Outcome.PASSED.value,
        SsoStagedSettings.expires_at > bindparam("now"),
    )
    .limit(1)
)


def has_passed_test(
    database: Session | Connection, environment_id: int, values: str, now: datetime
) -> bool:
    """Tell whether an unexpired test run passed with the values of this fingerprint."""
    parameters = {"environment_id": environment_id, "values": values, "now": now}
    return database.execute(_PASSED_TEST, parameters).first() is not None


def recent_tests(
    session: Session, environment: Environment, now: datetime, limit: int = 5
) -> list[SsoStagedSettings]:
    """Return the environment's unexpired test runs, newest first."""
    return list(
        session.scalars(
            select(SsoStagedSettings)
            .where(
                SsoStagedSettings.environment_id == environment.id,
                SsoStagedSettings.purpose == Purpose.TEST.value,
                SsoStagedSettings.expires_at > now,
            )
            .order_by(SsoStagedSettings.id.desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class SignedInPerson:
    name: str
    email: str | None
    subject: str
    issuer: str


def record_passed(
    run: SsoStagedSettings, person: SignedInPerson, message: str, now: datetime
) -> None:
    run.outcome = Outcome.PASSED.value
    run.completed_at = now
    # The Key stays for Save (see find_tested_key) and goes with clear_tested_keys or expiry.
    run.signed_in_name = person.name[:400]
    run.signed_in_email = person.email[:320] if person.email else None
    run.signed_in_subject = person.subject[:512]
    run.signed_in_issuer = person.issuer[:2048]
    run.message = message


def record_failed(run: SsoStagedSettings, message: str, now: datetime) -> None:
    run.outcome = Outcome.FAILED.value
    run.completed_at = now
    run.key_sealed = None
    run.message = message


def _tested_keys(environment: Environment, user_id: int) -> Select[SsoStagedSettings]:
    return select(SsoStagedSettings).where(
        SsoStagedSettings.environment_id == environment.id,
        SsoStagedSettings.purpose == Purpose.TEST.value,
        SsoStagedSettings.outcome == Outcome.PASSED.value,
        SsoStagedSettings.created_by_user_id == user_id,
        SsoStagedSettings.key_sealed.is_not(None),
    )


def find_tested_key(
    session: Session,
    environment: Environment,
    user_id: int,
    now: datetime,
    run_id: int | None = None,
) -> SsoStagedSettings | None:
    """Return the user's newest unexpired passed test run that still has its Key, or None.

    With `run_id`, return only that run, under the same conditions.
    """
    query = _tested_keys(environment, user_id).where(SsoStagedSettings.expires_at > now)
    if run_id is not None:
        query = query.where(SsoStagedSettings.id == run_id)
    return session.scalars(query.order_by(SsoStagedSettings.id.desc())).first()


def clear_tested_keys(
    session: Session, environment: Environment, user_id: int, now: datetime
) -> None:
    """Clear the Keys of the user's passed test runs once settings were saved; purge expired rows.

    Expired rows are otherwise deleted only when the next row is staged.
    """
    purge_expired(session, now)
    for run in session.scalars(_tested_keys(environment, user_id)):
        run.key_sealed = None
