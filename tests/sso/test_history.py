"""Versions of the SSO settings: GET .../History and POST .../History/{Version}/Restore."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from hatchway.context import AppContext
from hatchway.db.models import AuditRecord, SsoSettings, SsoVersion
from tests.support.entra import (
    CLIENT_ID,
    CLIENT_SECRET,
    TENANT_DOMAIN,
    FakeEntra,
    assert_signed_in,
    sign_in,
)
from tests.support.provisioning import create_environment

REDIRECT_URI = "http://127.0.0.1/contoso/OAuth2/HandleAuthorityResponse"
AUTHORITY = f"https://login.microsoftonline.com/{TENANT_DOMAIN}/v2.0"
WRONG_KEY = "canary-wrong-Key-5b8e1d"
HISTORY = "/contoso/SingleSignOnSettings/History"


@pytest.fixture
def environment(api: TestClient, fake_entra: FakeEntra) -> str:
    fake_entra.register_app(redirect_uris=(REDIRECT_URI,))
    return create_environment(api)


def put(api: TestClient, key: str, **params: str) -> httpx.Response:
    body = {"Authority": AUTHORITY, "ClientId": CLIENT_ID, "Key": key}
    response = api.put("/contoso/SingleSignOnSettings/OAuth2", json=body, params=params)
    assert response.status_code == 200, response.text
    return response


def restore(api: TestClient, version: int, **headers: str) -> httpx.Response:
    return api.post(f"{HISTORY}/{version}/Restore", headers=headers)


@pytest.fixture
def good_then_bad(api: TestClient, environment: str) -> None:
    """Version 1 holds the right Key, version 2 (saved unverified) a wrong one."""
    put(api, CLIENT_SECRET)
    put(api, WRONG_KEY, verify="false")


def stored_key(context: AppContext) -> str:
    with context.database.read() as session:
        settings = session.get(SsoSettings, 1)
        assert settings is not None and settings.key_sealed is not None
        return context.keyring.unseal(settings.key_sealed)


# History


def test_history_newest_first(api: TestClient, good_then_bad: None) -> None:
    api.delete("/contoso/SingleSignOnSettings/OAuth2")

    history = api.get(HISTORY).json()

    assert [entry["Version"] for entry in history] == [3, 2, 1]
    assert [entry["Mode"] for entry in history] == ["None", "OAuth2", "OAuth2"]
    assert [entry["IsCurrent"] for entry in history] == [True, False, False]


def test_history_entry_says_who_when_what(api: TestClient, good_then_bad: None) -> None:
    first = api.get(HISTORY).json()[-1]

    assert first["ActorType"] == "ProvisioningKey"
    assert first["Actor"] == "provisioning-key-1"
    assert first["ClientAddress"] == "testclient"
    assert first["CreatedOn"]
    assert first["Authority"] == AUTHORITY
    assert first["ClientId"] == CLIENT_ID
    assert first["Changes"]["Authority"] == {"From": None, "To": AUTHORITY}
    assert first["VerificationSkipped"] is False
    assert first["RestoredFrom"] is None


def test_history_shows_key_only_as_fingerprint(api: TestClient, good_then_bad: None) -> None:
    response = api.get(HISTORY)

    newest, oldest = response.json()
    assert len(newest["KeyFingerprint"]) == 16
    assert newest["KeyFingerprint"] != oldest["KeyFingerprint"]
    assert set(newest["Changes"]) == {"KeyFingerprint"}
    assert WRONG_KEY not in response.text
    assert CLIENT_SECRET not in response.text


def test_history_unknown_environment(api: TestClient) -> None:
    assert api.get("/nowhere/SingleSignOnSettings/History").status_code == 404


def test_history_empty_before_first_change(api: TestClient, environment: str) -> None:
    assert api.get(HISTORY).json() == []


# Restore


def test_restore_brings_key_back(api: TestClient, good_then_bad: None, context: AppContext) -> None:
    response = restore(api, 1)

    assert response.status_code == 200
    assert response.json()["Version"] == 3
    assert response.headers["ETag"] == '"3"'
    assert stored_key(context) == CLIENT_SECRET


def test_restore_verifies_the_version_first(api: TestClient, good_then_bad: None) -> None:
    response = restore(api, 1)

    verification = response.json()["Verification"]
    assert verification["Passed"] is True
    assert {check["Outcome"] for check in verification["Checks"]} == {"Passed", "Warning"}
    assert response.json()["Warnings"] == []


def test_restore_records_its_verification_on_the_version(
    api: TestClient, good_then_bad: None, context: AppContext
) -> None:
    restore(api, 1)

    with context.database.read() as session:
        newest = session.scalars(select(SsoVersion).order_by(SsoVersion.version.desc())).first()
    assert newest is not None and newest.verification is not None
    assert newest.verification["Passed"] is True


def test_restore_of_mode_none_is_not_verified(api: TestClient, good_then_bad: None) -> None:
    api.delete("/contoso/SingleSignOnSettings/OAuth2")
    restore(api, 1)

    response = restore(api, 3)

    assert response.status_code == 200
    assert response.json()["Verification"] is None
    assert response.json()["Warnings"] == []


def test_restore_creates_version_naming_source(api: TestClient, good_then_bad: None) -> None:
    restore(api, 1)

    newest, _, oldest = api.get(HISTORY).json()
    assert newest["RestoredFrom"] == 1
    assert newest["KeyFingerprint"] == oldest["KeyFingerprint"]
    assert set(newest["Changes"]) == {"KeyFingerprint"}


def test_restore_makes_sign_in_work_again(
    api: TestClient,
    client: TestClient,
    good_then_bad: None,
    fake_entra: FakeEntra,
) -> None:
    assert sign_in(client, fake_entra).status_code == 400

    restore(api, 1)

    assert_signed_in(sign_in(client, fake_entra))


def test_restore_is_audited(api: TestClient, good_then_bad: None, context: AppContext) -> None:
    restore(api, 1)

    with context.database.read() as session:
        record = session.scalar(select(AuditRecord).where(AuditRecord.action == "sso.restore"))
    assert record is not None
    assert record.detail == "restored version 1 as version 3"
    assert record.before is not None and record.after is not None
    assert record.before["KeyFingerprint"] != record.after["KeyFingerprint"]


def test_restore_after_delete(api: TestClient, good_then_bad: None) -> None:
    api.delete("/contoso/SingleSignOnSettings/OAuth2")

    body = restore(api, 1).json()

    assert body["Mode"] == "OAuth2"
    assert body["KeySet"] is True
    assert body["Authority"] == AUTHORITY


def test_restore_deleted_state(api: TestClient, good_then_bad: None) -> None:
    api.delete("/contoso/SingleSignOnSettings/OAuth2")
    restore(api, 1)

    body = restore(api, 3).json()

    assert body["Mode"] == "None"
    assert body["KeySet"] is False


def test_restore_current_values_adds_no_version(api: TestClient, good_then_bad: None) -> None:
    body = restore(api, 2).json()

    assert body["Version"] == 2
    assert len(api.get(HISTORY).json()) == 2


def test_restore_unknown_version(api: TestClient, good_then_bad: None) -> None:
    response = restore(api, 99)

    assert response.status_code == 404
    assert response.json() == {
        "Error": "SingleSignOnSettingsVersionNotFound",
        "Message": "Version 99 of the single sign-on settings does not exist; GET "
        "/Provisioning/contoso/SingleSignOnSettings/History lists the versions (1 to 2).",
    }


def test_restore_without_versions(api: TestClient, environment: str) -> None:
    response = restore(api, 1)

    assert response.status_code == 404
    assert response.json()["Message"] == (
        "Version 1 of the single sign-on settings does not exist; the single sign-on settings "
        "of environment 'contoso' have no versions yet."
    )


def test_restore_with_stale_if_match(
    api: TestClient, good_then_bad: None, context: AppContext
) -> None:
    response = restore(api, 1, **{"If-Match": '"1"'})

    assert response.status_code == 412
    assert response.json()["Error"] == "PreconditionFailed"
    assert response.headers["ETag"] == '"2"'
    assert stored_key(context) == WRONG_KEY
    assert len(api.get(HISTORY).json()) == 2


def test_restore_with_current_if_match(api: TestClient, good_then_bad: None) -> None:
    etag = api.get("/contoso/SingleSignOnSettings").headers["ETag"]

    response = restore(api, 1, **{"If-Match": etag})

    assert response.status_code == 200


def test_restore_shows_last_known_good(
    api: TestClient, client: TestClient, environment: str, fake_entra: FakeEntra
) -> None:
    put(api, CLIENT_SECRET)
    assert_signed_in(sign_in(client, fake_entra))
    put(api, WRONG_KEY, verify="false")

    history: list[dict[str, Any]] = api.get(HISTORY).json()
    settings = api.get("/contoso/SingleSignOnSettings").json()

    assert [entry["IsLastKnownGood"] for entry in history] == [False, True]
    assert settings["LastKnownGoodVersion"] == 1
    assert restore(api, settings["LastKnownGoodVersion"]).status_code == 200
