"""The outbox worker: claims, retries with backoff, gives up after 24 hours, never sends twice."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from hatchway.config import Settings
from hatchway.context import AppContext
from hatchway.db.models import AuditRecord, OutboxAttempt, OutboxMessage
from hatchway.db.types import utcnow
from hatchway.mail import outbox
from hatchway.mail.delivery import CLAIM_LEASE, RetrySchedule, claim_due
from hatchway.mail.worker import FileSender, OutboxWorker, SmtpSender
from tests.support.aio import run_async
from tests.support.hatchway import test_settings as make_settings
from tests.support.ports import LOOPBACK
from tests.support.smtp import SmtpSink


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def settings(tmp_path: Path, database_url: str, smtp_sink: SmtpSink) -> Settings:
    return make_settings(
        tmp_path / "data",
        database_url,
        smtp_url=f"smtp://{LOOPBACK}:{smtp_sink.port}",
        outbox_first_retry_seconds=60.0,
        outbox_max_retry_seconds=600.0,
    )


@pytest.fixture
def clock(context: AppContext) -> Iterator[Clock]:
    fake = Clock()
    context.clock = fake
    yield fake


def queue(context: AppContext, subject: str = "Hello", body: str = "Hello there") -> int:
    with context.database.write() as session:
        message = outbox.enqueue(
            session,
            context.keyring,
            recipient="admin@contoso.test",
            subject=subject,
            body=body,
            purpose="test",
            now=context.now(),
        )
        return message.id


def load(context: AppContext, message_id: int) -> OutboxMessage:
    with context.database.read() as session:
        return session.get_one(OutboxMessage, message_id)


def attempts(context: AppContext, message_id: int) -> list[OutboxAttempt]:
    with context.database.read() as session:
        return list(
            session.scalars(
                select(OutboxAttempt)
                .where(OutboxAttempt.message_id == message_id)
                .order_by(OutboxAttempt.id)
            )
        )


def run(worker: OutboxWorker) -> int:
    return run_async(worker.run_once())


def test_retry_schedule_doubles_up_to_maximum() -> None:
    schedule = RetrySchedule(timedelta(seconds=30), timedelta(minutes=5))

    delays = [schedule.delay_after(n).total_seconds() for n in range(1, 7)]

    assert delays == [30, 60, 120, 240, 300, 300]


def test_sent_message_is_settled(context: AppContext, clock: Clock, smtp_sink: SmtpSink) -> None:
    message_id = queue(context, "Welcome", "Hello Ada")

    assert run(OutboxWorker(context)) == 1

    received = smtp_sink.wait_for_message()
    assert received["Subject"] == "Welcome"
    assert received["From"] == "hatchway@localhost"
    assert received.get_content().strip() == "Hello Ada"
    stored = load(context, message_id)
    assert stored.status == "sent"
    assert stored.sent_at == clock.now
    assert stored.attempt_count == 1
    assert stored.body_sealed is None
    assert stored.locked_by is None
    assert [a.outcome for a in attempts(context, message_id)] == ["sent"]


def test_temporary_failure_waits_for_backoff(
    context: AppContext, clock: Clock, smtp_sink: SmtpSink
) -> None:
    smtp_sink.refuse_next(1, 451, "4.3.0 Try again later")
    message_id = queue(context)
    worker = OutboxWorker(context)
    run(worker)

    clock.now += timedelta(seconds=59)
    claimed_early = run(worker)
    clock.now += timedelta(seconds=1)
    claimed_on_time = run(worker)

    assert claimed_early == 0
    assert claimed_on_time == 1
    assert load(context, message_id).status == "sent"
    assert [(a.outcome, a.reply) for a in attempts(context, message_id)] == [
        ("retry", "451 4.3.0 Try again later"),
        ("sent", "250 Message accepted for delivery"),
    ]


def test_retrying_message_keeps_body_and_reply(
    context: AppContext, clock: Clock, smtp_sink: SmtpSink
) -> None:
    smtp_sink.refuse_next(1, 421, "4.7.0 Too busy")
    message_id = queue(context)

    run(OutboxWorker(context))

    stored = load(context, message_id)
    assert stored.status == "retrying"
    assert stored.body_sealed is not None
    assert stored.last_reply == "421 4.7.0 Too busy"
    assert stored.next_attempt_at == clock.now + timedelta(seconds=60)
    assert outbox.delivery_status(stored) == "Retrying"


def test_backoff_doubles_between_attempts(
    context: AppContext, clock: Clock, smtp_sink: SmtpSink
) -> None:
    smtp_sink.refuse_next(3)
    message_id = queue(context)
    worker = OutboxWorker(context)
    started = clock.now
    waits = []
    for _ in range(3):
        run(worker)
        waits.append((load(context, message_id).next_attempt_at - clock.now).total_seconds())
        clock.now = load(context, message_id).next_attempt_at

    run(worker)

    assert waits == [60, 120, 240]
    assert load(context, message_id).status == "sent"
    assert load(context, message_id).sent_at == started + timedelta(seconds=420)


def test_permanent_rejection_fails_at_once(
    context: AppContext, clock: Clock, smtp_sink: SmtpSink
) -> None:
    smtp_sink.reject_permanently(554, "5.7.1 Delivery not authorized")
    message_id = queue(context)

    run(OutboxWorker(context))

    stored = load(context, message_id)
    assert stored.status == "failed"
    assert stored.last_reply == "554 5.7.1 Delivery not authorized"
    assert stored.body_sealed is None
    assert outbox.delivery_status(stored) == "Failed"


def test_gives_up_after_twenty_four_hours(
    context: AppContext, clock: Clock, smtp_sink: SmtpSink
) -> None:
    smtp_sink.refuse_next(1000)
    message_id = queue(context)
    worker = OutboxWorker(context)
    created = clock.now
    for _ in range(200):
        run(worker)
        stored = load(context, message_id)
        if stored.status == "failed":
            break
        clock.now = stored.next_attempt_at

    assert stored.status == "failed"
    assert clock.now == created + timedelta(hours=24)
    assert stored.last_reply == "451 4.3.0 Try again later"
    assert stored.body_sealed is None


def test_unreachable_server_is_retried(
    context: AppContext, clock: Clock, smtp_sink: SmtpSink
) -> None:
    smtp_sink.stop()
    message_id = queue(context)

    run(OutboxWorker(context))

    stored = load(context, message_id)
    assert stored.status == "retrying"
    assert stored.last_reply is not None
    assert "SMTPConnectError" in stored.last_reply


def test_delivery_is_audited_once_settled(
    context: AppContext, clock: Clock, smtp_sink: SmtpSink
) -> None:
    smtp_sink.refuse_next(1)
    message_id = queue(context)
    worker = OutboxWorker(context)
    run(worker)
    clock.now += timedelta(minutes=1)
    run(worker)

    with context.database.read() as session:
        records = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "mail.delivery")
        ).all()
    assert len(records) == 1
    assert records[0].outcome == "sent"
    assert f"message {message_id}, attempt 2" in (records[0].detail or "")


def test_logs_mask_recipient_in_reply(
    context: AppContext, clock: Clock, smtp_sink: SmtpSink, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hatchway")
    smtp_sink.reject_permanently(550, "5.1.1 <admin@contoso.test>: Recipient address rejected")
    queue(context)

    run(OutboxWorker(context))

    assert "mail.failed message=" in caplog.text
    assert "admin@contoso.test" not in caplog.text


def test_unexpired_lease_is_not_claimed_again(context: AppContext, clock: Clock) -> None:
    queue(context)
    first = claim_due(context.database, context.keyring, "worker-a", clock.now)
    clock.now += CLAIM_LEASE - timedelta(seconds=1)

    second = claim_due(context.database, context.keyring, "worker-b", clock.now)

    assert len(first) == 1
    assert second == []


def test_expired_lease_is_claimed_again(
    context: AppContext, clock: Clock, smtp_sink: SmtpSink
) -> None:
    message_id = queue(context)
    claim_due(context.database, context.keyring, "crashed-worker", clock.now)
    clock.now += CLAIM_LEASE + timedelta(seconds=1)

    run(OutboxWorker(context))

    assert load(context, message_id).status == "sent"
    assert len(smtp_sink.messages) == 1


def test_two_workers_send_each_message_once(context: AppContext, smtp_sink: SmtpSink) -> None:
    subjects = {f"message {number}" for number in range(30)}
    for subject in sorted(subjects):
        queue(context, subject)
    workers = [OutboxWorker(context), OutboxWorker(context), OutboxWorker(context)]
    barrier = threading.Barrier(len(workers))

    def drain(worker: OutboxWorker) -> None:
        barrier.wait()
        for _ in range(10):
            run(worker)

    threads = [threading.Thread(target=drain, args=(worker,)) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    received = [message["Subject"] for message in smtp_sink.messages]
    assert sorted(received) == sorted(subjects)
    with context.database.read() as session:
        assert session.scalars(select(OutboxMessage.status).distinct()).all() == ["sent"]


def test_without_smtp_writes_eml_file(
    tmp_path: Path, context: AppContext, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hatchway")
    folder = tmp_path / "mail"
    message_id = queue(context, "Link", "Open https://example.test/?token=canary-link-token")

    run(OutboxWorker(context, sender=FileSender(folder)))

    [path] = folder.glob("*.eml")
    assert "canary-link-token" in path.read_text()
    assert path.stat().st_mode & 0o777 == 0o600
    stored = load(context, message_id)
    assert stored.status == "written"
    assert stored.sent_at is not None
    assert stored.last_reply == f"no SMTP server is configured; written to the file {path}"
    assert f"file={path}" in caplog.text
    assert "canary-link-token" not in caplog.text


LONG_LINK = "https://hatchway.example.test/contoso/AdminPage/EmergencyAccess?token=" + "k" * 60


def test_eml_file_keeps_long_link_on_one_line(tmp_path: Path, context: AppContext) -> None:
    queue(context, "Link", f"Open this link:\n\n{LONG_LINK}\n")

    run(OutboxWorker(context, sender=FileSender(tmp_path / "mail")))

    [path] = (tmp_path / "mail").glob("*.eml")
    raw = path.read_bytes()
    assert b"Content-Transfer-Encoding: 7bit" in raw
    assert f"\n{LONG_LINK}\n".encode() in raw


def test_non_ascii_mail_is_8bit_with_link_whole(tmp_path: Path, context: AppContext) -> None:
    queue(context, "Link", f"Hallo Jürgen,\n{LONG_LINK}\n")

    run(OutboxWorker(context, sender=FileSender(tmp_path / "mail")))

    [path] = (tmp_path / "mail").glob("*.eml")
    raw = path.read_bytes()
    assert b"Content-Transfer-Encoding: 8bit" in raw
    assert "Hallo Jürgen,".encode() in raw
    assert f"\n{LONG_LINK}\n".encode() in raw


def test_overlong_line_gets_encoded(tmp_path: Path, context: AppContext) -> None:
    queue(context, "Long", "x" * 1200)

    run(OutboxWorker(context, sender=FileSender(tmp_path / "mail")))

    [path] = (tmp_path / "mail").glob("*.eml")
    raw = path.read_bytes()
    assert b"Content-Transfer-Encoding: 7bit" not in raw
    assert max(len(line) for line in raw.splitlines()) <= 998


def test_smtp_mail_keeps_long_link_on_one_line(context: AppContext, smtp_sink: SmtpSink) -> None:
    queue(context, "Link", f"Open this link:\n\n{LONG_LINK}\n")

    run(OutboxWorker(context))

    received = smtp_sink.wait_for_message()
    assert received["Content-Transfer-Encoding"] == "7bit"
    assert LONG_LINK in str(received.get_payload()).splitlines()


def test_sender_follows_settings(context: AppContext) -> None:
    with_smtp = OutboxWorker(context).sender
    without = OutboxWorker(replace_settings(context, smtp_url=None)).sender

    assert isinstance(with_smtp, SmtpSender)
    assert isinstance(without, FileSender)
    assert without.folder == context.settings.data_dir / "mail"


def replace_settings(context: AppContext, **changes: object) -> AppContext:
    copy = AppContext(
        settings=replace(context.settings, **changes),  # type: ignore[arg-type]
        database=context.database,
        keyring=context.keyring,
        outbound_policy=context.outbound_policy,
    )
    copy.http_client.close()
    return copy


def test_temporary_password_mail_is_sent(
    api: TestClient, context: AppContext, smtp_sink: SmtpSink
) -> None:
    response = api.post(
        "/Environment/?version=2.0",
        json={
            "EnvironmentName": "contoso",
            "EmailAddress": "admin@contoso.test",
            "FirstName": "Ada",
            "LastName": "Admin",
        },
    )

    run(OutboxWorker(context))

    assert response.status_code == 200
    message = smtp_sink.wait_for_message()
    assert message["Subject"] == "Your administrator account for 'contoso'"
    assert "Temporary password: " in message.get_content()
    with context.database.read() as session:
        stored = session.scalars(select(OutboxMessage)).one()
    assert (stored.status, stored.body_sealed) == ("sent", None)
