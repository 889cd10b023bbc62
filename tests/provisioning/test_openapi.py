"""The OpenAPI description at /Provisioning/openapi.json."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

ROUTES = {
    ("get", "/Environment"),
    ("post", "/Environment"),
    ("post", "/Environment/Validate"),
    ("get", "/Environment/{EnvironmentName}"),
    ("post", "/Environment/{EnvironmentName}"),
    ("delete", "/Environment/{EnvironmentName}"),
    ("put", "/Environment/{EnvironmentName}/Activate"),
    ("put", "/Environment/{EnvironmentName}/Deactivate"),
    ("get", "/{EnvironmentName}/User"),
    ("post", "/{EnvironmentName}/User"),
    ("put", "/{EnvironmentName}/User"),
    ("delete", "/{EnvironmentName}/User"),
    ("post", "/{EnvironmentName}/User/Validate"),
    ("get", "/{EnvironmentName}/User/{Id}"),
    ("put", "/{EnvironmentName}/User/{Id}"),
    ("delete", "/{EnvironmentName}/User/{Id}"),
    ("get", "/{EnvironmentName}/SingleSignOnSettings"),
    ("put", "/{EnvironmentName}/SingleSignOnSettings/OAuth2"),
    ("delete", "/{EnvironmentName}/SingleSignOnSettings/OAuth2"),
}


@pytest.fixture
def document(api: TestClient) -> dict[str, Any]:
    response = api.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }


def test_lists_every_route(document: dict[str, Any]) -> None:
    assert ROUTES <= set(_operations(document))


def test_every_operation_documents_400_array(document: dict[str, Any]) -> None:
    for key, operation in _operations(document).items():
        schema = operation["responses"]["400"]["content"]["application/json"]["schema"]
        assert schema["type"] == "array", key
        assert schema["items"] == {"$ref": "#/components/schemas/ValidationResultBody"}, key


def test_validation_result_schema(document: dict[str, Any]) -> None:
    schema = document["components"]["schemas"]["ValidationResultBody"]

    assert set(schema["properties"]) == {"MemberNames", "ErrorMessage"}
    assert schema["properties"]["MemberNames"]["type"] == "array"
    assert set(schema["required"]) == {"MemberNames", "ErrorMessage"}


def test_documents_problem_statuses(document: dict[str, Any]) -> None:
    for key, operation in _operations(document).items():
        assert {"403", "404", "413", "429"} <= set(operation["responses"]), key


def test_has_no_422(document: dict[str, Any]) -> None:
    text = json.dumps(document)

    assert '"422"' not in text
    assert "HTTPValidationError" not in text


def test_declares_provisioning_key_header(document: dict[str, Any]) -> None:
    scheme = document["components"]["securitySchemes"]["ProvisioningKey"]

    assert scheme == {"type": "apiKey", "in": "header", "name": "ProvisioningKey"}
    assert document["security"] == [{"ProvisioningKey": []}]


def test_server_url_is_mount_point(document: dict[str, Any]) -> None:
    assert document["servers"] == [{"url": "/Provisioning"}]


def test_key_is_write_only(document: dict[str, Any]) -> None:
    key = document["components"]["schemas"]["OAuth2Body"]["properties"]["Key"]

    assert key["writeOnly"] is True
    assert "Key" not in document["components"]["schemas"]["SsoSettingsOut"]["properties"]


@pytest.mark.parametrize("path", ["/openapi.json", "/OpenAPI.json/", "/OPENAPI.JSON"])
def test_served_at_any_case(api: TestClient, path: str) -> None:
    response = api.get(path)

    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Hatchway Provisioning API"
