"""The outbox: every mail is written here in the transaction of the record that caused it.

A message moves through these states; the worker (`hatchway.mail.worker`) drives them:

    queued ──claim──▶ sending ──250──▶ sent
                         │  ├──no SMTP server: an .eml file──▶ written
                         │  └──5xx, or 24 hours passed──▶ failed
                         └──4xx or no connection──▶ retrying ──claim──▶ sending ...

The sealed body is cleared once a message is sent, written or failed.
"""

from __future__ import annotations

import enum
import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from hatchway.db.models import Environment, OutboxMessage
from hatchway.security.sealing import Keyring

logger = logging.getLogger(__name__)

DELIVERY_WINDOW = timedelta(hours=24)


class MessageStatus(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    WRITTEN = "written"
    RETRYING = "retrying"
    FAILED = "failed"


class Purpose(enum.StrEnum):
    """Why a message was sent; the worker names its audit record after it."""

    TEMPORARY_PASSWORD = "temporary-password"  # noqa: S105 (a purpose, not a password)
    EMERGENCY_LINK = "emergency-link"
    EMERGENCY_NOTICE = "emergency-notice"
    KEY_EXPIRY_NOTICE = "key-expiry-notice"


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
        status=MessageStatus.QUEUED.value,
        attempt_count=0,
        next_attempt_at=now,
        give_up_at=now + DELIVERY_WINDOW,
    )
    session.add(message)
    session.flush()
    logger.info("mail.queued message=%d purpose=%s", message.id, purpose)
    return message


def delivery_status(message: OutboxMessage | None) -> str:
    """Return the DeliveryStatus the Provisioning API shows for a message (NotMailed for none).

    A message being sent shows as Queued before its first attempt and as Retrying after it.
    """
    if message is None:
        return "NotMailed"
    status = MessageStatus(message.status)
    if status is MessageStatus.SENDING:
        return "Queued" if message.attempt_count == 0 else "Retrying"
    return status.value.capitalize()
