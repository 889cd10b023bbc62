"""The Provisioning API refuses SSO changes that would lock every administrator out.

Switching to mode None needs an active administrator with a password; OAuth2 settings that
failed verification need one too, unless they passed a test sign-in. The administration page
applies the same rule (tests/web/admin).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from hatchway.audit.service import SYSTEM_ACTOR, Actor, ActorType
from hatchway.context import AppContext
from hatchway.db.models import AuditRecord, Environment, SsoSettings
from hatchway.security.tokens import fingerprint
from hatchway.sso import service, staging
from tests.support.api import ADMINISTRATOR, assert_validation, create_user
from tests.support.entra import (
    CLIENT_ID,
    CLIENT_SECRET,
    TENANT_DOMAIN,
    FakeEntra,
    assert_signed_in,
    sign_in,
)

REDIRECT_URI = "http://127.0.0.1/contoso/OAuth2/HandleAuthorityResponse"
AUTHORITY = f"https://login.microsoftonline.com/{TENANT_DOMAIN}/v2.0"
OAUTH2 = "/contoso/SingleSignOnSettings/OAuth2"
WRONG_KEY = "not-the-secret-value-4f2a"
OTHER_CLIENT_ID = "33333333-3333-3333-3333-333333333333"
OTHER_SECRET = "other-secret-value-ab12"
ADMINISTRATOR_ACTOR = Actor(ActorType.ADMINISTRATOR, "admin@contoso.test")
NONE_REFUSAL = (
    "No active administrator of 'contoso' has a password, so switching to mode None would lock "
    "everyone out; give an administrator a password first (Users page or the Provisioning API), "
    "or keep single sign-on."
)
OAUTH2_REFUSAL = (
    "No active administrator of 'contoso' has a password, and these OAuth2 settings have "
    "neither passed verification nor a test sign-in, so saving them could lock everyone out; "
    "give an administrator a password first (Users page or the Provisioning API), or use "
    "settings that pass verification."
)


def body(key: str = CLIENT_SECRET) -> dict[str, Any]:
    return {"Authority": AUTHORITY, "ClientId": CLIENT_ID, "Key": key}


def mode(api: TestClient) -> str:
    result: str = api.get("/contoso/SingleSignOnSettings").json()["Mode"]
    return result


@pytest.fixture
def passwordless(api: TestClient, fake_entra: FakeEntra) -> None:
    """An environment whose only administrator has no password, in mode OAuth2 (verified)."""
    fake_entra.register_app(redirect_uris=(REDIRECT_URI,))
    assert api.post("/Environment/contoso/").status_code == 200
    create_user(api, "contoso", "admin@contoso.test", IsAdministrator=True)
    saved = api.put(OAUTH2, json=body())
    assert saved.status_code == 200, saved.text


# Mode None


def test_delete_refused_without_password_administrator(api: TestClient, passwordless: None) -> None:
    response = api.delete(OAUTH2)

    message = assert_validation(response, "Mode")
    assert message == NONE_REFUSAL
    assert mode(api) == "OAuth2"


def _rejected(context: AppContext, action: str) -> list[AuditRecord]:
    with context.database.read() as session:
        return list(
            session.scalars(
                select(AuditRecord).where(
                    AuditRecord.action == action, AuditRecord.outcome == "rejected"
                )
            )
        )


def test_refused_delete_is_audited(
    api: TestClient, passwordless: None, context: AppContext
) -> None:
    api.delete(OAUTH2)

    [record] = _rejected(context, "sso.disable")
    assert record.environment_name == "contoso"
    assert record.detail == "not changed: no active administrator has a password for mode None"
    assert record.after == {"Mode": "None"}


def test_delete_allowed_with_password_administrator(api: TestClient, passwordless: None) -> None:
    create_user(api, "contoso", "second@contoso.test", IsAdministrator=True, Password="pw-2-long!")

    response = api.delete(OAUTH2)

    assert response.status_code == 200
    assert response.json()["Mode"] == "None"


def test_deactivated_administrator_password_does_not_count(
    api: TestClient, passwordless: None
) -> None:
    create_user(
        api,
        "contoso",
        "gone@contoso.test",
        IsAdministrator=True,
        Password="pw-2-long!",
        IsActive=False,
    )

    response = api.delete(OAUTH2)

    assert_validation(response, "Mode", "No active administrator of 'contoso' has a password")


def test_user_password_does_not_count(api: TestClient, passwordless: None) -> None:
    create_user(api, "contoso", "user@contoso.test", IsAdministrator=False, Password="pw-2-long!")

    response = api.delete(OAUTH2)

    assert_validation(response, "Mode", "switching to mode None would lock everyone out")


def test_delete_allowed_without_administrators(api: TestClient, fake_entra: FakeEntra) -> None:
    fake_entra.register_app(redirect_uris=(REDIRECT_URI,))
    assert api.post("/Environment/contoso/").status_code == 200
    assert api.put(OAUTH2, json=body()).status_code == 200

    response = api.delete(OAUTH2)

    assert response.status_code == 200
    assert response.json()["Mode"] == "None"


def test_delete_in_mode_none_changes_nothing(api: TestClient, fake_entra: FakeEntra) -> None:
    assert api.post("/Environment/contoso/").status_code == 200
    create_user(api, "contoso", "admin@contoso.test", IsAdministrator=True)

    response = api.delete(OAUTH2)

    assert response.status_code == 200
    assert response.json()["Version"] == 0


# OAuth2


def test_unverified_put_refused_without_password_administrator(
    api: TestClient, passwordless: None
) -> None:
    response = api.put(OAUTH2, json=body(WRONG_KEY), params={"verify": "false"})

    message = assert_validation(response, "Mode")
    assert message == OAUTH2_REFUSAL
    assert_validation(response, "Key", "AADSTS7000215")
    assert api.get("/contoso/SingleSignOnSettings").json()["Version"] == 1


def test_refused_unverified_put_is_audited(
    api: TestClient, passwordless: None, context: AppContext
) -> None:
    api.put(OAUTH2, json=body(WRONG_KEY), params={"verify": "false"})

    [record] = _rejected(context, "sso.update")
    assert record.detail == (
        "not saved: no active administrator has a password and verification failed: "
        "ClientCredentials (saving despite failed checks was requested)"
    )
    assert record.after is not None
    assert record.after["KeyFingerprint"] == fingerprint(WRONG_KEY)
    assert WRONG_KEY not in str(record.after)


def test_unverified_put_allowed_with_password_administrator(
    api: TestClient, fake_entra: FakeEntra
) -> None:
    fake_entra.register_app(redirect_uris=(REDIRECT_URI,))
    created = api.post("/Environment/", json={"EnvironmentName": "contoso", **ADMINISTRATOR})
    assert created.status_code == 200, created.text

    response = api.put(OAUTH2, json=body(WRONG_KEY), params={"verify": "false"})

    assert response.status_code == 200
    assert response.json()["Warnings"] != []


def test_verified_put_allowed_without_password_administrator(
    api: TestClient, passwordless: None, fake_entra: FakeEntra
) -> None:
    response = api.put(OAUTH2, json={**body(), "KeyExpiresOn": "2030-01-31"})

    assert response.status_code == 200
    assert response.json()["Verification"]["Passed"] is True


def test_unverified_put_allowed_after_passed_test_sign_in(
    api: TestClient, passwordless: None, context: AppContext
) -> None:
    with context.database.write() as session:
        environment = session.get_one(Environment, 1)
        run = staging.create_test_run(
            session,
            environment,
            authority=AUTHORITY,
            client_id=CLIENT_ID,
            key=WRONG_KEY,
            allowed_tenants=(),
            keyring=context.keyring,
            creator=staging.Creator(1, ADMINISTRATOR_ACTOR),
            now=context.now(),
        )
        person = staging.SignedInPerson("Ada", "admin@contoso.test", "sub", "issuer")
        staging.record_passed(run, person, "Test sign-in succeeded", context.now())

    response = api.put(OAUTH2, json=body(WRONG_KEY), params={"verify": "false"})

    assert response.status_code == 200, response.text
    assert response.json()["KeySet"] is True
    with context.database.read() as session:
        stored = session.get_one(SsoSettings, 1)
        assert stored.key_fingerprint == fingerprint(WRONG_KEY)


def test_expired_test_sign_in_does_not_count(
    api: TestClient, passwordless: None, context: AppContext
) -> None:
    with context.database.write() as session:
        environment = session.get_one(Environment, 1)
        run = staging.create_test_run(
            session,
            environment,
            authority=AUTHORITY,
            client_id=CLIENT_ID,
            key=WRONG_KEY,
            allowed_tenants=(),
            keyring=context.keyring,
            creator=staging.Creator(1, ADMINISTRATOR_ACTOR),
            now=context.now() - staging.STAGED_LIFETIME - timedelta(seconds=1),
        )
        person = staging.SignedInPerson("Ada", "admin@contoso.test", "sub", "issuer")
        staging.record_passed(run, person, "Test sign-in succeeded", context.now())

    response = api.put(OAUTH2, json=body(WRONG_KEY), params={"verify": "false"})

    assert_validation(response, "Mode", "neither passed verification nor a test sign-in")


# Restore


def _history(api: TestClient) -> list[dict[str, Any]]:
    response: httpx.Response = api.get("/contoso/SingleSignOnSettings/History")
    versions: list[dict[str, Any]] = response.json()
    return versions


def test_restore_of_mode_none_refused_without_password_administrator(
    api: TestClient, passwordless: None, context: AppContext
) -> None:
    # Version 2 is mode None, written by the service layer below the rule.
    with context.database.write() as session:
        environment = session.get_one(Environment, 1)
        service.disable_oauth2(session, environment, actor=SYSTEM_ACTOR, now=context.now())
    assert api.put(OAUTH2, json=body()).status_code == 200

    response = api.post("/contoso/SingleSignOnSettings/History/2/Restore")

    assert_validation(response, "Mode", "switching to mode None would lock everyone out")
    assert mode(api) == "OAuth2"


def test_restore_of_verified_version_allowed_without_password(
    api: TestClient, passwordless: None, fake_entra: FakeEntra
) -> None:
    fake_entra.register_app(OTHER_CLIENT_ID, OTHER_SECRET, redirect_uris=(REDIRECT_URI,))
    second = {**body(OTHER_SECRET), "ClientId": OTHER_CLIENT_ID}
    assert api.put(OAUTH2, json=second).status_code == 200

    response = api.post("/contoso/SingleSignOnSettings/History/1/Restore")

    assert response.status_code == 200, response.text
    assert response.json()["ClientId"] == CLIENT_ID
    assert _history(api)[0]["RestoredFrom"] == 1


def test_restore_of_unverified_version_refused_without_password(
    api: TestClient, passwordless: None
) -> None:
    helper = create_user(
        api, "contoso", "helper@contoso.test", IsAdministrator=True, Password="pw-2-long!"
    )
    assert api.put(OAUTH2, json=body(WRONG_KEY), params={"verify": "false"}).status_code == 200
    assert api.put(OAUTH2, json=body()).status_code == 200
    assert api.delete(f"/contoso/User/{helper}").status_code == 200

    response = api.post("/contoso/SingleSignOnSettings/History/2/Restore")

    message = assert_validation(response, "Mode")
    assert "restoring version 2 could lock everyone out" in message
    assert _history(api)[0]["Version"] == 3


# Restore: a version that signed someone in once, whose client was deleted at the provider


@pytest.fixture
def deleted_client(
    api: TestClient, passwordless: None, client: TestClient, fake_entra: FakeEntra
) -> None:
    """Version 1 signed someone in, version 2 uses another client; then client 1 is deleted."""
    assert_signed_in(sign_in(client, fake_entra))
    fake_entra.register_app(OTHER_CLIENT_ID, OTHER_SECRET, redirect_uris=(REDIRECT_URI,))
    second = {**body(OTHER_SECRET), "ClientId": OTHER_CLIENT_ID}
    assert api.put(OAUTH2, json=second).status_code == 200
    del fake_entra.apps[CLIENT_ID.lower()]


def test_restore_of_deleted_client_rejected(api: TestClient, deleted_client: None) -> None:
    assert _history(api)[1]["IsLastKnownGood"] is True

    response = api.post("/contoso/SingleSignOnSettings/History/1/Restore")

    message = assert_validation(
        response, "Mode", "the values of version 1 fail verification now (ClientCredentials)"
    )
    assert "restoring version 1 could lock everyone out; nothing was changed." in message
    assert (
        "Version 1 signed someone in before, but the identity provider rejects these values "
        "today." in message
    )


def test_restore_rejected_despite_earlier_test_sign_in(
    api: TestClient, deleted_client: None, context: AppContext
) -> None:
    with context.database.write() as session:
        environment = session.get_one(Environment, 1)
        run = staging.create_test_run(
            session,
            environment,
            authority=AUTHORITY,
            client_id=CLIENT_ID,
            key=CLIENT_SECRET,
            allowed_tenants=(),
            keyring=context.keyring,
            creator=staging.Creator(1, ADMINISTRATOR_ACTOR),
            now=context.now(),
        )
        person = staging.SignedInPerson("Ada", "admin@contoso.test", "sub", "issuer")
        staging.record_passed(run, person, "Test sign-in succeeded", context.now())

    response = api.post("/contoso/SingleSignOnSettings/History/1/Restore")

    assert_validation(response, "Mode", "restoring version 1 could lock everyone out")
    assert _history(api)[0]["Version"] == 2


def test_restore_refusal_names_the_ways_back_in(api: TestClient, deleted_client: None) -> None:
    response = api.post("/contoso/SingleSignOnSettings/History/1/Restore")

    message = assert_validation(response, "Mode")
    assert "give an administrator a password first" in message
    assert "/contoso/SignIn?local=1" in message
    assert "POST /Provisioning/contoso/EmergencyAccess" in message
    assert "the page /contoso/AdminPage/RequestEmergencyAdminAccess" in message


def test_restore_refusal_lists_the_failed_check(api: TestClient, deleted_client: None) -> None:
    response = api.post("/contoso/SingleSignOnSettings/History/1/Restore")

    assert response.status_code == 400
    results = response.json()
    assert len(results) == 2
    assert results[1]["MemberNames"] == ["ClientId"]
    assert results[1]["ErrorMessage"].startswith(
        "Entra ID answered AADSTS700016: no application with this Client ID"
    ), results[1]


def test_refused_restore_changes_nothing(
    api: TestClient, deleted_client: None, context: AppContext
) -> None:
    api.post("/contoso/SingleSignOnSettings/History/1/Restore")

    settings = api.get("/contoso/SingleSignOnSettings").json()
    assert settings["Version"] == 2
    assert settings["ClientId"] == OTHER_CLIENT_ID
    assert len(_history(api)) == 2


def test_refused_restore_is_audited(
    api: TestClient, deleted_client: None, context: AppContext
) -> None:
    api.post("/contoso/SingleSignOnSettings/History/1/Restore")

    with context.database.read() as session:
        record = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "sso.restore")
        ).one()
    assert record.outcome == "rejected"
    assert record.detail == (
        "version 1 not restored: verification failed (ClientCredentials) and no active "
        "administrator has a password"
    )
    assert record.after is not None
    assert record.after["ClientId"] == CLIENT_ID


def test_restore_failing_checks_allowed_with_password(
    api: TestClient, deleted_client: None
) -> None:
    create_user(api, "contoso", "helper@contoso.test", IsAdministrator=True, Password="pw-2-long!")

    response = api.post("/contoso/SingleSignOnSettings/History/1/Restore")

    assert response.status_code == 200, response.text
    restored = response.json()
    assert restored["ClientId"] == CLIENT_ID
    assert restored["Verification"]["Passed"] is False
    assert [warning["MemberNames"] for warning in restored["Warnings"]] == [["ClientId"]]
    assert restored["Warnings"][0]["ErrorMessage"].startswith("Entra ID answered AADSTS700016")


def test_restore_failing_checks_reports_outcomes(api: TestClient, deleted_client: None) -> None:
    create_user(api, "contoso", "helper@contoso.test", IsAdministrator=True, Password="pw-2-long!")

    response = api.post("/contoso/SingleSignOnSettings/History/1/Restore")

    outcomes = {
        check["Name"]: check["Outcome"] for check in response.json()["Verification"]["Checks"]
    }
    assert outcomes["ClientCredentials"] == "Failed"
    assert outcomes["Discovery"] == "Passed"


def test_restore_failing_checks_audited(
    api: TestClient, deleted_client: None, context: AppContext
) -> None:
    create_user(api, "contoso", "helper@contoso.test", IsAdministrator=True, Password="pw-2-long!")

    api.post("/contoso/SingleSignOnSettings/History/1/Restore")

    with context.database.read() as session:
        record = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "sso.restore")
        ).one()
    assert record.outcome == "success"
    assert record.detail == (
        "restored version 1 as version 3, although checks failed: ClientCredentials"
    )


def test_restore_of_working_version_allowed(
    api: TestClient, passwordless: None, client: TestClient, fake_entra: FakeEntra
) -> None:
    assert_signed_in(sign_in(client, fake_entra))
    fake_entra.register_app(OTHER_CLIENT_ID, OTHER_SECRET, redirect_uris=(REDIRECT_URI,))
    second = {**body(OTHER_SECRET), "ClientId": OTHER_CLIENT_ID}
    assert api.put(OAUTH2, json=second).status_code == 200

    response = api.post("/contoso/SingleSignOnSettings/History/1/Restore")

    assert response.status_code == 200, response.text
    assert response.json()["Verification"]["Passed"] is True
    assert response.json()["Warnings"] == []
