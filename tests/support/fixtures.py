"""pytest fixtures for tests that need the OpenID Provider, the SMTP sink or chromium.

Import the fixtures a test module or conftest.py needs, for example
`from tests.support.fixtures import oidc_provider, smtp_sink`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, sync_playwright

from tests.support.browser import launch_chromium, new_isolated_context
from tests.support.idp import DEFAULT_NODE_MODULES, OidcProvider
from tests.support.smtp import SmtpSink


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OidcProvider]:
    """A node-oidc-provider shared by the whole session. Register a client per test."""
    provider = OidcProvider()
    provider.start(DEFAULT_NODE_MODULES)
    try:
        yield provider
    finally:
        provider.stop()


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """An empty SMTP sink that accepts every message until a test sets up a rejection."""
    sink = SmtpSink()
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """Headless Debian chromium, launched once per session."""
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_context(chromium: Browser) -> Iterator[BrowserContext]:
    """A fresh browser context (no cookies) that can reach only 127.0.0.1."""
    context = new_isolated_context(chromium)
    try:
        yield context
    finally:
        context.close()
