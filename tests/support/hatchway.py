"""Hatchway itself under test: database backends, settings, an in-process live server.

The suite runs on SQLite or PostgreSQL, chosen by HATCHWAY_TEST_DATABASE ('sqlite', the default,
or 'postgresql'). PostgreSQL tests use a database created for the run on 127.0.0.1:5432 and
dropped afterwards; HATCHWAY_TEST_POSTGRES_URL points elsewhere.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy import create_engine, text

from hatchway.app import build_context, create_app
from hatchway.config import Settings
from hatchway.context import AppContext
from hatchway.db.engine import create_database_engine, upgrade_database
from hatchway.db.models import Base
from hatchway.db.types import utcnow
from hatchway.provisioning.auth import ensure_provisioning_key
from tests.support.network import install_http_client, offline_resolver
from tests.support.ports import free_port

PROVISIONING_KEY = "5C1B7E2A-0D4F-4A8B-9E6C-3F2D1A0B9C8D"
DEFAULT_POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def backend_name() -> str:
    name = os.environ.get("HATCHWAY_TEST_DATABASE", "sqlite").strip().lower()
    if name not in ("sqlite", "postgresql"):
        raise RuntimeError(
            f"HATCHWAY_TEST_DATABASE={name!r} is not supported; use 'sqlite' or 'postgresql'."
        )
    return name


class PostgresDatabase:
    """A database created for one test run and dropped at its end."""

    def __init__(self) -> None:
        self.admin_url = os.environ.get("HATCHWAY_TEST_POSTGRES_URL", DEFAULT_POSTGRES_ADMIN_URL)
        self.name = f"hatchway_test_{uuid.uuid4().hex[:12]}"
        base, _, _ = self.admin_url.rpartition("/")
        self.url = f"{base}/{self.name}"

    def create(self) -> None:
        """Create the database and migrate it to the newest schema."""
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self.name}"'))
        engine.dispose()
        migrated = create_database_engine(self.url)
        upgrade_database(migrated)
        migrated.dispose()

    def drop(self) -> None:
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        engine.dispose()

    def truncate_all(self) -> None:
        engine = create_engine(self.url)
        tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
        with engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()


def test_settings(data_dir: Path, database_url: str, **overrides: object) -> Settings:
    """Settings for one test: its own data folder, loopback providers allowed, a fixed key."""
    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        public_url="http://127.0.0.1",
        public_url_configured=True,
        provisioning_key=PROVISIONING_KEY,
        insecure_loopback_idp=True,
        outbox_worker=False,
        # The lowest argon2id cost keeps password hashing from dominating the suite's time.
        password_hash_time_cost=1,
        password_hash_memory_kib=1024,
    )
    return replace(settings, **overrides)  # type: ignore[arg-type]


def prepare_context(settings: Settings) -> AppContext:
    """Migrate, store the test Provisioning Key, and build the application context.

    Its guarded HTTP client resolves no host names, so that a test never reaches the internet;
    identity providers under test listen on IP literals such as 127.0.0.1.
    """
    context = build_context(settings, migrate=True)
    install_http_client(context, offline_resolver)
    ensure_provisioning_key(context.database, settings.provisioning_key, utcnow())
    return context


@dataclass
class LiveServer:
    """Hatchway served by uvicorn on a thread of the test process, on 127.0.0.1."""

    app: FastAPI
    context: AppContext
    port: int
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def provisioning(self, path: str) -> str:
        return f"{self.url}/Provisioning{path}"

    def api(self) -> httpx.Client:
        """Return a client that sends the test Provisioning Key."""
        return httpx.Client(
            base_url=f"{self.url}/Provisioning",
            headers={"ProvisioningKey": PROVISIONING_KEY},
            timeout=30,
        )


def start_live_server(settings: Settings, port: int | None = None) -> LiveServer:
    """Serve Hatchway on a thread, on `port` or on a port this process binds first.

    Binding the listening socket here, before uvicorn starts, leaves no moment in which
    another program could take the port.
    """
    listener = _listen(port)
    port = listener.getsockname()[1]
    settings = replace(settings, public_url=f"http://127.0.0.1:{port}")
    context = prepare_context(settings)
    app = create_app(settings, context=context)
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name=f"hatchway-{port}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"Hatchway did not start on port {port}")
        time.sleep(0.02)
    return LiveServer(app, context, port, server, thread)


def _listen(port: int | None) -> socket.socket:
    """Return a socket listening on 127.0.0.1:`port`, or on a free port when none is given."""
    for attempt in range(1, 4):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.bind(("127.0.0.1", port or free_port()))
        except OSError:
            listener.close()
            # Another program took the port between the probe and the bind.
            if port is not None or attempt == 3:
                raise
            continue
        listener.listen(128)
        return listener
    raise AssertionError("unreachable")


def stop_live_server(live: LiveServer) -> None:
    live.server.should_exit = True
    live.thread.join(timeout=10)
    live.context.close()


def iterate_live_server(settings: Settings) -> Iterator[LiveServer]:
    live = start_live_server(settings)
    try:
        yield live
    finally:
        stop_live_server(live)
