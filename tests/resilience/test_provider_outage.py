"""An identity provider that accepts connections but never answers, or answers too late.

Sign-in must end with a readable page that names the problem and the ways back in, within
about HATCHWAY_HTTP_TIMEOUT, and never with a 500.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from hatchway.config import Settings
from tests.support import hatchway as support
from tests.support.hatchway import LiveServer
from tests.support.ports import LOOPBACK

TIMEOUT_SECONDS = 1.0
# Time allowed beyond the timeout for Hatchway's own work and a loaded test machine.
MARGIN_SECONDS = 2.0
SLOW_ANSWER_SECONDS = 3.0


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return support.test_settings(
        tmp_path / "data", database_url, http_timeout_seconds=TIMEOUT_SECONDS
    )


@pytest.fixture
def silent_address() -> Iterator[str]:
    """A port that completes TCP handshakes (the kernel's backlog) but never sends a byte."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind((LOOPBACK, 0))
        listener.listen(16)
        yield f"http://{LOOPBACK}:{listener.getsockname()[1]}"


def discovery_handler(token_endpoint: str | None, delay: float) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(delay)
            issuer = f"http://{LOOPBACK}:{self.server.server_address[1]}"
            document = {
                "issuer": issuer,
                "authorization_endpoint": f"{issuer}/auth",
                "token_endpoint": token_endpoint or f"{issuer}/token",
                "jwks_uri": f"{issuer}/jwks",
            }
            body = json.dumps(document).encode("utf-8")
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # Hatchway gave up waiting, as it should.

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def serve_discovery(token_endpoint: str | None, delay: float) -> Iterator[str]:
    server = ThreadingHTTPServer((LOOPBACK, 0), discovery_handler(token_endpoint, delay))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def slow_provider() -> Iterator[str]:
    yield from serve_discovery(None, SLOW_ANSWER_SECONDS)


@pytest.fixture
def provider_with_silent_token_endpoint(silent_address: str) -> Iterator[str]:
    yield from serve_discovery(f"{silent_address}/token", 0.0)


def configure(live: LiveServer, authority: str) -> None:
    with live.api() as api:
        created = api.post(
            "/Environment/",
            json={
                "EnvironmentName": "contoso",
                "EmailAddress": "ada@contoso.test",
                "Password": "a-long-local-password",
            },
        )
        assert created.status_code == 200, created.text
        saved = api.put(
            "/contoso/SingleSignOnSettings/OAuth2?verify=false",
            json={"Authority": authority, "ClientId": "hatchway-test", "Key": "a-client-secret"},
        )
        assert saved.status_code == 200, saved.text


def timed_get(client: httpx.Client, url: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = client.get(url)
    return response, time.monotonic() - started


def assert_readable_failure(response: httpx.Response, elapsed: float, reason: str) -> None:
    assert response.status_code in (400, 502), response.text
    assert "Sign-in failed" in response.text
    assert reason in response.text
    assert "Sign in with a password (administrators)" in response.text
    assert elapsed < TIMEOUT_SECONDS + MARGIN_SECONDS


def test_silent_provider_fails_sign_in_in_time(
    live_server: LiveServer, silent_address: str
) -> None:
    configure(live_server, silent_address)

    with httpx.Client(timeout=30) as browser:
        response, elapsed = timed_get(browser, f"{live_server.url}/contoso/SignIn")

    assert_readable_failure(response, elapsed, "the request timed out")


def test_slow_provider_fails_sign_in_in_time(live_server: LiveServer, slow_provider: str) -> None:
    configure(live_server, slow_provider)

    with httpx.Client(timeout=30) as browser:
        response, elapsed = timed_get(browser, f"{live_server.url}/contoso/SignIn")

    assert_readable_failure(response, elapsed, "the request timed out")


def test_silent_token_endpoint_fails_callback_in_time(
    live_server: LiveServer, provider_with_silent_token_endpoint: str
) -> None:
    configure(live_server, provider_with_silent_token_endpoint)

    with httpx.Client(timeout=30) as browser:
        start = browser.get(f"{live_server.url}/contoso/SignIn")
        assert start.status_code == 302, start.text
        state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
        callback = (
            f"{live_server.url}/contoso/OAuth2/HandleAuthorityResponse?code=a-code&state={state}"
        )
        response, elapsed = timed_get(browser, callback)

    assert_readable_failure(response, elapsed, "the request timed out")
