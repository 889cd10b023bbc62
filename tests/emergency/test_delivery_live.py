"""Delivery through the worker that starts with the server, seen through the Provisioning API."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hatchway.config import Settings
from tests.support.accounts import ADMIN_EMAIL, create_environment, link_in, token_of
from tests.support.hatchway import LiveServer
from tests.support.hatchway import test_settings as make_settings
from tests.support.ports import LOOPBACK, free_port
from tests.support.smtp import SmtpSink


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, smtp_port: int) -> Settings:
    """The worker polls every 0.1 s and retries after 0.3 s, 0.6 s, then every second."""
    return make_settings(
        tmp_path / "data",
        database_url,
        smtp_url=f"smtp://{LOOPBACK}:{smtp_port}",
        outbox_worker=True,
        outbox_poll_seconds=0.1,
        outbox_first_retry_seconds=0.3,
        outbox_max_retry_seconds=1.0,
    )


@pytest.fixture
def smtp_server() -> Iterator[SmtpSink]:
    """An SMTP server that the test starts on `smtp_port` when it wants it up."""
    sink = SmtpSink()
    try:
        yield sink
    finally:
        sink.stop()


def wait_for_entry(
    api: httpx.Client, condition: Callable[[dict[str, Any]], bool], timeout: float = 15
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        [entry] = api.get("/contoso/EmergencyAccess").json()
        if condition(entry):
            return entry
        if time.monotonic() > deadline:
            raise AssertionError(f"the request did not reach the expected state: {entry}")
        time.sleep(0.1)


def test_mail_arrives_after_smtp_outage(
    live_server: LiveServer, smtp_server: SmtpSink, smtp_port: int
) -> None:
    with live_server.api() as api:
        create_environment(api)
        api.post("/contoso/EmergencyAccess", json={"EmailAddress": ADMIN_EMAIL})
        during_outage = wait_for_entry(api, lambda entry: entry["Attempts"] >= 2)

        smtp_server.start(smtp_port)
        message = smtp_server.wait_for_message()
        after = wait_for_entry(api, lambda entry: entry["DeliveryStatus"] == "Sent")

    assert during_outage["DeliveryStatus"] == "Retrying"
    assert "SMTPConnectError" in during_outage["LastReply"]
    assert after["LastReply"] == "250 Message accepted for delivery"
    assert after["Attempts"] >= 3
    assert message["To"] == ADMIN_EMAIL
    assert token_of(link_in(message))


def test_refused_mail_is_retried_until_accepted(
    live_server: LiveServer, smtp_server: SmtpSink, smtp_port: int
) -> None:
    smtp_server.start(smtp_port)
    smtp_server.refuse_next(2, 452, "4.3.1 Insufficient system storage")
    with live_server.api() as api:
        create_environment(api)
        api.post("/contoso/EmergencyAccess", json={"EmailAddress": ADMIN_EMAIL})
        smtp_server.wait_for_message()
        entry = wait_for_entry(api, lambda entry: entry["DeliveryStatus"] == "Sent")

    assert entry["Attempts"] == 3
    assert smtp_server.rejected_count == 2


def test_rejected_mail_shows_failed_with_reply(
    live_server: LiveServer, smtp_server: SmtpSink, smtp_port: int
) -> None:
    smtp_server.start(smtp_port)
    smtp_server.reject_permanently(550, "5.7.1 Relay access denied")
    with live_server.api() as api:
        create_environment(api)
        api.post("/contoso/EmergencyAccess", json={"EmailAddress": ADMIN_EMAIL})
        entry = wait_for_entry(api, lambda entry: entry["DeliveryStatus"] == "Failed")

    assert entry["LastReply"] == "550 5.7.1 Relay access denied"
    assert entry["Attempts"] == 1
    assert entry["SentOn"] is None
