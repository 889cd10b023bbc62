"""`hatchway env ...` against a live Hatchway."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import HatchwayCli
from tests.support.hatchway import LiveServer

PASSWORD = "correct-horse-battery"
ADMIN_OPTIONS = ("--email", "admin@fabrikam.test", "--first-name", "Fay", "--last-name", "Admin")


def _environment_names(live: LiveServer) -> list[str]:
    with live.api() as api:
        return [item["EnvironmentName"] for item in api.get("/Environment").json()]


def _password_file(tmp_path: Path, password: str = PASSWORD) -> str:
    path = tmp_path / "password.txt"
    path.write_text(password + "\n")
    return str(path)


def test_env_list_shows_table(cli: HatchwayCli, contoso: str) -> None:
    result = cli.run("env", "list")

    assert result.exit_code == 0, result.output
    assert "Environment" in result.stdout
    assert "contoso" in result.stdout


def test_env_list_json(cli: HatchwayCli, contoso: str) -> None:
    environments = cli.run_json("env", "list")

    assert [item["EnvironmentName"] for item in environments] == ["contoso"]
    assert environments[0]["IsActive"] is True


def test_env_list_wrong_provisioning_key(live_server: LiveServer, contoso: str) -> None:
    cli = HatchwayCli(live_server.url, "00000000-0000-4000-8000-00000000CAFE")

    result = cli.run("env", "list")

    assert result.exit_code == 1
    assert "ProvisioningKeyInvalid" in result.stderr
    assert "does not match this instance's Provisioning Key" in result.stderr
    assert result.stdout == ""


def test_env_show_json(cli: HatchwayCli, contoso: str) -> None:
    environment = cli.run_json("env", "show", "contoso")

    assert environment["EnvironmentName"] == "contoso"


def test_env_show_unknown(cli: HatchwayCli) -> None:
    result = cli.run("env", "show", "nowhere")

    assert result.exit_code == 1
    assert "Environment 'nowhere' was not found." in result.stderr
    assert "Traceback" not in result.output


def test_env_create_password_file(
    cli: HatchwayCli, live_server: LiveServer, tmp_path: Path
) -> None:
    result = cli.run(
        "env", "create", "Fabrikam Ltd", *ADMIN_OPTIONS, "--password-file", _password_file(tmp_path)
    )

    assert result.exit_code == 0, result.output
    assert "Created environment 'fabrikamltd'." in result.stdout
    assert _environment_names(live_server) == ["fabrikamltd"]


def test_env_create_password_stdin_json(cli: HatchwayCli) -> None:
    result = cli.run(
        "env",
        "create",
        "fabrikam",
        *ADMIN_OPTIONS,
        "--password-stdin",
        "--json",
        input=f"{PASSWORD}\n",
    )

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == "fabrikam"
    assert PASSWORD not in result.output


def test_env_create_password_prompt(
    monkeypatch: pytest.MonkeyPatch, cli: HatchwayCli, live_server: LiveServer
) -> None:
    # CliRunner's standard input is no terminal; the prompt is shown only in one.
    monkeypatch.setattr("hatchway.cli.secret_input.stdin_is_terminal", lambda: True)
    result = cli.run("env", "create", "fabrikam", *ADMIN_OPTIONS, input=f"{PASSWORD}\n{PASSWORD}\n")

    assert result.exit_code == 0, result.output
    assert "Password:" in result.stderr
    assert PASSWORD not in result.output
    assert _environment_names(live_server) == ["fabrikam"]


def test_env_create_short_password_refused(cli: HatchwayCli, live_server: LiveServer) -> None:
    result = cli.run(
        "env", "create", "fabrikam", *ADMIN_OPTIONS, "--password-stdin", input="short\n"
    )

    assert result.exit_code == 1
    assert "Password: Password has 5 characters; use at least 8." in result.stderr
    assert _environment_names(live_server) == []


def test_env_create_refusal_json(cli: HatchwayCli) -> None:
    result = cli.run(
        "env", "create", "fabrikam", *ADMIN_OPTIONS, "--password-stdin", "--json", input="short\n"
    )

    assert result.exit_code == 1
    error = json.loads(result.stdout)
    assert error["Status"] == 400
    assert error["ValidationResults"][0]["MemberNames"] == ["Password"]


def test_env_create_mail_password(cli: HatchwayCli, live_server: LiveServer) -> None:
    result = cli.run("env", "create", "fabrikam", *ADMIN_OPTIONS, "--mail-password")

    assert result.exit_code == 0, result.output
    assert "Password" not in result.stderr
    assert _environment_names(live_server) == ["fabrikam"]


def test_env_create_empty(cli: HatchwayCli, live_server: LiveServer) -> None:
    result = cli.run("env", "create", "tailspin")

    assert result.exit_code == 0, result.output
    with live_server.api() as api:
        assert api.get("/tailspin/User").json() == []


def test_env_create_names_without_email_is_usage_error(offline_cli: HatchwayCli) -> None:
    result = offline_cli.run("env", "create", "fabrikam", "--first-name", "Fay")

    assert result.exit_code == 2
    assert "Administrator options need --email" in result.stderr


def test_env_create_mail_password_with_file_is_usage_error(
    offline_cli: HatchwayCli, tmp_path: Path
) -> None:
    result = offline_cli.run(
        "env",
        "create",
        "fabrikam",
        *ADMIN_OPTIONS,
        "--mail-password",
        "--password-file",
        _password_file(tmp_path),
    )

    assert result.exit_code == 2
    assert "--mail-password has Hatchway choose the password" in result.stderr


def test_env_validate_valid(cli: HatchwayCli) -> None:
    result = cli.run(
        "env", "validate", "fabrikam", *ADMIN_OPTIONS, "--password-stdin", input=f"{PASSWORD}\n"
    )

    assert result.exit_code == 0, result.output
    assert "Hatchway would create environment 'fabrikam'." in result.stdout


def test_env_validate_lists_problems(cli: HatchwayCli, contoso: str) -> None:
    result = cli.run("env", "validate", "contoso", *ADMIN_OPTIONS, "--mail-password", "--json")

    assert result.exit_code == 1
    problems = json.loads(result.stdout)
    assert [problem["MemberNames"] for problem in problems] == [["EnvironmentName"]]
    assert result.stderr == ""


def test_env_validate_hints_password_options(cli: HatchwayCli) -> None:
    result = cli.run("env", "validate", "fabrikam", *ADMIN_OPTIONS)

    assert result.exit_code == 1
    assert "create the environment with '?version=2.0'" in result.stderr
    assert (
        "In hatchway: use --password-file PATH, --password-stdin or --password-prompt, or "
        "--mail-password to have Hatchway e-mail a temporary password."
    ) in result.stderr


def test_env_validate_hints_email_option(cli: HatchwayCli) -> None:
    result = cli.run("env", "validate", "fabrikam", "--first-name", "Fay", "--mail-password")

    assert result.exit_code == 1
    assert "EmailAddress is missing; send the e-mail address." in result.stderr
    assert "In hatchway: use --email ADDRESS." in result.stderr


def test_env_create_refusal_hints_option(cli: HatchwayCli) -> None:
    result = cli.run("env", "create", "fabrikam", "--email", "not-an-address", "--mail-password")

    assert result.exit_code == 1
    assert "EmailAddress 'not-an-address' is not an e-mail address" in result.stderr
    assert "In hatchway: use --email ADDRESS." in result.stderr


def test_env_deactivate_and_activate(cli: HatchwayCli, contoso: str) -> None:
    deactivated = cli.run_json("env", "deactivate", "contoso")
    activated = cli.run("env", "activate", "contoso")

    assert deactivated["IsActive"] is False
    assert activated.exit_code == 0
    assert "Environment 'contoso' is active." in activated.stdout


def test_env_activate_unknown(cli: HatchwayCli) -> None:
    result = cli.run("env", "activate", "nowhere")

    assert result.exit_code == 1
    assert "Environment 'nowhere' was not found." in result.stderr


def test_env_deactivate_unknown(cli: HatchwayCli) -> None:
    result = cli.run("env", "deactivate", "nowhere")

    assert result.exit_code == 1
    assert "Environment 'nowhere' was not found." in result.stderr


def test_env_delete_with_yes(cli: HatchwayCli, live_server: LiveServer, contoso: str) -> None:
    result = cli.run("env", "delete", "contoso", "--yes")

    assert result.exit_code == 0, result.output
    assert "Deleted environment 'contoso'." in result.stdout
    assert _environment_names(live_server) == []


def test_env_delete_confirmed_at_prompt(
    monkeypatch: pytest.MonkeyPatch, cli: HatchwayCli, live_server: LiveServer, contoso: str
) -> None:
    monkeypatch.setattr("hatchway.cli.secret_input.stdin_is_terminal", lambda: True)
    result = cli.run("env", "delete", "contoso", input="y\n")

    assert result.exit_code == 0, result.output
    assert _environment_names(live_server) == []


def test_env_delete_without_yes_keeps_environment(
    cli: HatchwayCli, live_server: LiveServer, contoso: str
) -> None:
    result = cli.run("env", "delete", "contoso")

    assert result.exit_code == 2
    assert "Nothing was deleted; pass --yes" in result.stderr
    assert "--yes is required when no terminal can answer it." in result.stderr
    assert "[y/N]" not in result.stderr
    assert _environment_names(live_server) == ["contoso"]


def test_env_delete_unknown(cli: HatchwayCli) -> None:
    result = cli.run("env", "delete", "nowhere", "--yes")

    assert result.exit_code == 1
    assert "Environment 'nowhere' was not found." in result.stderr
