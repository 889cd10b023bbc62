"""Audit filters that no record can match, and the lists the audit log page offers."""

from __future__ import annotations

from starlette.testclient import TestClient

from hatchway.audit import service
from hatchway.context import AppContext
from hatchway.environments import service as environments
from tests.support.accounts import add_user, create_environment


def test_actor_filter_with_nul_finds_nothing(api: TestClient) -> None:
    create_environment(api)

    response = api.get("/contoso/AuditLog", params={"actor": "a\x00b"})

    assert response.status_code == 200
    assert response.json() == {"Records": [], "NextBefore": None}


def test_action_filter_with_nul_rejected(api: TestClient) -> None:
    create_environment(api)

    response = api.get("/contoso/AuditLog", params={"action": "user.\x00create"})

    assert response.status_code == 400
    [result] = response.json()
    assert result["MemberNames"] == ["action"]
    assert result["ErrorMessage"].startswith("Action 'user.\\x00create' is not an audit action")


def test_unknown_action_rejected(api: TestClient) -> None:
    create_environment(api)

    response = api.get("/contoso/AuditLog", params={"action": "nope"})

    assert response.status_code == 400
    [result] = response.json()
    assert result["MemberNames"] == ["action"]
    message = result["ErrorMessage"]
    assert message.startswith("Action 'nope' is not an audit action; use one of ")
    for action in ("environment.create", "sso.update", "sso.restore", "user.create"):
        assert action in message


def test_unknown_action_list_omits_instance_actions(api: TestClient) -> None:
    create_environment(api)

    response = api.get("/contoso/AuditLog", params={"action": "nope"})

    message = response.json()[0]["ErrorMessage"]
    for action in ("keys.rotate", "provisioning_key.rotate", "rate_limit.clear"):
        assert action not in message


def test_instance_action_points_to_command(api: TestClient) -> None:
    create_environment(api)

    response = api.get("/contoso/AuditLog", params={"action": "keys.rotate"})

    assert response.status_code == 400
    message = response.json()[0]["ErrorMessage"]
    assert message.startswith(
        "Action 'keys.rotate' is recorded for the instance, not for an environment; run "
        "'hatchway instance-audit' on the server's host, or use one of "
    )
    assert "sso.update" in message


def test_action_filter_any_case(api: TestClient) -> None:
    create_environment(api)

    response = api.get("/contoso/AuditLog", params={"action": "Environment.Create"})

    assert response.status_code == 200
    records = response.json()["Records"]
    assert [record["Action"] for record in records] == ["environment.create"]


def test_known_action_without_records(api: TestClient) -> None:
    create_environment(api)

    response = api.get("/contoso/AuditLog", params={"action": "sso.restore"})

    assert response.status_code == 200
    assert response.json()["Records"] == []


def test_lists_distinct_actions_and_actors(api: TestClient, context: AppContext) -> None:
    create_environment(api)
    add_user(api, "contoso", "bo@contoso.test", is_administrator=False, password=None)
    add_user(api, "contoso", "cy@contoso.test", is_administrator=False, password=None)

    with context.database.read() as session:
        environment = environments.get_environment(session, "contoso")
        actions = service.list_actions(session, environment)
        actors = service.list_actors(session, environment)

    assert actions == ["environment.create", "user.create"]
    assert actors == ["provisioning-key-1"]
