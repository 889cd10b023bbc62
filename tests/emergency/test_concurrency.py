"""Fifty browsers pressing the button of one link at once: exactly one signs in."""

from __future__ import annotations

import threading

import httpx
from sqlalchemy import func, select

from hatchway.db.models import SessionRecord
from tests.support.accounts import ADMIN_EMAIL, create_environment, csrf_token, token_of
from tests.support.hatchway import LiveServer

PRESSES = 50


def test_fifty_concurrent_posts_sign_in_once(live_server: LiveServer) -> None:
    with live_server.api() as api:
        create_environment(api)
        url = api.post(
            "/contoso/EmergencyAccess", json={"EmailAddress": ADMIN_EMAIL, "Delivery": "Response"}
        ).json()["Url"]
    with httpx.Client() as browser:
        page = browser.get(url)
        form = {"csrf_token": csrf_token(page.text), "token": token_of(url)}
        cookies = dict(browser.cookies)
    barrier = threading.Barrier(PRESSES)
    statuses: list[int] = []
    lock = threading.Lock()

    def press() -> None:
        with httpx.Client(cookies=cookies, timeout=60) as client:
            barrier.wait()
            response = client.post(
                f"{live_server.url}/contoso/AdminPage/EmergencyAccess", data=form
            )
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=press) for _ in range(PRESSES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)

    assert sorted(statuses) == [303] + [410] * (PRESSES - 1)
    with live_server.context.database.read() as session:
        sessions = session.scalar(
            select(func.count()).select_from(SessionRecord).where(SessionRecord.kind == "emergency")
        )
    assert sessions == 1
