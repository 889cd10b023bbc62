"""GET /Provisioning/{env}/AuditLog: every change recorded, paged, filtered and secret-free."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from tests.support.ports import free_port
from tests.support.provisioning import create_environment, error_messages

AUDIT = "/contoso/AuditLog"
KEY_CANARY = "canary-Key-3e8a51f0"
PASSWORD_CANARY = "canary-password-9d27c4"


@pytest.fixture
def environment(api: TestClient) -> str:
    return create_environment(api)


def put_sso(api: TestClient, key: str = KEY_CANARY) -> None:
    # Nothing listens on the port: verification fails fast, and is skipped.
    body = {"Authority": f"http://127.0.0.1:{free_port()}", "ClientId": "portal", "Key": key}
    response = api.put(
        "/contoso/SingleSignOnSettings/OAuth2", json=body, params={"verify": "false"}
    )
    assert response.status_code == 200, response.text


def records(api: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = api.get(AUDIT, params=params)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["Records"]
    return found


def actions(api: TestClient) -> list[str]:
    return [record["Action"] for record in records(api, limit=500)]


def test_record_shape(api: TestClient, environment: str) -> None:
    record = records(api)[-1]

    assert set(record) == {
        "Id",
        "OccurredOn",
        "ActorType",
        "Actor",
        "ClientAddress",
        "Action",
        "Target",
        "Outcome",
        "Before",
        "After",
        "Detail",
    }
    assert record["Action"] == "environment.create"
    assert record["ActorType"] == "ProvisioningKey"
    assert record["Actor"] == "provisioning-key-1"
    assert record["ClientAddress"] == "testclient"
    assert record["Target"] == "contoso"
    assert record["Outcome"] == "success"


def test_newest_first(api: TestClient, environment: str) -> None:
    found = records(api)

    assert [record["Action"] for record in found] == ["user.create", "environment.create"]
    assert found[0]["Id"] > found[1]["Id"]


def test_every_change_recorded(api: TestClient, environment: str) -> None:
    user = {"EmailAddress": "bo@contoso.test", "FirstName": "Bo", "LastName": "User"}
    user_id = api.post("/contoso/User/", json={**user, "Password": PASSWORD_CANARY}).json()
    api.put(f"/contoso/User/{user_id}/", json={"FirstName": "Bob"})
    api.delete(f"/contoso/User/{user_id}/")
    api.put("/Environment/contoso/Deactivate/")
    api.put("/Environment/contoso/Activate/")
    put_sso(api)
    put_sso(api, key="second-key-value")
    api.delete("/contoso/SingleSignOnSettings/OAuth2")
    api.post("/contoso/SingleSignOnSettings/History/1/Restore")

    assert actions(api) == [
        "sso.restore",
        "sso.disable",
        "sso.update",
        "sso.update",
        "environment.activate",
        "environment.deactivate",
        "user.delete",
        "user.update",
        "user.create",
        "user.create",
        "environment.create",
    ]


def test_skipped_verification_recorded(api: TestClient, environment: str) -> None:
    put_sso(api)

    [record] = records(api, action="sso.update")

    assert record["Detail"] == ("saved with SkipVerification although checks failed: Discovery")
    assert record["Before"]["Mode"] == "None"
    assert record["After"]["Mode"] == "OAuth2"


def test_records_are_secret_free(api: TestClient, environment: str) -> None:
    user = {"EmailAddress": "bo@contoso.test", "FirstName": "Bo", "LastName": "User"}
    api.post("/contoso/User/", json={**user, "Password": PASSWORD_CANARY})
    put_sso(api)

    response = api.get(AUDIT)

    assert KEY_CANARY not in response.text
    assert PASSWORD_CANARY not in response.text
    update = records(api, action="sso.update")[0]
    assert len(update["After"]["KeyFingerprint"]) == 16
    assert "Key" not in update["After"]


def test_paging(api: TestClient, environment: str) -> None:
    put_sso(api)
    put_sso(api, key="second-key-value")

    first = api.get(AUDIT, params={"limit": 3}).json()
    second = api.get(AUDIT, params={"limit": 3, "before": first["NextBefore"]}).json()

    assert [r["Action"] for r in first["Records"]] == ["sso.update", "sso.update", "user.create"]
    assert first["NextBefore"] == first["Records"][-1]["Id"]
    assert [r["Action"] for r in second["Records"]] == ["environment.create"]
    assert second["NextBefore"] is None


def test_exact_page_has_no_next(api: TestClient, environment: str) -> None:
    page = api.get(AUDIT, params={"limit": 2}).json()

    assert len(page["Records"]) == 2
    assert page["NextBefore"] is None


def test_filter_by_action(api: TestClient, environment: str) -> None:
    assert [record["Target"] for record in records(api, action="user.create")] == [
        "ada@contoso.test"
    ]


def test_filter_by_actor(api: TestClient, environment: str) -> None:
    assert len(records(api, actor="provisioning-key-1")) == 2
    assert records(api, actor="someone-else") == []


def test_only_this_environment(api: TestClient, environment: str) -> None:
    create_environment(api, "fabrikam")

    assert {record["Target"] for record in records(api)} == {"contoso", "ada@contoso.test"}


@pytest.mark.parametrize("limit", ["0", "501", "many"])
def test_limit_out_of_range(api: TestClient, environment: str, limit: str) -> None:
    response = api.get(AUDIT, params={"limit": limit})

    assert response.json()[0]["MemberNames"] == ["limit"]
    assert "Parameter 'limit' is not valid" in error_messages(response)[0]


def test_unknown_environment(api: TestClient) -> None:
    response = api.get("/nowhere/AuditLog")

    assert response.status_code == 404
    assert response.json()["Error"] == "EnvironmentNotFound"


def test_requires_provisioning_key(app: FastAPI, environment: str) -> None:
    with TestClient(app, base_url="http://127.0.0.1/Provisioning") as anonymous:
        assert anonymous.get(AUDIT).status_code == 403
