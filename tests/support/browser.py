"""Debian's chromium driven through the Playwright sync API, kept off the network."""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import urlsplit

from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Route

from tests.support.ports import LOOPBACK

CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # No host name resolves, so requests that Playwright's routing does not see
    # (those the browser process makes itself) cannot leave the machine either.
    f"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE {LOOPBACK}",
)

# oidc-provider's development interaction pages (oidc-provider 9.x, lib/views/):
# each step is a form that posts a hidden "prompt" field to /interaction/<uid>.
LOGIN_FORM = 'form:has(input[name="prompt"][value="login"])'
CONSENT_FORM = 'form:has(input[name="prompt"][value="consent"])'
DEFAULT_TIMEOUT_MS = 10_000


def launch_chromium(playwright: Playwright) -> Browser:
    """Launch Debian's headless chromium (Playwright's own browser builds are not installed)."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM_PATH, headless=True, args=list(CHROMIUM_ARGS)
    )


def new_isolated_context(
    browser: Browser, allowed_hosts: Collection[str] = (LOOPBACK,)
) -> BrowserContext:
    """Create a browser context that aborts every request to a host not in `allowed_hosts`.

    Pages such as oidc-provider's login form import web fonts from the internet.
    Aborting those requests keeps tests offline and fast.
    """
    context = browser.new_context()
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)

    def is_blocked(url: str) -> bool:
        return urlsplit(url).hostname not in allowed_hosts

    def abort(route: Route) -> None:
        route.abort("blockedbyclient")

    context.route(is_blocked, abort)
    return context


def sign_in_at_provider(
    page: Page,
    login: str,
    *,
    password: str = "any-password",
    timeout_ms: float = DEFAULT_TIMEOUT_MS,
) -> None:
    """Complete oidc-provider's development login and consent pages as `login`.

    Call it when `page` is at, or on its way to, the provider's login page. Returns
    once the browser has left the provider's origin, which is normally the client's
    redirect URI. The consent page is skipped when the provider does not show it,
    for example when the grant already exists.
    """
    login_form = page.locator(LOGIN_FORM)
    login_form.wait_for(timeout=timeout_ms)
    provider_origin = _origin(page.url)
    login_url = page.url

    login_form.locator('input[name="login"]').fill(login)
    login_form.locator('input[name="password"]').fill(password)
    login_form.locator('button[type="submit"]').click()

    def left_login_page(url: str) -> bool:
        return _origin(url) != provider_origin or (
            urlsplit(url).path.startswith("/interaction/") and url != login_url
        )

    page.wait_for_url(left_login_page, wait_until="commit", timeout=timeout_ms)
    if _origin(page.url) == provider_origin:
        page.locator(CONSENT_FORM).locator('button[type="submit"]').click(timeout=timeout_ms)
        page.wait_for_url(
            lambda url: _origin(url) != provider_origin, wait_until="commit", timeout=timeout_ms
        )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
