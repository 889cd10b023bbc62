"""The SSRF guard: schemes, address checks on the connected address, redirects, caps, timeouts.

Host names map to addresses through an injected resolver. Requests that the guard must refuse
run with the network backend replaced by a recorder, so that a regression would show as a
recorded connection rather than as a packet leaving the machine.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Callable, Iterator
from typing import Any

import httpcore
import httpx
import pytest

from hatchway.context import AppContext
from hatchway.security.ssrf import (
    MIB,
    OutboundError,
    OutboundFailure,
    OutboundPolicy,
    ResponseTooLargeError,
    UnsafeDestinationError,
    create_guarded_client,
    fetch_json,
    is_public_address,
)
from tests.support.loopback import LoopbackServer, Reply, loopback_server

__all__ = ["loopback_server"]

Resolver = Callable[[str, int], list[str]]


def resolving_to(*addresses: str) -> Resolver:
    def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Record every TCP connection the guard would open, and open none."""
    attempted: list[str] = []

    def record(self: Any, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        attempted.append(f"{host}:{port}")
        raise httpcore.ConnectError("connections are disabled in this test")

    monkeypatch.setattr(httpcore.SyncBackend, "connect_tcp", record)
    yield attempted


def _fetch(policy: OutboundPolicy, url: str) -> Any:
    with create_guarded_client(policy) as client:
        return fetch_json(client, "GET", url)


# Address classification


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.100.100.200",
        "0.0.0.0",  # noqa: S104 - an address to classify, not one to bind
        "255.255.255.255",
        "224.0.0.1",
        "198.18.0.1",
        "192.0.0.8",
        "::1",
        "::",
        "fe80::1",
        "fd00:ec2::254",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe",
        "64:ff9b::7f00:1",
        "64:ff9b:1::a00:1",
        "2002:7f00:1::1",
        "2002:a9fe:a9fe::1",
        "2001:db8::1",
    ],
)
def test_internal_addresses_are_not_public(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    ["20.190.160.1", "40.126.0.1", "2603:1006::1", "::ffff:20.190.160.1", "64:ff9b::1428:a001"],
)
def test_global_addresses_are_public(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


def test_policy_allows_only_all_public_addresses() -> None:
    policy = OutboundPolicy()

    assert policy.check_addresses("u", "idp", ["20.190.160.1"]) == ["20.190.160.1"]
    with pytest.raises(UnsafeDestinationError, match=r"non-public address 10\.0\.0\.1"):
        policy.check_addresses("u", "idp", ["20.190.160.1", "10.0.0.1"])


def test_policy_allows_loopback_only_with_flag() -> None:
    with pytest.raises(UnsafeDestinationError, match="HATCHWAY_INSECURE_LOOPBACK_IDP=true"):
        OutboundPolicy().check_addresses("u", "idp", ["127.0.0.1"])

    allowed = OutboundPolicy(allow_loopback=True).check_addresses("u", "idp", ["::1"])

    assert allowed == ["::1"]


def test_loopback_flag_does_not_open_private_ranges() -> None:
    with pytest.raises(UnsafeDestinationError, match=r"192\.168\.0\.10"):
        OutboundPolicy(allow_loopback=True).check_addresses("u", "idp", ["192.168.0.10"])


# Refused before connecting


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1",
        "169.254.169.254",
        "100.100.100.200",
        "fd00:ec2::254",
        "::ffff:10.0.0.1",
        "64:ff9b::a9fe:a9fe",
        "2002:a9fe:a9fe::1",
        "127.0.0.1",
    ],
)
def test_request_to_internal_address_never_connects(connections: list[str], address: str) -> None:
    policy = OutboundPolicy(resolver=resolving_to(address))

    with pytest.raises(UnsafeDestinationError, match="non-public address"):
        _fetch(policy, "https://login.contoso.test/.well-known/openid-configuration")

    assert connections == []


def test_one_internal_address_among_public_ones_refuses(connections: list[str]) -> None:
    policy = OutboundPolicy(resolver=resolving_to("20.190.160.1", "169.254.169.254"))

    with pytest.raises(UnsafeDestinationError, match=r"169\.254\.169\.254"):
        _fetch(policy, "https://login.contoso.test/")

    assert connections == []


def test_public_address_connects_to_checked_address(connections: list[str]) -> None:
    policy = OutboundPolicy(resolver=resolving_to("20.190.160.1"))

    with pytest.raises(OutboundError, match="the connection to port 443 failed"):
        _fetch(policy, "https://login.contoso.test/")

    assert connections == ["20.190.160.1:443"]


@pytest.mark.parametrize("url", ["http://login.contoso.test/", "ftp://login.contoso.test/"])
def test_scheme_other_than_https_is_refused(connections: list[str], url: str) -> None:
    policy = OutboundPolicy(resolver=resolving_to("20.190.160.1"))

    with pytest.raises(UnsafeDestinationError, match="must use https"):
        _fetch(policy, url)

    assert connections == []


def test_http_to_public_address_refused_with_flag(connections: list[str]) -> None:
    policy = OutboundPolicy(allow_loopback=True, resolver=resolving_to("20.190.160.1"))

    with pytest.raises(UnsafeDestinationError, match="must use https, not 'http'"):
        _fetch(policy, "http://login.contoso.test/")

    assert connections == []


def test_unresolvable_host_is_outbound_error(connections: list[str]) -> None:
    def fail(host: str, port: int) -> list[str]:
        raise OSError(-2, "Name or service not known")

    with pytest.raises(OutboundError, match="could not be resolved") as raised:
        _fetch(OutboundPolicy(resolver=fail), "https://idp.invalid/")
    assert raised.value.failure is OutboundFailure.UNRESOLVED
    assert connections == []


@pytest.mark.parametrize("answer", [[], ["not-an-address"]])
def test_resolver_without_usable_address_refuses(connections: list[str], answer: list[str]) -> None:
    policy = OutboundPolicy(resolver=resolving_to(*answer))

    with pytest.raises(UnsafeDestinationError, match=r"login\.contoso\.test"):
        _fetch(policy, "https://login.contoso.test/")
    assert connections == []


# Against a server on loopback


def _loopback_policy(**overrides: Any) -> OutboundPolicy:
    return OutboundPolicy(allow_loopback=True, resolver=resolving_to("127.0.0.1"), **overrides)


def test_loopback_allowed_with_flag(loopback_server: LoopbackServer) -> None:
    loopback_server.replies["/doc"] = Reply(body=b'{"issuer": "x"}')

    fetched = _fetch(_loopback_policy(), loopback_server.url("/doc", host="idp.test"))

    assert fetched.status_code == 200
    assert fetched.document == {"issuer": "x"}
    assert loopback_server.received[0].headers["Host"] == f"idp.test:{loopback_server.port}"


def test_loopback_refused_without_flag(loopback_server: LoopbackServer) -> None:
    policy = OutboundPolicy(resolver=resolving_to("127.0.0.1"))

    with pytest.raises(UnsafeDestinationError):
        _fetch(policy, loopback_server.url("/doc"))

    assert loopback_server.received == []


def test_redirect_is_not_followed(loopback_server: LoopbackServer) -> None:
    target = loopback_server.url("/internal")
    loopback_server.replies["/start"] = Reply(status=302, body=b"", headers={"Location": target})

    with pytest.raises(OutboundError, match=r"redirected \(HTTP 302\)"):
        _fetch(_loopback_policy(), loopback_server.url("/start"))

    assert [request.path for request in loopback_server.received] == ["/start"]


def test_body_over_cap_without_length_is_refused(loopback_server: LoopbackServer) -> None:
    body = b'"' + b"a" * MIB + b'"'
    loopback_server.replies["/big"] = Reply(body=body, send_length=False)

    with pytest.raises(ResponseTooLargeError, match=f"larger than {MIB} bytes"):
        _fetch(_loopback_policy(), loopback_server.url("/big"))


def test_body_over_cap_by_length_is_refused(loopback_server: LoopbackServer) -> None:
    loopback_server.replies["/big"] = Reply(body=b"x" * (MIB + 1))

    with pytest.raises(ResponseTooLargeError):
        _fetch(_loopback_policy(), loopback_server.url("/big"))


def test_body_at_cap_is_read(loopback_server: LoopbackServer) -> None:
    body = json.dumps("a" * (MIB - 2)).encode()
    assert len(body) == MIB
    loopback_server.replies["/full"] = Reply(body=body, send_length=False)

    fetched = _fetch(_loopback_policy(), loopback_server.url("/full"))

    assert len(fetched.document) == MIB - 2


def test_slow_server_times_out(loopback_server: LoopbackServer) -> None:
    loopback_server.replies["/slow"] = Reply(delay_seconds=5)

    with pytest.raises(OutboundError, match=r"timed out after 0\.2 seconds") as raised:
        _fetch(_loopback_policy(timeout_seconds=0.2), loopback_server.url("/slow"))

    assert raised.value.failure is OutboundFailure.READ_TIMEOUT


def test_error_status_is_returned_with_json(loopback_server: LoopbackServer) -> None:
    loopback_server.replies["/token"] = Reply(status=401, body=b'{"error": "invalid_client"}')

    fetched = _fetch(_loopback_policy(), loopback_server.url("/token"))

    assert fetched.status_code == 401
    assert fetched.document == {"error": "invalid_client"}


def test_non_json_body_is_outbound_error(loopback_server: LoopbackServer) -> None:
    loopback_server.replies["/html"] = Reply(
        body=b"<html>sign in</html>", headers={"Content-Type": "text/html"}
    )

    with pytest.raises(OutboundError) as raised:
        _fetch(_loopback_policy(), loopback_server.url("/html"))

    assert raised.value.reason == "the response (HTTP 200, Content-Type 'text/html') is not JSON"
    assert raised.value.failure is OutboundFailure.NOT_JSON


def test_error_status_without_json_is_returned(loopback_server: LoopbackServer) -> None:
    loopback_server.replies["/missing"] = Reply(status=404, body=b"<html>not found</html>")

    fetched = _fetch(_loopback_policy(), loopback_server.url("/missing"))

    assert fetched.status_code == 404
    assert fetched.document is None


def test_closed_port_is_connection_refused() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as bound:
        bound.bind(("127.0.0.1", 0))
        port = bound.getsockname()[1]

        with pytest.raises(OutboundError) as raised:
            _fetch(_loopback_policy(), f"http://127.0.0.1:{port}/doc")

    assert raised.value.reason == f"the connection to port {port} was refused"
    assert raised.value.failure is OutboundFailure.CONNECTION_REFUSED


def test_https_to_plain_http_port_is_tls_failure(loopback_server: LoopbackServer) -> None:
    with pytest.raises(OutboundError, match="the TLS handshake failed") as raised:
        _fetch(_loopback_policy(), f"https://127.0.0.1:{loopback_server.port}/doc")

    assert raised.value.failure is OutboundFailure.TLS


def test_context_client_follows_loopback_setting(
    context: AppContext, loopback_server: LoopbackServer
) -> None:
    loopback_server.replies["/doc"] = Reply()
    strict = OutboundPolicy(allow_loopback=False)

    assert fetch_json(context.http_client, "GET", loopback_server.url("/doc")).status_code == 200
    with create_guarded_client(strict) as client, pytest.raises(UnsafeDestinationError):
        fetch_json(client, "GET", loopback_server.url("/doc"))


def test_guarded_client_ignores_proxy_variables(
    monkeypatch: pytest.MonkeyPatch, loopback_server: LoopbackServer
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    loopback_server.replies["/doc"] = Reply()

    fetched = _fetch(_loopback_policy(), loopback_server.url("/doc"))

    assert fetched.status_code == 200


def test_client_has_no_redirects_and_short_timeout() -> None:
    with create_guarded_client(OutboundPolicy(timeout_seconds=3)) as client:
        assert client.follow_redirects is False
        assert client.timeout == httpx.Timeout(3)


def test_provider_cookie_never_sent_back(loopback_server: LoopbackServer) -> None:
    # One client serves every environment, so a stored cookie would cross between them.
    loopback_server.replies["/token"] = Reply(
        headers={"Content-Type": "application/json", "Set-Cookie": "fpc=tenant-a; Path=/"}
    )

    with create_guarded_client(_loopback_policy()) as client:
        fetch_json(client, "POST", loopback_server.url("/token"), data={"grant_type": "x"})
        fetch_json(client, "POST", loopback_server.url("/token"), data={"grant_type": "x"})
        stored_cookies = len(client.cookies)

    assert [request.path for request in loopback_server.received] == ["/token", "/token"]
    assert "Cookie" not in loopback_server.received[1].headers
    assert stored_cookies == 0
