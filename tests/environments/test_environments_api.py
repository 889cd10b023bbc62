"""Provisioning API environment calls: create, validate, activate, deactivate, delete, list."""

from __future__ import annotations

import threading
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from hatchway.audit.service import SYSTEM_ACTOR
from hatchway.context import AppContext
from hatchway.db.models import (
    Environment,
    OutboxMessage,
    SessionRecord,
    SsoSettings,
    User,
)
from hatchway.environments import service
from hatchway.environments.names import MAX_NAME_LENGTH
from hatchway.mail.worker import OutboxWorker
from tests.support.aio import run_async
from tests.support.api import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    ADMINISTRATOR,
    assert_problem,
    assert_validation,
    create_environment,
    csrf_token,
    find_temporary_password,
    sign_in_locally,
)


def _environment_names(api: TestClient) -> list[str]:
    response = api.get("/Environment/")
    assert response.status_code == 200
    return [item["EnvironmentName"] for item in response.json()]


# Create with an administrator


def test_create_returns_sanitized_name(api: TestClient) -> None:
    response = api.post("/Environment/", json={"EnvironmentName": "Contoso Ltd", **ADMINISTRATOR})

    assert response.status_code == 200
    assert response.json() == "contosoltd"
    assert _environment_names(api) == ["contosoltd"]


@pytest.mark.parametrize(
    ("requested", "sanitized"),
    [
        ("Crème Brûlée", "cremebrulee"),
        ("Straße 7", "strasse7"),
        ("Ærøskøbing", "aeroskobing"),
        ("Łódź", "lodz"),
        ("\uff26\uff35\uff2c\uff2c", "full"),  # fullwidth letters
        ("  Fabrikam, Inc.\n", "fabrikaminc"),
        ("A-1_b.2", "a1b2"),
    ],
)
def test_create_sanitizes_accents_and_punctuation(
    api: TestClient, requested: str, sanitized: str
) -> None:
    response = api.post("/Environment/", json={"EnvironmentName": requested, **ADMINISTRATOR})

    assert response.status_code == 200
    assert response.json() == sanitized


def test_create_creates_administrator_and_sso_mode_none(api: TestClient) -> None:
    name = create_environment(api)

    users = api.get(f"/{name}/User/").json()
    assert [(user["EmailAddress"], user["IsAdministrator"]) for user in users] == [
        (ADMIN_EMAIL, True)
    ]
    assert users[0]["HasPassword"] is True
    assert api.get(f"/{name}/SingleSignOnSettings").json()["Mode"] == "None"


@pytest.mark.parametrize("name", ["", "   ", "\n"])
def test_create_rejects_empty_name(api: TestClient, name: str) -> None:
    response = api.post("/Environment/", json={"EnvironmentName": name, **ADMINISTRATOR})

    assert_validation(response, "EnvironmentName", "EnvironmentName is empty", "'contoso'")
    assert _environment_names(api) == []


def test_create_rejects_missing_name(api: TestClient) -> None:
    response = api.post("/Environment/", json=ADMINISTRATOR)

    assert_validation(response, "EnvironmentName", "EnvironmentName is missing")


def test_create_rejects_name_without_letters(api: TestClient) -> None:
    response = api.post("/Environment/", json={"EnvironmentName": "!!! ---", **ADMINISTRATOR})

    assert_validation(response, "EnvironmentName", "'!!! ---'", "has no letters or digits")


def test_create_rejects_name_of_other_scripts(api: TestClient) -> None:
    response = api.post("/Environment/", json={"EnvironmentName": "Тест", **ADMINISTRATOR})

    assert_validation(response, "EnvironmentName", "'Тест'", "has no letters or digits")


@pytest.mark.parametrize("name", ["Provisioning", "ADMIN", "static", "Environment", "api"])
def test_create_rejects_reserved_name(api: TestClient, name: str) -> None:
    response = api.post("/Environment/", json={"EnvironmentName": name, **ADMINISTRATOR})

    assert_validation(response, "EnvironmentName", f"{name!r}", "is reserved")


@pytest.mark.parametrize("duplicate", ["contoso", "CONTOSO", "Contoso!"])
def test_create_rejects_duplicate_after_sanitizing(api: TestClient, duplicate: str) -> None:
    create_environment(api, "Contoso")

    response = api.post(
        "/Environment/",
        json={"EnvironmentName": duplicate, **ADMINISTRATOR, "EmailAddress": "other@x.test"},
    )

    assert_validation(response, "EnvironmentName", "Environment 'contoso' already exists")
    assert _environment_names(api) == ["contoso"]


def test_create_rejects_name_over_maximum_length(api: TestClient) -> None:
    name = "a" * (MAX_NAME_LENGTH + 1)

    response = api.post("/Environment/", json={"EnvironmentName": name, **ADMINISTRATOR})

    assert_validation(
        response,
        "EnvironmentName",
        f"has {MAX_NAME_LENGTH + 1} letters and digits",
        f"use at most {MAX_NAME_LENGTH}",
    )


def test_create_accepts_name_of_maximum_length(api: TestClient) -> None:
    name = "b" * MAX_NAME_LENGTH

    assert create_environment(api, name) == name


def test_create_without_password_names_version_two(api: TestClient) -> None:
    body = {key: value for key, value in ADMINISTRATOR.items() if key != "Password"}

    response = api.post("/Environment/", json={"EnvironmentName": "contoso", **body})

    assert_validation(response, "Password", "Password is missing", "'?version=2.0'")
    assert _environment_names(api) == []


def test_create_rejects_short_password_without_echo(api: TestClient) -> None:
    body = {**ADMINISTRATOR, "Password": "s3cr3t"}

    response = api.post("/Environment/", json={"EnvironmentName": "contoso", **body})

    assert_validation(response, "Password", "Password has 6 characters", "at least 8")
    assert "s3cr3t" not in response.text


def test_create_rejects_invalid_email(api: TestClient) -> None:
    body = {**ADMINISTRATOR, "EmailAddress": "admin at contoso"}

    response = api.post("/Environment/", json={"EnvironmentName": "contoso", **body})

    assert_validation(response, "EmailAddress", "'admin at contoso'", "not an e-mail address")


def test_create_reports_every_problem_at_once(api: TestClient) -> None:
    response = api.post(
        "/Environment/", json={"EnvironmentName": "", "EmailAddress": "nobody", "Password": "x"}
    )

    assert_validation(response, "EnvironmentName", "is empty")
    assert_validation(response, "EmailAddress", "not an e-mail address")
    assert_validation(response, "Password", "1 character")


def test_concurrent_duplicate_create_answers_400(api: TestClient, context: AppContext) -> None:
    """A create that loses the race for a name gets the duplicate message, not a server error."""
    committed = threading.Event()
    release = threading.Event()

    def hold_the_name() -> None:
        with context.database.write() as session:
            service.create_environment(session, "race", None, actor=SYSTEM_ACTOR, now=context.now())
            committed.set()
            release.wait(10)

    holder = threading.Thread(target=hold_the_name)
    holder.start()
    assert committed.wait(10)
    threading.Timer(0.3, release.set).start()

    response = api.post("/Environment/", json={"EnvironmentName": "race", **ADMINISTRATOR})
    holder.join(10)

    assert_validation(response, "EnvironmentName", "Environment 'race' already exists")


# Create with a mailed temporary password (?version=2.0)


def _create_with_mailed_password(api: TestClient, **fields: str) -> str:
    body = {key: value for key, value in ADMINISTRATOR.items() if key != "Password"}
    response = api.post(
        "/Environment/?version=2.0", json={"EnvironmentName": "contoso", **body, **fields}
    )
    assert response.status_code == 200, response.text
    name = response.json()
    assert isinstance(name, str)
    return name


def _delivered_mail(context: AppContext) -> EmailMessage:
    assert run_async(OutboxWorker(context).run_once()) == 1
    files = sorted((context.settings.data_dir / "mail").glob("*.eml"))
    assert len(files) == 1
    parser = BytesParser(_class=EmailMessage, policy=policy.default)
    return parser.parsebytes(files[0].read_bytes())


def test_create_v2_needs_no_password(api: TestClient) -> None:
    assert _create_with_mailed_password(api) == "contoso"


def test_create_v2_queues_mail_with_sealed_body(api: TestClient, context: AppContext) -> None:
    _create_with_mailed_password(api)

    with context.database.read() as session:
        messages = list(session.scalars(select(OutboxMessage)))
    assert len(messages) == 1
    message = messages[0]
    assert message.recipient == ADMIN_EMAIL
    assert message.status == "queued"
    assert message.purpose == "temporary-password"
    assert message.body_sealed is not None
    assert "password" not in message.body_sealed.lower()
    assert "Temporary password: " in context.keyring.unseal(message.body_sealed)


def test_create_v2_marks_password_temporary(api: TestClient, context: AppContext) -> None:
    _create_with_mailed_password(api, Password="ignored-password-1")

    with context.database.read() as session:
        user = session.scalars(select(User)).one()
    assert user.password_is_temporary is True
    assert user.password_hash is not None


def test_create_v2_mail_names_sign_in_link(api: TestClient, context: AppContext) -> None:
    _create_with_mailed_password(api)

    mail = _delivered_mail(context)

    assert mail["To"] == ADMIN_EMAIL
    assert "'contoso'" in mail["Subject"]
    assert "http://127.0.0.1/contoso/SignIn?local=1" in mail.get_content()


def test_create_v2_mail_clears_sealed_body_once_written(
    api: TestClient, context: AppContext
) -> None:
    _create_with_mailed_password(api)
    _delivered_mail(context)

    with context.database.read() as session:
        message = session.scalars(select(OutboxMessage)).one()
    assert message.status == "written"
    assert message.body_sealed is None


def test_create_v2_password_signs_in_to_change_page(
    api: TestClient, client: TestClient, context: AppContext
) -> None:
    _create_with_mailed_password(api)
    password = find_temporary_password(_delivered_mail(context).get_content())

    response = sign_in_locally(client, "contoso", ADMIN_EMAIL, password)

    assert response.status_code == 303
    assert response.headers["location"] == "/contoso/ChangePassword"
    home = client.get("/contoso/")
    assert home.status_code == 303
    assert home.headers["location"] == "/contoso/ChangePassword"
    page = client.get("/contoso/ChangePassword")
    assert page.status_code == 200
    assert "Choose a new password" in page.text


# Validate


def test_validate_accepts_valid_body(api: TestClient) -> None:
    response = api.post(
        "/Environment/Validate/", json={"EnvironmentName": "contoso", **ADMINISTRATOR}
    )

    assert response.status_code == 200
    assert response.json() == []
    assert _environment_names(api) == []


def test_validate_lists_each_problem(api: TestClient) -> None:
    create_environment(api)

    response = api.post(
        "/Environment/Validate/", json={"EnvironmentName": "Contoso", "EmailAddress": "x"}
    )

    assert_validation(response, "EnvironmentName", "already exists")
    assert_validation(response, "EmailAddress", "'x'", "not an e-mail address")
    assert_validation(response, "Password", "Password is missing")
    assert len(response.json()) == 3


def test_validate_v2_does_not_need_password(api: TestClient) -> None:
    body = {key: value for key, value in ADMINISTRATOR.items() if key != "Password"}

    response = api.post(
        "/Environment/Validate/?version=2.0", json={"EnvironmentName": "contoso", **body}
    )

    assert response.status_code == 200
    assert response.json() == []


# Create an empty environment


def test_create_empty_returns_sanitized_name(api: TestClient) -> None:
    response = api.post("/Environment/Fabrikam%20Ltd/")

    assert response.status_code == 200
    assert response.json() == "fabrikamltd"
    assert api.get("/fabrikamltd/User/").json() == []
    assert api.get("/fabrikamltd/SingleSignOnSettings").json()["Mode"] == "None"


def test_create_empty_rejects_duplicate(api: TestClient) -> None:
    create_environment(api)

    response = api.post("/Environment/contoso")

    assert_validation(response, "EnvironmentName", "Environment 'contoso' already exists")


def test_create_empty_rejects_reserved_name(api: TestClient) -> None:
    response = api.post("/Environment/Metrics/")

    assert_validation(response, "EnvironmentName", "'Metrics'", "is reserved")


# Show and list


def test_list_is_empty_at_first(api: TestClient) -> None:
    response = api.get("/Environment/")

    assert response.status_code == 200
    assert response.json() == []


def test_list_shows_environments_by_name(api: TestClient) -> None:
    create_environment(api, "Zeta")
    api.post("/Environment/alpha/")

    listed = api.get("/Environment").json()

    assert [item["EnvironmentName"] for item in listed] == ["alpha", "zeta"]
    assert set(listed[0]) == {"EnvironmentName", "IsActive", "CreatedOn"}
    assert all(item["IsActive"] is True for item in listed)


def test_show_unknown_environment_is_404(api: TestClient) -> None:
    response = api.get("/Environment/nowhere/")

    message = assert_problem(response, 404, "EnvironmentNotFound")
    assert "'nowhere'" in message


# Activate and deactivate


def test_deactivate_marks_inactive(api: TestClient) -> None:
    create_environment(api)

    response = api.put("/Environment/contoso/Deactivate/")

    assert response.status_code == 200
    assert response.json()["IsActive"] is False
    assert api.get("/Environment/contoso").json()["IsActive"] is False


def test_deactivated_sign_in_page_explains(api: TestClient, client: TestClient) -> None:
    create_environment(api)
    api.put("/Environment/contoso/Deactivate/")

    page = client.get("/contoso/SignIn")

    assert page.status_code == 403
    assert "Environment deactivated" in page.text
    assert "is deactivated, so nobody can sign in to it" in page.text


def test_deactivated_refuses_password_sign_in(api: TestClient, client: TestClient) -> None:
    create_environment(api)
    form = client.get("/contoso/SignIn?local=1")
    api.put("/Environment/contoso/Deactivate/")

    response = client.post(
        "/contoso/SignIn",
        data={
            "email": ADMIN_EMAIL,
            "password": ADMIN_PASSWORD,
            "csrf_token": csrf_token(form.text),
        },
    )

    assert response.status_code == 403
    assert "hatchway_session" not in response.cookies


def test_deactivate_ends_open_sessions(
    api: TestClient, client: TestClient, context: AppContext
) -> None:
    create_environment(api)
    assert sign_in_locally(client, "contoso", ADMIN_EMAIL, ADMIN_PASSWORD).status_code == 303
    assert client.get("/contoso/").status_code == 200

    api.put("/Environment/contoso/Deactivate/")
    api.put("/Environment/contoso/Activate/")

    with context.database.read() as session:
        records = list(session.scalars(select(SessionRecord)))
    assert len(records) == 1
    assert records[0].ended_at is not None
    home = client.get("/contoso/")
    assert home.status_code == 303
    assert home.headers["location"].startswith("/contoso/SignIn")


def test_deactivated_environment_keeps_api(api: TestClient) -> None:
    create_environment(api)
    api.put("/Environment/contoso/Deactivate/")

    created = api.post("/contoso/User/", json={"EmailAddress": "new@contoso.test"})
    listed = api.get("/contoso/User/")
    sso = api.put(
        "/contoso/SingleSignOnSettings/OAuth2?verify=false",
        json={"Authority": "https://idp.contoso.test", "ClientId": "app", "Key": "value"},
    )

    assert created.status_code == 200
    assert len(listed.json()) == 2
    assert sso.status_code == 200


def test_activate_allows_sign_in_again(api: TestClient, client: TestClient) -> None:
    create_environment(api)
    api.put("/Environment/contoso/Deactivate/")

    response = api.put("/Environment/contoso/Activate/")

    assert response.status_code == 200
    assert response.json()["IsActive"] is True
    assert client.get("/contoso/SignIn").status_code == 200


@pytest.mark.parametrize("action", ["Activate", "Deactivate"])
def test_activation_of_unknown_environment_is_404(api: TestClient, action: str) -> None:
    response = api.put(f"/Environment/nowhere/{action}/")

    assert_problem(response, 404, "EnvironmentNotFound")


# Delete


def test_delete_returns_deleted_environment(api: TestClient) -> None:
    create_environment(api)

    response = api.delete("/Environment/contoso/")

    assert response.status_code == 200
    assert response.json()["EnvironmentName"] == "contoso"
    assert _environment_names(api) == []


def test_delete_removes_users_and_settings(api: TestClient, context: AppContext) -> None:
    create_environment(api)
    api.post("/contoso/User/", json={"EmailAddress": "user@contoso.test"})

    api.delete("/Environment/contoso/")

    with context.database.read() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 0
        assert session.scalar(select(func.count()).select_from(SsoSettings)) == 0
        assert session.scalar(select(func.count()).select_from(Environment)) == 0
    assert_problem(api.get("/contoso/User/"), 404, "EnvironmentNotFound")


def test_delete_keeps_other_environments(api: TestClient, context: AppContext) -> None:
    create_environment(api, "contoso")
    create_environment(api, "fabrikam")

    api.delete("/Environment/contoso/")

    assert _environment_names(api) == ["fabrikam"]
    assert len(api.get("/fabrikam/User/").json()) == 1


def test_delete_then_create_starts_empty(api: TestClient) -> None:
    create_environment(api)
    api.post("/contoso/User/", json={"EmailAddress": "user@contoso.test"})
    api.delete("/Environment/contoso/")

    api.post("/Environment/contoso/")

    assert api.get("/contoso/User/").json() == []


def test_delete_unknown_environment_is_404(api: TestClient) -> None:
    response = api.delete("/Environment/nowhere/")

    assert_problem(response, 404, "EnvironmentNotFound")
