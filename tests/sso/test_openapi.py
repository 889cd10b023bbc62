"""The OpenAPI description documents the verification, history and audit calls."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient


@pytest.fixture
def document(api: TestClient) -> dict[str, Any]:
    response = api.get("/openapi.json")
    assert response.status_code == 200
    paths: dict[str, Any] = response.json()["paths"]
    return paths


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/{EnvironmentName}/SingleSignOnSettings/OAuth2/Verify", "post"),
        ("/{EnvironmentName}/SingleSignOnSettings/History", "get"),
        ("/{EnvironmentName}/SingleSignOnSettings/History/{Version}/Restore", "post"),
        ("/{EnvironmentName}/AuditLog", "get"),
    ],
)
def test_new_calls_described(document: dict[str, Any], path: str, method: str) -> None:
    operation = document[path][method]

    assert operation["summary"]
    assert operation["description"]


def test_put_documents_verify_switch(document: dict[str, Any]) -> None:
    operation = document["/{EnvironmentName}/SingleSignOnSettings/OAuth2"]["put"]

    assert "verify" in [parameter["name"] for parameter in operation["parameters"]]
    assert "?verify=false" in operation["description"]
    assert "412" in operation["responses"]


def test_restore_documents_precondition(document: dict[str, Any]) -> None:
    operation = document["/{EnvironmentName}/SingleSignOnSettings/History/{Version}/Restore"]

    assert "412" in operation["post"]["responses"]


def test_restore_documents_its_verification(document: dict[str, Any]) -> None:
    operation = document["/{EnvironmentName}/SingleSignOnSettings/History/{Version}/Restore"]

    assert "Nothing is verified" not in operation["post"]["description"]
    assert "verified first with the checks of a PUT" in operation["post"]["description"]
