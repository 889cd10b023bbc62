"""Many PUTs with the same If-Match at once: one wins, every other gets 412, nothing is lost."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select

from hatchway.db.models import AuditRecord, SsoSettings, SsoVersion
from tests.support.hatchway import PROVISIONING_KEY, LiveServer

# On SQLite the writers queue for the file lock; on PostgreSQL for the settings row's lock.
CONCURRENT_PUTS = 200


@pytest.fixture
def environment(live_server: LiveServer) -> str:
    with live_server.api() as api:
        created = api.post(
            "/Environment/",
            json={
                "EnvironmentName": "contoso",
                "EmailAddress": "ada@contoso.test",
                "FirstName": "Ada",
                "LastName": "Admin",
                "Password": "a-long-local-password",
            },
        )
        assert created.status_code == 200, created.text
        first = api.put(
            "/contoso/SingleSignOnSettings/OAuth2?verify=false",
            json={
                "Authority": "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0",
                "ClientId": "00000000-0000-0000-0000-000000000001",
                "Key": "first-key-value-0000000000000000000",
            },
        )
        assert first.status_code == 200, first.text
        assert first.headers["etag"] == '"1"'
    return "contoso"


def put_with_if_match(client: httpx.Client, index: int, start: threading.Barrier) -> httpx.Response:
    start.wait()
    return client.put(
        "/contoso/SingleSignOnSettings/OAuth2?verify=false",
        headers={"If-Match": '"1"'},
        json={"ClientId": f"00000000-0000-0000-0000-{index:012d}", "Key": f"key-{index:030d}"},
    )


def test_same_if_match_lets_exactly_one_put_win(live_server: LiveServer, environment: str) -> None:
    start = threading.Barrier(CONCURRENT_PUTS)
    with (
        httpx.Client(
            base_url=live_server.provisioning(""),
            headers={"ProvisioningKey": PROVISIONING_KEY},
            limits=httpx.Limits(max_connections=CONCURRENT_PUTS),
            timeout=60,
        ) as client,
        ThreadPoolExecutor(CONCURRENT_PUTS) as pool,
    ):
        futures = [
            pool.submit(put_with_if_match, client, index, start) for index in range(CONCURRENT_PUTS)
        ]
        responses = [future.result() for future in futures]

    winners = [response for response in responses if response.status_code == 200]
    losers = [response for response in responses if response.status_code == 412]
    assert len(winners) == 1
    assert len(losers) == CONCURRENT_PUTS - 1
    assert {response.headers["etag"] for response in losers} == {'"2"'}
    assert {response.json()["Error"] for response in losers} == {"PreconditionFailed"}

    with live_server.context.database.read() as session:
        versions = session.scalar(select(func.count()).select_from(SsoVersion))
        updates = session.scalar(select(func.count()).where(AuditRecord.action == "sso.update"))
        settings = session.scalars(select(SsoSettings)).one()
    assert versions == 2
    assert updates == 2
    assert settings.version == 2
    assert settings.client_id == winners[0].json()["ClientId"]
