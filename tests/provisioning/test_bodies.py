"""Request and response bodies: property names in any case, PascalCase out, the 400 array."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from starlette.routing import Mount
from starlette.testclient import TestClient

from hatchway.context import AppContext
from hatchway.provisioning.normalize import MAX_BODY_BYTES
from tests.support.api import (
    ADMINISTRATOR,
    api_client,
    assert_problem,
    assert_validation,
    create_environment,
)

SSO_PATH = "/contoso/SingleSignOnSettings/OAuth2?verify=false"
SSO_BODY = {"Authority": "https://idp.contoso.test", "Key": "value"}


@pytest.fixture
def environment(api: TestClient) -> str:
    return create_environment(api)


def _post_raw(api: TestClient, path: str, body: bytes, content_type: str | None) -> httpx.Response:
    headers = {"Content-Type": content_type} if content_type else {}
    return api.post(path, content=body, headers=headers)


# Property names


@pytest.mark.parametrize("name", ["ClientId", "clientId", "ClientID", "CLIENTID", "clientid"])
def test_property_names_match_in_any_case(api: TestClient, environment: str, name: str) -> None:
    response = api.put(SSO_PATH, json={**SSO_BODY, name: "app-id"})

    assert response.status_code == 200
    assert response.json()["ClientId"] == "app-id"


def test_create_body_matches_in_any_case(api: TestClient) -> None:
    response = api.post(
        "/Environment/",
        json={
            "environmentname": "Contoso",
            "EMAILADDRESS": "admin@contoso.test",
            "firstName": "Ada",
            "lastname": "Admin",
            "password": "correct-horse-battery",
        },
    )

    assert response.status_code == 200
    user = api.get("/contoso/User/1").json()
    assert (user["EmailAddress"], user["FirstName"], user["LastName"]) == (
        "admin@contoso.test",
        "Ada",
        "Admin",
    )


def test_same_property_twice_in_other_case_is_400(api: TestClient, environment: str) -> None:
    response = api.put(SSO_PATH, json={**SSO_BODY, "ClientId": "one", "clientid": "two"})

    assert_validation(response, "", "property ClientId is sent twice with different capitalization")
    assert api.get("/contoso/SingleSignOnSettings").json()["Mode"] == "None"


def test_unknown_properties_are_ignored(api: TestClient, environment: str) -> None:
    response = api.put(SSO_PATH, json={**SSO_BODY, "ClientId": "app", "Colour": "blue"})

    assert response.status_code == 200
    assert response.json()["Notices"] == [
        {
            "MemberNames": ["Colour"],
            "ErrorMessage": "Property 'Colour' is not part of this call and was ignored.",
        }
    ]


# Responses


def _keys(value: object) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


@pytest.mark.parametrize(
    "path",
    [
        "/Environment/",
        "/Environment/contoso/",
        "/contoso/User/",
        "/contoso/User/1/",
        "/contoso/SingleSignOnSettings/",
    ],
)
def test_responses_use_pascal_case(api: TestClient, environment: str, path: str) -> None:
    body = api.get(path).json()

    keys = list(_keys(body))
    assert keys
    assert all(re.fullmatch(r"[A-Z][A-Za-z0-9]*", key) for key in keys), keys


def test_validation_result_has_exact_shape(api: TestClient) -> None:
    response = api.post("/Environment/Validate/", json={"EnvironmentName": ""})

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    for result in response.json():
        assert set(result) == {"MemberNames", "ErrorMessage"}
        assert isinstance(result["MemberNames"], list)
        assert all(isinstance(name, str) for name in result["MemberNames"])
        assert result["ErrorMessage"].endswith(".")


# Bodies that are not a JSON object


def test_malformed_json_is_400(api: TestClient) -> None:
    response = _post_raw(
        api, "/Environment/", b'{"EnvironmentName": "contoso",', "application/json"
    )

    assert_validation(response, "", "The request body is not valid JSON")


def test_json_array_body_is_400(api: TestClient) -> None:
    response = api.post("/Environment/", json=[{"EnvironmentName": "contoso"}])

    assert_validation(response, "", "must be a JSON object with named properties")


@pytest.mark.parametrize("body", [b"null", b"42", b'"contoso"', b"true"])
def test_json_value_body_is_400(api: TestClient, body: bytes) -> None:
    response = _post_raw(api, "/Environment/", body, "application/json")

    assert_validation(response, "", "must be a JSON object")


@pytest.mark.parametrize("content_type", ["application/json", None])
def test_empty_body_is_400(api: TestClient, content_type: str | None) -> None:
    response = _post_raw(api, "/Environment/", b"", content_type)

    assert_validation(response, "", "The request body is missing")


def test_invalid_utf8_is_400(api: TestClient) -> None:
    response = _post_raw(api, "/Environment/", b'{"EnvironmentName": "\xff"}', "application/json")

    assert_validation(response, "", "could not be read as JSON", "UTF-8")


def test_deeply_nested_json_is_400(api: TestClient) -> None:
    body = b'{"EnvironmentName": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"

    response = _post_raw(api, "/Environment/", body, "application/json")

    assert response.status_code == 400
    assert isinstance(response.json(), list)


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded", None],
)
def test_json_with_other_content_type_is_accepted(
    api: TestClient, content_type: str | None
) -> None:
    body = json.dumps({"EnvironmentName": "contoso", **ADMINISTRATOR}).encode()

    response = _post_raw(api, "/Environment/", body, content_type)

    assert response.status_code == 200
    assert response.json() == "contoso"


def test_json_with_byte_order_mark_is_accepted(api: TestClient) -> None:
    body = "\ufeff" + json.dumps({"EnvironmentName": "contoso", **ADMINISTRATOR})

    response = _post_raw(api, "/Environment/", body.encode(), "application/json")

    assert response.status_code == 200


def test_body_over_one_mebibyte_is_413(api: TestClient) -> None:
    body = b'{"EnvironmentName": "' + b"a" * MAX_BODY_BYTES + b'"}'

    response = _post_raw(api, "/Environment/", body, "application/json")

    message = assert_problem(response, 413, "RequestTooLarge")
    assert str(MAX_BODY_BYTES) in message
    assert api.get("/Environment/").json() == []


def test_body_of_exactly_one_mebibyte_is_read(api: TestClient) -> None:
    start = b'{"EnvironmentName": "contoso"'
    body = start + b" " * (MAX_BODY_BYTES - len(start) - 1) + b"}"

    response = _post_raw(api, "/Environment/Validate/", body, "application/json")

    assert_validation(response, "EmailAddress", "EmailAddress is missing")


# Characters no database column can store


@pytest.mark.parametrize(
    ("member", "raw", "position", "kind"),
    [
        ("FirstName", r"Gr\u0000ace", 3, "a NUL character (U+0000)"),
        ("EmailAddress", r"gr\u0000ace@contoso.test", 3, "a NUL character (U+0000)"),
        ("LastName", r"\ud800", 1, "an unpaired surrogate (U+D800)"),
        ("Password", r"long-password-\udfff", 15, "an unpaired surrogate (U+DFFF)"),
    ],
)
def test_unstorable_characters_are_400(
    api: TestClient, environment: str, member: str, raw: str, position: int, kind: str
) -> None:
    fields = {"EmailAddress": "grace@contoso.test", member: "__value__"}
    body = json.dumps(fields).replace("__value__", raw).encode()

    response = _post_raw(api, "/contoso/User/", body, "application/json")

    assert_validation(response, member, f"{member} is not valid", f"position {position}", kind)


@pytest.mark.parametrize("path", ["/Environment/a%00b/", "/a%00b/User/"])
def test_nul_in_environment_path_is_404(api: TestClient, path: str) -> None:
    assert_problem(api.get(path), 404, "EnvironmentNotFound")


def test_nul_in_query_email_is_404(api: TestClient, environment: str) -> None:
    response = api.delete("/contoso/User/", params={"EmailAddress": "a\x00b@contoso.test"})

    assert_problem(response, 404, "UserNotFound")


# Server errors


@pytest.mark.allow_server_errors
def test_server_error_is_json_with_request_id(context: AppContext) -> None:
    with api_client(context, raise_server_exceptions=False) as api:
        _add_failing_route(api.app)
        response = api.get("/Failing/")

    message = assert_problem(response, 500, "InternalError")
    request_id = response.headers["X-Request-ID"]
    assert message.endswith(f"under request id {request_id}.")


def _add_failing_route(app: object) -> None:
    assert isinstance(app, FastAPI)
    mount = next(route for route in app.routes if isinstance(route, Mount))
    provisioning = mount.app
    assert isinstance(provisioning, FastAPI)

    def failing() -> None:
        raise RuntimeError("a failure Hatchway did not foresee")

    provisioning.add_api_route("/Failing", failing)
