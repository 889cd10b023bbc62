"""Recognizable secrets, used through the API and the sign-in form, never appear in clear.

The test sends a canary Key, Provisioning Key and password through the calls that handle them,
on success and on error paths. Every logger runs at DEBUG, and SQL statements are logged with
their parameters. Then the responses, log records, audit records and every column of every
table are searched for the canaries.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from hatchway.config import Settings
from hatchway.context import AppContext
from hatchway.db.models import AuditRecord, Base
from tests.support.api import api_client, sign_in_locally
from tests.support.hatchway import prepare_context

PROVISIONING_KEY = "CANARY-PKEY-7F3A-4E21-9B0C-5D6E7F8A9B0C"
WRONG_PROVISIONING_KEY = "CANARY-WRONG-PKEY-1234"
KEY = "CANARY-KEY~Zx8Q.Secret-Value_0123456789"
SECOND_KEY = "CANARY-KEY-TWO~Abc.987654321"
PASSWORD = "CANARY-PASSWORD-correct-horse"
CANARIES = (PROVISIONING_KEY, WRONG_PROVISIONING_KEY, KEY, SECOND_KEY, PASSWORD)


class Recorder:
    """Every response of the test, kept for the search at its end."""

    def __init__(self) -> None:
        self.responses: list[httpx.Response] = []

    def __call__(self, response: httpx.Response) -> httpx.Response:
        self.responses.append(response)
        return response

    def texts(self) -> Iterator[str]:
        for response in self.responses:
            yield response.text
            yield json.dumps(dict(response.headers))


@pytest.fixture
def canary_context(settings: Settings) -> Iterator[AppContext]:
    context = prepare_context(replace(settings, provisioning_key=PROVISIONING_KEY))
    try:
        yield context
    finally:
        context.close()


def _exercise(context: AppContext, record: Recorder) -> None:
    sso = "/contoso/SingleSignOnSettings/OAuth2?verify=false"
    with api_client(context, headers={"ProvisioningKey": PROVISIONING_KEY}) as api:
        record(
            api.post(
                "/Environment/",
                json={
                    "EnvironmentName": "contoso",
                    "EmailAddress": "admin@contoso.test",
                    "Password": PASSWORD,
                },
            )
        )
        record(api.post("/contoso/User/", json={"EmailAddress": "u@contoso.test", "Password": "s"}))
        record(api.put(sso, json={"Authority": "https://idp.contoso.test", "clientId": "app"}))
        record(
            api.put(
                sso,
                json={
                    "Authority": "https://idp.contoso.test",
                    "ClientId": "app",
                    "Key": f"  {KEY}\n",
                },
            )
        )
        record(api.put(sso, json={"Key": f"{KEY}\u201c"}))
        record(api.put(sso, json={"Key": KEY * 20}))
        record(api.put(sso, json={"Key": KEY, "key": KEY}))
        record(
            api.put(
                sso,
                content=f'{{"Key": "{KEY}", '.encode(),
                headers={"Content-Type": "application/json"},
            )
        )
        record(api.put(sso, json={"Key": SECOND_KEY}, headers={"If-Match": '"1"'}))
        record(api.put(sso, json={"Key": SECOND_KEY}))
        record(api.get("/contoso/SingleSignOnSettings"))
        record(api.get("/contoso/User/"))
        record(api.put("/contoso/User/1", json={"Password": PASSWORD + "x"}))
        record(api.get("/Environment/", headers={"ProvisioningKey": WRONG_PROVISIONING_KEY}))
        record(api.get("/Environment/", headers={"ProvisioningKey": f"{PROVISIONING_KEY}x"}))
        record(api.delete(sso))

    with TestClient(api.app, base_url="http://127.0.0.1", follow_redirects=False) as pages:
        record(sign_in_locally(pages, "contoso", "admin@contoso.test", PASSWORD))
        record(sign_in_locally(pages, "contoso", "admin@contoso.test", PASSWORD + "x"))
        record(pages.get("/contoso/"))


def _database_values(context: AppContext) -> Iterator[str]:
    with context.database.read() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)):
                for value in row:
                    yield json.dumps(value, default=str)


def _found(haystacks: Iterator[str]) -> set[str]:
    found: set[str] = set()
    for haystack in haystacks:
        found.update(canary for canary in CANARIES if canary in haystack)
        found.update(canary for canary in CANARIES if canary.lower() in haystack.lower())
    return found


def test_secrets_never_appear_in_clear(
    canary_context: AppContext, caplog: pytest.LogCaptureFixture
) -> None:
    # Each call also sets the capture handler's level, so the lowest level comes last.
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    caplog.set_level(logging.DEBUG)
    record = Recorder()

    _exercise(canary_context, record)

    statuses = [response.status_code for response in record.responses]
    assert statuses == [
        *(200, 400, 400, 200, 400, 400, 400, 400, 200, 200, 200, 200, 200, 403, 403, 200),
        *(401, 303, 200),
    ]
    logs = [f"{entry.getMessage()} {entry.exc_text or ''}" for entry in caplog.records]
    assert any("sqlalchemy.engine" in entry.name for entry in caplog.records)
    assert any(entry.name == "hatchway.provisioning.auth" for entry in caplog.records)
    with canary_context.database.read() as session:
        audit = [
            json.dumps([entry.target, entry.before, entry.after, entry.detail, entry.actor])
            for entry in session.scalars(select(AuditRecord))
        ]
    assert len(audit) >= 5

    found = {
        "responses": _found(record.texts()),
        "log records": _found(iter(logs)),
        "audit records": _found(iter(audit)),
        "database columns": _found(_database_values(canary_context)),
    }

    assert found == {place: set() for place in found}
