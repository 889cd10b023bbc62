"""Notices to administrators before the SSO Key (the client secret) expires.

When an environment's settings carry `KeyExpiresOn`, every active administrator gets a mail 30,
7 and 1 days before, each once per Key. A Key saved late gets only the notices still ahead of it
(a Key that expires in 5 days gets the 7-day and 1-day notices). A row in `key_expiry_notices`
marks each notice as queued; its unique constraint keeps two workers from queueing one twice.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hatchway.audit import service as audit
from hatchway.audit.service import SYSTEM_ACTOR
from hatchway.config import Settings
from hatchway.db.engine import Database
from hatchway.db.models import Environment, KeyExpiryNotice, SsoSettings, User
from hatchway.mail import outbox
from hatchway.mail.outbox import Purpose
from hatchway.security.sealing import Keyring

logger = logging.getLogger(__name__)

NOTICE_DAYS = (30, 7, 1)


def due_notice(days_left: int) -> int | None:
    """Return the notice (30, 7 or 1 days before) that covers `days_left`, or None."""
    if days_left < 0:
        return None
    covering = [days for days in NOTICE_DAYS if days_left <= days]
    return min(covering) if covering else None


def _mark_notice(
    session: Session, environment_id: int, fingerprint: str, days: int, now: datetime
) -> bool:
    """Insert the notice's row; return False when another run inserted it first."""
    dialect = session.get_bind().dialect.name
    insert_factory = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert_factory(KeyExpiryNotice)
        .values(
            environment_id=environment_id,
            key_fingerprint=fingerprint,
            days_before=days,
            sent_at=now,
        )
        .on_conflict_do_nothing()
        .returning(KeyExpiryNotice.id)
    )
    return session.execute(statement).scalar_one_or_none() is not None


def _administrators(session: Session, environment: Environment) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .where(
                User.environment_id == environment.id,
                User.is_administrator.is_(True),
                User.is_active.is_(True),
            )
            .order_by(User.id)
        )
    )


def _notice_body(settings: Settings, environment: Environment, expires_on: date, days: int) -> str:
    page = settings.public_link(f"/{environment.name}/AdminPage/SingleSignOn")
    when = "tomorrow" if days == 1 else f"in {days} days"
    return (
        f"The Key (client secret) of the single sign-on settings of the workspace environment "
        f"'{environment.name}' expires on {expires_on.isoformat()}, {when}.\n\n"
        "After that date nobody can sign in through the identity provider. Create a new client "
        "secret in the app registration ('Certificates & secrets'), then enter its Value at\n\n"
        f"{page}\n\n"
        f"or send it with PUT /Provisioning/{environment.name}/SingleSignOnSettings/OAuth2, "
        "together with the new KeyExpiresOn date.\n"
    )


def queue_key_expiry_notices(
    database: Database, keyring: Keyring, settings: Settings, now: datetime
) -> int:
    """Queue every notice that is due today and not yet queued; return the number of mails."""
    today = now.date()
    queued = 0
    with database.write() as session:
        rows = session.execute(
            select(SsoSettings, Environment)
            .join(Environment, Environment.id == SsoSettings.environment_id)
            .where(
                SsoSettings.key_expires_on.is_not(None),
                SsoSettings.key_fingerprint.is_not(None),
                Environment.is_active.is_(True),
            )
            .order_by(Environment.id)
        ).all()
        for sso_settings, environment in rows:
            assert sso_settings.key_expires_on is not None
            assert sso_settings.key_fingerprint is not None
            days = due_notice((sso_settings.key_expires_on - today).days)
            if days is None:
                continue
            if not _mark_notice(session, environment.id, sso_settings.key_fingerprint, days, now):
                continue
            queued += _queue_for_administrators(
                session, keyring, settings, environment, sso_settings.key_expires_on, days, now
            )
    return queued


def _queue_for_administrators(
    session: Session,
    keyring: Keyring,
    settings: Settings,
    environment: Environment,
    expires_on: date,
    days: int,
    now: datetime,
) -> int:
    administrators = _administrators(session, environment)
    subject = f"The single sign-on Key of '{environment.name}' expires on {expires_on.isoformat()}"
    body = _notice_body(settings, environment, expires_on, days)
    for administrator in administrators:
        outbox.enqueue(
            session,
            keyring,
            recipient=administrator.email,
            subject=subject,
            body=body,
            purpose=Purpose.KEY_EXPIRY_NOTICE.value,
            now=now,
            environment=environment,
        )
    audit.record(
        session,
        SYSTEM_ACTOR,
        audit.AuditAction.SSO_KEY_EXPIRY_NOTICE,
        environment.name,
        now=now,
        environment=environment,
        detail=f"{days}-day notice for the Key expiring on {expires_on.isoformat()}, "
        f"mailed to {len(administrators)} administrator(s)",
    )
    logger.info(
        "sso.key_expiry_notice environment=%s days_before=%d administrators=%d",
        environment.name,
        days,
        len(administrators),
    )
    return len(administrators)
