"""Server-side sessions behind an opaque cookie, so that sign-out works on every worker."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hatchway.db.models import Environment, SessionRecord, User
from hatchway.security.tokens import new_token, token_hash

SESSION_COOKIE = "hatchway_session"


class SessionKind(enum.StrEnum):
    SSO = "sso"
    LOCAL = "local"
    EMERGENCY = "emergency"


LIFETIMES = {
    SessionKind.SSO: timedelta(hours=12),
    SessionKind.LOCAL: timedelta(hours=12),
    SessionKind.EMERGENCY: timedelta(minutes=60),
}


@dataclass(frozen=True)
class ActiveSession:
    record: SessionRecord
    user: User

    @property
    def kind(self) -> SessionKind:
        return SessionKind(self.record.kind)

    @property
    def is_emergency(self) -> bool:
        return self.kind is SessionKind.EMERGENCY


def create_session(
    session: Session,
    environment: Environment,
    user: User,
    kind: SessionKind,
    *,
    now: datetime,
    client_address: str | None,
    sso_version: int | None = None,
) -> str:
    """Store a new session and return the cookie value; only its hash is kept."""
    token = new_token()
    session.add(
        SessionRecord(
            id_hash=token_hash(token),
            environment_id=environment.id,
            user_id=user.id,
            kind=kind.value,
            created_at=now,
            expires_at=now + LIFETIMES[kind],
            last_seen_at=now,
            client_address=client_address,
            sso_version=sso_version,
        )
    )
    return token


def find_active_session(
    session: Session, environment: Environment, token: str | None, now: datetime
) -> ActiveSession | None:
    """Return the session behind a cookie when it is open, unexpired and its user active."""
    if not token or not environment.is_active:
        return None
    record = session.get(SessionRecord, token_hash(token))
    if record is None or record.environment_id != environment.id:
        return None
    if record.ended_at is not None or record.expires_at <= now:
        return None
    user = session.scalar(select(User).where(User.id == record.user_id))
    if user is None or not user.is_active:
        return None
    return ActiveSession(record, user)


def end_session(session: Session, token: str | None, now: datetime) -> bool:
    """End the session behind a cookie; return whether one was open."""
    if not token:
        return False
    record = session.get(SessionRecord, token_hash(token))
    if record is None or record.ended_at is not None:
        return False
    record.ended_at = now
    return True
