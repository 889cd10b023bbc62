"""Provisioning API user calls: create, validate, list, show, update and delete."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from hatchway.audit.service import SYSTEM_ACTOR
from hatchway.context import AppContext
from hatchway.db.models import AuditRecord, SessionRecord
from hatchway.environments import service
from hatchway.errors import ValidationFailed
from tests.support.api import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    assert_problem,
    assert_validation,
    create_environment,
    create_user,
    sign_in_locally,
)

USER_EMAIL = "grace@contoso.test"


@pytest.fixture
def environment(api: TestClient) -> str:
    return create_environment(api)


def _user_ids(api: TestClient, environment: str) -> list[int]:
    return [user["Id"] for user in api.get(f"/{environment}/User/").json()]


# Create


def test_create_returns_integer_id(api: TestClient, environment: str) -> None:
    response = api.post(
        f"/{environment}/User/",
        json={"EmailAddress": USER_EMAIL, "FirstName": "Grace", "LastName": "Hopper"},
    )

    assert response.status_code == 200
    user_id = response.json()
    assert isinstance(user_id, int)
    assert user_id in _user_ids(api, environment)


def test_create_defaults_to_active_non_administrator(api: TestClient, environment: str) -> None:
    user_id = create_user(api, environment, USER_EMAIL)

    user = api.get(f"/{environment}/User/{user_id}").json()

    assert user["IsAdministrator"] is False
    assert user["IsActive"] is True
    assert user["HasPassword"] is False
    assert user["BoundToIdentityProvider"] is False


def test_create_administrator_with_password(api: TestClient, environment: str) -> None:
    user_id = create_user(
        api, environment, USER_EMAIL, IsAdministrator=True, Password="another-long-one"
    )

    user = api.get(f"/{environment}/User/{user_id}").json()

    assert user["IsAdministrator"] is True
    assert user["HasPassword"] is True


def test_create_trims_email_and_names(api: TestClient, environment: str) -> None:
    user_id = create_user(api, environment, f"  {USER_EMAIL}\n", FirstName=" Grace ")

    user = api.get(f"/{environment}/User/{user_id}").json()

    assert user["EmailAddress"] == USER_EMAIL
    assert user["FirstName"] == "Grace"


@pytest.mark.parametrize(
    "duplicate", [ADMIN_EMAIL, ADMIN_EMAIL.upper(), "Admin@Contoso.Test", f" {ADMIN_EMAIL} "]
)
def test_create_rejects_duplicate_email_in_any_case(
    api: TestClient, environment: str, duplicate: str
) -> None:
    response = api.post(f"/{environment}/User/", json={"EmailAddress": duplicate})

    assert_validation(response, "EmailAddress", "already exists in environment 'contoso'")
    assert len(_user_ids(api, environment)) == 1


def test_same_email_allowed_in_other_environment(api: TestClient, environment: str) -> None:
    create_environment(api, "fabrikam")

    assert create_user(api, "fabrikam", "grace@contoso.test") > 0


def test_create_rejects_missing_email(api: TestClient, environment: str) -> None:
    response = api.post(f"/{environment}/User/", json={"FirstName": "Grace"})

    assert_validation(response, "EmailAddress", "EmailAddress is missing")


@pytest.mark.parametrize("email", ["grace", "grace@", "@contoso.test", "gr ace@contoso.test", ""])
def test_create_rejects_invalid_email(api: TestClient, environment: str, email: str) -> None:
    response = api.post(f"/{environment}/User/", json={"EmailAddress": email})

    assert_validation(response, "EmailAddress", "EmailAddress")


def test_create_rejects_long_first_name(api: TestClient, environment: str) -> None:
    response = api.post(
        f"/{environment}/User/", json={"EmailAddress": USER_EMAIL, "FirstName": "G" * 201}
    )

    assert_validation(response, "FirstName", "FirstName has 201 characters", "at most 200")


def test_create_rejects_non_boolean_administrator(api: TestClient, environment: str) -> None:
    response = api.post(
        f"/{environment}/User/", json={"EmailAddress": USER_EMAIL, "IsAdministrator": "maybe"}
    )

    assert_validation(response, "IsAdministrator", "IsAdministrator is not valid", "boolean")


def test_create_in_unknown_environment_is_404(api: TestClient) -> None:
    response = api.post("/nowhere/User/", json={"EmailAddress": USER_EMAIL})

    message = assert_problem(response, 404, "EnvironmentNotFound")
    assert message == "Environment 'nowhere' was not found."


# Validate


def test_validate_accepts_new_user(api: TestClient, environment: str) -> None:
    response = api.post(f"/{environment}/User/Validate/", json={"EmailAddress": USER_EMAIL})

    assert response.status_code == 200
    assert response.json() == []
    assert len(_user_ids(api, environment)) == 1


def test_validate_reports_duplicate(api: TestClient, environment: str) -> None:
    response = api.post(
        f"/{environment}/User/Validate/", json={"EmailAddress": ADMIN_EMAIL.upper()}
    )

    assert_validation(response, "EmailAddress", "already exists")


def test_validate_reports_short_password(api: TestClient, environment: str) -> None:
    response = api.post(
        f"/{environment}/User/Validate/", json={"EmailAddress": USER_EMAIL, "Password": "short"}
    )

    assert_validation(response, "Password", "Password has 5 characters")


def test_validate_in_unknown_environment_is_404(api: TestClient) -> None:
    response = api.post("/nowhere/User/Validate/", json={"EmailAddress": USER_EMAIL})

    assert_problem(response, 404, "EnvironmentNotFound")


# List and show


def test_list_shows_users_in_creation_order(api: TestClient, environment: str) -> None:
    second = create_user(api, environment, USER_EMAIL)

    users = api.get(f"/{environment}/User").json()

    assert [user["EmailAddress"] for user in users] == [ADMIN_EMAIL, USER_EMAIL]
    assert users[1]["Id"] == second
    assert set(users[0]) == {
        "Id",
        "EmailAddress",
        "FirstName",
        "LastName",
        "IsAdministrator",
        "IsActive",
        "HasPassword",
        "BoundToIdentityProvider",
        "CreatedOn",
        "LastSignInOn",
    }


def test_list_never_shows_password(api: TestClient, environment: str) -> None:
    response = api.get(f"/{environment}/User/")

    assert ADMIN_PASSWORD not in response.text
    assert "argon2" not in response.text


def test_list_in_unknown_environment_is_404(api: TestClient) -> None:
    assert_problem(api.get("/nowhere/User/"), 404, "EnvironmentNotFound")


def test_show_returns_user(api: TestClient, environment: str) -> None:
    user_id = create_user(api, environment, USER_EMAIL, FirstName="Grace")

    response = api.get(f"/{environment}/User/{user_id}/")

    assert response.status_code == 200
    assert response.json()["FirstName"] == "Grace"


def test_show_unknown_user_is_404(api: TestClient, environment: str) -> None:
    message = assert_problem(api.get(f"/{environment}/User/999/"), 404, "UserNotFound")

    assert message == "User '999' was not found."


@pytest.mark.parametrize("user_id", ["0", "-1", "2147483648", "99999999999999999999999"])
def test_show_out_of_range_id_is_404(api: TestClient, environment: str, user_id: str) -> None:
    assert_problem(api.get(f"/{environment}/User/{user_id}/"), 404, "UserNotFound")


def test_show_non_numeric_id_is_400(api: TestClient, environment: str) -> None:
    response = api.get(f"/{environment}/User/grace/")

    assert_validation(response, "Id", "Id is not valid", "integer")


def test_show_user_of_other_environment_is_404(api: TestClient, environment: str) -> None:
    create_environment(api, "fabrikam")
    other = create_user(api, "fabrikam", USER_EMAIL)

    assert_problem(api.get(f"/{environment}/User/{other}/"), 404, "UserNotFound")


# Update


def test_update_by_path_id(api: TestClient, environment: str) -> None:
    user_id = create_user(api, environment, USER_EMAIL)

    response = api.put(
        f"/{environment}/User/{user_id}/", json={"FirstName": "Grace", "IsAdministrator": True}
    )

    assert response.status_code == 200
    assert response.json()["FirstName"] == "Grace"
    assert response.json()["IsAdministrator"] is True


def test_update_by_body_id(api: TestClient, environment: str) -> None:
    user_id = create_user(api, environment, USER_EMAIL)

    response = api.put(f"/{environment}/User/", json={"Id": user_id, "LastName": "Hopper"})

    assert response.status_code == 200
    assert response.json()["Id"] == user_id
    assert response.json()["LastName"] == "Hopper"


def test_update_by_body_email_in_other_case(api: TestClient, environment: str) -> None:
    user_id = create_user(api, environment, USER_EMAIL)

    response = api.put(
        f"/{environment}/User/", json={"EmailAddress": USER_EMAIL.upper(), "LastName": "Hopper"}
    )

    assert response.status_code == 200
    assert response.json()["Id"] == user_id
    assert response.json()["EmailAddress"] == USER_EMAIL


def test_update_by_id_changes_email(api: TestClient, environment: str) -> None:
    user_id = create_user(api, environment, USER_EMAIL)

    response = api.put(f"/{environment}/User/{user_id}", json={"EmailAddress": "g@contoso.test"})

    assert response.status_code == 200
    assert response.json()["EmailAddress"] == "g@contoso.test"


def test_update_rejects_email_of_other_user(api: TestClient, environment: str) -> None:
    user_id = create_user(api, environment, USER_EMAIL)

    response = api.put(f"/{environment}/User/{user_id}", json={"EmailAddress": ADMIN_EMAIL.upper()})

    assert_validation(response, "EmailAddress", "Another user already has EmailAddress")


def test_update_without_identifier_is_400(api: TestClient, environment: str) -> None:
    response = api.put(f"/{environment}/User/", json={"FirstName": "Nobody"})

    assert response.status_code == 400
    results = response.json()
    assert results[0]["MemberNames"] == ["Id", "EmailAddress"]
    assert "Say which user" in results[0]["ErrorMessage"]


def test_update_unknown_user_is_404(api: TestClient, environment: str) -> None:
    assert_problem(api.put(f"/{environment}/User/999", json={}), 404, "UserNotFound")
    assert_problem(
        api.put(f"/{environment}/User/", json={"EmailAddress": "ghost@contoso.test"}),
        404,
        "UserNotFound",
    )


def test_update_password_ends_user_sessions(
    api: TestClient, client: TestClient, environment: str, context: AppContext
) -> None:
    sign_in_locally(client, environment, ADMIN_EMAIL, ADMIN_PASSWORD)

    api.put(f"/{environment}/User/", json={"EmailAddress": ADMIN_EMAIL, "Password": "new-pass-123"})

    with context.database.read() as session:
        record = session.scalars(select(SessionRecord)).one()
    assert record.ended_at is not None


def test_update_cannot_demote_last_administrator(api: TestClient, environment: str) -> None:
    response = api.put(
        f"/{environment}/User/", json={"EmailAddress": ADMIN_EMAIL, "IsAdministrator": False}
    )

    assert_validation(
        response, "IsAdministrator", f"User {ADMIN_EMAIL!r} is the last active administrator"
    )


def test_update_cannot_deactivate_last_administrator(api: TestClient, environment: str) -> None:
    response = api.put(f"/{environment}/User/1/", json={"IsActive": False})

    assert_validation(response, "IsActive", "last active administrator")


def _rejections(context: AppContext) -> list[AuditRecord]:
    with context.database.read() as session:
        return list(
            session.scalars(select(AuditRecord).where(AuditRecord.outcome == "rejected")).all()
        )


def test_refused_demotion_is_audited(
    api: TestClient, environment: str, context: AppContext
) -> None:
    api.put(f"/{environment}/User/1/", json={"IsAdministrator": False, "IsActive": False})

    [record] = _rejections(context)
    assert record.action == "user.update"
    assert record.target == ADMIN_EMAIL
    assert record.environment_name == environment
    assert record.detail == (
        "not changed: the last active administrator (IsAdministrator, IsActive)"
    )


def test_refused_delete_is_audited(api: TestClient, environment: str, context: AppContext) -> None:
    api.delete(f"/{environment}/User/1/")

    [record] = _rejections(context)
    assert record.action == "user.delete"
    assert record.target == ADMIN_EMAIL


def test_update_demotes_administrator_when_another_exists(
    api: TestClient, environment: str
) -> None:
    create_user(api, environment, USER_EMAIL, IsAdministrator=True)

    response = api.put(
        f"/{environment}/User/", json={"EmailAddress": ADMIN_EMAIL, "IsAdministrator": False}
    )

    assert response.status_code == 200
    assert response.json()["IsAdministrator"] is False


# Delete


def test_delete_by_path_id(api: TestClient, environment: str) -> None:
    user_id = create_user(api, environment, USER_EMAIL)

    response = api.delete(f"/{environment}/User/{user_id}/")

    assert response.status_code == 200
    assert response.json()["EmailAddress"] == USER_EMAIL
    assert user_id not in _user_ids(api, environment)


def test_delete_by_body_id(api: TestClient, environment: str) -> None:
    user_id = create_user(api, environment, USER_EMAIL)

    response = api.request("DELETE", f"/{environment}/User/", json={"Id": user_id})

    assert response.status_code == 200
    assert user_id not in _user_ids(api, environment)


def test_delete_by_body_email(api: TestClient, environment: str) -> None:
    user_id = create_user(api, environment, USER_EMAIL)

    response = api.request(
        "DELETE", f"/{environment}/User/", json={"emailaddress": USER_EMAIL.upper()}
    )

    assert response.status_code == 200
    assert user_id not in _user_ids(api, environment)


def test_delete_by_query_email(api: TestClient, environment: str) -> None:
    user_id = create_user(api, environment, USER_EMAIL)

    response = api.delete(f"/{environment}/User/", params={"EmailAddress": USER_EMAIL})

    assert response.status_code == 200
    assert user_id not in _user_ids(api, environment)


def test_delete_by_query_id(api: TestClient, environment: str) -> None:
    user_id = create_user(api, environment, USER_EMAIL)

    response = api.delete(f"/{environment}/User", params={"Id": str(user_id)})

    assert response.status_code == 200
    assert user_id not in _user_ids(api, environment)


def test_delete_without_identifier_is_400(api: TestClient, environment: str) -> None:
    response = api.delete(f"/{environment}/User/")

    assert response.status_code == 400
    assert response.json()[0]["MemberNames"] == ["Id", "EmailAddress"]


def test_delete_cannot_remove_last_administrator(api: TestClient, environment: str) -> None:
    response = api.delete(f"/{environment}/User/1/")

    assert_validation(response, "IsAdministrator", "last active administrator")
    assert _user_ids(api, environment) == [1]


def test_delete_removes_administrator_when_another_exists(
    api: TestClient, environment: str
) -> None:
    create_user(api, environment, USER_EMAIL, IsAdministrator=True)

    response = api.delete(f"/{environment}/User/", params={"EmailAddress": ADMIN_EMAIL})

    assert response.status_code == 200
    assert len(_user_ids(api, environment)) == 1


@pytest.mark.parametrize("path", ["/User/999/", "/User/?Id=99999999999999999999"])
def test_delete_unknown_user_is_404(api: TestClient, environment: str, path: str) -> None:
    assert_problem(api.delete(f"/{environment}{path}"), 404, "UserNotFound")


def test_delete_unknown_email_is_404(api: TestClient, environment: str) -> None:
    response = api.request("DELETE", f"/{environment}/User/", json={"EmailAddress": "x@y.test"})

    message = assert_problem(response, 404, "UserNotFound")
    assert "'x@y.test'" in message


def test_delete_in_unknown_environment_is_404(api: TestClient) -> None:
    assert_problem(api.delete("/nowhere/User/1/"), 404, "EnvironmentNotFound")


def test_overlapping_demotions_keep_one_administrator(context: AppContext) -> None:
    """The second of two overlapping demotions waits for the first and is then refused."""
    now = context.now()
    with context.database.write() as session:
        environment, first = service.create_environment(
            session,
            "racing",
            service.UserInput(email="first@racing.test", password="a-long-local-password"),
            actor=SYSTEM_ACTOR,
            now=now,
        )
        second = service.create_user(
            session,
            environment,
            service.UserInput(email="second@racing.test", is_administrator=True),
            actor=SYSTEM_ACTOR,
            now=now,
        )
        assert first is not None
        ids = (first.id, second.id)
    demote = service.UserInput(is_administrator=False)
    outcome: list[str] = []

    def demote_second() -> None:
        try:
            with context.database.write() as other:
                racing = service.get_environment(other, "racing")
                user = service.get_user(other, racing, ids[1])
                service.update_user(other, racing, user, demote, actor=SYSTEM_ACTOR, now=now)
            outcome.append("saved")
        except ValidationFailed:
            outcome.append("refused")

    with context.database.write() as session:
        racing = service.get_environment(session, "racing")
        user = service.get_user(session, racing, ids[0])
        service.update_user(session, racing, user, demote, actor=SYSTEM_ACTOR, now=now)
        thread = threading.Thread(target=demote_second)
        thread.start()
        thread.join(timeout=1.0)
    thread.join(timeout=30)

    assert outcome == ["refused"]
    with context.database.read() as session:
        racing = service.get_environment(session, "racing")
        assert service.active_administrator_count(session, racing) == 1
