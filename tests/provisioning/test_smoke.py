from __future__ import annotations

from starlette.testclient import TestClient


def test_create_environment_returns_sanitized_name(api: TestClient) -> None:
    response = api.post(
        "/Environment/",
        json={
            "EnvironmentName": "Contoso Ltd",
            "EmailAddress": "admin@contoso.test",
            "FirstName": "Ada",
            "LastName": "Admin",
            "Password": "correct-horse-battery",
        },
    )
    assert response.status_code == 200
    assert response.json() == "contosoltd"
