"""`hatchway user ...` against a live Hatchway."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import ADMINISTRATOR, HatchwayCli
from tests.support.hatchway import LiveServer

PASSWORD = "another-long-password"
NAMES = ("--first-name", "Bo", "--last-name", "User")


def _users(live: LiveServer) -> list[dict[str, object]]:
    with live.api() as api:
        users: list[dict[str, object]] = api.get("/contoso/User").json()
    return users


def _create_bo(cli: HatchwayCli) -> int:
    user_id: int = cli.run_json("user", "create", "contoso", "--email", "bo@contoso.test", *NAMES)
    return user_id


def test_user_list_shows_table(cli: HatchwayCli, contoso: str) -> None:
    result = cli.run("user", "list", "contoso")

    assert result.exit_code == 0, result.output
    assert ADMINISTRATOR["EmailAddress"] in result.stdout
    assert "Ada Admin" in result.stdout


def test_user_list_json(cli: HatchwayCli, contoso: str) -> None:
    users = cli.run_json("user", "list", "contoso")

    assert [user["EmailAddress"] for user in users] == [ADMINISTRATOR["EmailAddress"]]


def test_user_list_unknown_environment(cli: HatchwayCli) -> None:
    result = cli.run("user", "list", "nowhere")

    assert result.exit_code == 1
    assert "Environment 'nowhere' was not found." in result.stderr


def test_user_show_json(cli: HatchwayCli, contoso: str) -> None:
    user_id = _create_bo(cli)

    user = cli.run_json("user", "show", "contoso", str(user_id))

    assert user["EmailAddress"] == "bo@contoso.test"


def test_user_create_without_password(
    cli: HatchwayCli, live_server: LiveServer, contoso: str
) -> None:
    result = cli.run("user", "create", "contoso", "--email", "bo@contoso.test", *NAMES)

    assert result.exit_code == 0, result.output
    assert "(bo@contoso.test)" in result.stdout
    bo = next(user for user in _users(live_server) if user["EmailAddress"] == "bo@contoso.test")
    assert bo["HasPassword"] is False


def test_user_create_administrator_password_file(
    cli: HatchwayCli, live_server: LiveServer, contoso: str, tmp_path: Path
) -> None:
    password_file = tmp_path / "password.txt"
    password_file.write_text(PASSWORD + "\r\n")

    result = cli.run(
        "user",
        "create",
        "contoso",
        "--email",
        "bo@contoso.test",
        *NAMES,
        "--administrator",
        "--password-file",
        str(password_file),
    )

    assert result.exit_code == 0, result.output
    bo = next(user for user in _users(live_server) if user["EmailAddress"] == "bo@contoso.test")
    assert bo["HasPassword"] is True
    assert bo["IsAdministrator"] is True


def test_user_create_password_prompt(cli: HatchwayCli, contoso: str) -> None:
    result = cli.run(
        "user",
        "create",
        "contoso",
        "--email",
        "bo@contoso.test",
        *NAMES,
        "--password-prompt",
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )

    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output


def test_user_create_duplicate_refused(cli: HatchwayCli, contoso: str) -> None:
    result = cli.run("user", "create", "contoso", "--email", ADMINISTRATOR["EmailAddress"], *NAMES)

    assert result.exit_code == 1
    assert "EmailAddress:" in result.stderr


def test_user_create_missing_option_is_usage_error(offline_cli: HatchwayCli) -> None:
    result = offline_cli.run("user", "create", "contoso", *NAMES)

    assert result.exit_code == 2
    assert "--email" in result.stderr


def test_user_validate_valid(cli: HatchwayCli, contoso: str) -> None:
    result = cli.run("user", "validate", "contoso", "--email", "bo@contoso.test", *NAMES)

    assert result.exit_code == 0, result.output
    assert "Hatchway would create user 'bo@contoso.test'." in result.stdout


def test_user_validate_short_password(cli: HatchwayCli, contoso: str) -> None:
    result = cli.run(
        "user",
        "validate",
        "contoso",
        "--email",
        "bo@contoso.test",
        *NAMES,
        "--password-stdin",
        "--json",
        input="short\n",
    )

    assert result.exit_code == 1
    assert [item["MemberNames"] for item in json.loads(result.stdout)] == [["Password"]]


def test_user_validate_hints_password_options(cli: HatchwayCli, contoso: str) -> None:
    result = cli.run(
        "user",
        "validate",
        "contoso",
        "--email",
        "bo@contoso.test",
        *NAMES,
        "--password-stdin",
        input="short\n",
    )

    assert result.exit_code == 1
    assert "- Password: Password" in result.stderr
    assert (
        "In hatchway: use --password-file PATH, --password-stdin or --password-prompt."
        in result.stderr
    )


def test_user_update_by_id(cli: HatchwayCli, contoso: str) -> None:
    user_id = _create_bo(cli)

    updated = cli.run_json(
        "user", "update", "contoso", str(user_id), "--first-name", "Bob", "--administrator"
    )

    assert updated["FirstName"] == "Bob"
    assert updated["IsAdministrator"] is True


def test_user_update_by_email_inactive(cli: HatchwayCli, contoso: str) -> None:
    _create_bo(cli)

    updated = cli.run_json("user", "update", "contoso", "bo@contoso.test", "--inactive")

    assert updated["IsActive"] is False


def test_user_update_password_stdin(
    cli: HatchwayCli, live_server: LiveServer, contoso: str
) -> None:
    _create_bo(cli)

    result = cli.run(
        "user", "update", "contoso", "bo@contoso.test", "--password-stdin", input=f"{PASSWORD}\n"
    )

    assert result.exit_code == 0, result.output
    bo = next(user for user in _users(live_server) if user["EmailAddress"] == "bo@contoso.test")
    assert bo["HasPassword"] is True


def test_user_update_email_by_email_is_usage_error(offline_cli: HatchwayCli) -> None:
    result = offline_cli.run(
        "user", "update", "contoso", "bo@contoso.test", "--email", "b@contoso.test"
    )

    assert result.exit_code == 2
    assert "name the user by id to change the address" in result.stderr


def test_user_update_last_administrator_refused(cli: HatchwayCli, contoso: str) -> None:
    result = cli.run("user", "update", "contoso", ADMINISTRATOR["EmailAddress"], "--inactive")

    assert result.exit_code == 1
    assert "Hatchway refused the request (HTTP 400):" in result.stderr
    assert "IsActive: User 'admin@contoso.test' is the last active administrator" in (
        result.stderr
    )


def test_user_delete_by_email(cli: HatchwayCli, live_server: LiveServer, contoso: str) -> None:
    _create_bo(cli)

    result = cli.run("user", "delete", "contoso", "bo@contoso.test", "--yes")

    assert result.exit_code == 0, result.output
    assert "Deleted user" in result.stdout
    assert [user["EmailAddress"] for user in _users(live_server)] == [ADMINISTRATOR["EmailAddress"]]


def test_user_delete_unknown(cli: HatchwayCli, contoso: str) -> None:
    result = cli.run("user", "delete", "contoso", "999", "--yes")

    assert result.exit_code == 1
    assert "UserNotFound" in result.stderr


def test_user_delete_declined_keeps_user(
    monkeypatch: pytest.MonkeyPatch, cli: HatchwayCli, live_server: LiveServer, contoso: str
) -> None:
    _create_bo(cli)
    monkeypatch.setattr("hatchway.cli.secret_input.stdin_is_terminal", lambda: True)

    result = cli.run("user", "delete", "contoso", "bo@contoso.test", input="n\n")

    assert result.exit_code == 1
    assert result.stderr.endswith("[y/N]: Nothing was deleted.\n")
    assert len(_users(live_server)) == 2
