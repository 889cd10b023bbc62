"""The outbox worker: delivers queued mail in the background of every server process.

Each server process runs one worker on its event loop. It claims due messages
(`hatchway.mail.delivery`), sends them by SMTP, records every attempt, and once an hour queues
the SSO Key expiry notices. Without HATCHWAY_SMTP_URL each message is written as an .eml file
under `<data dir>/mail/`, and the log names the file, never its content.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Protocol

from hatchway.config import Settings
from hatchway.context import AppContext
from hatchway.mail.delivery import ClaimedMessage, RetrySchedule, claim_due, record_result
from hatchway.mail.smtp import Outcome, SendResult, SmtpSender, SmtpTarget
from hatchway.sso.key_expiry import queue_key_expiry_notices

logger = logging.getLogger(__name__)

BATCH_SIZE = 20
KEY_NOTICE_INTERVAL_SECONDS = 3600.0
STOP_GRACE_SECONDS = 10.0
# RFC 5322's limit on a line, in octets, without its CRLF.
MAX_LINE_OCTETS = 998


class Sender(Protocol):
    def describe(self) -> str: ...

    async def send(self, email: EmailMessage) -> SendResult: ...


def build_email(claimed: ClaimedMessage, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = claimed.recipient
    email["Subject"] = claimed.subject
    email["Date"] = format_datetime(claimed.created_at)
    email["Message-ID"] = make_msgid(
        idstring=f"outbox-{claimed.id}", domain=sender.rpartition("@")[2] or "localhost"
    )
    email.set_content(claimed.body, cte=transfer_encoding(claimed.body))
    return email


def transfer_encoding(body: str) -> str | None:
    """Pick a transfer encoding that leaves the text, and the links in it, as written.

    The email package picks quoted-printable for any line over 78 characters, which splits a
    long link with `=` soft line breaks and turns its `=` into `=3D`. ASCII text is sent as
    7bit, other text as 8bit UTF-8. Only a line over RFC 5322's 998 octets leaves the choice
    (quoted-printable or base64) to the email package.
    """
    if any(len(line) > MAX_LINE_OCTETS for line in body.encode("utf-8").splitlines()):
        return None
    return "7bit" if body.isascii() else "8bit"


class FileSender:
    """Writes each message as an .eml file, for development without an SMTP server.

    The reply names the file relative to `data_dir` (when the folder lies inside it), so that
    the delivery status shown to partners carries no path of the server's host.
    """

    def __init__(self, folder: Path, data_dir: Path | None = None) -> None:
        self.folder = folder
        self.data_dir = data_dir

    def describe(self) -> str:
        return f"files in {self.folder}"

    async def send(self, email: EmailMessage) -> SendResult:
        try:
            path = await asyncio.to_thread(self._write, email)
        except OSError as error:
            return SendResult(Outcome.RETRY, f"writing the mail file failed: {error}")
        logger.info("mail.written file=%s", path)
        return SendResult(
            Outcome.WRITTEN,
            f"no SMTP server is configured; written to the file {self._shown(path)}",
        )

    def _shown(self, path: Path) -> str:
        if self.data_dir is None:
            return str(path)
        try:
            relative = path.resolve().relative_to(self.data_dir.resolve())
        except ValueError:
            return str(path)
        return f"{relative.as_posix()} in the data folder"

    def _write(self, email: EmailMessage) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        message_id = str(email["Message-ID"]).strip("<>").partition("@")[0]
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        path = self.folder / f"{stamp}-{message_id}.eml"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(email.as_bytes())
        return path


def sender_for(settings: Settings) -> Sender:
    """Return the SMTP sender of HATCHWAY_SMTP_URL, or the .eml folder when it is unset."""
    if settings.smtp_url:
        return SmtpSender(SmtpTarget.from_url(settings.smtp_url))
    return FileSender(settings.data_dir / "mail", settings.data_dir)


def schedule_for(settings: Settings) -> RetrySchedule:
    return RetrySchedule(
        first_delay=timedelta(seconds=settings.outbox_first_retry_seconds),
        max_delay=timedelta(seconds=settings.outbox_max_retry_seconds),
    )


class OutboxWorker:
    """Polls the outbox and delivers due messages until stopped."""

    def __init__(
        self,
        context: AppContext,
        *,
        sender: Sender | None = None,
        schedule: RetrySchedule | None = None,
    ) -> None:
        self._context = context
        self.sender = sender or sender_for(context.settings)
        self.schedule = schedule or schedule_for(context.settings)
        self.worker_id = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        self._stopping = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="hatchway-outbox")
        logger.info(
            "outbox.worker.started worker=%s sender=%s", self.worker_id, self.sender.describe()
        )

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        try:
            await asyncio.wait_for(task, STOP_GRACE_SECONDS)
        except TimeoutError:
            # The cancelled attempt's messages stay claimed until their lease runs out.
            logger.warning("outbox.worker.cancelled worker=%s", self.worker_id)
        logger.info("outbox.worker.stopped worker=%s", self.worker_id)

    async def run_once(self) -> int:
        """Claim and deliver one batch of due messages; return how many were attempted."""
        context = self._context
        claimed = await asyncio.to_thread(
            claim_due,
            context.database,
            context.keyring,
            self.worker_id,
            context.now(),
            BATCH_SIZE,
        )
        for message in claimed:
            email = build_email(message, context.settings.mail_from)
            result = await self.sender.send(email)
            await asyncio.to_thread(
                record_result,
                context.database,
                message,
                self.worker_id,
                result,
                context.now(),
                self.schedule,
            )
        return len(claimed)

    def queue_notices(self) -> int:
        """Queue the SSO Key expiry notices that are due; return how many mails were queued."""
        context = self._context
        return queue_key_expiry_notices(
            context.database, context.keyring, context.settings, context.now()
        )

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_notice_run = loop.time()
        while not self._stopping.is_set():
            if loop.time() >= next_notice_run:
                next_notice_run = loop.time() + KEY_NOTICE_INTERVAL_SECONDS
                await self._guarded("outbox.notices.failed", self._queue_notices_in_thread)
            attempted = await self._guarded("outbox.worker.failed", self.run_once)
            if attempted >= BATCH_SIZE:
                continue
            try:
                await asyncio.wait_for(
                    self._stopping.wait(), self._context.settings.outbox_poll_seconds
                )
            except TimeoutError:
                pass

    async def _queue_notices_in_thread(self) -> int:
        return await asyncio.to_thread(self.queue_notices)

    async def _guarded(self, event: str, step: _Step) -> int:
        try:
            return await step()
        except Exception:
            # One broken pass must not end delivery for the life of the process.
            logger.exception("%s worker=%s", event, self.worker_id)
            return 0


class _Step(Protocol):
    async def __call__(self) -> int: ...
