"""Fixtures shared by the whole suite: Hatchway on SQLite or PostgreSQL, in-process or live."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from hatchway.app import create_app
from hatchway.config import Settings
from hatchway.context import AppContext
from hatchway.db.engine import create_database_engine, upgrade_database
from tests.support.fixtures import browser_context, chromium, oidc_provider, smtp_sink
from tests.support.hatchway import (
    PROVISIONING_KEY,
    LiveServer,
    PostgresDatabase,
    backend_name,
    iterate_live_server,
    prepare_context,
    test_settings,
)

__all__ = ["browser_context", "chromium", "oidc_provider", "smtp_sink"]


class ServerErrorRecorder(logging.Handler):
    """Collects every request that Hatchway answered with 500 Internal Server Error.

    502 and 503 stay allowed: they are Hatchway's readable answers when an identity provider
    cannot be reached or a stored Key cannot be opened.
    """

    def __init__(self) -> None:
        super().__init__()
        self.failures: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        status = record.args[2] if isinstance(record.args, tuple) and len(record.args) > 2 else 0
        if status == 500:
            self.failures.append(record.getMessage())


@pytest.fixture(autouse=True)
def no_server_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail any test during which Hatchway answered a request with 500."""
    recorder = ServerErrorRecorder()
    access = logging.getLogger("hatchway.access")
    access.addHandler(recorder)
    access.setLevel(logging.INFO)
    try:
        yield
    finally:
        access.removeHandler(recorder)
    if recorder.failures and not request.node.get_closest_marker("allow_server_errors"):
        pytest.fail("Hatchway answered with a server error: " + "; ".join(recorder.failures))


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[PostgresDatabase | None]:
    if backend_name() != "postgresql":
        yield None
        return
    database = PostgresDatabase()
    database.create()
    try:
        yield database
    finally:
        database.drop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies, which is about ten times faster."""
    path = tmp_path_factory.mktemp("template") / "hatchway.sqlite3"
    engine = create_database_engine(f"sqlite:///{path}")
    upgrade_database(engine)
    engine.dispose()
    return path


@pytest.fixture
def database_url(
    tmp_path: Path, postgres_database: PostgresDatabase | None, request: pytest.FixtureRequest
) -> str:
    """A database of this test's own: a migrated SQLite file, or the run's PostgreSQL emptied."""
    if postgres_database is None:
        target = tmp_path / "hatchway.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    postgres_database.truncate_all()
    return postgres_database.url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return test_settings(tmp_path / "data", database_url)


@pytest.fixture
def context(settings: Settings) -> Iterator[AppContext]:
    app_context = prepare_context(settings)
    try:
        yield app_context
    finally:
        app_context.close()


@pytest.fixture
def app(context: AppContext) -> FastAPI:
    return create_app(context.settings, context=context)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An in-process client for pages and the API, without a Provisioning Key."""
    with TestClient(app, base_url="http://127.0.0.1", follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def api(app: FastAPI) -> Iterator[TestClient]:
    """An in-process client for /Provisioning that sends the Provisioning Key."""
    with TestClient(
        app,
        base_url="http://127.0.0.1/Provisioning",
        follow_redirects=False,
        headers={"ProvisioningKey": PROVISIONING_KEY},
    ) as test_client:
        yield test_client


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    """Hatchway on a free port of 127.0.0.1, with its public URL set to that address."""
    yield from iterate_live_server(settings)
