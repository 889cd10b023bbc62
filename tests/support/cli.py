"""Running the hatchway command in tests, and a loopback stub of Provisioning API endpoints.

`HatchwayCli` invokes the Typer app in-process through `typer.testing.CliRunner`, pointed at a
live Hatchway by HATCHWAY_URL and HATCHWAY_PROVISIONING_KEY unless a test passes other
variables. `ProvisioningStub` serves canned responses on 127.0.0.1 for endpoints that this
branch of Hatchway does not serve yet, so that the client's parsing can be tested before
they exist. `provisioning_operation_exists` tells whether Hatchway's OpenAPI document lists an
operation, so that tests of the real endpoint run as soon as it is there.
"""

from __future__ import annotations

import functools
import json
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner, Result

from hatchway.app import create_app
from hatchway.cli.main import app
from tests.support.hatchway import PROVISIONING_KEY, LiveServer, prepare_context, test_settings
from tests.support.idp import OidcProvider, RegisteredClient
from tests.support.ports import LOOPBACK, free_port


class HatchwayCli:
    """The hatchway command, run in-process against one Hatchway URL."""

    def __init__(self, url: str, provisioning_key: str | None = PROVISIONING_KEY) -> None:
        self.url = url
        self.provisioning_key = provisioning_key

    def environment(self, extra: Mapping[str, str | None] | None = None) -> dict[str, str | None]:
        variables: dict[str, str | None] = {
            "HATCHWAY_URL": self.url,
            "HATCHWAY_PROVISIONING_KEY": self.provisioning_key,
            "COLUMNS": "240",
        }
        variables.update(extra or {})
        return variables

    def run(
        self,
        *args: str,
        input: str | None = None,
        env: Mapping[str, str | None] | None = None,
    ) -> Result:
        runner = CliRunner(env=self.environment(env))
        return runner.invoke(app, list(args), input=input, catch_exceptions=False)

    def run_json(self, *args: str, input: str | None = None) -> Any:
        """Run with --json, assert exit code 0, and return the parsed standard output."""
        result = self.run(*args, "--json", input=input)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)


@functools.cache
def _provisioning_operations() -> frozenset[tuple[str, str]]:
    with tempfile.TemporaryDirectory(prefix="hatchway-openapi-") as folder:
        settings = test_settings(Path(folder), f"sqlite:///{Path(folder) / 'openapi.sqlite3'}")
        context = prepare_context(settings)
        try:
            with TestClient(create_app(settings, context=context)) as client:
                document = client.get("/Provisioning/openapi.json").json()
        finally:
            context.close()
    return frozenset(
        (method.upper(), path)
        for path, item in document.get("paths", {}).items()
        for method in item
    )


def provisioning_operation_exists(method: str, path: str) -> bool:
    """Tell whether /Provisioning/openapi.json lists the operation, such as
    ('POST', '/{EnvironmentName}/SingleSignOnSettings/OAuth2/Verify')."""
    return (method.upper(), path) in _provisioning_operations()


@dataclass(frozen=True)
class StubResponse:
    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: Mapping[str, str]
    body: Any


class ProvisioningStub:
    """A loopback HTTP server that answers (method, path) with canned JSON and records requests.

    The path includes the query string, such as '/Provisioning/contoso/AuditLog?limit=50'.
    Anything not set up gets 404 with a problem body.
    """

    def __init__(self) -> None:
        self.responses: dict[tuple[str, str], StubResponse] = {}
        self.requests: list[RecordedRequest] = []
        self._server = ThreadingHTTPServer((LOOPBACK, 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self._server.server_address[1]}"

    def answer(
        self,
        method: str,
        path: str,
        body: Any,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.responses[(method, path)] = StubResponse(status, body, headers or {})

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _respond(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                stub.requests.append(
                    RecordedRequest(
                        self.command,
                        self.path,
                        {name: value for name, value in self.headers.items()},
                        json.loads(raw) if raw else None,
                    )
                )
                answer = stub.responses.get(
                    (self.command, self.path),
                    StubResponse(404, {"Error": "PathNotFound", "Message": "Not set up."}),
                )
                payload = json.dumps(answer.body).encode("utf-8")
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _respond

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler


def assert_absent(secrets: Sequence[str], *texts: str) -> None:
    """Assert that no secret occurs in any of the texts."""
    for secret in secrets:
        for text in texts:
            assert secret not in text, f"a secret appeared in: {text[:200]!r}"


# Fixtures for tests of the client and of the client commands; conftest.py files import them.

ADMINISTRATOR = {
    "EmailAddress": "admin@contoso.test",
    "FirstName": "Ada",
    "LastName": "Admin",
    "Password": "correct-horse-battery",
}


def create_environment(live: LiveServer, name: str = "contoso") -> str:
    """Create an environment with its administrator through the API and return its name."""
    with live.api() as api:
        response = api.post("/Environment", json={"EnvironmentName": name, **ADMINISTRATOR})
    assert response.status_code == 200, response.text
    created: str = response.json()
    return created


def redirect_uri(live: LiveServer, environment: str) -> str:
    return f"{live.url}/{environment}/OAuth2/HandleAuthorityResponse"


@pytest.fixture
def contoso(live_server: LiveServer) -> str:
    """The environment 'contoso' with its administrator admin@contoso.test."""
    return create_environment(live_server)


@pytest.fixture
def cli(live_server: LiveServer) -> HatchwayCli:
    return HatchwayCli(live_server.url)


@pytest.fixture
def offline_cli() -> HatchwayCli:
    """The command pointed at a closed port, for usage errors that stop before any request.

    A command that sent a request anyway would exit with 3, not 2.
    """
    return HatchwayCli(f"http://{LOOPBACK}:{free_port()}")


@pytest.fixture
def stub() -> Iterator[ProvisioningStub]:
    server = ProvisioningStub()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def idp_client(
    oidc_provider: OidcProvider, live_server: LiveServer, contoso: str
) -> RegisteredClient:
    """A client registered at the test OpenID Provider with contoso's redirect URI."""
    return oidc_provider.register_client(
        [redirect_uri(live_server, contoso)],
        grant_types=("authorization_code", "client_credentials"),
    )
