"""One live server and one signed-in Chromium context per test module of the admin pages.

Browser tests that share a server keep their data apart by using e-mail addresses of their own.
A module that uses `server` must not use the function-scoped `api`, `client` or `live_server`
fixtures: on PostgreSQL those empty the run's database, which the module's server uses too.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from hatchway.config import Settings
from tests.support.accounts import ADMIN_EMAIL, ADMIN_PASSWORD, create_environment
from tests.support.browser import new_isolated_context
from tests.support.hatchway import (
    LiveServer,
    PostgresDatabase,
    start_live_server,
    stop_live_server,
)
from tests.support.hatchway import test_settings as make_settings

ENVIRONMENT = "contoso"


@pytest.fixture(scope="module")
def module_database_url(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_database: PostgresDatabase | None,
) -> str:
    """A database for the module: a migrated SQLite file, or the run's PostgreSQL emptied."""
    if postgres_database is None:
        target = tmp_path_factory.mktemp("admin-db") / "hatchway.sqlite3"
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copyfile(template, target)
        return f"sqlite:///{target}"
    postgres_database.truncate_all()
    return postgres_database.url


@pytest.fixture(scope="module")
def module_settings(tmp_path_factory: pytest.TempPathFactory, module_database_url: str) -> Settings:
    return make_settings(tmp_path_factory.mktemp("admin-data"), module_database_url)


@pytest.fixture(scope="module")
def server(module_settings: Settings) -> Iterator[LiveServer]:
    """Hatchway on 127.0.0.1 with environment 'contoso' and its administrator."""
    live = start_live_server(module_settings)
    try:
        with live.api() as api:
            create_environment(api, ENVIRONMENT)
        yield live
    finally:
        stop_live_server(live)


@pytest.fixture(scope="module")
def admin_context(chromium: Browser) -> Iterator[BrowserContext]:
    context = new_isolated_context(chromium)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture(scope="module")
def admin(server: LiveServer, admin_context: BrowserContext) -> Page:
    """A page signed in as the administrator of 'contoso', shared by the module's tests."""
    return sign_in(admin_context, server, ENVIRONMENT, ADMIN_EMAIL)


def sign_in(
    context: BrowserContext,
    server: LiveServer,
    environment: str,
    email: str,
    password: str = ADMIN_PASSWORD,
) -> Page:
    """Sign in through the local password form and return the page, now at the workspace."""
    page = context.new_page()
    page.goto(f"{server.url}/{environment}/SignIn?local=1")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/{environment}/")
    return page


def open_admin_page(page: Page, server: LiveServer, rest: str = "") -> None:
    """Go to an administration page of 'contoso' and check that it opened."""
    response = page.goto(f"{server.url}/{ENVIRONMENT}/AdminPage/{rest}")
    assert response is not None
    expect(page.get_by_role("navigation", name="Administration")).to_be_visible()
