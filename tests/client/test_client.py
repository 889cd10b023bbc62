"""HatchwayClient against a live Hatchway on 127.0.0.1: environments, users, SSO settings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hatchway.client import (
    HatchwayApiError,
    HatchwayClient,
    HatchwayUnreachable,
    ValidationResult,
)
from tests.support.cli import ADMINISTRATOR
from tests.support.hatchway import PROVISIONING_KEY, LiveServer
from tests.support.idp import OidcProvider, RegisteredClient
from tests.support.ports import free_port


@pytest.fixture
def client(live_server: LiveServer) -> Iterator[HatchwayClient]:
    with HatchwayClient(live_server.url, PROVISIONING_KEY) as hatchway:
        yield hatchway


def _create_user(client: HatchwayClient, environment: str, email: str) -> int:
    return client.create_user(environment, email_address=email, first_name="Bo", last_name="User")


# Environments


def test_list_environments_contains_created(client: HatchwayClient, contoso: str) -> None:
    environments = client.list_environments()

    assert [item.name for item in environments] == ["contoso"]
    assert environments[0].is_active is True


def test_list_environments_keeps_raw_json(client: HatchwayClient, contoso: str) -> None:
    environments = client.list_environments()

    assert environments[0].raw["EnvironmentName"] == "contoso"


def test_create_environment_returns_sanitized_name(client: HatchwayClient) -> None:
    name = client.create_environment(
        "Fabrikam Ltd",
        email_address="admin@fabrikam.test",
        first_name="Fay",
        last_name="Admin",
        password="correct-horse-battery",
    )

    assert name == "fabrikamltd"
    assert client.get_environment("fabrikamltd").is_active is True


def test_create_environment_mailing_password(client: HatchwayClient) -> None:
    name = client.create_environment_mailing_password(
        "northwind", email_address="admin@northwind.test", first_name="No", last_name="Admin"
    )

    assert name == "northwind"
    users = client.list_users("northwind")
    assert [user.email_address for user in users] == ["admin@northwind.test"]
    assert users[0].has_password is True


def test_create_empty_environment_has_no_users(client: HatchwayClient) -> None:
    name = client.create_empty_environment("tailspin")

    assert name == "tailspin"
    assert client.list_users("tailspin") == []


def test_create_environment_refusal_carries_results(client: HatchwayClient) -> None:
    with pytest.raises(HatchwayApiError) as failure:
        client.create_environment(
            "woodgrove",
            email_address="admin@woodgrove.test",
            first_name="Wo",
            last_name="Admin",
            password="short",
        )

    assert failure.value.status == 400
    assert [result.member_names for result in failure.value.results] == [("Password",)]
    assert "at least 8" in failure.value.results[0].error_message


def test_validate_environment_lists_problems(client: HatchwayClient) -> None:
    problems = client.validate_environment(
        "woodgrove", email_address="not-an-address", first_name="Wo", last_name="Admin"
    )

    members = {name for problem in problems for name in problem.member_names}
    assert members == {"EmailAddress", "Password"}


def test_validate_environment_empty_when_valid(client: HatchwayClient) -> None:
    problems = client.validate_environment(
        "woodgrove",
        email_address="admin@woodgrove.test",
        first_name="Wo",
        last_name="Admin",
        mailing_password=True,
    )

    assert problems == []


def test_deactivate_and_activate_environment(client: HatchwayClient, contoso: str) -> None:
    deactivated = client.deactivate_environment(contoso)
    activated = client.activate_environment(contoso)

    assert deactivated.is_active is False
    assert activated.is_active is True


def test_delete_environment_then_not_found(client: HatchwayClient, contoso: str) -> None:
    deleted = client.delete_environment(contoso)

    assert deleted.name == "contoso"
    with pytest.raises(HatchwayApiError) as failure:
        client.get_environment(contoso)
    assert failure.value.status == 404
    assert failure.value.error == "EnvironmentNotFound"
    assert failure.value.message == "Environment 'contoso' was not found."


def test_empty_environment_name_is_value_error(client: HatchwayClient) -> None:
    with pytest.raises(ValueError, match="environment name is empty"):
        client.list_users("  ")


# Users


def test_create_user_returns_id(client: HatchwayClient, contoso: str) -> None:
    user_id = _create_user(client, contoso, "bo@contoso.test")

    user = client.get_user(contoso, user_id)
    assert user.email_address == "bo@contoso.test"
    assert user.has_password is False


def test_list_users_includes_administrator(client: HatchwayClient, contoso: str) -> None:
    users = client.list_users(contoso)

    assert [(user.email_address, user.is_administrator) for user in users] == [
        (ADMINISTRATOR["EmailAddress"], True)
    ]


def test_validate_user_reports_duplicate(client: HatchwayClient, contoso: str) -> None:
    problems = client.validate_user(
        contoso, email_address=ADMINISTRATOR["EmailAddress"], first_name="A", last_name="B"
    )

    assert [problem.member_names for problem in problems] == [("EmailAddress",)]


def test_update_user_by_id(client: HatchwayClient, contoso: str) -> None:
    user_id = _create_user(client, contoso, "bo@contoso.test")

    updated = client.update_user(contoso, user_id, first_name="Bob", is_administrator=True)

    assert updated.first_name == "Bob"
    assert updated.is_administrator is True
    assert updated.last_name == "User"


def test_update_user_by_email(client: HatchwayClient, contoso: str) -> None:
    _create_user(client, contoso, "bo@contoso.test")

    updated = client.update_user(contoso, "bo@contoso.test", is_active=False)

    assert updated.is_active is False


def test_update_user_by_email_cannot_change_email(client: HatchwayClient, contoso: str) -> None:
    with pytest.raises(ValueError, match="name the user by id"):
        client.update_user(contoso, "bo@contoso.test", email_address="new@contoso.test")


def test_delete_user_by_email(client: HatchwayClient, contoso: str) -> None:
    user_id = _create_user(client, contoso, "bo@contoso.test")

    deleted = client.delete_user(contoso, "bo@contoso.test")

    assert deleted.id == user_id
    assert [user.id for user in client.list_users(contoso)] != [user_id]


def test_delete_user_by_id_unknown(client: HatchwayClient, contoso: str) -> None:
    with pytest.raises(HatchwayApiError) as failure:
        client.delete_user(contoso, 999)

    assert failure.value.status == 404
    assert failure.value.error == "UserNotFound"


# Single sign-on settings


def test_sso_settings_start_in_mode_none(client: HatchwayClient, contoso: str) -> None:
    settings = client.get_sso_settings(contoso)

    assert settings.mode == "None"
    assert settings.key_set is False
    assert settings.etag == '"0"'


def test_set_oauth2_saves_settings(
    client: HatchwayClient,
    contoso: str,
    oidc_provider: OidcProvider,
    idp_client: RegisteredClient,
) -> None:
    change = client.set_oauth2(
        contoso,
        authority=oidc_provider.issuer,
        client_id=idp_client.client_id,
        key=idp_client.client_secret,
    )

    assert change.changed is True
    assert change.settings.mode == "OAuth2"
    assert change.settings.authority == oidc_provider.issuer
    assert change.settings.key_set is True
    assert change.settings.etag == f'"{change.settings.version}"'
    assert idp_client.client_secret not in repr(change)


def test_set_oauth2_refusal_names_field(client: HatchwayClient, contoso: str) -> None:
    with pytest.raises(HatchwayApiError) as failure:
        client.set_oauth2(contoso, authority="not a url", client_id="abc", key="canary-key-1")

    assert failure.value.status == 400
    assert ("Authority",) in [result.member_names for result in failure.value.results]


def test_set_oauth2_stale_if_match_is_412(
    client: HatchwayClient,
    contoso: str,
    oidc_provider: OidcProvider,
    idp_client: RegisteredClient,
) -> None:
    values = {
        "authority": oidc_provider.issuer,
        "client_id": idp_client.client_id,
        "key": idp_client.client_secret,
    }
    client.set_oauth2(contoso, **values)

    with pytest.raises(HatchwayApiError) as failure:
        client.set_oauth2(contoso, **values, key_expires_on=None, if_match="0")

    assert failure.value.status == 412
    assert failure.value.error == "PreconditionFailed"


def test_disable_oauth2_returns_mode_none(
    client: HatchwayClient,
    contoso: str,
    oidc_provider: OidcProvider,
    idp_client: RegisteredClient,
) -> None:
    client.set_oauth2(
        contoso,
        authority=oidc_provider.issuer,
        client_id=idp_client.client_id,
        key=idp_client.client_secret,
    )

    settings = client.disable_oauth2(contoso)

    assert settings.mode == "None"
    assert settings.key_set is False


# Errors


def test_wrong_provisioning_key_is_403(live_server: LiveServer, contoso: str) -> None:
    wrong_key = "00000000-0000-4000-8000-00000000CAFE"
    with HatchwayClient(live_server.url, wrong_key) as client:
        with pytest.raises(HatchwayApiError) as failure:
            client.list_environments()

    assert failure.value.status == 403
    assert failure.value.error == "ProvisioningKeyInvalid"
    assert wrong_key not in str(failure.value)
    assert wrong_key not in repr(failure.value)


def test_closed_port_is_unreachable() -> None:
    with HatchwayClient(f"http://127.0.0.1:{free_port()}", PROVISIONING_KEY) as client:
        with pytest.raises(HatchwayUnreachable) as failure:
            client.list_environments()

    assert failure.value.timed_out is False
    assert "could not be reached" in str(failure.value)
    assert PROVISIONING_KEY not in str(failure.value)
    assert failure.value.__cause__ is None


def test_client_repr_hides_provisioning_key(live_server: LiveServer) -> None:
    with HatchwayClient(live_server.url, PROVISIONING_KEY) as client:
        assert PROVISIONING_KEY not in repr(client)
        assert PROVISIONING_KEY not in repr(vars(client))
        assert PROVISIONING_KEY not in repr(vars(client._connection))
        assert PROVISIONING_KEY not in repr(vars(client._connection._http))


def test_validation_result_str_names_fields() -> None:
    result = ValidationResult(("Id", "EmailAddress"), "Say which user.")

    assert str(result) == "Id, EmailAddress: Say which user."
