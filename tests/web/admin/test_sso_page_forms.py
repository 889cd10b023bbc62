"""The single sign-on page's forms, submitted as a browser without JavaScript does.

Verification runs against the real oidc-provider, with a client registered for the in-process
redirect URI; test sign-ins, which need a browser, are in test_sso_page_browser.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from hatchway.audit.service import Actor, ActorType
from hatchway.context import AppContext
from hatchway.db.models import AuditRecord, Environment, SsoStagedSettings, SsoVersion, User
from hatchway.sso import staging
from tests.support.accounts import (
    ADMIN_EMAIL,
    add_user,
    create_environment,
    csrf_token,
    redeem,
)
from tests.support.idp import OidcProvider, RegisteredClient
from tests.support.ports import free_port
from tests.web.admin.sso_forms import (
    IN_PROCESS_REDIRECT_URI,
    SSO_PAGE,
    hidden_value,
    sign_in,
    stored_settings,
    submit,
)

CANARY_KEY = "canary-key-value-5d1e"
OTHER_ADMIN = "second@contoso.test"

PASSED_WITH_WARNING = (
    "Verification passed with warnings: every check passed, and 1 check has a warning to read "
    "(RedirectUri)."
)


@pytest.fixture
def administrator(api: TestClient, client: TestClient) -> None:
    create_environment(api)
    sign_in(client)


@pytest.fixture
def registered(oidc_provider: OidcProvider) -> RegisteredClient:
    return oidc_provider.register_client([IN_PROCESS_REDIRECT_URI])


@pytest.fixture
def values(oidc_provider: OidcProvider, registered: RegisteredClient) -> dict[str, str]:
    """Form fields for the registered client, with its right Key."""
    return {
        "authority": oidc_provider.issuer,
        "client_id": registered.client_id,
        "key": registered.client_secret,
    }


def save_confirmed(client: TestClient, **fields: str) -> None:
    response = submit(client, confirm_untested="1", **fields)
    assert response.status_code == 200, response.text
    assert 'id="saved-message"' in response.text


# The page


def test_page_shows_redirect_uri_and_mode(administrator: None, client: TestClient) -> None:
    page = client.get(SSO_PAGE)

    assert page.status_code == 200
    assert f'<code id="redirect-uri">{IN_PROCESS_REDIRECT_URI}</code>' in page.text
    assert '<dd id="sso-mode">None</dd>' in page.text
    assert '<input type="radio" id="mode-none" name="mode" value="None" checked>' in page.text


@pytest.mark.parametrize(
    ("days", "shown"),
    [
        (5, "5 days left"),
        (1, "1 day left"),
        (0, "expires today"),
        (-1, "expired yesterday"),
        (-3, "expired 3 days ago"),
    ],
)
def test_page_words_key_expiry(
    administrator: None,
    api: TestClient,
    client: TestClient,
    context: AppContext,
    values: dict[str, str],
    days: int,
    shown: str,
) -> None:
    expires_on = context.now().date() + timedelta(days=days)
    saved = api.put(
        "/contoso/SingleSignOnSettings/OAuth2",
        params={"verify": "false"},
        json={
            "Authority": values["authority"],
            "ClientId": values["client_id"],
            "Key": values["key"],
            "KeyExpiresOn": expires_on.isoformat(),
        },
    )
    assert saved.status_code == 200, saved.text

    page = client.get(SSO_PAGE)

    assert f'<dd id="sso-key-expires">{expires_on.isoformat()} ({shown})</dd>' in page.text


def test_copy_button_waits_for_script(administrator: None, client: TestClient) -> None:
    page = client.get(SSO_PAGE)

    assert 'data-copy-target="redirect-uri"' in page.text
    assert 'data-copy-status="copy-status" hidden>Copy redirect URI</button>' in page.text
    assert '<script src="/static/copy.js" defer></script>' in page.text
    assert "<script>" not in page.text


def test_every_input_has_a_label(administrator: None, client: TestClient) -> None:
    page = client.get(SSO_PAGE).text

    for input_id in ("mode-oauth2", "mode-none", "authority", "client_id", "key"):
        assert f'<label for="{input_id}">' in page
    assert '<label for="key_expires_on">' in page
    assert '<label for="skip_verification">' in page


def test_anonymous_visitor_is_sent_to_sign_in(api: TestClient, client: TestClient) -> None:
    create_environment(api)

    response = client.get(SSO_PAGE)

    assert response.status_code == 303
    assert response.headers["location"] == f"/contoso/SignIn?return_to={SSO_PAGE}"


@pytest.mark.parametrize("action", ["", "/Verify", "/TestSignIn", "/History/1/Restore"])
def test_non_administrator_gets_403(
    api: TestClient, client: TestClient, context: AppContext, action: str
) -> None:
    create_environment(api)
    add_user(api, "contoso", "user@contoso.test", is_administrator=False)
    sign_in(client, "user@contoso.test")
    token = csrf_token(client.get("/contoso/SignIn?local=1").text)

    response = client.post(
        SSO_PAGE + action,
        data={"csrf_token": token, "mode": "None", "authority": "https://idp.test"},
    )

    assert response.status_code == 403
    assert "Administrators only" in response.text
    assert stored_settings(context).version == 0


# Save


def test_untested_save_asks_for_confirmation(
    administrator: None, client: TestClient, context: AppContext, values: dict[str, str]
) -> None:
    response = submit(client, **values)

    assert response.status_code == 200
    assert "Save without a test sign-in?" in response.text
    assert PASSED_WITH_WARNING in response.text
    assert "Ada Admin (admin@contoso.test)" in response.text
    assert 'href="/contoso/AdminPage/RequestEmergencyAdminAccess"' in response.text
    assert 'href="/contoso/SignIn?local=1"' in response.text
    assert values["key"] not in response.text
    assert stored_settings(context).version == 0


def test_confirmation_saves_the_typed_key(
    administrator: None, client: TestClient, context: AppContext, values: dict[str, str]
) -> None:
    confirmation = submit(client, **values)
    assert hidden_value(confirmation.text, "draft") is not None

    response = submit(
        client,
        page=confirmation.text,
        authority=values["authority"],
        client_id=values["client_id"],
        confirm_untested="1",
    )

    assert response.status_code == 200
    assert "Saved as version 1. Sign-in now uses these settings." in response.text
    stored = stored_settings(context)
    assert (stored.mode, stored.authority, stored.client_id) == (
        "OAuth2",
        values["authority"],
        values["client_id"],
    )
    assert context.keyring.unseal(stored.key_sealed or "") == values["key"]


def test_save_after_confirmation_is_audited(
    administrator: None, client: TestClient, context: AppContext, values: dict[str, str]
) -> None:
    save_confirmed(client, **values)

    with context.database.read() as session:
        record = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "sso.update")
        ).one()
    assert (record.actor_type, record.actor) == ("Administrator", ADMIN_EMAIL)
    assert record.detail == "verified before saving"
    assert values["key"] not in f"{record.before} {record.after} {record.detail}"


def test_expiry_only_change_needs_no_confirmation(
    administrator: None, client: TestClient, context: AppContext, values: dict[str, str]
) -> None:
    save_confirmed(client, **values)

    response = submit(
        client,
        authority=values["authority"],
        client_id=values["client_id"],
        key_expires_on="2030-01-31",
    )

    assert "Saved as version 2." in response.text
    assert str(stored_settings(context).key_expires_on) == "2030-01-31"


def test_wrong_key_shows_failed_check(
    administrator: None, client: TestClient, context: AppContext, values: dict[str, str]
) -> None:
    response = submit(client, **{**values, "key": CANARY_KEY})

    assert response.status_code == 400
    assert "Verification failed: 1 check failed (ClientCredentials)." in response.text
    assert 'data-check="ClientCredentials" data-outcome="Failed"' in response.text
    assert 'id="client_id-error"' in response.text
    assert CANARY_KEY not in response.text
    assert stored_settings(context).version == 0


def test_wrong_key_is_kept_for_the_next_try(
    administrator: None, client: TestClient, values: dict[str, str]
) -> None:
    response = submit(client, **{**values, "key": CANARY_KEY})

    assert hidden_value(response.text, "draft") is not None
    assert "The Key you entered is kept with this form" in response.text


def test_skip_verification_saves_with_warning(
    administrator: None, client: TestClient, context: AppContext, values: dict[str, str]
) -> None:
    response = submit(
        client,
        **{**values, "key": CANARY_KEY},
        skip_verification="1",
        confirm_untested="1",
    )

    assert response.status_code == 200
    assert "Saved as version 1." in response.text
    assert (
        "Saved although a check failed: The token endpoint rejected the Client ID or the Key"
        in response.text
    )
    with context.database.read() as session:
        version = session.scalars(select(SsoVersion)).one()
    assert version.verification_skipped is True


def test_key_is_never_shown(
    administrator: None, client: TestClient, values: dict[str, str]
) -> None:
    save_confirmed(client, **values)

    page = client.get(SSO_PAGE)

    assert values["key"] not in page.text
    assert '<input id="key" name="key" type="password" value=""' in page.text
    assert "A Key is stored. Leave this field empty to keep it." in page.text


def test_empty_key_keeps_stored_key(
    administrator: None,
    client: TestClient,
    context: AppContext,
    oidc_provider: OidcProvider,
    values: dict[str, str],
) -> None:
    save_confirmed(client, **values)
    other = oidc_provider.register_client([IN_PROCESS_REDIRECT_URI])

    response = submit(
        client,
        authority=values["authority"],
        client_id=other.client_id,
        skip_verification="1",
        confirm_untested="1",
    )

    assert "Saved as version 2." in response.text
    assert context.keyring.unseal(stored_settings(context).key_sealed or "") == values["key"]


def test_trimmed_key_is_noted_without_echo(
    administrator: None, client: TestClient, values: dict[str, str]
) -> None:
    response = submit(client, **{**values, "key": f"  {values['key']}\n"}, confirm_untested="1")

    assert "Key started or ended with line breaks and spaces, now trimmed." in response.text
    assert values["key"] not in response.text


def test_invalid_authority_is_shown_at_field(
    administrator: None, client: TestClient, context: AppContext
) -> None:
    response = submit(
        client, authority="http://login.example.test/tenant", client_id="app", key=CANARY_KEY
    )

    assert response.status_code == 400
    assert 'id="authority-error"' in response.text
    assert "uses http; identity providers must be reached over https" in response.text
    assert 'value="http://login.example.test/tenant"' in response.text
    assert stored_settings(context).version == 0


def test_missing_key_is_shown_at_field(
    administrator: None, client: TestClient, values: dict[str, str]
) -> None:
    response = submit(client, authority=values["authority"], client_id=values["client_id"])

    assert response.status_code == 400
    assert 'id="key-error"' in response.text
    assert "Key is missing" in response.text


def test_invalid_expiry_date_is_refused(
    administrator: None, client: TestClient, values: dict[str, str]
) -> None:
    response = submit(client, **values, key_expires_on="31.12.2027")

    assert response.status_code == 400
    assert "KeyExpiresOn &#39;31.12.2027&#39; is not a date" in response.text


def test_stale_form_is_refused(
    administrator: None, client: TestClient, context: AppContext, values: dict[str, str]
) -> None:
    old_page = client.get(SSO_PAGE).text
    save_confirmed(client, **values)

    response = submit(client, page=old_page, mode="None")

    assert response.status_code == 412
    assert "changed while you edited them (now version 1)" in response.text
    assert stored_settings(context).mode == "OAuth2"


def test_stale_form_is_refused_after_verify(
    administrator: None,
    client: TestClient,
    context: AppContext,
    api: TestClient,
    values: dict[str, str],
) -> None:
    old_page = client.get(SSO_PAGE).text
    verified = submit(client, "/Verify", page=old_page, **values)
    saved = api.put(
        "/contoso/SingleSignOnSettings/OAuth2",
        json={"Authority": values["authority"], "ClientId": "other", "Key": values["key"]},
        params={"verify": "false"},
    )
    assert saved.status_code == 200, saved.text

    response = submit(
        client,
        page=verified.text,
        authority=values["authority"],
        client_id=values["client_id"],
        confirm_untested="1",
    )

    assert response.status_code == 412
    assert stored_settings(context).client_id == "other"


def test_draft_of_another_administrator_is_ignored(
    api: TestClient,
    client: TestClient,
    context: AppContext,
    values: dict[str, str],
) -> None:
    create_environment(api)
    add_user(api, "contoso", OTHER_ADMIN, is_administrator=True)
    sign_in(client)
    draft = hidden_value(submit(client, "/Verify", **values).text, "draft")
    assert draft is not None
    sign_in(client, OTHER_ADMIN)

    response = submit(
        client,
        authority=values["authority"],
        client_id=values["client_id"],
        draft=draft,
        confirm_untested="1",
    )

    assert response.status_code == 400
    assert "The Key you entered earlier is no longer kept with this form" in response.text
    assert stored_settings(context).version == 0


# Verify


def test_verify_passes_with_right_key(
    administrator: None, client: TestClient, context: AppContext, values: dict[str, str]
) -> None:
    response = submit(client, "/Verify", **values)

    assert response.status_code == 200
    assert PASSED_WITH_WARNING in response.text
    for check in ("Authority", "KeyFormat", "Discovery", "Jwks", "ClientCredentials"):
        assert f'data-check="{check}" data-outcome="Passed"' in response.text
    assert 'data-check="RedirectUri" data-outcome="Warning"' in response.text
    assert stored_settings(context).version == 0


def test_verify_keeps_key_for_save(
    administrator: None, client: TestClient, context: AppContext, values: dict[str, str]
) -> None:
    verified = submit(client, "/Verify", **values)

    response = submit(
        client,
        page=verified.text,
        authority=values["authority"],
        client_id=values["client_id"],
        confirm_untested="1",
    )

    assert "Saved as version 1." in response.text
    assert context.keyring.unseal(stored_settings(context).key_sealed or "") == values["key"]


def test_verify_without_csrf_is_refused(
    administrator: None, client: TestClient, values: dict[str, str]
) -> None:
    response = client.post(f"{SSO_PAGE}/Verify", data=values)

    assert response.status_code == 403
    assert "The form has expired" in response.text
    assert "Verification passed" not in response.text


# Mode None and the last way in


def test_switch_to_mode_none(
    administrator: None, client: TestClient, context: AppContext, values: dict[str, str]
) -> None:
    save_confirmed(client, **values)

    response = submit(client, mode="None")

    assert response.status_code == 200
    assert "Single sign-on is off (mode None)" in response.text
    assert stored_settings(context).mode == "None"
    assert stored_settings(context).key_sealed is None


def test_mode_none_with_values_explains_no_change(
    administrator: None, client: TestClient, context: AppContext, values: dict[str, str]
) -> None:
    response = submit(client, mode="None", **values)

    assert response.status_code == 200
    assert "To use the values you entered, choose mode OAuth2 and save again." in response.text
    assert stored_settings(context).version == 0


def test_switch_to_none_needs_password_administrator(
    api: TestClient,
    client: TestClient,
    context: AppContext,
    values: dict[str, str],
) -> None:
    assert api.post("/Environment/contoso/").status_code == 200
    add_user(api, "contoso", ADMIN_EMAIL, is_administrator=True, password=None)
    saved = api.put(
        "/contoso/SingleSignOnSettings/OAuth2",
        json={
            "Authority": values["authority"],
            "ClientId": values["client_id"],
            "Key": values["key"],
        },
    )
    assert saved.status_code == 200, saved.text
    url = api.post(
        "/contoso/EmergencyAccess", json={"EmailAddress": ADMIN_EMAIL, "Delivery": "Response"}
    ).json()["Url"]
    redeem(client, url)

    response = submit(client, mode="None")

    assert response.status_code == 400
    assert (
        "No active administrator of &#39;contoso&#39; has a password, so switching to mode None "
        "would lock everyone out; give an administrator a password first (Users page or the "
        "Provisioning API), or keep single sign-on." in response.text
    )
    assert 'id="mode-error"' in response.text
    assert stored_settings(context).mode == "OAuth2"


def test_failing_save_without_password_skips_confirmation(
    api: TestClient,
    client: TestClient,
    context: AppContext,
    values: dict[str, str],
) -> None:
    assert api.post("/Environment/contoso/").status_code == 200
    add_user(api, "contoso", ADMIN_EMAIL, is_administrator=True, password=None)
    url = api.post(
        "/contoso/EmergencyAccess", json={"EmailAddress": ADMIN_EMAIL, "Delivery": "Response"}
    ).json()["Url"]
    redeem(client, url)

    response = submit(client, **{**values, "key": "wrong-key-value"}, skip_verification="1")

    assert response.status_code == 400
    assert "Save without a test sign-in" not in response.text
    assert (
        "No active administrator of &#39;contoso&#39; has a password, and these OAuth2 settings "
        "have neither passed verification nor a test sign-in" in response.text
    )
    assert stored_settings(context).version == 0


# Restore


def test_restore_earlier_version(
    administrator: None,
    client: TestClient,
    context: AppContext,
    oidc_provider: OidcProvider,
    values: dict[str, str],
) -> None:
    save_confirmed(client, **values)
    submit(client, mode="None")
    page = client.get(SSO_PAGE).text
    assert 'action="/contoso/AdminPage/SingleSignOn/History/1/Restore"' in page
    assert 'action="/contoso/AdminPage/SingleSignOn/History/2/Restore"' not in page

    response = client.post(
        f"{SSO_PAGE}/History/1/Restore",
        data={"csrf_token": csrf_token(page), "based_on_version": "2"},
    )

    assert response.status_code == 200
    assert "Restored version 1 as version 3." in response.text
    stored = stored_settings(context)
    assert (stored.mode, stored.version) == ("OAuth2", 3)
    assert context.keyring.unseal(stored.key_sealed or "") == values["key"]


def _failing_then_good(api: TestClient, values: dict[str, str]) -> None:
    """Save version 1 with a wrong Key (unverified) and version 2 with the right one."""
    body = {"Authority": values["authority"], "ClientId": values["client_id"]}
    failing = api.put(
        "/contoso/SingleSignOnSettings/OAuth2?verify=false", json={**body, "Key": CANARY_KEY}
    )
    assert failing.status_code == 200, failing.text
    good = api.put("/contoso/SingleSignOnSettings/OAuth2", json={**body, "Key": values["key"]})
    assert good.status_code == 200, good.text


def test_restore_with_failing_checks_asks_first(
    administrator: None,
    api: TestClient,
    client: TestClient,
    context: AppContext,
    values: dict[str, str],
) -> None:
    _failing_then_good(api, values)
    page = client.get(SSO_PAGE).text

    response = client.post(
        f"{SSO_PAGE}/History/1/Restore",
        data={"csrf_token": csrf_token(page), "based_on_version": "2"},
    )

    assert response.status_code == 200
    assert "Restore version 1 although checks fail?" in response.text
    assert 'data-check="ClientCredentials" data-outcome="Failed"' in response.text
    assert 'name="confirm_failed_checks" value="1"' in response.text
    assert f"Ada Admin ({ADMIN_EMAIL})" in response.text
    assert CANARY_KEY not in response.text
    assert stored_settings(context).version == 2


def test_restore_confirmed_shows_warnings(
    administrator: None,
    api: TestClient,
    client: TestClient,
    context: AppContext,
    values: dict[str, str],
) -> None:
    _failing_then_good(api, values)
    page = client.get(SSO_PAGE).text
    confirmation = client.post(
        f"{SSO_PAGE}/History/1/Restore",
        data={"csrf_token": csrf_token(page), "based_on_version": "2"},
    ).text

    response = client.post(
        f"{SSO_PAGE}/History/1/Restore",
        data={
            "csrf_token": csrf_token(confirmation),
            "based_on_version": hidden_value(confirmation, "based_on_version") or "",
            "confirm_failed_checks": "1",
        },
    )

    assert response.status_code == 200
    assert "Restored version 1 as version 3, although checks failed" in response.text
    assert "Restored although a check failed:" in response.text
    assert "Verification failed: 1 check failed (ClientCredentials)." in response.text
    assert context.keyring.unseal(stored_settings(context).key_sealed or "") == CANARY_KEY


def test_restore_confirmation_needs_csrf(
    administrator: None,
    api: TestClient,
    client: TestClient,
    context: AppContext,
    values: dict[str, str],
) -> None:
    _failing_then_good(api, values)

    response = client.post(
        f"{SSO_PAGE}/History/1/Restore",
        data={"based_on_version": "2", "confirm_failed_checks": "1"},
    )

    assert response.status_code == 403
    assert stored_settings(context).version == 2


def test_restore_rejected_without_password_administrator(
    api: TestClient,
    client: TestClient,
    context: AppContext,
    values: dict[str, str],
) -> None:
    assert api.post("/Environment/contoso/").status_code == 200
    helper = add_user(api, "contoso", OTHER_ADMIN, is_administrator=True)
    add_user(api, "contoso", ADMIN_EMAIL, is_administrator=True, password=None)
    _failing_then_good(api, values)
    assert api.delete(f"/contoso/User/{helper}").status_code == 200
    url = api.post(
        "/contoso/EmergencyAccess", json={"EmailAddress": ADMIN_EMAIL, "Delivery": "Response"}
    ).json()["Url"]
    redeem(client, url)
    page = client.get(SSO_PAGE).text

    response = client.post(
        f"{SSO_PAGE}/History/1/Restore",
        data={
            "csrf_token": csrf_token(page),
            "based_on_version": "2",
            "confirm_failed_checks": "1",
        },
    )

    assert response.status_code == 400
    assert (
        "No active administrator of &#39;contoso&#39; has a password, and the values of version "
        "1 fail verification now (ClientCredentials)" in response.text
    )
    assert 'data-check="ClientCredentials" data-outcome="Failed"' in response.text
    assert "correct the fields marked below" not in response.text
    assert stored_settings(context).version == 2


def test_restore_without_csrf_is_refused(
    administrator: None, client: TestClient, context: AppContext, values: dict[str, str]
) -> None:
    save_confirmed(client, **values)
    submit(client, mode="None")

    response = client.post(f"{SSO_PAGE}/History/1/Restore", data={"based_on_version": "2"})

    assert response.status_code == 403
    assert stored_settings(context).mode == "None"


def test_restore_unknown_version_is_404(administrator: None, client: TestClient) -> None:
    page = client.get(SSO_PAGE).text

    response = client.post(f"{SSO_PAGE}/History/7/Restore", data={"csrf_token": csrf_token(page)})

    assert response.status_code == 404
    assert "Version 7 does not exist" in response.text


def test_restore_is_post_only(
    administrator: None, client: TestClient, context: AppContext, values: dict[str, str]
) -> None:
    save_confirmed(client, **values)
    submit(client, mode="None")

    response = client.get(f"{SSO_PAGE}/History/1/Restore")

    # A GET leads back to the page and restores nothing.
    assert response.status_code == 303
    assert response.headers["location"] == SSO_PAGE
    assert stored_settings(context).version == 2


def test_history_describes_changes(
    administrator: None, client: TestClient, values: dict[str, str]
) -> None:
    save_confirmed(client, **values, key_expires_on="2030-01-31")

    page = client.get(SSO_PAGE).text

    assert f"Authority: not set → &#39;{values['authority']}&#39;" in page
    assert "Mode: &#39;None&#39; → &#39;OAuth2&#39;" in page
    assert "Key set (fingerprint " in page
    assert "Key expiry: not set → 2030-01-31" in page
    assert 'admin@contoso.test <span class="hint">(Administrator' in page


# Test sign-in (start only; the browser tests follow it to the end)


def test_test_sign_in_redirects_to_provider(
    administrator: None,
    client: TestClient,
    context: AppContext,
    oidc_provider: OidcProvider,
    values: dict[str, str],
) -> None:
    response = submit(client, "/TestSignIn", **values)

    assert response.status_code == 303
    assert response.headers["location"].startswith(f"{oidc_provider.issuer}/auth?")
    assert "&prompt=login" in response.headers["location"]
    assert "hatchway_signin_" in response.headers["set-cookie"]
    assert values["key"] not in response.headers["set-cookie"]
    with context.database.read() as session:
        run = session.scalars(select(SsoStagedSettings)).one()
    assert (run.purpose, run.outcome, run.client_id) == ("test", "pending", values["client_id"])
    assert stored_settings(context).version == 0


def test_test_sign_in_without_csrf_is_refused(
    administrator: None, client: TestClient, context: AppContext, values: dict[str, str]
) -> None:
    response = client.post(f"{SSO_PAGE}/TestSignIn", data=values)

    assert response.status_code == 403
    assert "Test sign-in not started: The form has expired" in response.text
    with context.database.read() as session:
        assert session.scalars(select(SsoStagedSettings)).first() is None


def test_test_sign_in_with_invalid_values_says_why(administrator: None, client: TestClient) -> None:
    response = submit(client, "/TestSignIn", authority="ftp://idp.test", client_id="app", key="x")

    assert response.status_code == 400
    assert "Test sign-in not started: Authority &#39;ftp://idp.test&#39;" in response.text
    assert "The saved single sign-on settings were not changed" in response.text


def test_test_sign_in_with_unreachable_provider_says_why(
    administrator: None, client: TestClient, context: AppContext
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"

    response = submit(client, "/TestSignIn", authority=closed, client_id="app", key=CANARY_KEY)

    assert response.status_code == 502
    assert "Test sign-in failed: The identity provider could not be reached" in response.text
    with context.database.read() as session:
        run = session.scalars(select(SsoStagedSettings)).one()
    assert (run.outcome, run.key_sealed) == ("failed", None)


# Emergency sessions


def test_emergency_session_save_is_audited_as_such(
    api: TestClient, client: TestClient, context: AppContext, values: dict[str, str]
) -> None:
    create_environment(api)
    url = api.post(
        "/contoso/EmergencyAccess", json={"EmailAddress": ADMIN_EMAIL, "Delivery": "Response"}
    ).json()["Url"]
    redeem(client, url)

    save_confirmed(client, **values)

    with context.database.read() as session:
        record = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "sso.update")
        ).one()
    assert record.actor_type == "EmergencySession"


# A Key that passed a test sign-in


def _passed_test(
    context: AppContext, values: dict[str, str], email: str = ADMIN_EMAIL, minutes_ago: int = 0
) -> int:
    """Stage a test run with `values` that passed for the user `email`; return its id."""
    now = context.now() - timedelta(minutes=minutes_ago)
    with context.database.write() as session:
        environment = session.scalars(select(Environment)).one()
        user = session.scalars(select(User).where(User.email == email)).one()
        run = staging.create_test_run(
            session,
            environment,
            authority=values["authority"],
            client_id=values["client_id"],
            key=values["key"],
            allowed_tenants=(),
            keyring=context.keyring,
            creator=staging.Creator(user.id, Actor(ActorType.ADMINISTRATOR, email)),
            now=now,
        )
        person = staging.SignedInPerson("Ada Admin", email, "subject", values["authority"])
        staging.record_passed(run, person, "Test sign-in succeeded.", now)
        return run.id


def test_reload_keeps_tested_values(
    administrator: None, client: TestClient, context: AppContext, values: dict[str, str]
) -> None:
    run_id = _passed_test(context, values)

    page = client.get(SSO_PAGE).text

    assert hidden_value(page, "tested_run") == str(run_id)
    assert f'name="client_id" type="text" value="{values["client_id"]}"' in page
    assert f'value="{values["authority"]}"' in page
    assert "The Key that passed your test sign-in is kept for Save until" in page
    assert "A Key is stored." not in page
    assert values["key"] not in page


def test_save_uses_tested_key(
    administrator: None, client: TestClient, context: AppContext, values: dict[str, str]
) -> None:
    _passed_test(context, values)
    page = client.get(SSO_PAGE).text

    response = submit(
        client, page=page, authority=values["authority"], client_id=values["client_id"]
    )

    assert response.status_code == 200, response.text
    assert "Saved as version 1. Sign-in now uses these settings." in response.text
    stored = stored_settings(context)
    assert context.keyring.unseal(stored.key_sealed or "") == values["key"]


def test_save_clears_tested_key(
    administrator: None, client: TestClient, context: AppContext, values: dict[str, str]
) -> None:
    run_id = _passed_test(context, values)
    page = client.get(SSO_PAGE).text

    submit(client, page=page, authority=values["authority"], client_id=values["client_id"])

    with context.database.read() as session:
        run = session.get_one(SsoStagedSettings, run_id)
        assert run.key_sealed is None
    assert hidden_value(client.get(SSO_PAGE).text, "tested_run") is None


def test_expired_tested_key_is_not_offered(
    administrator: None, client: TestClient, context: AppContext, values: dict[str, str]
) -> None:
    _passed_test(context, values, minutes_ago=31)

    page = client.get(SSO_PAGE).text

    assert hidden_value(page, "tested_run") is None
    assert "kept for Save" not in page


def test_tested_key_of_another_administrator_is_not_used(
    administrator: None,
    api: TestClient,
    client: TestClient,
    context: AppContext,
    values: dict[str, str],
) -> None:
    add_user(api, "contoso", OTHER_ADMIN, is_administrator=True)
    run_id = _passed_test(context, values, email=OTHER_ADMIN)
    page = client.get(SSO_PAGE).text
    assert hidden_value(page, "tested_run") is None

    response = submit(
        client,
        page=page,
        authority=values["authority"],
        client_id=values["client_id"],
        tested_run=str(run_id),
    )

    assert response.status_code == 400
    assert "The Key that passed your test sign-in is no longer kept" in response.text
    assert stored_settings(context).version == 0


def test_save_deletes_expired_tested_key(
    administrator: None, client: TestClient, context: AppContext, values: dict[str, str]
) -> None:
    expired = _passed_test(context, values, minutes_ago=31)

    save_confirmed(client, **values)

    with context.database.read() as session:
        assert session.get(SsoStagedSettings, expired) is None
