"""The SSRF guard: the one HTTP client for every URL that a user supplied.

The guard checks the address it actually connects to, so DNS rebinding cannot slip past it.
Only ``https`` is allowed. Every address the host resolves to must be public: no loopback,
private, link-local, multicast, reserved, shared or metadata range. Redirects are not
followed, timeouts are a few seconds and response bodies are capped. With ``allow_loopback``
(the setting ``HATCHWAY_INSECURE_LOOPBACK_IDP``) a host that resolves to loopback addresses
only is allowed, over http or https, for local testing.
"""

from __future__ import annotations

import enum
import functools
import ipaddress
import json
import logging
import socket
import ssl
import typing
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpcore
import httpx

logger = logging.getLogger(__name__)

MIB = 1024 * 1024

Resolver = Callable[[str, int], list[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Ranges that `is_global` does not already exclude but that reach cloud-internal services.
_EXTRA_BLOCKED = (
    ipaddress.ip_network("100.64.0.0/10"),  # shared address space, used for cloud metadata too
    ipaddress.ip_network("192.0.0.0/24"),
    ipaddress.ip_network("198.18.0.0/15"),
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# RFC 8215 local-use NAT64 prefixes place the IPv4 address at varying offsets, so the whole
# range is refused rather than decoded.
_LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")


class OutboundFailure(enum.StrEnum):
    """The cause of an `OutboundError`, so that callers can give advice for each cause."""

    UNRESOLVED = "unresolved"
    UNSAFE_DESTINATION = "unsafe_destination"
    CONNECTION_REFUSED = "connection_refused"
    CONNECTION_FAILED = "connection_failed"
    CONNECT_TIMEOUT = "connect_timeout"
    READ_TIMEOUT = "read_timeout"
    TLS = "tls"
    REDIRECT = "redirect"
    TOO_LARGE = "too_large"
    NOT_JSON = "not_json"
    OTHER = "other"


class OutboundError(Exception):
    """A request to a user-supplied URL was not made or not completed; `reason` says why."""

    failure = OutboundFailure.OTHER

    def __init__(self, url: str, reason: str, failure: OutboundFailure | None = None) -> None:
        super().__init__(f"{reason} ({url})")
        self.url = url
        self.reason = reason
        if failure is not None:
            self.failure = failure


class UnsafeDestinationError(OutboundError):
    """The URL's scheme or the addresses its host resolves to are not allowed."""

    failure = OutboundFailure.UNSAFE_DESTINATION


class ResponseTooLargeError(OutboundError):
    """The response body was larger than the cap for that kind of document."""

    failure = OutboundFailure.TOO_LARGE


def system_resolver(host: str, port: int) -> list[str]:
    """Resolve a host name to its addresses with the operating system's resolver."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    # A 6to4 address (2002::/16) reaches the IPv4 address embedded in its bits 16 to 48.
    return address.sixtofour


def is_public_address(address: IPAddress) -> bool:
    """Tell whether an address is globally routable and outside every internal range."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return is_public_address(embedded)
    if not address.is_global or address.is_multicast:
        return False
    if address.version == 6 and address in _LOCAL_NAT64:
        return False
    return not any(address in network for network in _EXTRA_BLOCKED)


def _is_loopback(address: IPAddress) -> bool:
    embedded = _embedded_ipv4(address)
    return (embedded or address).is_loopback


@dataclass(frozen=True)
class OutboundPolicy:
    """What the guard allows; tests pass their own resolver to map test names to loopback."""

    allow_loopback: bool = False
    timeout_seconds: float = 5.0
    resolver: Resolver = field(default=system_resolver)

    def check_addresses(self, url: str, host: str, addresses: Iterable[str]) -> list[str]:
        """Return the addresses that may be connected to, or raise when any is not allowed."""
        try:
            parsed = [ipaddress.ip_address(address.split("%")[0]) for address in addresses]
        except ValueError as error:
            raise UnsafeDestinationError(url, f"host '{host}' resolved to {error}") from None
        if not parsed:
            raise UnsafeDestinationError(url, f"host '{host}' has no addresses")
        if all(is_public_address(address) for address in parsed):
            return [str(address) for address in parsed]
        if self.allow_loopback and all(_is_loopback(address) for address in parsed):
            return [str(address) for address in parsed]
        blocked = next(a for a in parsed if not is_public_address(a))
        hint = (
            " (set HATCHWAY_INSECURE_LOOPBACK_IDP=true to allow loopback for local testing)"
            if _is_loopback(blocked) and not self.allow_loopback
            else ""
        )
        raise UnsafeDestinationError(
            url, f"host '{host}' resolves to the non-public address {blocked}{hint}"
        )


class _GuardedBackend(httpcore.SyncBackend):
    """Resolves the host itself, checks every address, and connects only to a checked one."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self._policy = policy

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        url = f"{host}:{port}"
        try:
            addresses = self._policy.resolver(host, port)
        except OSError as error:
            raise _unresolved(url, host, error) from None
        allowed = self._policy.check_addresses(url, host, addresses)

        last_error: Exception | None = None
        for address in allowed:
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last_error = error
        assert last_error is not None
        raise last_error


def _unresolved(url: str, host: str, error: OSError) -> OutboundError:
    return OutboundError(
        url, f"host '{host}' could not be resolved: {error}", OutboundFailure.UNRESOLVED
    )


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """Return one shared client TLS context: loading the system's CA certificates is slow."""
    return ssl.create_default_context()


class _GuardedTransport(httpx.HTTPTransport):
    def __init__(self, policy: OutboundPolicy) -> None:
        super().__init__(verify=_tls_context(), trust_env=False)
        self._policy = policy
        self._pool = httpcore.ConnectionPool(
            ssl_context=_tls_context(),
            network_backend=_GuardedBackend(policy),
            max_connections=20,
            keepalive_expiry=30.0,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        scheme = request.url.scheme
        if scheme == "https":
            return super().handle_request(request)
        if scheme == "http" and self._policy.allow_loopback:
            # Plain http is tolerated for loopback hosts only; the backend refuses the rest.
            host = request.url.host
            try:
                addresses = self._policy.resolver(host, request.url.port or 80)
            except OSError as error:
                raise _unresolved(url, host, error) from None
            allowed = self._policy.check_addresses(url, host, addresses)
            if all(_is_loopback(ipaddress.ip_address(address)) for address in allowed):
                return super().handle_request(request)
        raise UnsafeDestinationError(url, f"the URL must use https, not '{scheme}'")


def create_guarded_transport(policy: OutboundPolicy) -> httpx.BaseTransport:
    """Create the transport that enforces the policy, for clients that wrap it (tests do)."""
    return _GuardedTransport(policy)


class _DiscardedCookies(httpx.Cookies):
    """A cookie jar that stays empty: cookies from a response are dropped, not stored."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class _CookielessClient(httpx.Client):
    """A client that neither stores nor sends cookies.

    One client serves every environment, so a cookie that one provider set would otherwise go
    with the next request to that host for another environment. No request of Hatchway's needs
    a cookie, and reading Set-Cookie headers into a jar takes time on every response.
    """

    @property
    def cookies(self) -> httpx.Cookies:
        # A new empty jar each time, so that a cookie set on it reaches no request either.
        return _DiscardedCookies()

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        raise TypeError("the guarded client keeps no cookies")


def create_guarded_client(
    policy: OutboundPolicy, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """Create the client that every fetch of a user-supplied URL must use.

    `transport` replaces the guarded transport; pass only one that wraps it.
    """
    return _CookielessClient(
        transport=transport or _GuardedTransport(policy),
        follow_redirects=False,
        timeout=httpx.Timeout(policy.timeout_seconds),
        trust_env=False,
        headers={"User-Agent": "Hatchway"},
    )


def read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    """Read a streamed response body, refusing one larger than `max_bytes`."""
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise ResponseTooLargeError(str(response.url), f"response larger than {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise ResponseTooLargeError(
                str(response.url), f"response larger than {max_bytes} bytes"
            )
        chunks.append(chunk)
    return b"".join(chunks)


@dataclass(frozen=True)
class FetchedJson:
    status_code: int
    document: Any
    headers: httpx.Headers


def fetch_json(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    max_bytes: int = MIB,
    data: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> FetchedJson:
    """Send a request through the guarded client and parse a capped JSON body.

    Raises `OutboundError` for refused destinations, network failures, redirects, oversized
    bodies and non-JSON bodies of a 2xx response. Other statuses are returned, because token
    endpoints explain errors in JSON; their `document` is None when the body is not JSON.
    """
    try:
        with client.stream(method, url, data=data, headers=headers) as response:
            body = read_capped(response, max_bytes)
    except OutboundError:
        raise
    except httpx.HTTPError as error:
        raise _transport_error(client, url, error) from None

    if 300 <= response.status_code < 400:
        location = response.headers.get("location", "")
        raise OutboundError(
            url,
            f"the server redirected (HTTP {response.status_code}) to '{location}'",
            OutboundFailure.REDIRECT,
        )
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        if not 200 <= response.status_code < 300:
            # The status explains more than an error page does, so the caller gets the status.
            return FetchedJson(response.status_code, None, response.headers)
        content_type = response.headers.get("content-type", "none")
        raise OutboundError(
            url,
            f"the response (HTTP {response.status_code}, Content-Type '{content_type}') is not "
            "JSON",
            OutboundFailure.NOT_JSON,
        ) from None
    return FetchedJson(response.status_code, document, response.headers)


def _causes(error: BaseException) -> Iterator[BaseException]:
    """Yield an exception and the exceptions it was raised from, innermost last."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _after(seconds: float | None) -> str:
    return f" after {seconds:g} seconds" if seconds else ""


def _transport_error(client: httpx.Client, url: str, error: httpx.HTTPError) -> OutboundError:
    """Translate an httpx error into an `OutboundError` that names its cause in words."""
    port = httpx.URL(url).port or (443 if url.startswith("https:") else 80)
    if isinstance(error, httpx.ConnectTimeout):
        return OutboundError(
            url,
            f"the connection to port {port} timed out{_after(client.timeout.connect)}",
            OutboundFailure.CONNECT_TIMEOUT,
        )
    if isinstance(error, httpx.TimeoutException):
        return OutboundError(
            url,
            "the server accepted the connection but the request timed out"
            + _after(client.timeout.read),
            OutboundFailure.READ_TIMEOUT,
        )
    for cause in _causes(error):
        if isinstance(cause, ssl.SSLError):
            detail = cause.reason or type(cause).__name__
            if isinstance(cause, ssl.SSLCertVerificationError) and cause.verify_message:
                detail = cause.verify_message
            return OutboundError(url, f"the TLS handshake failed ({detail})", OutboundFailure.TLS)
        if isinstance(cause, ConnectionRefusedError):
            return OutboundError(
                url,
                f"the connection to port {port} was refused",
                OutboundFailure.CONNECTION_REFUSED,
            )
    if isinstance(error, httpx.ConnectError):
        return OutboundError(
            url,
            f"the connection to port {port} failed ({error})",
            OutboundFailure.CONNECTION_FAILED,
        )
    return OutboundError(url, f"the request failed: {type(error).__name__}")
