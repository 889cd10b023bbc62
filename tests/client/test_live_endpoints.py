"""HatchwayClient against the live Verify, History, Restore, EmergencyAccess and AuditLog calls.

Each test is skipped while /Provisioning/openapi.json does not list its endpoint, and runs as
soon as it does; test_requests.py covers the client's side of the same calls meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hatchway.client import CheckOutcome, Delivery, HatchwayApiError, HatchwayClient
from tests.support.cli import ADMINISTRATOR, provisioning_operation_exists
from tests.support.hatchway import PROVISIONING_KEY, LiveServer
from tests.support.idp import OidcProvider, RegisteredClient
from tests.support.ports import free_port

CHECK_NAMES = {"Authority", "KeyFormat", "Discovery", "Jwks", "ClientCredentials", "RedirectUri"}

needs_verify = pytest.mark.skipif(
    not provisioning_operation_exists(
        "POST", "/{EnvironmentName}/SingleSignOnSettings/OAuth2/Verify"
    ),
    reason="Hatchway does not serve POST .../SingleSignOnSettings/OAuth2/Verify yet",
)
needs_history = pytest.mark.skipif(
    not provisioning_operation_exists("GET", "/{EnvironmentName}/SingleSignOnSettings/History"),
    reason="Hatchway does not serve GET .../SingleSignOnSettings/History yet",
)
needs_restore = pytest.mark.skipif(
    not provisioning_operation_exists(
        "POST", "/{EnvironmentName}/SingleSignOnSettings/History/{Version}/Restore"
    ),
    reason="Hatchway does not serve POST .../History/{Version}/Restore yet",
)
needs_emergency = pytest.mark.skipif(
    not provisioning_operation_exists("POST", "/{EnvironmentName}/EmergencyAccess")
    or not provisioning_operation_exists("GET", "/{EnvironmentName}/EmergencyAccess"),
    reason="Hatchway does not serve .../EmergencyAccess yet",
)
needs_audit = pytest.mark.skipif(
    not provisioning_operation_exists("GET", "/{EnvironmentName}/AuditLog"),
    reason="Hatchway does not serve GET .../AuditLog yet",
)


@pytest.fixture
def client(live_server: LiveServer) -> Iterator[HatchwayClient]:
    with HatchwayClient(live_server.url, PROVISIONING_KEY) as hatchway:
        yield hatchway


def _set(client: HatchwayClient, provider: OidcProvider, registered: RegisteredClient) -> None:
    client.set_oauth2(
        "contoso",
        authority=provider.issuer,
        client_id=registered.client_id,
        key=registered.client_secret,
    )


@needs_verify
def test_verify_stored_settings_passes(
    client: HatchwayClient, oidc_provider: OidcProvider, idp_client: RegisteredClient
) -> None:
    _set(client, oidc_provider, idp_client)

    verification = client.verify_oauth2("contoso")

    assert verification.passed is True
    assert {check.name for check in verification.checks} <= CHECK_NAMES
    assert all(check.passed for check in verification.checks)


@needs_verify
def test_verify_wrong_key_fails_a_check(
    client: HatchwayClient, oidc_provider: OidcProvider, idp_client: RegisteredClient
) -> None:
    verification = client.verify_oauth2(
        "contoso",
        authority=oidc_provider.issuer,
        client_id=idp_client.client_id,
        key="wrong-secret-value-canary",
    )

    assert verification.passed is False
    assert "ClientCredentials" in {check.name for check in verification.checks if not check.passed}
    assert "wrong-secret-value-canary" not in repr(verification.raw)


@needs_verify
def test_verify_outcomes_mark_skipped_and_warning(client: HatchwayClient, contoso: str) -> None:
    verification = client.verify_oauth2(
        "contoso",
        authority=f"http://127.0.0.1:{free_port()}",
        client_id="app-1",
        key="5c1b7e2a-0d4f-4e6a-9b3c-8a7d6e5f4a3b",
    )

    outcomes = {check.name: check.outcome for check in verification.checks}
    assert outcomes["KeyFormat"] is CheckOutcome.WARNING
    assert outcomes["Discovery"] is CheckOutcome.FAILED
    assert outcomes["Jwks"] is CheckOutcome.NOT_CHECKED
    assert outcomes["ClientCredentials"] is CheckOutcome.NOT_CHECKED
    assert [check.name for check in verification.failed_checks()] == ["Discovery"]


@needs_verify
def test_put_with_failing_check_is_refused(
    client: HatchwayClient, oidc_provider: OidcProvider, idp_client: RegisteredClient
) -> None:
    with pytest.raises(HatchwayApiError) as failure:
        client.set_oauth2(
            "contoso",
            authority=oidc_provider.issuer,
            client_id=idp_client.client_id,
            key="wrong-secret-value-canary",
        )

    assert failure.value.status == 400
    assert failure.value.results


@needs_verify
def test_put_without_verification_returns_warnings(
    client: HatchwayClient, oidc_provider: OidcProvider, idp_client: RegisteredClient
) -> None:
    change = client.set_oauth2(
        "contoso",
        authority=oidc_provider.issuer,
        client_id=idp_client.client_id,
        key="wrong-secret-value-canary",
        verify=False,
    )

    assert change.settings.mode == "OAuth2"
    assert change.warnings


@needs_history
def test_history_lists_versions_newest_first(
    client: HatchwayClient, oidc_provider: OidcProvider, idp_client: RegisteredClient
) -> None:
    _set(client, oidc_provider, idp_client)
    client.disable_oauth2("contoso")

    versions = client.sso_history("contoso")

    assert [version.version for version in versions] == sorted(
        (version.version for version in versions), reverse=True
    )
    assert versions[0].mode == "None"
    assert versions[0].is_current is True


@needs_history
@needs_restore
def test_restore_brings_back_oauth2(
    client: HatchwayClient, oidc_provider: OidcProvider, idp_client: RegisteredClient
) -> None:
    _set(client, oidc_provider, idp_client)
    client.disable_oauth2("contoso")
    oauth2_version = next(
        version.version for version in client.sso_history("contoso") if version.mode == "OAuth2"
    )

    change = client.restore_sso_version("contoso", oauth2_version)

    assert change.settings.mode == "OAuth2"
    assert change.settings.authority == oidc_provider.issuer
    assert change.settings.key_set is True
    assert change.verification is not None
    assert change.verification.passed is True


@needs_emergency
def test_emergency_response_delivery_returns_url(client: HatchwayClient, contoso: str) -> None:
    grant = client.request_emergency_access(
        contoso, ADMINISTRATOR["EmailAddress"], delivery=Delivery.RESPONSE
    )

    assert grant.url is not None
    assert f"/{contoso}/AdminPage/EmergencyAccess?token=" in grant.url
    assert grant.delivery_status == "NotMailed"


@needs_emergency
def test_emergency_list_shows_request(client: HatchwayClient, contoso: str) -> None:
    grant = client.request_emergency_access(contoso, ADMINISTRATOR["EmailAddress"])

    requests = client.list_emergency_requests(contoso)

    assert requests[0].request_id == grant.request_id
    assert requests[0].delivery == "Email"


@needs_audit
def test_audit_log_records_sso_change(
    client: HatchwayClient, oidc_provider: OidcProvider, idp_client: RegisteredClient
) -> None:
    _set(client, oidc_provider, idp_client)

    page = client.audit_log("contoso", action="sso.update")

    assert [record.action for record in page.records] == ["sso.update"]
    assert idp_client.client_secret not in repr(page.raw)


def test_openapi_lookup_finds_existing_operation() -> None:
    # Guards the skip conditions above: a lookup that never matched would skip them forever.
    assert provisioning_operation_exists("PUT", "/{EnvironmentName}/SingleSignOnSettings/OAuth2")
    assert not provisioning_operation_exists("PUT", "/{EnvironmentName}/NoSuchCall")
