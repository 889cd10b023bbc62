"""The ProvisioningKey header: missing, wrong, disabled API and the rate limit on failures."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from hatchway.context import AppContext
from hatchway.security.ratelimit import PROVISIONING_KEY_FAILURES
from tests.support.api import ApiFactory, api_client, assert_problem, create_environment
from tests.support.hatchway import PROVISIONING_KEY

WRONG_KEY = "0BADC0DE-WRONG-KEY-CANARY-0000000000"

# One call per route of the API, each of which must check the key before anything else.
ROUTES = [
    ("GET", "/Environment/"),
    ("POST", "/Environment/"),
    ("POST", "/Environment/Validate/"),
    ("GET", "/Environment/contoso/"),
    ("POST", "/Environment/fabrikam/"),
    ("PUT", "/Environment/contoso/Activate/"),
    ("PUT", "/Environment/contoso/Deactivate/"),
    ("DELETE", "/Environment/contoso/"),
    ("GET", "/contoso/User/"),
    ("POST", "/contoso/User/"),
    ("PUT", "/contoso/User/"),
    ("DELETE", "/contoso/User/"),
    ("POST", "/contoso/User/Validate/"),
    ("GET", "/contoso/User/1/"),
    ("PUT", "/contoso/User/1/"),
    ("DELETE", "/contoso/User/1/"),
    ("GET", "/contoso/SingleSignOnSettings/"),
    ("PUT", "/contoso/SingleSignOnSettings/OAuth2/"),
    ("DELETE", "/contoso/SingleSignOnSettings/OAuth2/"),
]


@pytest.fixture
def anonymous(context: AppContext) -> Iterator[TestClient]:
    """A client of the test's instance that sends no Provisioning Key."""
    with api_client(context, headers={}) as client:
        yield client


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_needs_key(anonymous: TestClient, method: str, path: str) -> None:
    response = anonymous.request(method, path, json={"EmailAddress": "x@contoso.test"})

    assert_problem(response, 403, "ProvisioningKeyMissing")


def test_missing_key_names_header(anonymous: TestClient) -> None:
    message = assert_problem(anonymous.get("/Environment/"), 403, "ProvisioningKeyMissing")

    assert message == (
        "The ProvisioningKey header is missing; send the instance's Provisioning Key in it."
    )


def test_empty_key_counts_as_missing(anonymous: TestClient) -> None:
    response = anonymous.get("/Environment/", headers={"ProvisioningKey": ""})

    assert_problem(response, 403, "ProvisioningKeyMissing")


def test_wrong_key_is_403_without_echo(anonymous: TestClient) -> None:
    response = anonymous.get("/Environment/", headers={"ProvisioningKey": WRONG_KEY})

    message = assert_problem(response, 403, "ProvisioningKeyInvalid")
    assert "does not match this instance's Provisioning Key" in message
    assert WRONG_KEY not in response.text
    assert PROVISIONING_KEY not in response.text


def test_key_from_other_instance_fails_before_404(anonymous: TestClient) -> None:
    response = anonymous.get("/nowhere/User/", headers={"ProvisioningKey": WRONG_KEY})

    assert_problem(response, 403, "ProvisioningKeyInvalid")


def test_header_name_matches_in_any_case(anonymous: TestClient) -> None:
    response = anonymous.get("/Environment/", headers={"provisioningkey": PROVISIONING_KEY})

    assert response.status_code == 200


def test_key_with_surrounding_spaces_is_accepted(anonymous: TestClient) -> None:
    response = anonymous.get("/Environment/", headers={"ProvisioningKey": f" {PROVISIONING_KEY} "})

    assert response.status_code == 200


@pytest.mark.parametrize("wrapped", ["{{{}}}", '"{}"', "'{}'", "{{ {} }}"])
def test_key_in_braces_or_quotes_is_accepted(anonymous: TestClient, wrapped: str) -> None:
    presented = wrapped.format(PROVISIONING_KEY.lower())

    response = anonymous.get("/Environment/", headers={"ProvisioningKey": presented})

    assert response.status_code == 200


def test_key_with_one_brace_is_refused(anonymous: TestClient) -> None:
    response = anonymous.get("/Environment/", headers={"ProvisioningKey": "{" + PROVISIONING_KEY})

    assert response.status_code == 403


def test_requested_with_header_is_accepted(api: TestClient) -> None:
    response = api.post("/Environment/contoso/", headers={"X-Requested-With": "XMLHttpRequest"})

    assert response.status_code == 200
    assert response.json() == "contoso"


def test_disabled_api_is_403_even_with_key(make_api: ApiFactory) -> None:
    api = make_api(provisioning_api_enabled=False)

    response = api.get("/Environment/")

    message = assert_problem(response, 403, "ProvisioningApiDisabled")
    assert "HATCHWAY_PROVISIONING_API_ENABLED=true" in message


def test_disabled_api_changes_nothing(api: TestClient, make_api: ApiFactory) -> None:
    disabled = make_api(provisioning_api_enabled=False)

    response = disabled.post("/Environment/contoso/")

    assert response.status_code == 403
    assert api.get("/Environment/").json() == []


# Rate limit on failed keys


def _fail(client: TestClient, times: int) -> None:
    for _ in range(times):
        response = client.get("/Environment/", headers={"ProvisioningKey": WRONG_KEY})
        assert response.status_code == 403


def test_failures_over_limit_get_429(anonymous: TestClient) -> None:
    _fail(anonymous, PROVISIONING_KEY_FAILURES.limit)

    response = anonymous.get("/Environment/", headers={"ProvisioningKey": WRONG_KEY})

    message = assert_problem(response, 429, "TooManyRequests")
    assert "missing or wrong Provisioning Key" in message
    retry_after = int(response.headers["Retry-After"])
    assert 0 < retry_after <= PROVISIONING_KEY_FAILURES.window_seconds
    assert message.endswith(f" Try again in {retry_after} seconds.")


def test_failures_below_limit_still_get_403(anonymous: TestClient) -> None:
    _fail(anonymous, PROVISIONING_KEY_FAILURES.limit - 1)

    response = anonymous.get("/Environment/", headers={"ProvisioningKey": WRONG_KEY})

    assert response.status_code == 403


def test_missing_keys_count_as_failures(anonymous: TestClient) -> None:
    for _ in range(PROVISIONING_KEY_FAILURES.limit):
        assert anonymous.get("/Environment/").status_code == 403

    assert anonymous.get("/Environment/").status_code == 429


def test_rate_limit_counts_per_address(context: AppContext, anonymous: TestClient) -> None:
    _fail(anonymous, PROVISIONING_KEY_FAILURES.limit)

    with api_client(context, client=("203.0.113.9", 40000)) as other:
        response = other.get("/Environment/")

    assert response.status_code == 200


def test_rate_limit_ends_with_window(context: AppContext, anonymous: TestClient) -> None:
    _fail(anonymous, PROVISIONING_KEY_FAILURES.limit)
    started = context.now()
    later = started + timedelta(seconds=PROVISIONING_KEY_FAILURES.window_seconds + 1)
    context.clock = lambda: later

    response = anonymous.get("/Environment/", headers={"ProvisioningKey": PROVISIONING_KEY})

    assert response.status_code == 200


def test_successful_requests_do_not_count(api: TestClient) -> None:
    create_environment(api)
    for _ in range(PROVISIONING_KEY_FAILURES.limit + 2):
        assert api.get("/contoso/User/").status_code == 200
