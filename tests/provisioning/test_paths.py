"""Paths of the Provisioning API: with and without a trailing slash, in any case, never a redirect.

Power Automate and other clients do not follow redirects on PUT, so each form of a path must
reach its call directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.testclient import TestClient

from hatchway.provisioning.normalize import canonical_path
from tests.support.api import ADMINISTRATOR, assert_problem, create_environment, create_user

Prepare = Callable[[TestClient, int], dict[str, Any]]


def _nothing(api: TestClient, round_number: int) -> dict[str, Any]:
    return {}


def _empty_environment(api: TestClient, round_number: int) -> dict[str, Any]:
    api.post(f"/Environment/gone{round_number}/")
    return {}


def _user(api: TestClient, round_number: int) -> dict[str, Any]:
    return {"id": create_user(api, "contoso", f"user{round_number}@contoso.test")}


@dataclass(frozen=True)
class Call:
    """One call of the API: a path template (`{n}` is the round, `{id}` a prepared user)."""

    method: str
    path: str
    body: dict[str, Any] | None = None
    prepare: Prepare = _nothing
    status: int = 200

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


CALLS = [
    Call("GET", "/Environment"),
    Call("POST", "/Environment", {**ADMINISTRATOR, "EnvironmentName": "new{n}"}),
    Call("POST", "/Environment/Validate", {**ADMINISTRATOR, "EnvironmentName": "valid"}),
    Call("GET", "/Environment/contoso"),
    Call("POST", "/Environment/empty{n}"),
    Call("PUT", "/Environment/contoso/Deactivate"),
    Call("PUT", "/Environment/contoso/Activate"),
    Call("DELETE", "/Environment/gone{n}", prepare=_empty_environment),
    Call("GET", "/contoso/User"),
    Call("POST", "/contoso/User", {"EmailAddress": "new{n}@contoso.test"}),
    Call("POST", "/contoso/User/Validate", {"EmailAddress": "valid@contoso.test"}),
    Call("PUT", "/contoso/User", {"EmailAddress": "admin@contoso.test", "FirstName": "Ada"}),
    Call("DELETE", "/contoso/User?Id={id}", prepare=_user),
    Call("GET", "/contoso/User/1"),
    Call("PUT", "/contoso/User/1", {"LastName": "Admin"}),
    Call("DELETE", "/contoso/User/{id}", prepare=_user),
    Call("GET", "/contoso/SingleSignOnSettings"),
    Call(
        "PUT",
        "/contoso/SingleSignOnSettings/OAuth2?verify=false",
        {"Authority": "https://idp.contoso.test", "ClientId": "app", "Key": "value"},
    ),
    Call("DELETE", "/contoso/SingleSignOnSettings/OAuth2"),
]


FORMS = ("registered", "trailing slash", "lower case", "upper case")


def _path_form(path: str, form: str) -> str:
    """Return a path as a client may send it; the query string keeps its case."""
    route, _, query = path.partition("?")
    suffix = f"?{query}" if query else ""
    if form == "trailing slash":
        route += "/"
    elif form == "lower case":
        route = route.lower() + "/"
    elif form == "upper case":
        route = route.upper()
    return route + suffix


def _filled(body: dict[str, Any] | None, values: dict[str, Any]) -> dict[str, Any] | None:
    if body is None:
        return None
    return {
        name: value.format(**values) if isinstance(value, str) else value
        for name, value in body.items()
    }


@pytest.fixture
def environment(api: TestClient) -> str:
    return create_environment(api)


@pytest.mark.parametrize("call", CALLS, ids=str)
def test_every_path_form_reaches_call(api: TestClient, environment: str, call: Call) -> None:
    for round_number, form in enumerate(FORMS):
        values = {"n": round_number, **call.prepare(api, round_number)}
        path = _path_form(call.path.format(**values), form)

        response = api.request(call.method, path, json=_filled(call.body, values))

        assert not 300 <= response.status_code < 400, f"{form} {path} redirected"
        assert response.status_code == call.status, f"{form} {path}: {response.text}"


@pytest.mark.parametrize("path", ["", "/", "//"])
def test_bare_prefix_is_404_not_redirect(api: TestClient, path: str) -> None:
    response = api.get(path)

    assert_problem(response, 404, "PathNotFound")


def test_unknown_path_is_404(api: TestClient) -> None:
    message = assert_problem(api.get("/Nowhere/At/All/"), 404, "PathNotFound")

    assert "'/Provisioning/Nowhere/At/All'" in message
    assert "/Provisioning/openapi.json" in message


def test_unknown_path_under_environment_is_404(api: TestClient, environment: str) -> None:
    assert_problem(api.put("/contoso/Unknown/"), 404, "PathNotFound")


def test_wrong_method_is_405(api: TestClient) -> None:
    response = api.patch("/Environment/")

    message = assert_problem(response, 405, "MethodNotAllowed")
    assert message.startswith("PATCH is not allowed on '/Provisioning/Environment'; allowed: ")
    assert "GET" in response.headers["Allow"]


def test_pages_outside_api_keep_their_routes(client: TestClient) -> None:
    assert client.get("/").status_code == 200


@pytest.mark.parametrize(
    ("path", "canonical"),
    [
        ("/Provisioning", "/Provisioning/"),
        ("/provisioning/", "/Provisioning/"),
        ("/PROVISIONING/environment/", "/Provisioning/Environment"),
        (
            "/Provisioning//Environment//contoso//activate",
            "/Provisioning/Environment/contoso/Activate",
        ),
        (
            "/provisioning/Contoso/singlesignonsettings/oauth2/",
            "/Provisioning/Contoso/SingleSignOnSettings/OAuth2",
        ),
        ("/provisioning/OPENAPI.JSON", "/Provisioning/openapi.json"),
    ],
)
def test_canonical_path(path: str, canonical: str) -> None:
    assert canonical_path(path) == canonical


@pytest.mark.parametrize(
    "path", ["/", "/contoso/SignIn", "/ProvisioningX/Environment", "/static/x"]
)
def test_canonical_path_ignores_other_paths(path: str) -> None:
    assert canonical_path(path) is None
