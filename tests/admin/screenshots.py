"""Screenshots of the administration pages for the README, taken in Chromium.

    .venv/bin/python -m tests.admin.screenshots docs/screenshots

starts Hatchway on a free port of 127.0.0.1, with SQLite in a temporary folder and an SMTP sink.
It fills environment 'contoso' with users, SSO settings and emergency requests through the
Provisioning API, signs in as its administrator and saves one PNG per page. The test
`test_screenshots.py` runs the same code into a temporary folder.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

from hatchway.mail.worker import OutboxWorker
from tests.support.accounts import ADMIN_EMAIL, ADMIN_PASSWORD, create_environment
from tests.support.aio import run_async
from tests.support.browser import launch_chromium, new_isolated_context
from tests.support.hatchway import LiveServer, start_live_server, stop_live_server
from tests.support.hatchway import test_settings as make_settings
from tests.support.smtp import SmtpSink

ENVIRONMENT = "contoso"
# The file name of each page's screenshot and its path below /contoso/AdminPage/.
PAGES = {
    "admin-overview.png": "",
    "admin-sso.png": "SingleSignOn",
    "admin-users.png": "Users",
    "admin-audit-log.png": "AuditLog?limit=8",
    "admin-emergency-access.png": "EmergencyAccess",
}
VIEWPORT = {"width": 1200, "height": 800}
DEACTIVATED = "edsger.dijkstra@contoso.test"
PEOPLE = [
    ("grace.hopper@contoso.test", "Grace", "Hopper", True),
    ("alan.turing@contoso.test", "Alan", "Turing", False),
    ("katherine.johnson@contoso.test", "Katherine", "Johnson", False),
    ("edsger.dijkstra@contoso.test", "Edsger", "Dijkstra", False),
]


def populate(server: LiveServer, sink: SmtpSink) -> None:
    """Give 'contoso' the users, SSO settings and emergency requests that the pages show."""
    with server.api() as api:
        create_environment(api, ENVIRONMENT)
        user_ids = {}
        for email, first_name, last_name, is_administrator in PEOPLE:
            created = api.post(
                f"/{ENVIRONMENT}/User/",
                json={
                    "EmailAddress": email,
                    "FirstName": first_name,
                    "LastName": last_name,
                    "IsAdministrator": is_administrator,
                },
            )
            created.raise_for_status()
            user_ids[email] = created.json()
        settings = api.put(
            f"/{ENVIRONMENT}/SingleSignOnSettings/OAuth2",
            params={"verify": "false"},
            json={
                "Authority": "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0",
                "ClientId": "6731de76-14a6-49ae-97bc-6eba6914391e",
                "Key": "screenshot-client-secret-value",
                "KeyExpiresOn": (date.today() + timedelta(days=21)).isoformat(),
            },
        )
        settings.raise_for_status()
        # A second version, so that the history shows what changed and offers a Restore.
        renewed = api.put(
            f"/{ENVIRONMENT}/SingleSignOnSettings/OAuth2",
            params={"verify": "false"},
            json={
                "Key": "renewed-screenshot-client-secret",
                "KeyExpiresOn": (date.today() + timedelta(days=21)).isoformat(),
            },
        )
        renewed.raise_for_status()
        deactivated = api.put(
            f"/{ENVIRONMENT}/User/{user_ids[DEACTIVATED]}", json={"IsActive": False}
        )
        deactivated.raise_for_status()

        for _ in range(2):
            api.post(
                f"/{ENVIRONMENT}/EmergencyAccess",
                json={"EmailAddress": ADMIN_EMAIL, "Delivery": "Email"},
            ).raise_for_status()
        # Of the first two mails, the SMTP server refuses one for now and accepts the other.
        sink.refuse_next(1, 451, "4.3.0 Mailbox busy, try again later")
        run_async(OutboxWorker(server.context).run_once())
        for delivery in ("Email", "Response"):
            api.post(
                f"/{ENVIRONMENT}/EmergencyAccess",
                json={"EmailAddress": ADMIN_EMAIL, "Delivery": delivery},
            ).raise_for_status()


def take_screenshots(browser: Browser, server: LiveServer, folder: Path) -> list[Path]:
    """Sign in as the administrator and save one full-page PNG per page into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    context = new_isolated_context(browser)
    try:
        page = context.new_page()
        page.set_viewport_size(VIEWPORT)
        page.goto(f"{server.url}/{ENVIRONMENT}/SignIn?local=1")
        page.get_by_label("E-mail address").fill(ADMIN_EMAIL)
        page.get_by_label("Password").fill(ADMIN_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{server.url}/{ENVIRONMENT}/")

        saved = []
        for name, rest in PAGES.items():
            page.goto(f"{server.url}/{ENVIRONMENT}/AdminPage/{rest}")
            path = folder / name
            page.screenshot(path=str(path), full_page=True)
            saved.append(path)
        return saved
    finally:
        context.close()


def run(browser: Browser, folder: Path, work_dir: Path) -> list[Path]:
    """Start a server of its own in `work_dir`, fill it, and save the screenshots."""
    sink = SmtpSink()
    sink.start()
    settings = make_settings(
        work_dir / "data",
        f"sqlite:///{work_dir / 'hatchway.sqlite3'}",
        smtp_url=f"smtp://127.0.0.1:{sink.port}",
        outbox_first_retry_seconds=600.0,
    )
    server = start_live_server(settings)
    try:
        populate(server, sink)
        return take_screenshots(browser, server, folder)
    finally:
        stop_live_server(server)
        sink.stop()


def main(arguments: list[str]) -> int:
    if len(arguments) != 1:
        print("usage: python -m tests.admin.screenshots FOLDER", file=sys.stderr)
        return 2
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as work_dir:
        browser = launch_chromium(playwright)
        try:
            for path in run(browser, Path(arguments[0]), Path(work_dir)):
                print(path)
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
