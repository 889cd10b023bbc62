"""PUT .../SingleSignOnSettings/OAuth2 verifies against (a fake) Entra ID before it saves."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from hatchway.context import AppContext
from hatchway.db.models import AuditRecord, SsoSettings
from tests.support.entra import (
    CLIENT_ID,
    CLIENT_SECRET,
    TENANT_DOMAIN,
    TENANT_ID,
    FakeEntra,
    aadsts_body,
)
from tests.support.ports import free_port
from tests.support.provisioning import check, create_environment, error_messages

REDIRECT_URI = "http://127.0.0.1/contoso/OAuth2/HandleAuthorityResponse"
DOMAIN_AUTHORITY = f"https://login.microsoftonline.com/{TENANT_DOMAIN}/v2.0"
SECRET_ID = "22222222-2222-2222-2222-222222222222"


@pytest.fixture
def environment(api: TestClient, fake_entra: FakeEntra) -> str:
    fake_entra.register_app(redirect_uris=(REDIRECT_URI,))
    return create_environment(api)


def put(api: TestClient, body: dict[str, Any], **params: str) -> httpx.Response:
    return api.put("/contoso/SingleSignOnSettings/OAuth2", json=body, params=params)


def entra_body(**changes: Any) -> dict[str, Any]:
    return {"Authority": DOMAIN_AUTHORITY, "ClientId": CLIENT_ID, "Key": CLIENT_SECRET, **changes}


def stored_version(context: AppContext) -> int:
    with context.database.read() as session:
        settings = session.get(SsoSettings, 1)
        assert settings is not None
        return settings.version


# Every check passes


def test_put_verified_saves(api: TestClient, environment: str) -> None:
    response = put(api, entra_body())

    assert response.status_code == 200
    body = response.json()
    assert body["Mode"] == "OAuth2"
    assert body["Version"] == 1
    assert body["Verification"]["Passed"] is True
    assert body["Warnings"] == []


def test_put_reports_every_check_passed(api: TestClient, environment: str) -> None:
    report = put(api, entra_body()).json()["Verification"]

    assert [item["Name"] for item in report["Checks"]] == [
        "Authority",
        "KeyFormat",
        "Discovery",
        "Jwks",
        "ClientCredentials",
        "RedirectUri",
    ]
    assert all(item["Passed"] for item in report["Checks"])


def test_put_resolves_domain_to_tenant_id(api: TestClient, environment: str) -> None:
    report = put(api, entra_body()).json()["Verification"]

    assert report["TenantId"] == TENANT_ID
    assert report["Authority"] == DOMAIN_AUTHORITY
    assert TENANT_ID in check(report, "Discovery")["Message"]


def test_put_strips_pasted_endpoint_path(api: TestClient, environment: str) -> None:
    pasted = f"https://login.microsoftonline.com/{TENANT_ID}/oauth2/authorize"

    response = put(api, entra_body(Authority=pasted))

    assert response.status_code == 200
    body = response.json()
    saved = f"https://login.microsoftonline.com/{TENANT_ID}/v2.0"
    assert body["Authority"] == saved
    notices = [item["ErrorMessage"] for item in body["Notices"]]
    assert f"Authority {pasted!r} is used as {saved!r}" in notices[0]


def test_put_rewrites_legacy_host(api: TestClient, environment: str) -> None:
    response = put(api, entra_body(Authority=f"https://login.windows.net/{TENANT_DOMAIN}"))

    assert response.status_code == 200
    assert response.json()["Authority"] == DOMAIN_AUTHORITY
    assert (
        "'https://login.windows.net/contoso.onmicrosoft.com' is used as"
        in (response.json()["Notices"][0]["ErrorMessage"])
    )


def test_put_multi_tenant_warns(api: TestClient, environment: str) -> None:
    response = put(
        api, entra_body(Authority="https://login.microsoftonline.com/organizations/v2.0")
    )

    assert response.status_code == 200
    body = response.json()
    assert body["Verification"]["Passed"] is True
    assert body["Verification"]["TenantId"] is None
    assert any("AADSTS50194" in item["ErrorMessage"] for item in body["Notices"])


# Static checks refuse before any request


def test_put_rejects_missing_tenant(
    api: TestClient, environment: str, fake_entra: FakeEntra
) -> None:
    response = put(api, entra_body(Authority="https://login.microsoftonline.com/"))

    messages = error_messages(response)
    assert "has no tenant" in messages[0]
    assert "'organizations' or 'common'" in messages[0]
    assert fake_entra.requests == []


def test_put_rejects_placeholder_tenant(api: TestClient, environment: str) -> None:
    authority = "https://login.microsoftonline.com/Enter_the_Tenant_Id_here/v2.0"

    response = put(api, entra_body(Authority=authority))

    assert response.json()[0]["MemberNames"] == ["Authority"]
    assert "looks like a placeholder" in error_messages(response)[0]


def test_put_rejects_placeholder_client_id(api: TestClient, environment: str) -> None:
    response = put(api, entra_body(ClientId="Enter_the_Application_Id_here"))

    assert response.json()[0]["MemberNames"] == ["ClientId"]
    assert "is not a GUID" in error_messages(response)[0]


def test_put_bracketed_client_id_one_error(api: TestClient, environment: str) -> None:
    response = put(api, entra_body(ClientId="<application (client) id>"))

    client_id_errors = [error for error in response.json() if error["MemberNames"] == ["ClientId"]]
    assert response.status_code == 400
    assert len(client_id_errors) == 1
    assert "is the placeholder of an example" in client_id_errors[0]["ErrorMessage"]


def test_put_rejects_key_equal_to_client_id(api: TestClient, environment: str) -> None:
    response = put(api, entra_body(Key=CLIENT_ID))

    assert response.json()[0]["MemberNames"] == ["Key"]
    assert "Key is the same as the ClientId" in error_messages(response)[0]


# Failed checks refuse the PUT with advice


def test_put_rejects_secret_id_as_key(
    api: TestClient, environment: str, context: AppContext
) -> None:
    response = put(api, entra_body(Key=SECRET_ID))

    assert response.status_code == 400
    results = response.json()
    assert results == [
        {
            "MemberNames": ["Key"],
            "ErrorMessage": "Entra ID answered AADSTS7000215: the Key looks wrong; paste the "
            "secret's Value, not its Secret ID.",
        }
    ]
    assert stored_version(context) == 0


def test_put_secret_id_key_gets_warning_first(api: TestClient, environment: str) -> None:
    response = put(api, entra_body(Key=SECRET_ID), verify="false")

    notices = [item for item in response.json()["Notices"] if item["MemberNames"] == ["Key"]]
    assert "shaped like a GUID" in notices[0]["ErrorMessage"]
    assert "secret's Value" in notices[0]["ErrorMessage"]


def test_put_rejects_expired_secret(
    api: TestClient, environment: str, fake_entra: FakeEntra
) -> None:
    fake_entra.apps[CLIENT_ID].secret_expired = True

    response = put(api, entra_body())

    assert response.json()[0]["MemberNames"] == ["Key"]
    assert "AADSTS7000222: the secret has expired; create a new one" in error_messages(response)[0]


def test_put_without_key_names_stored_key(
    api: TestClient, environment: str, fake_entra: FakeEntra
) -> None:
    put(api, entra_body()).raise_for_status()
    fake_entra.apps[CLIENT_ID].secret_expired = True

    response = put(api, {"KeyExpiresOn": "2030-01-31"})

    assert response.status_code == 400
    assert response.json()[0]["MemberNames"] == ["Key"]
    message = error_messages(response)[0]
    assert "AADSTS7000222: the secret has expired" in message
    assert "No Key was given, so the stored Key was checked" in message


def test_put_with_key_omits_stored_key_note(
    api: TestClient, environment: str, fake_entra: FakeEntra
) -> None:
    fake_entra.apps[CLIENT_ID].secret_expired = True

    response = put(api, entra_body())

    assert response.status_code == 400
    assert "stored Key" not in error_messages(response)[0]


def test_put_names_stored_client_id(api: TestClient, environment: str) -> None:
    other_provider = f"http://127.0.0.1:{free_port()}"
    body = {"Authority": other_provider, "ClientId": "portal", "Key": "k"}
    saved = put(api, body, verify="false")
    assert saved.status_code == 200

    response = put(api, {"Authority": DOMAIN_AUTHORITY})

    assert response.status_code == 400
    assert response.json()[0]["MemberNames"] == ["ClientId"]
    message = error_messages(response)[0]
    assert message.startswith("The stored ClientId 'portal' is not a GUID;")
    assert "This request sent no ClientId, so the stored one was checked" in message


def test_put_rejects_unknown_client_id(api: TestClient, environment: str) -> None:
    response = put(api, entra_body(ClientId="33333333-3333-3333-3333-333333333333"))

    assert response.json()[0]["MemberNames"] == ["ClientId"]
    assert (
        "AADSTS700016: no application with this Client ID in this tenant"
        in (error_messages(response)[0])
    )


def test_put_rejects_unknown_tenant(api: TestClient, environment: str) -> None:
    authority = "https://login.microsoftonline.com/fabrikam.onmicrosoft.com/v2.0"

    response = put(api, entra_body(Authority=authority))

    assert response.json()[0]["MemberNames"] == ["Authority"]
    assert "AADSTS90002: tenant not found" in error_messages(response)[0]


def test_put_rejects_unregistered_redirect_uri(
    api: TestClient, environment: str, fake_entra: FakeEntra
) -> None:
    fake_entra.apps[CLIENT_ID].redirect_uris = ["https://portal.example.com/callback"]

    response = put(api, entra_body())

    assert response.json()[0]["MemberNames"] == ["RedirectUri"]
    message = error_messages(response)[0]
    assert "AADSTS50011: register this exact redirect URI" in message
    assert repr(REDIRECT_URI) in message


def test_put_names_unknown_aadsts_code(
    api: TestClient, environment: str, fake_entra: FakeEntra
) -> None:
    fake_entra.token_answer = (
        401,
        aadsts_body("invalid_client", 7000218, "The request body must contain client_secret."),
    )

    response = put(api, entra_body())

    message = error_messages(response)[0]
    assert "AADSTS7000218" in message
    assert "The request body must contain client_secret." in message
    assert "Trace ID" not in message


def test_put_never_echoes_key_from_provider(
    api: TestClient, environment: str, fake_entra: FakeEntra
) -> None:
    canary = "canary-Key-7f3a9c2e1b"
    fake_entra.token_answer = (
        401,
        {"error": "invalid_client", "error_description": f"Secret {canary} is not valid."},
    )

    response = put(api, entra_body(Key=canary))

    assert response.status_code == 400
    assert canary not in response.text
    assert "[redacted]" in response.text


def test_put_failed_verification_saves_nothing(
    api: TestClient, environment: str, context: AppContext
) -> None:
    put(api, entra_body())

    response = put(api, entra_body(Key=SECRET_ID))

    assert response.status_code == 400
    assert stored_version(context) == 1
    assert len(api.get("/contoso/SingleSignOnSettings/History").json()) == 1


def test_put_failed_verification_is_audited(
    api: TestClient, environment: str, context: AppContext
) -> None:
    put(api, entra_body(Key=SECRET_ID))

    with context.database.read() as session:
        record = session.query(AuditRecord).filter_by(action="sso.update").one()
    assert record.outcome == "rejected"
    assert record.detail == "not saved, verification failed: ClientCredentials"
    assert SECRET_ID not in str(record.after)


# Skipping verification


@pytest.mark.parametrize(
    ("params", "skip_field"),
    [({"verify": "false"}, {}), ({}, {"SkipVerification": True})],
    ids=["query", "body"],
)
def test_put_skipping_verification_saves_with_warnings(
    api: TestClient, environment: str, params: dict[str, str], skip_field: dict[str, Any]
) -> None:
    response = put(api, entra_body(Key=SECRET_ID, **skip_field), **params)

    assert response.status_code == 200
    body = response.json()
    assert body["Version"] == 1
    assert body["Verification"]["Passed"] is False
    assert body["Warnings"] == [
        {
            "MemberNames": ["Key"],
            "ErrorMessage": "Entra ID answered AADSTS7000215: the Key looks wrong; paste the "
            "secret's Value, not its Secret ID.",
        }
    ]


def test_put_skipping_verification_is_audited(
    api: TestClient, environment: str, context: AppContext
) -> None:
    put(api, entra_body(Key=SECRET_ID), verify="false")

    with context.database.read() as session:
        record = session.query(AuditRecord).filter_by(action="sso.update").one()
    assert record.outcome == "success"
    assert record.detail == (
        "saved with SkipVerification although checks failed: ClientCredentials"
    )


def test_put_skipping_verification_marks_version(api: TestClient, environment: str) -> None:
    put(api, entra_body(Key=SECRET_ID), verify="false")

    history = api.get("/contoso/SingleSignOnSettings/History").json()
    assert history[0]["VerificationSkipped"] is True


def test_put_verify_query_accepts_true(api: TestClient, environment: str) -> None:
    response = put(api, entra_body(Key=SECRET_ID), verify="true")

    assert response.status_code == 400


# KeyExpiresOn and AllowedTenants


@pytest.mark.parametrize(
    ("sent", "saved"),
    [
        ("2027-06-30", "2027-06-30"),
        ("2027-06-30T10:20:30Z", "2027-06-30"),
        ("2027-06-30T10:20:30.1234567Z", "2027-06-30"),
        ("2027-06-30T23:30:00-05:00", "2027-07-01"),
        ("2027-06-30T12:00:00", "2027-06-30"),
    ],
)
def test_put_key_expires_on_forms(api: TestClient, environment: str, sent: str, saved: str) -> None:
    response = put(api, entra_body(KeyExpiresOn=sent))

    assert response.status_code == 200
    assert response.json()["KeyExpiresOn"] == saved


def test_put_key_expires_on_wrong_format(api: TestClient, environment: str) -> None:
    response = put(api, entra_body(KeyExpiresOn="30/06/2027"))

    assert response.json()[0]["MemberNames"] == ["KeyExpiresOn"]
    message = error_messages(response)[0]
    assert "'30/06/2027' is not a date" in message
    assert "'2027-06-30T23:59:59Z'" in message


def test_get_shows_key_days_left(api: TestClient, environment: str, context: AppContext) -> None:
    expires = context.now().date().replace(year=context.now().year + 1)
    put(api, entra_body(KeyExpiresOn=expires.isoformat()))

    body = api.get("/contoso/SingleSignOnSettings").json()

    assert body["KeyExpiresOn"] == expires.isoformat()
    assert body["KeyDaysLeft"] == (expires - context.now().date()).days


def test_put_warns_about_past_expiry(api: TestClient, environment: str) -> None:
    response = put(api, entra_body(KeyExpiresOn="2020-01-31"))

    notices = [item["ErrorMessage"] for item in response.json()["Notices"]]
    assert (
        "KeyExpiresOn 2020-01-31 is in the past. Check the date against the secret's 'Expires' "
        "column; if the secret has expired, create a new one and send its Value as the Key."
    ) in notices
    assert response.json()["KeyDaysLeft"] < 0


def test_put_stores_allowed_tenants(api: TestClient, environment: str) -> None:
    body = entra_body(
        Authority="https://login.microsoftonline.com/organizations/v2.0",
        AllowedTenants=[TENANT_ID.upper(), TENANT_ID],
    )

    response = put(api, body)

    assert response.json()["AllowedTenants"] == [TENANT_ID]
    assert api.get("/contoso/SingleSignOnSettings").json()["AllowedTenants"] == [TENANT_ID]


def test_put_rejects_domain_in_allowed_tenants(api: TestClient, environment: str) -> None:
    response = put(api, entra_body(AllowedTenants=["contoso.com"]))

    assert response.json()[0]["MemberNames"] == ["AllowedTenants"]
    assert "'contoso.com' is not a Directory (tenant) ID" in error_messages(response)[0]


def test_put_allowed_tenants_ignored_notice(api: TestClient, environment: str) -> None:
    response = put(api, entra_body(AllowedTenants=[TENANT_ID]))

    notices = [
        item for item in response.json()["Notices"] if item["MemberNames"] == ["AllowedTenants"]
    ]
    assert "applies only to the multi-tenant Authorities" in notices[0]["ErrorMessage"]
