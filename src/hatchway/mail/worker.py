"""The outbox worker: delivers queued mail in the background of every server process.

Without HATCHWAY_SMTP_URL each message is written as an .eml file under `<data dir>/mail/`, and
the log names the file, never its content.
"""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from sqlalchemy import select

from hatchway.context import AppContext
from hatchway.db.models import OutboxAttempt, OutboxMessage

logger = logging.getLogger(__name__)

POLL_INTERVAL_SECONDS = 1.0


def build_email(message: OutboxMessage, body: str, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Date"] = format_datetime(message.created_at)
    email["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    email.set_content(body)
    return email


def write_eml(folder: Path, message: OutboxMessage, email: EmailMessage) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{message.created_at:%Y%m%dT%H%M%S}-{message.id}.eml"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(email.as_bytes())
    return path


class OutboxWorker:
    """Polls the outbox and delivers due messages until stopped."""

    def __init__(self, context: AppContext) -> None:
        self._context = context
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        self._stopping = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="hatchway-outbox")
        logger.info("outbox.worker.started")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._stopping.set()
        await self._task
        self._task = None
        logger.info("outbox.worker.stopped")

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await asyncio.to_thread(self.deliver_due)
            except Exception:
                logger.exception("outbox.worker.failed")
            try:
                await asyncio.wait_for(self._stopping.wait(), POLL_INTERVAL_SECONDS)
            except TimeoutError:
                pass

    def deliver_due(self) -> int:
        """Deliver every message that is due now; return how many were settled."""
        context = self._context
        now = context.now()
        with context.database.write() as session:
            due = list(
                session.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.status.in_(("queued", "retrying")))
                    .where(OutboxMessage.next_attempt_at <= now)
                    .order_by(OutboxMessage.id)
                    .limit(20)
                )
            )
            for message in due:
                self._deliver_to_file(session_now=now, message=message)
                session.add(
                    OutboxAttempt(
                        message_id=message.id,
                        attempted_at=now,
                        outcome="sent",
                        reply=message.last_reply,
                    )
                )
        return len(due)

    def _deliver_to_file(self, *, session_now: datetime, message: OutboxMessage) -> None:
        context = self._context
        assert message.body_sealed is not None
        body = context.keyring.unseal(message.body_sealed)
        email = build_email(message, body, context.settings.mail_from)
        path = write_eml(context.settings.data_dir / "mail", message, email)
        message.status = "sent"
        message.sent_at = session_now
        message.attempt_count += 1
        message.last_reply = f"written to {path}"
        message.body_sealed = None
        logger.info("mail.written message=%d file=%s", message.id, path)
