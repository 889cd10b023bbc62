"""The collaborators every request handler and background task shares, built once at start."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import httpx
from starlette.requests import HTTPConnection

from hatchway.config import Settings
from hatchway.db.engine import Database
from hatchway.db.types import utcnow
from hatchway.provisioning.key_cache import ProvisioningKeyCache
from hatchway.security.sealing import Keyring
from hatchway.security.ssrf import OutboundPolicy, create_guarded_client

Clock = Callable[[], datetime]


@dataclass
class AppContext:
    """The settings, database, sealing keys, clock, HTTP client and key snapshot of a process."""

    settings: Settings
    database: Database
    keyring: Keyring
    outbound_policy: OutboundPolicy
    clock: Clock = utcnow
    http_client: httpx.Client = field(init=False)
    provisioning_keys: ProvisioningKeyCache = field(init=False)

    def __post_init__(self) -> None:
        self.http_client = create_guarded_client(self.outbound_policy)
        self.provisioning_keys = ProvisioningKeyCache(self.database)

    def now(self) -> datetime:
        return self.clock()

    def close(self) -> None:
        self.http_client.close()
        self.database.dispose()


def get_context(connection: HTTPConnection) -> AppContext:
    """Return the context of the application that serves this request."""
    context = connection.app.state.context
    assert isinstance(context, AppContext)
    return context


async def context_dependency(connection: HTTPConnection) -> AppContext:
    """Return the request's context as a FastAPI dependency.

    FastAPI runs a plain function dependency in a worker thread; this one runs on the event loop.
    """
    return get_context(connection)


def client_address(connection: HTTPConnection) -> str | None:
    """Return the peer address of the connection.

    NOTE: behind a reverse proxy this is the proxy's address; Hatchway does not trust
    X-Forwarded-For, so rate limits then count per proxy.
    """
    return connection.client.host if connection.client else None
