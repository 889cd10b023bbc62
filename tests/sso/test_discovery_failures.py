"""Verify's Discovery check names the cause of a failed fetch and the advice for that cause.

Each provider here is a server on 127.0.0.1 started by the test, or a socket that refuses
connections. Name resolution fails only for a host under the reserved '.invalid' domain, which
the test resolver never looks up.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.support.loopback import LoopbackServer, Reply, loopback_server
from tests.support.ports import LOOPBACK
from tests.support.provisioning import check, create_environment

__all__ = ["loopback_server"]

VERIFY = "/contoso/SingleSignOnSettings/OAuth2/Verify"
DISCOVERY_PATH = "/.well-known/openid-configuration"
HOST_ADVICE = "Check the host name"
PORT_ADVICE = "Check the port"


@pytest.fixture
def environment(api: TestClient) -> str:
    return create_environment(api)


@pytest.fixture
def refusing_port() -> Iterator[int]:
    """A port on 127.0.0.1 that is bound but not listening, so connections are refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as bound:
        bound.bind((LOOPBACK, 0))
        port: int = bound.getsockname()[1]
        yield port


def discovery_message(api: TestClient, authority: str) -> str:
    response = api.post(VERIFY, json={"Authority": authority, "ClientId": "portal", "Key": "s3"})
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    result = check(report, "Discovery")
    assert result["Passed"] is False
    message: str = result["Message"]
    return message


def test_unresolvable_host_advises_host_name(api: TestClient, environment: str) -> None:
    message = discovery_message(api, "https://idp.invalid/realms/contoso")

    assert f"'https://idp.invalid/realms/contoso{DISCOVERY_PATH}'" in message
    assert "host 'idp.invalid' could not be resolved" in message
    assert HOST_ADVICE in message
    assert "without outbound network access" in message
    assert PORT_ADVICE not in message


def test_refused_connection_advises_port(
    api: TestClient, environment: str, refusing_port: int
) -> None:
    message = discovery_message(api, f"http://{LOOPBACK}:{refusing_port}")

    assert f"'http://{LOOPBACK}:{refusing_port}{DISCOVERY_PATH}'" in message
    assert f"the connection to port {refusing_port} was refused" in message
    assert PORT_ADVICE in message
    assert "that the provider is running" in message
    assert "firewall" in message
    assert HOST_ADVICE not in message


def test_plain_http_port_reports_tls_failure(
    api: TestClient, environment: str, loopback_server: LoopbackServer
) -> None:
    message = discovery_message(api, f"https://{LOOPBACK}:{loopback_server.port}")

    assert "the TLS handshake failed" in message
    assert "serves https" in message
    assert "certificate" in message
    assert HOST_ADVICE not in message


def test_status_404_names_status_and_url(
    api: TestClient, environment: str, loopback_server: LoopbackServer
) -> None:
    loopback_server.replies[f"/realms/contoso{DISCOVERY_PATH}"] = Reply(
        status=404, body=b"<html>Not Found</html>", headers={"Content-Type": "text/html"}
    )
    authority = loopback_server.url("/realms/contoso")

    message = discovery_message(api, authority)

    assert f"'{authority}{DISCOVERY_PATH}'" in message
    assert "HTTP 404" in message
    assert "issuer URL" in message
    assert "is not JSON" not in message
    assert HOST_ADVICE not in message


@pytest.mark.parametrize(
    "endpoint", ["/protocol/openid-connect/auth", "/oauth2/v2.0/token", "/authorize"]
)
def test_status_404_suggests_issuer_without_endpoint(
    api: TestClient, environment: str, loopback_server: LoopbackServer, endpoint: str
) -> None:
    issuer = loopback_server.url("/realms/contoso")

    message = discovery_message(api, issuer + endpoint)

    assert "HTTP 404" in message
    assert "ends with the path of one of the provider's endpoints" in message
    assert f"try its issuer URL {issuer!r}" in message


def test_status_500_names_status(
    api: TestClient, environment: str, loopback_server: LoopbackServer
) -> None:
    loopback_server.replies[DISCOVERY_PATH] = Reply(status=500, body=b"{}")

    message = discovery_message(api, loopback_server.url(""))

    assert "HTTP 500" in message
    assert HOST_ADVICE not in message


def test_html_body_reports_not_json(
    api: TestClient, environment: str, loopback_server: LoopbackServer
) -> None:
    loopback_server.replies[DISCOVERY_PATH] = Reply(
        body=b"<html>Sign in</html>", headers={"Content-Type": "text/html; charset=utf-8"}
    )

    message = discovery_message(api, loopback_server.url(""))

    assert "is not JSON" in message
    assert "'text/html; charset=utf-8'" in message
    assert "issuer URL" in message
    assert HOST_ADVICE not in message


def test_redirect_advises_issuer_url(
    api: TestClient, environment: str, loopback_server: LoopbackServer
) -> None:
    target = loopback_server.url("/realms/contoso" + DISCOVERY_PATH)
    loopback_server.replies[DISCOVERY_PATH] = Reply(
        status=302, body=b"", headers={"Location": target}
    )

    message = discovery_message(api, loopback_server.url(""))

    assert f"redirected (HTTP 302) to '{target}'" in message
    assert "does not follow redirects" in message
    assert HOST_ADVICE not in message
