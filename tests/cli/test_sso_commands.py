"""`hatchway sso ...` against a live Hatchway, and against a stand-in for calls it lacks yet.

Tests marked `stub_endpoint` run the command against `ProvisioningStub`, which returns bodies
in the contract's shapes. The tests marked with `needs_*` run the same commands against
Hatchway once /Provisioning/openapi.json lists the endpoint.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.support import contract_samples as samples
from tests.support.cli import HatchwayCli, ProvisioningStub, provisioning_operation_exists
from tests.support.hatchway import PROVISIONING_KEY, LiveServer
from tests.support.idp import OidcProvider, RegisteredClient
from tests.support.ports import free_port

SETTINGS_PATH = "/Provisioning/contoso/SingleSignOnSettings"
OAUTH2_PATH = f"{SETTINGS_PATH}/OAuth2"

needs_verify = pytest.mark.skipif(
    not provisioning_operation_exists(
        "POST", "/{EnvironmentName}/SingleSignOnSettings/OAuth2/Verify"
    ),
    reason="Hatchway does not serve POST .../SingleSignOnSettings/OAuth2/Verify yet",
)
needs_history_and_restore = pytest.mark.skipif(
    not provisioning_operation_exists("GET", "/{EnvironmentName}/SingleSignOnSettings/History")
    or not provisioning_operation_exists(
        "POST", "/{EnvironmentName}/SingleSignOnSettings/History/{Version}/Restore"
    ),
    reason="Hatchway does not serve .../SingleSignOnSettings/History and Restore yet",
)


def _key_file(tmp_path: Path, key: str) -> str:
    path = tmp_path / "client-secret.txt"
    path.write_text(key + "\n")
    return str(path)


def _set_options(provider: OidcProvider, registered: RegisteredClient) -> tuple[str, ...]:
    return ("--authority", provider.issuer, "--client-id", registered.client_id)


def _settings(live: LiveServer) -> dict[str, object]:
    with live.api() as api:
        settings: dict[str, object] = api.get("/contoso/SingleSignOnSettings").json()
    return settings


# show


def test_sso_show_table(cli: HatchwayCli, contoso: str) -> None:
    result = cli.run("sso", "show", "contoso")

    assert result.exit_code == 0, result.output
    assert "Mode" in result.stdout
    assert "not set" in result.stdout
    assert "/contoso/OAuth2/HandleAuthorityResponse" in result.stdout


def test_sso_show_json(cli: HatchwayCli, contoso: str) -> None:
    settings = cli.run_json("sso", "show", "contoso")

    assert settings["Mode"] == "None"
    assert settings["KeySet"] is False


def test_sso_show_unknown_environment(cli: HatchwayCli) -> None:
    result = cli.run("sso", "show", "nowhere")

    assert result.exit_code == 1
    assert "Environment 'nowhere' was not found." in result.stderr


# set


def test_sso_set_key_file(
    cli: HatchwayCli,
    live_server: LiveServer,
    oidc_provider: OidcProvider,
    idp_client: RegisteredClient,
    tmp_path: Path,
) -> None:
    result = cli.run(
        "sso",
        "set",
        "contoso",
        *_set_options(oidc_provider, idp_client),
        "--key-file",
        _key_file(tmp_path, idp_client.client_secret),
    )

    assert result.exit_code == 0, result.output
    assert "Saved version 1." in result.stdout
    assert idp_client.client_secret not in result.output
    assert _settings(live_server)["Authority"] == oidc_provider.issuer
    assert _settings(live_server)["KeySet"] is True


def test_sso_set_key_stdin_json(
    cli: HatchwayCli, oidc_provider: OidcProvider, idp_client: RegisteredClient
) -> None:
    result = cli.run(
        "sso",
        "set",
        "contoso",
        *_set_options(oidc_provider, idp_client),
        "--key-stdin",
        "--json",
        input=f"{idp_client.client_secret}\n",
    )

    assert result.exit_code == 0, result.output
    change = json.loads(result.stdout)
    assert change["Mode"] == "OAuth2"
    assert change["ClientId"] == idp_client.client_id
    assert idp_client.client_secret not in result.output


def test_sso_set_key_prompt(
    monkeypatch: pytest.MonkeyPatch,
    cli: HatchwayCli,
    oidc_provider: OidcProvider,
    idp_client: RegisteredClient,
) -> None:
    # CliRunner's standard input is no terminal; the prompt is shown only in one.
    monkeypatch.setattr("hatchway.cli.secret_input.stdin_is_terminal", lambda: True)
    result = cli.run(
        "sso",
        "set",
        "contoso",
        *_set_options(oidc_provider, idp_client),
        input=f"{idp_client.client_secret}\n",
    )

    assert result.exit_code == 0, result.output
    assert "Key:" in result.stderr
    assert idp_client.client_secret not in result.output


def test_sso_set_keep_key(
    cli: HatchwayCli,
    live_server: LiveServer,
    oidc_provider: OidcProvider,
    idp_client: RegisteredClient,
) -> None:
    options = _set_options(oidc_provider, idp_client)
    cli.run("sso", "set", "contoso", *options, "--key-stdin", input=idp_client.client_secret)

    result = cli.run("sso", "set", "contoso", "--keep-key", "--key-expires-on", "2030-01-31")

    assert result.exit_code == 0, result.output
    assert _settings(live_server)["KeyExpiresOn"] == "2030-01-31"
    assert _settings(live_server)["KeySet"] is True


def test_sso_set_without_key_input_is_usage_error(offline_cli: HatchwayCli) -> None:
    result = offline_cli.run(
        "sso", "set", "contoso", "--authority", "https://idp.example", input=""
    )

    assert result.exit_code == 2
    assert "No Key given, and standard input is not a terminal" in result.stderr


def test_sso_set_key_file_and_stdin_is_usage_error(
    offline_cli: HatchwayCli, tmp_path: Path
) -> None:
    result = offline_cli.run(
        "sso", "set", "contoso", "--key-file", _key_file(tmp_path, "x"), "--key-stdin"
    )

    assert result.exit_code == 2
    assert "Pass either --key-file or --key-stdin, not both." in result.stderr


def test_sso_set_missing_key_file_is_usage_error(offline_cli: HatchwayCli, tmp_path: Path) -> None:
    result = offline_cli.run("sso", "set", "contoso", "--key-file", str(tmp_path / "missing.txt"))

    assert result.exit_code == 2
    assert "missing.txt" in result.stderr


def test_sso_set_empty_key_file_is_usage_error(offline_cli: HatchwayCli, tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")

    result = offline_cli.run("sso", "set", "contoso", "--key-file", str(empty))

    assert result.exit_code == 2
    assert "is empty; put the Key in it." in result.stderr


def test_sso_set_keep_key_with_key_stdin_is_usage_error(offline_cli: HatchwayCli) -> None:
    result = offline_cli.run("sso", "set", "contoso", "--keep-key", "--key-stdin", input="x\n")

    assert result.exit_code == 2
    assert "--keep-key keeps the stored Key" in result.stderr


def test_sso_set_dry_run_with_no_verify_is_usage_error(offline_cli: HatchwayCli) -> None:
    result = offline_cli.run("sso", "set", "contoso", "--dry-run", "--no-verify", "--keep-key")

    assert result.exit_code == 2
    assert "--dry-run saves nothing" in result.stderr


def test_sso_set_bad_expiry_date_is_usage_error(offline_cli: HatchwayCli) -> None:
    result = offline_cli.run(
        "sso", "set", "contoso", "--keep-key", "--key-expires-on", "31.01.2030"
    )

    assert result.exit_code == 2
    assert "--key-expires-on" in result.stderr


def test_sso_set_refusal_does_not_echo_key(
    cli: HatchwayCli, live_server: LiveServer, oidc_provider: OidcProvider, contoso: str
) -> None:
    key = "canary-s\u00e9cret-7f3a"

    result = cli.run(
        "sso",
        "set",
        "contoso",
        "--authority",
        oidc_provider.issuer,
        "--client-id",
        "app-1",
        "--key-stdin",
        input=f"{key}\n",
    )

    assert result.exit_code == 1
    assert "Key: Key contains at position 9 of 18 the character U+00E9" in result.stderr
    assert key not in result.output
    assert _settings(live_server)["Mode"] == "None"


def test_sso_set_refusal_hints_option(cli: HatchwayCli, contoso: str) -> None:
    result = cli.run(
        "sso", "set", "contoso", "--client-id", "app-1", "--key-stdin", input="x-value\n"
    )

    assert result.exit_code == 1
    assert "Authority is missing; send the identity provider's URL" in result.stderr
    assert "In hatchway: use --authority URL." in result.stderr


def test_sso_set_no_verify_saves(
    cli: HatchwayCli,
    live_server: LiveServer,
    oidc_provider: OidcProvider,
    idp_client: RegisteredClient,
) -> None:
    result = cli.run(
        "sso",
        "set",
        "contoso",
        *_set_options(oidc_provider, idp_client),
        "--no-verify",
        "--key-stdin",
        input="wrong-secret-value-canary\n",
    )

    assert result.exit_code == 0, result.output
    assert _settings(live_server)["Mode"] == "OAuth2"
    assert "wrong-secret-value-canary" not in result.output


def test_sso_set_stale_if_match_refused(
    cli: HatchwayCli, oidc_provider: OidcProvider, idp_client: RegisteredClient
) -> None:
    options = _set_options(oidc_provider, idp_client)
    cli.run("sso", "set", "contoso", *options, "--key-stdin", input=idp_client.client_secret)

    result = cli.run(
        "sso", "set", "contoso", "--client-id", "other-app", "--keep-key", "--if-match", "0"
    )

    assert result.exit_code == 1
    assert "Error (HTTP 412, PreconditionFailed): If-Match" in result.stderr


# disable


def test_sso_disable(
    cli: HatchwayCli,
    live_server: LiveServer,
    oidc_provider: OidcProvider,
    idp_client: RegisteredClient,
) -> None:
    options = _set_options(oidc_provider, idp_client)
    cli.run("sso", "set", "contoso", *options, "--key-stdin", input=idp_client.client_secret)

    result = cli.run("sso", "disable", "contoso", "--yes")

    assert result.exit_code == 0, result.output
    assert "Single sign-on is off: mode None." in result.stdout
    assert _settings(live_server)["Mode"] == "None"


def test_sso_disable_confirmed_at_prompt(
    monkeypatch: pytest.MonkeyPatch,
    cli: HatchwayCli,
    live_server: LiveServer,
    oidc_provider: OidcProvider,
    idp_client: RegisteredClient,
) -> None:
    options = _set_options(oidc_provider, idp_client)
    cli.run("sso", "set", "contoso", *options, "--key-stdin", input=idp_client.client_secret)

    monkeypatch.setattr("hatchway.cli.secret_input.stdin_is_terminal", lambda: True)
    result = cli.run("sso", "disable", "contoso", input="y\n")

    assert result.exit_code == 0, result.output
    assert "Switch environment 'contoso' to the local sign-in form" in result.stderr
    assert _settings(live_server)["Mode"] == "None"


def test_sso_disable_without_yes_keeps_settings(
    cli: HatchwayCli,
    live_server: LiveServer,
    oidc_provider: OidcProvider,
    idp_client: RegisteredClient,
) -> None:
    options = _set_options(oidc_provider, idp_client)
    cli.run("sso", "set", "contoso", *options, "--key-stdin", input=idp_client.client_secret)

    result = cli.run("sso", "disable", "contoso")

    assert result.exit_code == 2
    assert "Nothing was changed; pass --yes" in result.stderr
    assert "--yes is required when no terminal can answer it." in result.stderr
    assert _settings(live_server)["Mode"] == "OAuth2"


def test_sso_disable_unknown_environment(cli: HatchwayCli) -> None:
    result = cli.run("sso", "disable", "nowhere", "--yes")

    assert result.exit_code == 1
    assert "Environment 'nowhere' was not found." in result.stderr


# Against the stand-in: the contract's shapes for calls this branch lacks


@pytest.fixture
def stub_cli(stub: ProvisioningStub) -> HatchwayCli:
    return HatchwayCli(stub.url)


@pytest.mark.stub_endpoint
def test_sso_set_shows_each_check(stub: ProvisioningStub, stub_cli: HatchwayCli) -> None:
    body = {
        **samples.SETTINGS_VIEW,
        "Changed": True,
        "Notices": [],
        "Verification": samples.verification(passed=True),
    }
    stub.answer("PUT", OAUTH2_PATH, body)

    result = stub_cli.run("sso", "set", "contoso", "--key-stdin", input="new-secret-value\n")

    assert result.exit_code == 0, result.output
    for name in ("Authority", "KeyFormat", "Discovery", "Jwks", "ClientCredentials", "RedirectUri"):
        assert any(line.split()[:2] == [name, "pass"] for line in result.stdout.splitlines())
    assert f"Verification passed for {samples.AUTHORITY}" in result.stdout
    assert stub.requests[0].body == {"Key": "new-secret-value"}


@pytest.mark.stub_endpoint
def test_sso_set_no_verify_shows_warnings(stub: ProvisioningStub, stub_cli: HatchwayCli) -> None:
    warnings = [{"MemberNames": ["Key"], "ErrorMessage": "The token endpoint refused the Key."}]
    body = {**samples.SETTINGS_VIEW, "Changed": True, "Notices": [], "Warnings": warnings}
    stub.answer("PUT", f"{OAUTH2_PATH}?verify=false", body)

    result = stub_cli.run(
        "sso", "set", "contoso", "--no-verify", "--key-stdin", input="new-secret-value\n"
    )

    assert result.exit_code == 0, result.output
    assert "Saved without verification; these checks failed:" in result.stdout
    assert "- Key: The token endpoint refused the Key." in result.stdout


@pytest.mark.stub_endpoint
def test_sso_set_dry_run_fails_check(stub: ProvisioningStub, stub_cli: HatchwayCli) -> None:
    stub.answer("POST", f"{OAUTH2_PATH}/Verify", samples.verification(passed=False))

    result = stub_cli.run("sso", "set", "contoso", "--dry-run", "--key-stdin", input="x-value\n")

    assert result.exit_code == 1
    assert any(
        line.split()[:2] == ["ClientCredentials", "FAIL"] for line in result.stdout.splitlines()
    )
    assert "Verification failed: ClientCredentials." in result.stderr
    assert [request.method for request in stub.requests] == ["POST"]


def _result_column(stdout: str) -> dict[str, str]:
    """Map each check's name to its Result cell, from the verification table."""
    names = ("Authority", "KeyFormat", "Discovery", "Jwks", "ClientCredentials", "RedirectUri")
    columns = {}
    for line in stdout.splitlines():
        words = line.split()
        if words and words[0] in names:
            result = " ".join(words[1:3]) if words[1:3] == ["not", "checked"] else words[1]
            columns[words[0]] = result
    return columns


@pytest.mark.stub_endpoint
def test_sso_verify_shows_skipped_as_not_checked(
    stub: ProvisioningStub, stub_cli: HatchwayCli
) -> None:
    stub.answer("POST", f"{OAUTH2_PATH}/Verify", samples.verification_discovery_failed())

    result = stub_cli.run("sso", "verify", "contoso")

    assert result.exit_code == 1
    assert _result_column(result.stdout) == {
        "Authority": "pass",
        "KeyFormat": "pass",
        "Discovery": "FAIL",
        "Jwks": "not checked",
        "ClientCredentials": "not checked",
        "RedirectUri": "pass",
    }
    assert "Verification failed: Discovery." in result.stderr


@pytest.mark.stub_endpoint
def test_sso_verify_shows_guid_key_warning(stub: ProvisioningStub, stub_cli: HatchwayCli) -> None:
    stub.answer("POST", f"{OAUTH2_PATH}/Verify", samples.verification_guid_key())

    result = stub_cli.run("sso", "verify", "contoso")

    assert result.exit_code == 0, result.output
    assert _result_column(result.stdout)["KeyFormat"] == "warning"
    assert _result_column(result.stdout)["Authority"] == "pass"


@pytest.mark.stub_endpoint
def test_sso_verify_stored_settings(stub: ProvisioningStub, stub_cli: HatchwayCli) -> None:
    stub.answer("POST", f"{OAUTH2_PATH}/Verify", samples.verification(passed=True))

    result = stub_cli.run("sso", "verify", "contoso")

    assert result.exit_code == 0, result.output
    assert f"(tenant {samples.TENANT_ID})" in result.stdout
    assert stub.requests[0].body == {}


@pytest.mark.stub_endpoint
def test_sso_verify_failure_json(stub: ProvisioningStub, stub_cli: HatchwayCli) -> None:
    stub.answer("POST", f"{OAUTH2_PATH}/Verify", samples.verification(passed=False))

    result = stub_cli.run("sso", "verify", "contoso", "--json")

    assert result.exit_code == 1
    assert json.loads(result.stdout)["Passed"] is False
    assert result.stderr == ""


@pytest.mark.stub_endpoint
def test_sso_history_table(stub: ProvisioningStub, stub_cli: HatchwayCli) -> None:
    stub.answer("GET", f"{SETTINGS_PATH}/History", samples.HISTORY)

    result = stub_cli.run("sso", "history", "contoso")

    assert result.exit_code == 0, result.output
    assert "current, not verified" in result.stdout
    assert "last known good" in result.stdout
    assert "sha256:ab12cd34" in result.stdout


@pytest.mark.stub_endpoint
def test_sso_history_json(stub: ProvisioningStub, stub_cli: HatchwayCli) -> None:
    stub.answer("GET", f"{SETTINGS_PATH}/History", samples.HISTORY)

    versions = stub_cli.run_json("sso", "history", "contoso")

    assert versions == samples.HISTORY


@pytest.mark.stub_endpoint
def test_sso_restore(stub: ProvisioningStub, stub_cli: HatchwayCli) -> None:
    stub.answer("POST", f"{SETTINGS_PATH}/History/1/Restore", samples.SETTINGS_VIEW)

    result = stub_cli.run("sso", "restore", "contoso", "1", "--if-match", "2", "--yes")

    assert result.exit_code == 0, result.output
    assert "Restored version 1; the settings are now at version 3." in result.stdout
    assert stub.requests[0].headers["If-Match"] == '"2"'
    assert stub.requests[0].headers["ProvisioningKey"] == PROVISIONING_KEY


@pytest.mark.stub_endpoint
def test_sso_restore_shows_checks(stub: ProvisioningStub, stub_cli: HatchwayCli) -> None:
    warnings = [{"MemberNames": ["Key"], "ErrorMessage": "The token endpoint refused the Key."}]
    body = {
        **samples.SETTINGS_VIEW,
        "Changed": True,
        "Verification": samples.verification(passed=False),
        "Warnings": warnings,
    }
    stub.answer("POST", f"{SETTINGS_PATH}/History/1/Restore", body)

    result = stub_cli.run("sso", "restore", "contoso", "1", "--yes")

    assert result.exit_code == 0, result.output
    assert "Verification failed for" in result.stdout
    assert re.search(r"ClientCredentials\s+.\s*FAIL", result.stdout), result.stdout
    assert "Restored although these checks failed" in result.stdout
    assert "- Key: The token endpoint refused the Key." in result.stdout
    assert "Restored version 1; the settings are now at version 3." in result.stdout


@pytest.mark.stub_endpoint
def test_sso_restore_rejected(stub: ProvisioningStub, stub_cli: HatchwayCli) -> None:
    rejection = (
        "No active administrator of 'contoso' has a password, and the values of version 1 fail "
        "verification now (ClientCredentials), so restoring version 1 could lock everyone out; "
        "nothing was changed."
    )
    problems = [
        {"MemberNames": ["Mode"], "ErrorMessage": rejection},
        {"MemberNames": ["ClientId"], "ErrorMessage": "The token endpoint refused the Client ID."},
    ]
    stub.answer("POST", f"{SETTINGS_PATH}/History/1/Restore", problems, status=400)

    result = stub_cli.run("sso", "restore", "contoso", "1", "--yes")

    assert result.exit_code == 1
    assert rejection in " ".join(result.stderr.split())
    assert "ClientId: The token endpoint refused the Client ID." in result.stderr


@pytest.mark.stub_endpoint
def test_sso_restore_confirmed_at_prompt(
    monkeypatch: pytest.MonkeyPatch, stub: ProvisioningStub, stub_cli: HatchwayCli
) -> None:
    stub.answer("POST", f"{SETTINGS_PATH}/History/1/Restore", samples.SETTINGS_VIEW)
    monkeypatch.setattr("hatchway.cli.secret_input.stdin_is_terminal", lambda: True)

    result = stub_cli.run("sso", "restore", "contoso", "1", input="y\n")

    assert result.exit_code == 0, result.output
    assert "Make version 1 of the single sign-on settings of 'contoso' current" in result.stderr
    assert [request.method for request in stub.requests] == ["POST"]


@pytest.mark.stub_endpoint
def test_sso_restore_without_yes_sends_nothing(
    stub: ProvisioningStub, stub_cli: HatchwayCli
) -> None:
    stub.answer("POST", f"{SETTINGS_PATH}/History/1/Restore", samples.SETTINGS_VIEW)

    result = stub_cli.run("sso", "restore", "contoso", "1", "--json")

    assert result.exit_code == 2
    assert "Nothing was changed; pass --yes" in result.stderr
    assert "--yes is required when no terminal can answer it." in result.stderr
    assert "Make version 1" not in result.stderr
    assert result.stdout == ""
    assert stub.requests == []


@pytest.mark.stub_endpoint
def test_sso_restore_declined_at_prompt(
    monkeypatch: pytest.MonkeyPatch, stub: ProvisioningStub, stub_cli: HatchwayCli
) -> None:
    stub.answer("POST", f"{SETTINGS_PATH}/History/1/Restore", samples.SETTINGS_VIEW)
    monkeypatch.setattr("hatchway.cli.secret_input.stdin_is_terminal", lambda: True)

    result = stub_cli.run("sso", "restore", "contoso", "1", input="n\n")

    assert result.exit_code == 1
    assert result.stderr.endswith("[y/N]: Nothing was changed.\n")
    assert "Usage" not in result.stderr
    assert "--yes" not in result.stderr
    assert result.stdout == ""
    assert stub.requests == []


@pytest.mark.stub_endpoint
def test_sso_restore_unknown_version(stub: ProvisioningStub, stub_cli: HatchwayCli) -> None:
    problem = {"Error": "VersionNotFound", "Message": "Version '9' was not found."}
    stub.answer("POST", f"{SETTINGS_PATH}/History/9/Restore", problem, status=404)

    result = stub_cli.run("sso", "restore", "contoso", "9", "--yes")

    assert result.exit_code == 1
    assert "Error (HTTP 404, VersionNotFound): Version '9' was not found." in result.stderr


@pytest.mark.stub_endpoint
def test_sso_restore_missing_version_hint(stub: ProvisioningStub, stub_cli: HatchwayCli) -> None:
    message = (
        "Version 9 of the single sign-on settings does not exist; GET "
        "/Provisioning/contoso/SingleSignOnSettings/History lists the versions (1 to 2)."
    )
    problem = {"Error": "SingleSignOnSettingsVersionNotFound", "Message": message}
    stub.answer("POST", f"{SETTINGS_PATH}/History/9/Restore", problem, status=404)

    result = stub_cli.run("sso", "restore", "contoso", "9", "--yes")

    assert result.exit_code == 1
    assert message in " ".join(result.stderr.split())
    assert "'hatchway sso history ENVIRONMENT' lists the versions." in result.stderr


# The same commands against Hatchway, once it serves the calls


@needs_verify
def test_sso_verify_live_passes(
    cli: HatchwayCli, oidc_provider: OidcProvider, idp_client: RegisteredClient
) -> None:
    options = _set_options(oidc_provider, idp_client)
    cli.run("sso", "set", "contoso", *options, "--key-stdin", input=idp_client.client_secret)

    result = cli.run("sso", "verify", "contoso")

    assert result.exit_code == 0, result.output
    assert "Verification passed" in result.stdout


@needs_verify
def test_sso_set_dry_run_live_wrong_key(
    cli: HatchwayCli,
    live_server: LiveServer,
    oidc_provider: OidcProvider,
    idp_client: RegisteredClient,
) -> None:
    result = cli.run(
        "sso",
        "set",
        "contoso",
        *_set_options(oidc_provider, idp_client),
        "--dry-run",
        "--key-stdin",
        input="wrong-secret-value-canary\n",
    )

    assert result.exit_code == 1
    assert "FAIL" in result.stdout
    assert _settings(live_server)["Mode"] == "None"
    assert "wrong-secret-value-canary" not in result.output


@needs_verify
def test_sso_set_live_shows_checks(
    cli: HatchwayCli, oidc_provider: OidcProvider, idp_client: RegisteredClient
) -> None:
    result = cli.run(
        "sso",
        "set",
        "contoso",
        *_set_options(oidc_provider, idp_client),
        "--key-stdin",
        input=f"{idp_client.client_secret}\n",
    )

    assert result.exit_code == 0, result.output
    assert "Verification passed" in result.stdout


@needs_verify
def test_sso_verify_nothing_stored_hints_options(cli: HatchwayCli, contoso: str) -> None:
    result = cli.run("sso", "verify", "contoso")

    assert result.exit_code == 1
    assert "send Authority, ClientId and Key in the body." in result.stderr
    assert (
        "In hatchway: use --authority URL, --client-id ID and --key-file PATH, --key-stdin or "
        "--key-prompt."
    ) in result.stderr


@needs_verify
def test_sso_verify_live_outcomes(
    cli: HatchwayCli, oidc_provider: OidcProvider, idp_client: RegisteredClient
) -> None:
    closed_port_url = f"http://127.0.0.1:{free_port()}"

    result = cli.run(
        "sso",
        "verify",
        "contoso",
        "--authority",
        closed_port_url,
        "--client-id",
        idp_client.client_id,
        "--key-stdin",
        input="5c1b7e2a-0d4f-4e6a-9b3c-8a7d6e5f4a3b\n",
    )

    assert result.exit_code == 1
    outcomes = _result_column(result.stdout)
    assert outcomes["KeyFormat"] == "warning"
    assert outcomes["Discovery"] == "FAIL"
    assert outcomes["Jwks"] == "not checked"
    assert outcomes["ClientCredentials"] == "not checked"
    assert "Verification failed: Discovery." in result.stderr


@needs_history_and_restore
def test_sso_history_and_restore_live(
    cli: HatchwayCli,
    live_server: LiveServer,
    oidc_provider: OidcProvider,
    idp_client: RegisteredClient,
) -> None:
    options = _set_options(oidc_provider, idp_client)
    cli.run("sso", "set", "contoso", *options, "--key-stdin", input=idp_client.client_secret)
    cli.run("sso", "disable", "contoso", "--yes")
    versions = cli.run_json("sso", "history", "contoso")
    oauth2_version = next(item["Version"] for item in versions if item["Mode"] == "OAuth2")

    result = cli.run("sso", "restore", "contoso", str(oauth2_version), "--yes")

    assert result.exit_code == 0, result.output
    assert _settings(live_server)["Mode"] == "OAuth2"
