"""Helpers for Provisioning API tests: request bodies, response checks and custom instances.

`ADMINISTRATOR` is a valid administrator for a create body. `assert_validation` and
`assert_problem` check the two error shapes of the API: the 400 array of validation results
and the `{"Error", "Message"}` object of 403, 404, 412 and 429. The `make_api` fixture builds
an instance with changed settings on the test's database.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from hatchway.app import create_app
from hatchway.config import Settings
from hatchway.context import AppContext
from tests.support.hatchway import PROVISIONING_KEY, prepare_context

ADMIN_EMAIL = "admin@contoso.test"
ADMIN_PASSWORD = "correct-horse-battery"
ADMINISTRATOR: dict[str, Any] = {
    "EmailAddress": ADMIN_EMAIL,
    "FirstName": "Ada",
    "LastName": "Admin",
    "Password": ADMIN_PASSWORD,
}

ApiFactory = Callable[..., TestClient]


def create_environment(api: TestClient, name: str = "contoso", **fields: Any) -> str:
    """Create an environment with the standard administrator and return its sanitized name."""
    response = api.post("/Environment/", json={"EnvironmentName": name, **ADMINISTRATOR, **fields})
    assert response.status_code == 200, response.text
    created = response.json()
    assert isinstance(created, str)
    return created


def create_user(api: TestClient, environment: str, email: str, **fields: Any) -> int:
    """Create a user and return its id."""
    response = api.post(f"/{environment}/User/", json={"EmailAddress": email, **fields})
    assert response.status_code == 200, response.text
    user_id = response.json()
    assert isinstance(user_id, int)
    return user_id


def validation_messages(response: httpx.Response, member: str) -> list[str]:
    """Return the messages of a 400 response's results that name exactly `member`."""
    assert response.status_code == 400, response.text
    results = response.json()
    assert isinstance(results, list), results
    for result in results:
        assert set(result) == {"MemberNames", "ErrorMessage"}, result
    return [
        result["ErrorMessage"]
        for result in results
        if result["MemberNames"] == ([member] if member else [])
    ]


def assert_validation(response: httpx.Response, member: str, *fragments: str) -> str:
    """Assert a 400 whose results include one for `member` that contains every fragment.

    An empty `member` means a result with no member names (a problem with the whole body).
    Returns the matching message so that a test can check more of it.
    """
    messages = validation_messages(response, member)
    assert messages, f"no result names {member!r}: {response.text}"
    for message in messages:
        if all(fragment in message for fragment in fragments):
            return message
    raise AssertionError(f"no message for {member!r} contains {fragments!r}: {messages!r}")


def assert_problem(response: httpx.Response, status: int, error: str) -> str:
    """Assert a `{"Error", "Message"}` response with this status and code; return the message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"Error", "Message"}, body
    assert body["Error"] == error
    message = body["Message"]
    assert isinstance(message, str) and message
    return message


def find_temporary_password(mail_text: str) -> str:
    match = re.search(r"Temporary password: (\S+)", mail_text)
    assert match is not None, mail_text
    return match.group(1)


def csrf_token(page: str) -> str:
    """Return the CSRF token of the first form on a page."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match is not None, page
    return match.group(1)


def api_client(context: AppContext, **client_options: Any) -> TestClient:
    """Return an in-process client for /Provisioning of an app on `context`, with the key."""
    options: dict[str, Any] = {
        "base_url": "http://127.0.0.1/Provisioning",
        "follow_redirects": False,
        "headers": {"ProvisioningKey": PROVISIONING_KEY},
        **client_options,
    }
    return TestClient(create_app(context.settings, context=context), **options)


@pytest.fixture
def make_api(settings: Settings) -> Iterator[ApiFactory]:
    """Build API clients on the test's database with some settings changed.

    `make_api(insecure_loopback_idp=False)` returns a started client; extra keyword arguments
    that are not settings go to the TestClient (for example `client=("203.0.113.5", 1)`).
    """
    opened: list[tuple[TestClient, AppContext]] = []
    setting_names = set(Settings.__dataclass_fields__)

    def build(**options: Any) -> TestClient:
        overrides = {name: value for name, value in options.items() if name in setting_names}
        client_options = {name: value for name, value in options.items() if name not in overrides}
        context = prepare_context(replace(settings, **overrides))
        client = api_client(context, **client_options)
        client.__enter__()
        opened.append((client, context))
        return client

    try:
        yield build
    finally:
        for client, context in opened:
            client.__exit__(None, None, None)
            context.close()


def sign_in_locally(
    client: TestClient, environment: str, email: str, password: str
) -> httpx.Response:
    """Post the local sign-in form as a browser would, and return the response."""
    form = client.get(f"/{environment}/SignIn?local=1")
    assert form.status_code == 200, form.text
    return client.post(
        f"/{environment}/SignIn",
        data={
            "email": email,
            "password": password,
            "local": "1",
            "csrf_token": csrf_token(form.text),
        },
    )
