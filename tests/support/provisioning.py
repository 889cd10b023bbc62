"""Small steps through the Provisioning API that many tests start with."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.testclient import TestClient

ADMIN_EMAIL = "ada@contoso.test"
ADMIN_PASSWORD = "correct-horse-battery-staple"

Client = TestClient | httpx.Client


def create_environment(api: Client, name: str = "contoso") -> str:
    """Create an environment with the administrator ADMIN_EMAIL; return its name."""
    response = api.post(
        "/Environment/",
        json={
            "EnvironmentName": name,
            "EmailAddress": ADMIN_EMAIL,
            "FirstName": "Ada",
            "LastName": "Admin",
            "Password": ADMIN_PASSWORD,
        },
    )
    assert response.status_code == 200, response.text
    created: str = response.json()
    return created


def error_messages(response: httpx.Response) -> list[str]:
    """Return the ErrorMessage of every validation result of a 400 response."""
    assert response.status_code == 400, response.text
    return [item["ErrorMessage"] for item in response.json()]


def check(report: dict[str, Any], name: str) -> dict[str, Any]:
    """Return the named check of a verification report."""
    matches = [item for item in report["Checks"] if item["Name"] == name]
    assert len(matches) == 1, report
    return matches[0]
