"""Outbound HTTP for Hatchway under test: no real name lookups, test hosts mapped to loopback.

Hatchway's guarded client resolves host names itself, through `OutboundPolicy.resolver`. Tests
give it a resolver that resolves only IP literals, 'localhost' and the names a test maps, so that a
test can never reach a host on the internet, even when it names one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import replace

import httpx

from hatchway.context import AppContext
from hatchway.security.ssrf import Resolver, create_guarded_client, create_guarded_transport


def offline_resolver(host: str, port: int) -> list[str]:
    """Resolve IP literals and 'localhost' only; any other name raises OSError."""
    literal = host.strip("[]")
    try:
        ipaddress.ip_address(literal)
    except ValueError:
        pass
    else:
        return [literal]
    if host.lower() == "localhost":
        return ["127.0.0.1"]
    raise OSError(f"tests resolve no host names ('{host}')")


def mapping_resolver(names: Mapping[str, str]) -> Resolver:
    """Resolve the given names to their addresses and everything else like `offline_resolver`."""
    lowered = {name.lower(): address for name, address in names.items()}

    def resolve(host: str, port: int) -> list[str]:
        address = lowered.get(host.lower())
        return [address] if address is not None else offline_resolver(host, port)

    return resolve


class LoopbackRoute(httpx.BaseTransport):
    """Send https requests for some host names to a plain-http server on a loopback port.

    The rewritten request keeps its host name and goes through the wrapped (guarded)
    transport, so the resolver and the address checks run as in production.
    """

    def __init__(self, inner: httpx.BaseTransport, hosts: frozenset[str], port: int) -> None:
        self._inner = inner
        self._hosts = hosts
        self._port = port

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host in self._hosts and request.url.scheme == "https":
            request.url = request.url.copy_with(scheme="http", port=self._port)
            request.headers["Host"] = f"{request.url.host}:{self._port}"
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def install_http_client(
    context: AppContext,
    resolver: Resolver,
    route: tuple[frozenset[str], int] | None = None,
) -> None:
    """Give the context a guarded client with `resolver`, optionally routing hosts to a port."""
    policy = replace(context.outbound_policy, resolver=resolver)
    transport = create_guarded_transport(policy)
    if route is not None:
        transport = LoopbackRoute(transport, *route)
    context.http_client.close()
    context.outbound_policy = policy
    context.http_client = create_guarded_client(policy, transport)
