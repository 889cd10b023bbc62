"""SSO Key expiry notices: 30, 7 and 1 days before, once each, queued by the worker."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from hatchway.context import AppContext
from hatchway.db.models import AuditRecord, OutboxMessage
from hatchway.mail.worker import FileSender, OutboxWorker
from hatchway.sso.key_expiry import due_notice
from tests.support.accounts import ADMIN_EMAIL, add_user, create_environment
from tests.support.aio import run_async

EXPIRES_ON = date(2027, 3, 31)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2027, 1, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def days_before_expiry(self, days: int) -> None:
        self.now = datetime.combine(EXPIRES_ON - timedelta(days=days), datetime.min.time(), UTC)
        self.now += timedelta(hours=9)


@pytest.fixture
def clock(context: AppContext) -> Iterator[Clock]:
    fake = Clock()
    context.clock = fake
    yield fake


def set_key(api: TestClient, key: str = "secret-value-1", expires_on: date = EXPIRES_ON) -> None:
    response = api.put(
        "/contoso/SingleSignOnSettings/OAuth2?verify=false",
        json={
            "Authority": "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0",
            "ClientId": "00000000-0000-0000-0000-000000000001",
            "Key": key,
            "KeyExpiresOn": expires_on.isoformat(),
        },
    )
    assert response.status_code == 200, response.text


def notices(context: AppContext) -> list[tuple[str, str]]:
    with context.database.read() as session:
        return [
            (message.recipient, message.subject)
            for message in session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.purpose == "key-expiry-notice")
                .order_by(OutboxMessage.id)
            )
        ]


def queue_on(context: AppContext, clock: Clock, days_before: int) -> int:
    clock.days_before_expiry(days_before)
    return OutboxWorker(context).queue_notices()


@pytest.mark.parametrize(
    ("days_left", "notice"),
    [(45, None), (31, None), (30, 30), (8, 30), (7, 7), (2, 7), (1, 1), (0, 1), (-1, None)],
)
def test_due_notice_for_days_left(days_left: int, notice: int | None) -> None:
    assert due_notice(days_left) == notice


def test_notices_at_thirty_seven_one_days(
    api: TestClient, context: AppContext, clock: Clock
) -> None:
    create_environment(api)
    set_key(api)

    queued = [queue_on(context, clock, days) for days in range(40, -3, -1)]

    sent_days = [40 - index for index, count in enumerate(queued) if count]
    assert sent_days == [30, 7, 1]


def test_each_notice_goes_out_once(api: TestClient, context: AppContext, clock: Clock) -> None:
    create_environment(api)
    set_key(api)

    first = queue_on(context, clock, 30)
    again = queue_on(context, clock, 30)

    assert (first, again) == (1, 0)
    assert len(notices(context)) == 1


def test_every_active_administrator_gets_notice(
    api: TestClient, context: AppContext, clock: Clock
) -> None:
    create_environment(api)
    add_user(api, "contoso", "second@contoso.test", is_administrator=True)
    add_user(api, "contoso", "user@contoso.test", is_administrator=False)
    inactive = add_user(api, "contoso", "gone@contoso.test", is_administrator=True)
    api.put(f"/contoso/User/{inactive}", json={"IsActive": False})
    set_key(api)

    queue_on(context, clock, 7)

    assert [recipient for recipient, _ in notices(context)] == [
        ADMIN_EMAIL,
        "second@contoso.test",
    ]


def test_notice_names_date_and_fix(api: TestClient, context: AppContext, clock: Clock) -> None:
    create_environment(api)
    set_key(api)
    queue_on(context, clock, 1)

    with context.database.read() as session:
        message = session.scalars(select(OutboxMessage)).one()
    body = context.keyring.unseal(message.body_sealed or "")
    assert message.subject == "The single sign-on Key of 'contoso' expires on 2027-03-31"
    assert "expires on 2027-03-31, tomorrow" in body
    assert "http://127.0.0.1/contoso/AdminPage/SingleSignOn" in body
    assert "secret-value-1" not in body


def test_late_key_gets_only_notices_ahead(
    api: TestClient, context: AppContext, clock: Clock
) -> None:
    create_environment(api)
    clock.days_before_expiry(5)
    set_key(api)

    queued = [queue_on(context, clock, days) for days in (5, 4, 3, 2, 1, 0)]

    assert queued == [1, 0, 0, 0, 1, 0]


def test_new_key_gets_its_own_notices(api: TestClient, context: AppContext, clock: Clock) -> None:
    create_environment(api)
    set_key(api, "secret-value-1")
    queue_on(context, clock, 7)
    set_key(api, "secret-value-2")

    assert queue_on(context, clock, 7) == 1


def test_no_notice_without_expiry_date(api: TestClient, context: AppContext, clock: Clock) -> None:
    create_environment(api)
    api.put(
        "/contoso/SingleSignOnSettings/OAuth2?verify=false",
        json={
            "Authority": "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0",
            "ClientId": "00000000-0000-0000-0000-000000000001",
            "Key": "secret-value-1",
        },
    )

    assert queue_on(context, clock, 1) == 0


def test_no_notice_for_deactivated_environment(
    api: TestClient, context: AppContext, clock: Clock
) -> None:
    create_environment(api)
    set_key(api)
    api.put("/Environment/contoso/Deactivate")

    assert queue_on(context, clock, 7) == 0


def test_notice_is_audited(api: TestClient, context: AppContext, clock: Clock) -> None:
    create_environment(api)
    set_key(api)
    queue_on(context, clock, 30)

    with context.database.read() as session:
        record = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "sso.key_expiry_notice")
        ).one()
    assert record.detail == (
        "30-day notice for the Key expiring on 2027-03-31, mailed to 1 administrator(s)"
    )


def test_running_worker_queues_and_sends_notice(
    api: TestClient, context: AppContext, clock: Clock, tmp_path: Path
) -> None:
    create_environment(api)
    set_key(api)
    clock.days_before_expiry(7)
    worker = OutboxWorker(context, sender=FileSender(tmp_path / "mail"))

    async def run_briefly() -> None:
        worker.start()
        await asyncio.sleep(0.5)
        await worker.stop()

    run_async(run_briefly())

    [path] = (tmp_path / "mail").glob("*.eml")
    assert "expires on 2027-03-31, in 7 days" in path.read_text()
