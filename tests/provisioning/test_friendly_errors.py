"""Mistakes administrators make with the Provisioning API, and the answers that explain them."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.support.hatchway import PROVISIONING_KEY

ADMIN = {
    "EnvironmentName": "Northwind Traders",
    "EmailAddress": "nina@northwind.test",
    "FirstName": "Nina",
    "LastName": "Admin",
    "Password": "a-long-local-password",
}


@pytest.fixture
def environment(api: TestClient) -> str:
    response = api.post("/Environment/", json=ADMIN)
    assert response.status_code == 200, response.text
    return str(response.json())


def errors_of(response: object) -> list[str]:
    body = response.json()  # type: ignore[attr-defined]
    return [item["ErrorMessage"] for item in body]


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("password", "one of the most common passwords"),
        ("12345678", "simple sequence"),
        ("aaaaaaaa", "repeated character"),
        ("nina@northwind.test", "the e-mail address"),
        ("short", "use at least 8"),
    ],
)
def test_weak_password_is_refused(api: TestClient, password: str, reason: str) -> None:
    response = api.post("/Environment/Validate/", json={**ADMIN, "Password": password})

    assert response.status_code == 400
    assert response.json()[0]["MemberNames"] == ["Password"]
    assert reason in response.json()[0]["ErrorMessage"]


def test_original_name_points_to_the_sanitized_one(api: TestClient, environment: str) -> None:
    response = api.get("/Northwind Traders/User/")

    assert response.status_code == 404
    assert "use 'northwindtraders'" in response.json()["Message"]


def test_lower_case_provisioning_key_is_accepted(client: TestClient, environment: str) -> None:
    response = client.get(
        "/Provisioning/Environment/", headers={"ProvisioningKey": PROVISIONING_KEY.lower()}
    )

    assert response.status_code == 200


def test_key_in_authorization_header_gets_a_hint(client: TestClient) -> None:
    response = client.get(
        "/Provisioning/Environment/", headers={"Authorization": f"Bearer {PROVISIONING_KEY}"}
    )

    assert response.status_code == 403
    assert "not in Authorization" in response.json()["Message"]
    assert PROVISIONING_KEY not in response.text


def test_pasted_quotes_around_the_key_are_named(client: TestClient) -> None:
    quoted = f"\u201c{PROVISIONING_KEY}\u201d".encode()

    response = client.get("/Provisioning/Environment/", headers={b"ProvisioningKey": quoted})

    assert response.status_code == 403
    assert "outside printable ASCII" in response.json()["Message"]


def test_put_on_settings_without_oauth2_points_to_it(api: TestClient, environment: str) -> None:
    response = api.put(f"/{environment}/SingleSignOnSettings", json={})

    assert response.status_code == 405
    assert "'.../SingleSignOnSettings/OAuth2'" in response.json()["Message"]


def test_invalid_json_names_the_position(api: TestClient) -> None:
    response = api.post(
        "/Environment/",
        content=b'{"EnvironmentName": "a\nb"}',
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert "at character 23" in errors_of(response)[0]


def test_snake_case_property_names_match(api: TestClient) -> None:
    response = api.post(
        "/Environment/Validate/",
        json={
            "environment_name": "tailspin",
            "email_address": "tom@tailspin.test",
            "password": "a-long-local-password",
        },
    )

    assert response.status_code == 200
    assert response.json() == []


def test_client_secret_property_is_refused_naming_key(api: TestClient, environment: str) -> None:
    response = api.put(
        f"/{environment}/SingleSignOnSettings/OAuth2?verify=false",
        json={"Authority": "http://127.0.0.1:9", "ClientId": "portal", "ClientSecret": "s3cret"},
    )

    assert response.status_code == 400
    assert response.json()[0]["MemberNames"] == ["Key"]
    assert "'ClientSecret' is not part of this call" in response.json()[0]["ErrorMessage"]
    assert "s3cret" not in response.text


def test_other_unknown_property_is_pointed_out(api: TestClient, environment: str) -> None:
    response = api.put(
        f"/{environment}/SingleSignOnSettings/OAuth2?verify=false",
        json={"Authority": "http://127.0.0.1:9", "ClientId": "portal", "Key": "k", "Colour": 1},
    )

    assert response.status_code == 200
    notices = [item["ErrorMessage"] for item in response.json()["Notices"]]
    assert "Property 'Colour' is not part of this call and was ignored." in notices
