"""SSO settings over the Provisioning API: PUT, GET and DELETE, with the static checks."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import delete, func, select
from starlette.testclient import TestClient

from hatchway.context import AppContext
from hatchway.db.models import AuditRecord, Environment, SsoSettings, SsoVersion
from hatchway.sso.inputs import MAX_KEY_LENGTH
from tests.support.api import (
    ApiFactory,
    api_client,
    assert_problem,
    assert_validation,
    validation_messages,
)
from tests.support.hatchway import PROVISIONING_KEY

PUT_PATH = "/contoso/SingleSignOnSettings/OAuth2?verify=false"
GET_PATH = "/contoso/SingleSignOnSettings"
AUTHORITY = "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0"
CLIENT_ID = "6731de76-14a6-49ae-97bc-6eba6914391e"
OTHER_CLIENT_ID = "0f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0"
KEY = "Zx8Q~kEY-valUE.0123456789abcdefghijklmn"
SETTINGS = {"Authority": AUTHORITY, "ClientId": CLIENT_ID, "Key": KEY}


@pytest.fixture
def environment(api: TestClient) -> str:
    """An environment without users: these tests need no administrator."""
    response = api.post("/Environment/contoso/")
    assert response.status_code == 200
    return "contoso"


@pytest.fixture
def configured(api: TestClient, environment: str) -> dict[str, Any]:
    response = api.put(PUT_PATH, json=SETTINGS)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _stored(context: AppContext) -> SsoSettings:
    with context.database.read() as session:
        return session.scalars(select(SsoSettings)).one()


# The PUT that partners send


def test_put_with_partner_headers_and_camel_case(context: AppContext, environment: str) -> None:
    with api_client(context, headers={}) as bare:
        bare.headers.clear()
        response = bare.put(
            PUT_PATH,
            content=json.dumps({"Authority": AUTHORITY, "clientId": CLIENT_ID, "Key": KEY}),
            headers={"ProvisioningKey": PROVISIONING_KEY, "Content-Type": "application/json"},
        )

    sent = {name.lower() for name in response.request.headers}
    assert sent <= {"host", "content-length", "provisioningkey", "content-type"}
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["Mode"] == "OAuth2"
    assert body["Authority"] == AUTHORITY
    assert body["ClientId"] == CLIENT_ID
    assert body["KeySet"] is True
    assert body["Changed"] is True
    assert body["Notices"] == []


def test_put_never_returns_key(configured: dict[str, Any]) -> None:
    assert KEY not in json.dumps(configured)
    assert "Key" not in configured


def test_put_same_values_changes_nothing(api: TestClient, configured: dict[str, Any]) -> None:
    response = api.put(PUT_PATH, json=SETTINGS)

    assert response.status_code == 200
    assert response.json()["Changed"] is False
    assert response.json()["Version"] == configured["Version"]


def test_put_in_unknown_environment_is_404(api: TestClient) -> None:
    assert_problem(
        api.put("/nowhere/SingleSignOnSettings/OAuth2", json=SETTINGS), 404, "EnvironmentNotFound"
    )


# GET


def test_get_before_any_put_shows_mode_none(api: TestClient, environment: str) -> None:
    body = api.get(GET_PATH).json()

    assert body["Mode"] == "None"
    assert body["Authority"] is None
    assert body["ClientId"] is None
    assert body["KeySet"] is False
    assert body["KeyUpdatedOn"] is None
    assert body["Version"] == 0


def test_get_shows_settings_without_key(api: TestClient, configured: dict[str, Any]) -> None:
    response = api.get(GET_PATH)

    body = response.json()
    assert {
        "Mode",
        "Authority",
        "ClientId",
        "KeySet",
        "KeyUpdatedOn",
        "Version",
        "UpdatedOn",
        "RedirectUri",
    } <= set(body)
    assert (body["Mode"], body["Authority"], body["ClientId"]) == ("OAuth2", AUTHORITY, CLIENT_ID)
    assert body["KeySet"] is True
    assert body["KeyUpdatedOn"] == configured["KeyUpdatedOn"]
    assert body["Version"] == 1
    assert body["UpdatedOn"] == configured["UpdatedOn"]
    assert KEY not in response.text


# An environment may lack its settings row, for example after the row was removed by hand.
# GET and PUT then treat it as mode None at version 0.


@pytest.fixture
def without_settings_row(context: AppContext, environment: str) -> datetime:
    """Remove the environment's settings row; return the environment's creation time."""
    with context.database.write() as session:
        session.execute(delete(SsoSettings))
        created: datetime = session.scalars(select(Environment.created_at)).one()
    return created


def _settings_rows(context: AppContext) -> int:
    with context.database.read() as session:
        return int(session.scalar(select(func.count()).select_from(SsoSettings)) or 0)


def test_get_without_row_shows_mode_none(
    api: TestClient, context: AppContext, without_settings_row: datetime
) -> None:
    response = api.get(GET_PATH)

    assert response.status_code == 200
    assert response.headers["ETag"] == '"0"'
    body = response.json()
    assert body["Mode"] == "None"
    assert body["Authority"] is None
    assert body["ClientId"] is None
    assert body["KeySet"] is False
    assert body["KeyUpdatedOn"] is None
    assert body["KeyExpiresOn"] is None
    assert body["KeyDaysLeft"] is None
    assert body["AllowedTenants"] == []
    assert body["Version"] == 0
    assert body["LastKnownGoodVersion"] is None
    assert datetime.fromisoformat(body["UpdatedOn"]) == without_settings_row
    assert body["RedirectUri"].endswith("/contoso/OAuth2/HandleAuthorityResponse")


def test_get_without_row_writes_nothing(
    api: TestClient, context: AppContext, without_settings_row: datetime
) -> None:
    assert api.get(GET_PATH).status_code == 200

    assert _settings_rows(context) == 0


def test_get_without_row_in_other_case(api: TestClient, without_settings_row: datetime) -> None:
    response = api.get("/CONTOSO/SingleSignOnSettings")

    assert response.status_code == 200
    assert response.json()["Version"] == 0


def test_put_without_row_saves_version_one(
    api: TestClient, context: AppContext, without_settings_row: datetime
) -> None:
    response = api.put(PUT_PATH, json=SETTINGS, headers={"If-Match": '"0"'})

    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"1"'
    assert response.json()["Version"] == 1
    assert response.json()["Changed"] is True
    stored = _stored(context)
    assert (stored.mode, stored.client_id, stored.version) == ("OAuth2", CLIENT_ID, 1)
    with context.database.read() as session:
        versions = session.scalars(select(SsoVersion.version)).all()
        actions = session.scalars(select(AuditRecord.action)).all()
    assert versions == [1]
    assert "sso.update" in actions


def test_put_without_row_stale_if_match(
    api: TestClient, context: AppContext, without_settings_row: datetime
) -> None:
    response = api.put(PUT_PATH, json=SETTINGS, headers={"If-Match": '"1"'})

    assert_problem(response, 412, "PreconditionFailed")
    assert response.headers["ETag"] == '"0"'
    assert api.get(GET_PATH).json()["Mode"] == "None"


def test_get_redirect_uri_uses_public_url(api: TestClient, environment: str) -> None:
    body = api.get(GET_PATH).json()

    assert body["RedirectUri"] == "http://127.0.0.1/contoso/OAuth2/HandleAuthorityResponse"


def test_get_redirect_uri_keeps_public_url_path(
    make_api: ApiFactory, api: TestClient, environment: str
) -> None:
    behind_proxy = make_api(public_url="https://portal.contoso.test/hatchway")

    body = behind_proxy.get(GET_PATH).json()

    assert body["RedirectUri"] == (
        "https://portal.contoso.test/hatchway/contoso/OAuth2/HandleAuthorityResponse"
    )


def test_get_redirect_uri_ignores_host_headers(api: TestClient, environment: str) -> None:
    response = api.get(GET_PATH, headers={"Host": "evil.test", "X-Forwarded-Host": "evil.test"})

    assert response.json()["RedirectUri"].startswith("http://127.0.0.1/contoso/")


def test_get_sends_version_as_etag(api: TestClient, configured: dict[str, Any]) -> None:
    assert api.get(GET_PATH).headers["ETag"] == '"1"'


def test_get_in_unknown_environment_is_404(api: TestClient) -> None:
    assert_problem(api.get("/nowhere/SingleSignOnSettings"), 404, "EnvironmentNotFound")


# Keeping the stored Key


def test_put_without_key_keeps_stored_key(
    api: TestClient, context: AppContext, configured: dict[str, Any]
) -> None:
    response = api.put(PUT_PATH, json={"Authority": AUTHORITY, "ClientId": OTHER_CLIENT_ID})

    assert response.status_code == 200
    assert response.json()["KeySet"] is True
    assert response.json()["KeyUpdatedOn"] == configured["KeyUpdatedOn"]
    assert context.keyring.unseal(_stored(context).key_sealed or "") == KEY


def test_put_with_only_key_keeps_authority_and_client(
    api: TestClient, configured: dict[str, Any]
) -> None:
    response = api.put(PUT_PATH, json={"Key": "a-new-key-value"})

    assert response.status_code == 200
    assert response.json()["Authority"] == AUTHORITY
    assert response.json()["ClientId"] == CLIENT_ID
    assert response.json()["KeyUpdatedOn"] != configured["KeyUpdatedOn"]


def test_put_same_key_keeps_expiry(api: TestClient, configured: dict[str, Any]) -> None:
    api.put(PUT_PATH, json={"KeyExpiresOn": "2030-07-31"}).raise_for_status()

    response = api.put(PUT_PATH, json={"Key": KEY})

    assert response.status_code == 200
    assert response.json()["KeyExpiresOn"] == "2030-07-31"
    assert response.json()["Notices"] == []


def test_put_new_key_clears_expiry(api: TestClient, configured: dict[str, Any]) -> None:
    api.put(PUT_PATH, json={"KeyExpiresOn": "2030-07-31"}).raise_for_status()

    response = api.put(PUT_PATH, json={"Key": "a-new-key-value"})

    assert response.status_code == 200
    assert response.json()["KeyExpiresOn"] is None
    assert response.json()["Notices"] == [
        {
            "MemberNames": ["KeyExpiresOn"],
            "ErrorMessage": "KeyExpiresOn 2030-07-31 belongs to the Key that this one replaces, "
            "so the new Key has no expiry date and no expiry reminders are sent; send "
            "KeyExpiresOn with the new Key to have them.",
        }
    ]


def test_put_new_key_with_expiry_keeps_it(api: TestClient, configured: dict[str, Any]) -> None:
    api.put(PUT_PATH, json={"KeyExpiresOn": "2030-07-31"}).raise_for_status()

    response = api.put(PUT_PATH, json={"Key": "a-new-key-value", "KeyExpiresOn": "2031-01-31"})

    assert response.json()["KeyExpiresOn"] == "2031-01-31"
    assert response.json()["Notices"] == []


def test_put_without_key_and_none_stored_is_400(api: TestClient, environment: str) -> None:
    response = api.put(PUT_PATH, json={"Authority": AUTHORITY, "ClientId": CLIENT_ID})

    assert_validation(response, "Key", "Key is missing", "none is stored yet")
    assert api.get(GET_PATH).json()["Mode"] == "None"


@pytest.mark.parametrize("member", ["Authority", "ClientId"])
def test_put_without_field_and_none_stored_is_400(
    api: TestClient, environment: str, member: str
) -> None:
    body = {name: value for name, value in SETTINGS.items() if name != member}

    response = api.put(PUT_PATH, json=body)

    assert_validation(response, member, f"{member} is missing")


def test_put_empty_body_names_each_missing_field(api: TestClient, environment: str) -> None:
    response = api.put(PUT_PATH, json={})

    for member in ("Authority", "ClientId", "Key"):
        assert_validation(response, member, "is missing")


# Authority


@pytest.mark.parametrize(
    "authority",
    [
        "https://login.windows.net/contoso.onmicrosoft.com",
        "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0",
        "https://idp.contoso.test:8443/realms/contoso",
    ],
)
def test_put_accepts_https_authority(api: TestClient, environment: str, authority: str) -> None:
    response = api.put(PUT_PATH, json={**SETTINGS, "Authority": authority})

    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "authority",
    ["http://127.0.0.1:9000", "http://localhost:9000/realm", "http://[::1]:9000"],
)
def test_put_accepts_loopback_http_with_flag(
    api: TestClient, environment: str, authority: str
) -> None:
    response = api.put(PUT_PATH, json={**SETTINGS, "Authority": authority})

    assert response.status_code == 200
    assert response.json()["Authority"] == authority


@pytest.mark.parametrize("authority", ["http://127.0.0.1:9000", "http://localhost/realm"])
def test_put_refuses_loopback_http_without_flag(
    make_api: ApiFactory, environment: str, authority: str
) -> None:
    strict = make_api(insecure_loopback_idp=False)

    response = strict.put(PUT_PATH, json={**SETTINGS, "Authority": authority})

    assert_validation(
        response, "Authority", f"{authority!r}", "HATCHWAY_INSECURE_LOOPBACK_IDP=true"
    )


def test_put_refuses_http_authority(api: TestClient, environment: str) -> None:
    response = api.put(PUT_PATH, json={**SETTINGS, "Authority": "http://login.contoso.test"})

    assert_validation(response, "Authority", "uses http", "use the https URL")


@pytest.mark.parametrize(
    "authority",
    [
        "login.microsoftonline.com/contoso",
        "//login.microsoftonline.com/contoso",
        "/contoso/v2.0",
        "ftp://login.contoso.test",
        "javascript:alert(1)",
        "https://",
        "https://[::1",
        "https://login.contoso.test:99999/",
    ],
)
def test_put_refuses_authority_that_is_not_absolute(
    api: TestClient, environment: str, authority: str
) -> None:
    response = api.put(PUT_PATH, json={**SETTINGS, "Authority": authority})

    assert_validation(response, "Authority", f"{authority!r}", "is not an absolute https URL")


@pytest.mark.parametrize(
    "authority",
    ["https://login..contoso.test", "https://-login.contoso.test", "https://idp.contoso.test:0"],
)
def test_put_refuses_invalid_host(api: TestClient, environment: str, authority: str) -> None:
    response = api.put(PUT_PATH, json={**SETTINGS, "Authority": authority})

    assert_validation(response, "Authority", "has no valid host name or port")


def test_put_refuses_credentials_in_authority(api: TestClient, environment: str) -> None:
    response = api.put(
        PUT_PATH, json={**SETTINGS, "Authority": "https://user:pass@login.contoso.test"}
    )

    assert_validation(response, "Authority", "contains a user name or password")


def test_put_refuses_query_in_authority(api: TestClient, environment: str) -> None:
    response = api.put(
        PUT_PATH, json={**SETTINGS, "Authority": "https://login.contoso.test/?tenant=x"}
    )

    assert_validation(response, "Authority", "has a query or fragment")


def test_put_refuses_authority_with_spaces(api: TestClient, environment: str) -> None:
    response = api.put(
        PUT_PATH, json={**SETTINGS, "Authority": "https://login.contoso.test/con toso"}
    )

    assert_validation(response, "Authority", "contains spaces or characters outside")


def test_put_refuses_long_authority(api: TestClient, environment: str) -> None:
    authority = "https://login.contoso.test/" + "a" * 2048

    response = api.put(PUT_PATH, json={**SETTINGS, "Authority": authority})

    assert_validation(response, "Authority", f"has {len(authority)} characters", "at most 2048")


# Client ID and Key: empty, whitespace, length


@pytest.mark.parametrize("value", ["", "   ", "\n\t"])
def test_put_refuses_empty_client_id(api: TestClient, environment: str, value: str) -> None:
    response = api.put(PUT_PATH, json={**SETTINGS, "ClientId": value})

    assert_validation(response, "ClientId", "ClientId is empty", "Application (client) ID")


@pytest.mark.parametrize("value", ["", "   ", "\r\n"])
def test_put_refuses_empty_key(api: TestClient, environment: str, value: str) -> None:
    response = api.put(PUT_PATH, json={**SETTINGS, "Key": value})

    assert_validation(response, "Key", "Key is empty", "client secret's value")


def test_put_trims_key_with_notice_without_echo(
    api: TestClient, context: AppContext, environment: str
) -> None:
    response = api.put(PUT_PATH, json={**SETTINGS, "Key": f"  {KEY}\r\n"})

    assert response.status_code == 200
    notices = response.json()["Notices"]
    assert notices == [
        {
            "MemberNames": ["Key"],
            "ErrorMessage": "Key started or ended with line breaks and spaces, now trimmed.",
        }
    ]
    assert KEY not in response.text
    assert context.keyring.unseal(_stored(context).key_sealed or "") == KEY


def test_put_trims_key_spaces_with_notice(api: TestClient, environment: str) -> None:
    response = api.put(PUT_PATH, json={**SETTINGS, "Key": f"{KEY} "})

    assert response.json()["Notices"][0]["ErrorMessage"] == (
        "Key started or ended with whitespace, now trimmed."
    )


def test_put_trims_client_id_and_shows_value(api: TestClient, environment: str) -> None:
    response = api.put(PUT_PATH, json={**SETTINGS, "ClientId": f"\t{CLIENT_ID} "})

    assert response.status_code == 200
    assert response.json()["ClientId"] == CLIENT_ID
    assert response.json()["Notices"] == [
        {
            "MemberNames": ["ClientId"],
            "ErrorMessage": f"ClientId started or ended with whitespace, now trimmed; "
            f"the value used is {CLIENT_ID!r}.",
        }
    ]


def test_put_trims_authority_newline(api: TestClient, environment: str) -> None:
    response = api.put(PUT_PATH, json={**SETTINGS, "Authority": f"{AUTHORITY}\n"})

    assert response.json()["Authority"] == AUTHORITY
    assert "line breaks" in response.json()["Notices"][0]["ErrorMessage"]


def test_put_refuses_key_over_maximum(api: TestClient, environment: str) -> None:
    response = api.put(PUT_PATH, json={**SETTINGS, "Key": "k" * (MAX_KEY_LENGTH + 1)})

    assert_validation(response, "Key", f"Key has {MAX_KEY_LENGTH + 1} characters", "at most 512")
    assert "k" * 20 not in response.text


def test_put_accepts_key_of_maximum_length(api: TestClient, environment: str) -> None:
    response = api.put(PUT_PATH, json={**SETTINGS, "Key": "k" * MAX_KEY_LENGTH})

    assert response.status_code == 200


def test_put_refuses_long_client_id(api: TestClient, environment: str) -> None:
    response = api.put(PUT_PATH, json={**SETTINGS, "ClientId": "c" * 257})

    assert_validation(response, "ClientId", "ClientId has 257 characters", "at most 256")


# Key characters pasted from rich text


@pytest.mark.parametrize(
    ("character", "described"),
    [
        ("\u201c", "U+201C (LEFT DOUBLE QUOTATION MARK), a typographic quote"),
        ("\u2019", "U+2019 (RIGHT SINGLE QUOTATION MARK), a typographic quote"),
        ("\u200b", "U+200B (ZERO WIDTH SPACE), an invisible zero-width character"),
        ("\ufeff", "U+FEFF (ZERO WIDTH NO-BREAK SPACE), an invisible zero-width character"),
        ("\u00a0", "U+00A0 (NO-BREAK SPACE), a non-breaking space"),
        ("\x07", "U+0007, a control character"),
        ("\t", "U+0009, a control character"),
        ("\u200e", "U+200E (LEFT-TO-RIGHT MARK), an invisible formatting character"),
        ("\u00e9", "U+00E9 (LATIN SMALL LETTER E WITH ACUTE), a character outside printable"),
    ],
)
def test_put_refuses_key_character_with_position(
    api: TestClient, environment: str, character: str, described: str
) -> None:
    key = f"Zx8Q~{character}secretpart"

    response = api.put(PUT_PATH, json={**SETTINGS, "Key": key})

    message = assert_validation(response, "Key", "Key contains at position 6 of 16")
    assert described in message
    assert "paste it as plain text" in message
    assert "secretpart" not in response.text
    assert api.get(GET_PATH).json()["Mode"] == "None"


def test_put_refuses_key_with_nul(api: TestClient, environment: str) -> None:
    body = json.dumps({**SETTINGS, "Key": "abc__"}).replace("__", "\\u0000d")

    response = api.put(PUT_PATH, content=body, headers={"Content-Type": "application/json"})

    assert_validation(response, "Key", "position 4", "NUL character")


def test_put_refuses_client_id_character(api: TestClient, environment: str) -> None:
    response = api.put(PUT_PATH, json={**SETTINGS, "ClientId": "6731de76\u201314a6"})

    assert_validation(response, "ClientId", "position 9", "U+2013 (EN DASH)")


# Odd inputs never cause a server error


ODD_VALUES: list[Any] = [
    None,
    0,
    -1,
    1.5,
    True,
    [],
    ["https://login.contoso.test"],
    {},
    {"Key": "nested"},
    "",
    " ",
    "\u0000",
    "\ud800",
    "\U0001f511",
    "\u202e" + "evil",
    "x" * 100_000,
    "https://" + "a" * 300 + ".test",
    "https://login.contoso.test/" + "%" * 50,
    "https://[::ffff:127.0.0.1]/",
    "HTTPS://LOGIN.CONTOSO.TEST",
    "https://login.contoso.test#",
    "https://login.contoso.test?",
]


@pytest.mark.parametrize("member", ["Authority", "ClientId", "Key", "KeyExpiresOn"])
def test_put_odd_values_get_400_or_200(api: TestClient, environment: str, member: str) -> None:
    for value in ODD_VALUES:
        body = json.dumps({**SETTINGS, member: value}, ensure_ascii=True)

        response = api.put(PUT_PATH, content=body, headers={"Content-Type": "application/json"})

        assert response.status_code in (200, 400), f"{member}={value!r}: {response.text}"
        if response.status_code == 400:
            assert validation_messages(response, member) or validation_messages(response, "")


def test_put_invalid_expiry_date_is_400(api: TestClient, environment: str) -> None:
    response = api.put(PUT_PATH, json={**SETTINGS, "KeyExpiresOn": "2030-13-01"})

    assert_validation(response, "KeyExpiresOn", "KeyExpiresOn is not valid")


# Sealed at rest


def test_key_is_sealed_in_database(context: AppContext, configured: dict[str, Any]) -> None:
    stored = _stored(context)

    assert stored.key_sealed is not None
    assert KEY not in stored.key_sealed
    assert context.keyring.unseal(stored.key_sealed) == KEY


def test_key_is_sealed_in_version_history(context: AppContext, configured: dict[str, Any]) -> None:
    with context.database.read() as session:
        version = session.scalars(select(SsoVersion)).one()

    assert version.key_sealed is not None
    assert KEY not in version.key_sealed
    assert context.keyring.unseal(version.key_sealed) == KEY


def test_changed_key_is_sealed_anew(
    api: TestClient, context: AppContext, configured: dict[str, Any]
) -> None:
    before = _stored(context).key_sealed

    api.put(PUT_PATH, json={"Key": "the-second-key"})

    after = _stored(context).key_sealed
    assert after is not None and after != before
    assert context.keyring.unseal(after) == "the-second-key"


# If-Match


def test_put_with_stale_if_match_is_412(api: TestClient, configured: dict[str, Any]) -> None:
    response = api.put(PUT_PATH, json={"ClientId": "other"}, headers={"If-Match": '"0"'})

    message = assert_problem(response, 412, "PreconditionFailed")
    assert 'If-Match "0" does not match the current version "1"' in message
    assert response.headers["ETag"] == '"1"'
    assert api.get(GET_PATH).json()["ClientId"] == CLIENT_ID


@pytest.mark.parametrize("if_match", ['"1"', "*", 'W/"1"', '"7", "1"'])
def test_put_with_current_if_match_saves(
    api: TestClient, configured: dict[str, Any], if_match: str
) -> None:
    response = api.put(PUT_PATH, json={"ClientId": OTHER_CLIENT_ID}, headers={"If-Match": if_match})

    assert response.status_code == 200
    assert response.headers["ETag"] == '"2"'


# DELETE


def test_delete_switches_to_mode_none(api: TestClient, configured: dict[str, Any]) -> None:
    response = api.delete(PUT_PATH)

    assert response.status_code == 200
    body = response.json()
    assert body["Mode"] == "None"
    assert body["Authority"] is None
    assert body["ClientId"] is None
    assert body["KeySet"] is False
    assert body["Version"] == 2
    assert api.get(GET_PATH).json() == body


def test_delete_clears_stored_key(
    api: TestClient, context: AppContext, configured: dict[str, Any]
) -> None:
    api.delete(PUT_PATH)

    stored = _stored(context)
    assert stored.key_sealed is None
    assert stored.key_fingerprint is None


def test_delete_shows_local_sign_in_form(
    api: TestClient, client: TestClient, configured: dict[str, Any]
) -> None:
    api.delete(PUT_PATH)

    page = client.get("/contoso/SignIn")

    assert page.status_code == 200
    assert 'name="password"' in page.text
    assert "Sign in with the identity provider instead" not in page.text


def test_delete_in_mode_none_changes_nothing(api: TestClient, environment: str) -> None:
    response = api.delete(PUT_PATH)

    assert response.status_code == 200
    assert response.json()["Version"] == 0


def test_delete_with_stale_if_match_is_412(api: TestClient, configured: dict[str, Any]) -> None:
    response = api.delete(PUT_PATH, headers={"If-Match": '"5"'})

    assert_problem(response, 412, "PreconditionFailed")
    assert api.get(GET_PATH).json()["Mode"] == "OAuth2"


def test_delete_in_unknown_environment_is_404(api: TestClient) -> None:
    response = api.delete("/nowhere/SingleSignOnSettings/OAuth2")

    assert_problem(response, 404, "EnvironmentNotFound")
