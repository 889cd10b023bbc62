"""The outbox: every mail is written here in the transaction of the record that caused it."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from hatchway.db.models import Environment, OutboxMessage
from hatchway.security.sealing import Keyring

logger = logging.getLogger(__name__)

DELIVERY_WINDOW = timedelta(hours=24)


def enqueue(
    session: Session,
    keyring: Keyring,
    *,
    recipient: str,
    subject: str,
    body: str,
    purpose: str,
    now: datetime,
    environment: Environment | None = None,
) -> OutboxMessage:
    """Queue a plain-text mail; its body is sealed because it may carry a link or password."""
    message = OutboxMessage(
        created_at=now,
        purpose=purpose,
        environment_id=environment.id if environment is not None else None,
        recipient=recipient,
        subject=subject,
        body_sealed=keyring.seal(body),
        status="queued",
        attempt_count=0,
        next_attempt_at=now,
        give_up_at=now + DELIVERY_WINDOW,
    )
    session.add(message)
    session.flush()
    logger.info("mail.queued message=%d purpose=%s", message.id, purpose)
    return message
