"""ETag and If-Match on the SSO settings: a stale version changes nothing."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from tests.support.entra import CLIENT_ID, CLIENT_SECRET, TENANT_DOMAIN, FakeEntra
from tests.support.hatchway import PROVISIONING_KEY, LiveServer
from tests.support.ports import free_port
from tests.support.provisioning import create_environment

REDIRECT_URI = "http://127.0.0.1/contoso/OAuth2/HandleAuthorityResponse"
SETTINGS = "/contoso/SingleSignOnSettings"
BODY = {
    "Authority": f"https://login.microsoftonline.com/{TENANT_DOMAIN}/v2.0",
    "ClientId": CLIENT_ID,
    "Key": CLIENT_SECRET,
}
CONCURRENT_REQUESTS = 8


@pytest.fixture
def saved(api: TestClient, fake_entra: FakeEntra) -> None:
    """Settings at version 1."""
    fake_entra.register_app(redirect_uris=(REDIRECT_URI,))
    create_environment(api)
    assert api.put(f"{SETTINGS}/OAuth2", json=BODY).status_code == 200


def put(api: TestClient, if_match: str, **changes: Any) -> httpx.Response:
    return api.put(f"{SETTINGS}/OAuth2", json={**BODY, **changes}, headers={"If-Match": if_match})


def test_get_returns_version_as_etag(api: TestClient, saved: None) -> None:
    response = api.get(SETTINGS)

    assert response.headers["ETag"] == '"1"'
    assert response.json()["Version"] == 1


def test_put_with_stale_if_match(api: TestClient, saved: None, fake_entra: FakeEntra) -> None:
    requests_before = len(fake_entra.requests)

    response = put(api, '"0"', KeyExpiresOn="2030-01-01")

    assert response.status_code == 412
    assert response.json() == {
        "Error": "PreconditionFailed",
        "Message": 'If-Match "0" does not match the current version "1"; read the settings '
        "again and repeat the change if it still applies.",
    }
    assert response.headers["ETag"] == '"1"'
    assert api.get(SETTINGS).json()["KeyExpiresOn"] is None
    assert len(fake_entra.requests) == requests_before


def test_put_with_current_if_match(api: TestClient, saved: None) -> None:
    response = put(api, '"1"', KeyExpiresOn="2030-01-01")

    assert response.status_code == 200
    assert response.headers["ETag"] == '"2"'


@pytest.mark.parametrize("if_match", ['W/"1"', '"0", "1"', "*"])
def test_put_if_match_forms(api: TestClient, saved: None, if_match: str) -> None:
    assert put(api, if_match, KeyExpiresOn="2030-01-01").status_code == 200


def test_put_without_if_match(api: TestClient, saved: None) -> None:
    response = api.put(f"{SETTINGS}/OAuth2", json={**BODY, "KeyExpiresOn": "2030-01-01"})

    assert response.status_code == 200


def test_delete_with_stale_if_match(api: TestClient, saved: None) -> None:
    response = api.delete(f"{SETTINGS}/OAuth2", headers={"If-Match": '"0"'})

    assert response.status_code == 412
    assert api.get(SETTINGS).json()["Mode"] == "OAuth2"
    assert len(api.get(f"{SETTINGS}/History").json()) == 1


def test_delete_with_current_if_match(api: TestClient, saved: None) -> None:
    response = api.delete(f"{SETTINGS}/OAuth2", headers={"If-Match": '"1"'})

    assert response.status_code == 200
    assert response.json()["Mode"] == "None"


def test_concurrent_puts_one_wins(live_server: LiveServer) -> None:
    with live_server.api() as client:
        create_environment(client)
        # Nothing listens on this port, so verification fails fast and is skipped.
        authority = f"http://127.0.0.1:{free_port()}"
        body = {"Authority": authority, "ClientId": "portal", "Key": "first-key"}
        first = client.put(f"{SETTINGS}/OAuth2", json=body, params={"verify": "false"})
        assert first.status_code == 200
        etag = first.headers["ETag"]

    barrier = threading.Barrier(CONCURRENT_REQUESTS)
    statuses: list[int] = []

    def change(index: int) -> None:
        with httpx.Client(
            base_url=live_server.provisioning(""),
            headers={"ProvisioningKey": PROVISIONING_KEY, "If-Match": etag},
            timeout=30,
        ) as client:
            barrier.wait()
            response = client.put(
                f"{SETTINGS}/OAuth2",
                json={**body, "ClientId": f"portal-{index}"},
                params={"verify": "false"},
            )
            statuses.append(response.status_code)

    threads = [threading.Thread(target=change, args=(i,)) for i in range(CONCURRENT_REQUESTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200] + [412] * (CONCURRENT_REQUESTS - 1)
    with live_server.api() as client:
        assert client.get(SETTINGS).json()["Version"] == 2
        assert len(client.get(f"{SETTINGS}/History").json()) == 2
