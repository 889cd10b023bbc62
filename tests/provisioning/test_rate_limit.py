"""Failed Provisioning Key attempts are limited per client address, across workers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from hatchway.app import create_app
from hatchway.config import Settings
from hatchway.security.ratelimit import PROVISIONING_KEY_FAILURES
from tests.support.hatchway import PROVISIONING_KEY, prepare_context

ATTACKER = ("203.0.113.7", 50000)
PARTNER = ("198.51.100.9", 50000)
WRONG_KEY = "00000000-0000-0000-0000-00000000BAD0"


def client_from(app: FastAPI, address: tuple[str, int], key: str | None) -> TestClient:
    headers = {"ProvisioningKey": key} if key is not None else {}
    return TestClient(
        app, base_url="http://127.0.0.1/Provisioning", client=address, headers=headers
    )


@pytest.fixture
def attacker(app: FastAPI) -> Iterator[TestClient]:
    with client_from(app, ATTACKER, WRONG_KEY) as client:
        yield client


def exhaust(client: TestClient) -> None:
    for _ in range(PROVISIONING_KEY_FAILURES.limit):
        assert client.get("/Environment/").status_code == 403


def test_wrong_keys_get_429(attacker: TestClient) -> None:
    exhaust(attacker)

    response = attacker.get("/Environment/")

    assert response.status_code == 429
    assert response.json()["Error"] == "TooManyRequests"
    assert "Try again in " in response.json()["Message"]


def test_429_carries_retry_after(attacker: TestClient) -> None:
    exhaust(attacker)

    retry_after = int(attacker.get("/Environment/").headers["Retry-After"])

    assert 0 < retry_after <= PROVISIONING_KEY_FAILURES.window_seconds


def test_missing_key_counts_too(app: FastAPI) -> None:
    with client_from(app, ATTACKER, None) as client:
        exhaust(client)

        assert client.get("/Environment/").status_code == 429


def test_right_key_from_other_address_unaffected(app: FastAPI, attacker: TestClient) -> None:
    exhaust(attacker)

    with client_from(app, PARTNER, PROVISIONING_KEY) as partner:
        assert partner.get("/Environment/").status_code == 200


def test_right_key_from_limited_address_waits(app: FastAPI, attacker: TestClient) -> None:
    exhaust(attacker)

    with client_from(app, ATTACKER, PROVISIONING_KEY) as same_address:
        assert same_address.get("/Environment/").status_code == 429


def test_limit_shared_by_workers(settings: Settings, attacker: TestClient) -> None:
    exhaust(attacker)
    other_context = prepare_context(settings)
    try:
        with client_from(create_app(settings, context=other_context), ATTACKER, WRONG_KEY) as other:
            assert other.get("/Environment/").status_code == 429
    finally:
        other_context.close()


def test_wrong_key_message_hides_key(attacker: TestClient) -> None:
    response = attacker.get("/Environment/")

    assert response.status_code == 403
    assert response.json()["Error"] == "ProvisioningKeyInvalid"
    assert WRONG_KEY not in response.text
