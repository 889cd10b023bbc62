"""Canary: one-time tokens never appear in logs, audit records or the database in clear."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from hatchway.config import Settings
from hatchway.context import AppContext
from hatchway.db.models import AuditRecord, Base
from hatchway.mail.worker import OutboxWorker
from tests.support.accounts import (
    ADMIN_EMAIL,
    add_user,
    create_environment,
    csrf_token,
    link_in,
    redeem,
    token_of,
)
from tests.support.aio import run_async
from tests.support.hatchway import test_settings as make_settings
from tests.support.smtp import SmtpSink

# Client-side loggers of the test's own HTTP client print full URLs; Hatchway's do not.
# The test's HTTP clients log the URLs they fetch, and its SMTP server (aiosmtpd, logger
# "mail.log") logs each line of the mail it receives, link included.
CLIENT_LOGGERS = ("httpx", "httpcore", "mail.log")


@pytest.fixture
def settings(tmp_path: Path, database_url: str, smtp_sink: SmtpSink) -> Settings:
    return make_settings(
        tmp_path / "data", database_url, smtp_url=f"smtp://127.0.0.1:{smtp_sink.port}"
    )


def all_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Return the records of the setup (where the links were used) and of the test itself."""
    return [*caplog.get_records("setup"), *caplog.records]


@pytest.fixture
def tokens(
    api: TestClient,
    client: TestClient,
    context: AppContext,
    smtp_sink: SmtpSink,
    caplog: pytest.LogCaptureFixture,
) -> list[str]:
    """Issue links by mail and in a response, redeem both, and deliver every mail."""
    caplog.set_level(logging.DEBUG)
    create_environment(api)
    add_user(api, "contoso", "second@contoso.test", is_administrator=True)
    form = client.get("/contoso/AdminPage/RequestEmergencyAdminAccess")
    client.post(
        "/contoso/AdminPage/RequestEmergencyAdminAccess",
        data={"email": ADMIN_EMAIL, "csrf_token": csrf_token(form.text)},
    )
    run_async(OutboxWorker(context).run_once())
    mailed = link_in(smtp_sink.wait_for_message())
    returned = api.post(
        "/contoso/EmergencyAccess", json={"EmailAddress": ADMIN_EMAIL, "Delivery": "Response"}
    ).json()["Url"]
    for url in (mailed, returned):
        assert redeem(client, url).status_code == 303
    run_async(OutboxWorker(context).run_once())
    return [token_of(mailed), token_of(returned)]


def test_tokens_never_logged(tokens: list[str], caplog: pytest.LogCaptureFixture) -> None:
    server_lines = [
        record.getMessage()
        for record in all_records(caplog)
        if not record.name.startswith(CLIENT_LOGGERS)
    ]

    assert any("emergency.redeemed" in line for line in server_lines)
    for token in tokens:
        assert not [line for line in server_lines if token in line]


def test_administrator_address_never_logged(
    tokens: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    server_lines = [
        record.getMessage() for record in all_records(caplog) if record.name.startswith("hatchway")
    ]

    assert any("emergency.requested" in line for line in server_lines)
    assert not [line for line in server_lines if ADMIN_EMAIL in line]


def test_tokens_never_in_audit_records(tokens: list[str], context: AppContext) -> None:
    with context.database.read() as session:
        records = session.scalars(select(AuditRecord)).all()
        text = "\n".join(f"{r.actor} {r.target} {r.before} {r.after} {r.detail}" for r in records)

    assert {"emergency.request", "emergency.delivery", "emergency.redeem"} <= {
        record.action for record in records
    }
    for token in tokens:
        assert token not in text


def test_tokens_never_stored_in_clear(tokens: list[str], context: AppContext) -> None:
    with context.database.read() as session:
        dump = "\n".join(
            repr(tuple(row))
            for table in Base.metadata.sorted_tables
            for row in session.execute(table.select())
        )

    assert "emergency_requests" in {table.name for table in Base.metadata.sorted_tables}
    for token in tokens:
        assert token not in dump
