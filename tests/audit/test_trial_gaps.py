"""Audit details: an unchanged user PUT records nothing, and the page names valid actions."""

from __future__ import annotations

from sqlalchemy import select
from starlette.testclient import TestClient

from hatchway.context import AppContext
from hatchway.db.models import AuditRecord
from tests.admin.test_pages import sign_in
from tests.support.accounts import create_environment


def user_updates(context: AppContext) -> list[AuditRecord]:
    with context.database.read() as session:
        return list(session.scalars(select(AuditRecord).where(AuditRecord.action == "user.update")))


def test_unchanged_user_put_is_not_audited(api: TestClient, context: AppContext) -> None:
    create_environment(api)
    [user] = api.get("/contoso/User/").json()

    response = api.put(f"/contoso/User/{user['Id']}/", json={"Password": None})

    assert response.status_code == 200, response.text
    assert user_updates(context) == []


def test_changed_user_put_is_audited(api: TestClient, context: AppContext) -> None:
    create_environment(api)
    [user] = api.get("/contoso/User/").json()

    api.put(f"/contoso/User/{user['Id']}/", json={"FirstName": "Adele"})

    [record] = user_updates(context)
    assert record.after is not None
    assert record.after["FirstName"] == "Adele"


def test_audit_page_names_valid_actions(api: TestClient, client: TestClient) -> None:
    create_environment(api)
    sign_in(client)

    page = client.get("/contoso/AdminPage/AuditLog?action=bogus")

    assert page.status_code == 400
    assert "Action &#39;bogus&#39; is not an audit action; use one of" in page.text
    assert "sso.update" in page.text
    assert '<option value="bogus"' not in page.text
