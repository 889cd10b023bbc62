"""Claiming due outbox messages and recording each attempt, for any number of workers.

A worker claims messages in a short write transaction: it sets them to `sending` with a lease
(`locked_until`, `locked_by`), commits, and only then talks to the SMTP server, so that no write
transaction stays open over the network. On PostgreSQL the claim query takes row locks with
SKIP LOCKED, so workers on several hosts claim disjoint messages. On SQLite every write
transaction starts with BEGIN IMMEDIATE, which serializes the claims of every process on the
host. A message whose lease ran out (its worker died) is claimed again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from hatchway.audit import service as audit
from hatchway.audit.service import SYSTEM_ACTOR
from hatchway.db.engine import Database
from hatchway.db.models import Environment, OutboxAttempt, OutboxMessage
from hatchway.mail.outbox import MessageStatus, Purpose
from hatchway.mail.smtp import Outcome, SendResult, mask_addresses
from hatchway.security.sealing import Keyring, SealingError

logger = logging.getLogger(__name__)

# Longer than any SMTP conversation can take (its timeout is 30 seconds), so that a lease
# runs out only when its worker is gone.
CLAIM_LEASE = timedelta(minutes=5)

AUDIT_ACTIONS = {Purpose.EMERGENCY_LINK.value: audit.AuditAction.EMERGENCY_DELIVERY}


@dataclass(frozen=True)
class RetrySchedule:
    """Exponential backoff: the first delay, doubled after each failed attempt, up to a maximum."""

    first_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=1)

    def delay_after(self, attempts: int) -> timedelta:
        """Return the wait after `attempts` failed attempts (1 or more)."""
        factor = 1 << min(max(attempts - 1, 0), 30)
        return min(self.first_delay * factor, self.max_delay)


@dataclass(frozen=True)
class ClaimedMessage:
    """A message this worker holds the lease on, with its body opened."""

    id: int
    purpose: str
    recipient: str
    subject: str
    created_at: datetime
    body: str = field(repr=False)


def _due_condition(now: datetime) -> object:
    waiting = (MessageStatus.QUEUED.value, MessageStatus.RETRYING.value)
    return or_(
        and_(OutboxMessage.status.in_(waiting), OutboxMessage.next_attempt_at <= now),
        and_(
            OutboxMessage.status == MessageStatus.SENDING.value,
            OutboxMessage.locked_until < now,
        ),
    )


def claim_due(
    database: Database, keyring: Keyring, worker_id: str, now: datetime, limit: int = 20
) -> list[ClaimedMessage]:
    """Take the lease on up to `limit` due messages and return them with their bodies."""
    claimed: list[ClaimedMessage] = []
    with database.write() as session:
        query = (
            select(OutboxMessage)
            .where(_due_condition(now))  # type: ignore[arg-type]
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        for message in session.scalars(query):
            body = _open_body(session, keyring, message, now)
            if body is None:
                continue
            message.status = MessageStatus.SENDING.value
            message.locked_until = now + CLAIM_LEASE
            message.locked_by = worker_id
            claimed.append(
                ClaimedMessage(
                    id=message.id,
                    purpose=message.purpose,
                    recipient=message.recipient,
                    subject=message.subject,
                    created_at=message.created_at,
                    body=body,
                )
            )
    return claimed


def _open_body(
    session: Session, keyring: Keyring, message: OutboxMessage, now: datetime
) -> str | None:
    """Unseal the body; a body no key opens fails the message, because no retry can help."""
    problem = None
    if message.body_sealed is None:
        problem = "the message has no body left to send"
    else:
        try:
            return keyring.unseal(message.body_sealed)
        except SealingError as error:
            problem = f"the message body cannot be opened: {error}"
    _settle(session, message, SendResult(Outcome.FAILED, problem), now, MessageStatus.FAILED)
    logger.error("mail.failed message=%d reason=%s", message.id, problem)
    return None


def record_result(
    database: Database,
    claimed: ClaimedMessage,
    worker_id: str,
    result: SendResult,
    now: datetime,
    schedule: RetrySchedule,
) -> MessageStatus | None:
    """Store one attempt and move the message on; return its new status (None: lease lost)."""
    with database.write() as session:
        message = session.scalar(
            select(OutboxMessage)
            .where(
                OutboxMessage.id == claimed.id,
                OutboxMessage.locked_by == worker_id,
                OutboxMessage.status == MessageStatus.SENDING.value,
            )
            .with_for_update()
        )
        if message is None:
            logger.warning("mail.lease_lost message=%d worker=%s", claimed.id, worker_id)
            return None

        if result.outcome is Outcome.SENT:
            status = MessageStatus.SENT
        elif result.outcome is Outcome.WRITTEN:
            status = MessageStatus.WRITTEN
        elif result.outcome is Outcome.FAILED or now >= message.give_up_at:
            status = MessageStatus.FAILED
        else:
            status = MessageStatus.RETRYING
        session.add(
            OutboxAttempt(
                message_id=message.id,
                attempted_at=now,
                outcome=result.outcome.value,
                reply=result.reply,
            )
        )
        message.attempt_count += 1
        if status is MessageStatus.RETRYING:
            delay = schedule.delay_after(message.attempt_count)
            message.status = status.value
            message.next_attempt_at = min(now + delay, message.give_up_at)
            message.last_reply = result.reply
            message.locked_until = None
            message.locked_by = None
        else:
            _settle(session, message, result, now, status)
        _log_attempt(message, result)
    return status


def _settle(
    session: Session,
    message: OutboxMessage,
    result: SendResult,
    now: datetime,
    status: MessageStatus,
) -> None:
    """Finish a message as sent, written or failed: clear its body and audit the outcome."""
    message.status = status.value
    message.last_reply = result.reply
    message.body_sealed = None
    message.locked_until = None
    message.locked_by = None
    if status in (MessageStatus.SENT, MessageStatus.WRITTEN):
        message.sent_at = now

    environment = (
        session.get(Environment, message.environment_id)
        if message.environment_id is not None
        else None
    )
    audit.record(
        session,
        SYSTEM_ACTOR,
        AUDIT_ACTIONS.get(message.purpose, audit.AuditAction.MAIL_DELIVERY),
        message.recipient,
        now=now,
        environment=environment,
        outcome=status.value,
        detail=f"{message.purpose} message {message.id}, attempt {message.attempt_count}: "
        f"{result.reply}",
    )


def _log_attempt(message: OutboxMessage, result: SendResult) -> None:
    # Servers often repeat the recipient's address in replies, so the log gets a masked copy.
    reply = mask_addresses(result.reply)
    if message.status == MessageStatus.WRITTEN.value:
        logger.info(
            "mail.written_to_file message=%d purpose=%s attempt=%d reply=%r",
            message.id,
            message.purpose,
            message.attempt_count,
            reply,
        )
    elif message.status == MessageStatus.SENT.value:
        logger.info(
            "mail.sent message=%d purpose=%s attempt=%d reply=%r",
            message.id,
            message.purpose,
            message.attempt_count,
            reply,
        )
    elif message.status == MessageStatus.RETRYING.value:
        logger.warning(
            "mail.retrying message=%d purpose=%s attempt=%d next_attempt_at=%s reply=%r",
            message.id,
            message.purpose,
            message.attempt_count,
            message.next_attempt_at.isoformat(),
            reply,
        )
    else:
        logger.error(
            "mail.failed message=%d purpose=%s attempt=%d reply=%r",
            message.id,
            message.purpose,
            message.attempt_count,
            reply,
        )
