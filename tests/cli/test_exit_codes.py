"""Exit codes and configuration of the client commands: 0, 1 refused, 2 usage, 3 unreachable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hatchway.cli.client_options import connect
from hatchway.cli.output import Output
from tests.support.cli import HatchwayCli, ProvisioningStub
from tests.support.hatchway import PROVISIONING_KEY, LiveServer
from tests.support.ports import free_port


@pytest.fixture
def closed_port_cli() -> HatchwayCli:
    return HatchwayCli(f"http://127.0.0.1:{free_port()}")


@pytest.mark.parametrize(
    "command",
    [
        ("env", "list"),
        ("env", "show", "contoso"),
        ("user", "list", "contoso"),
        ("sso", "show", "contoso"),
        ("sso", "history", "contoso"),
        ("emergency", "list", "contoso"),
        ("audit", "contoso"),
    ],
)
def test_closed_port_exits_3(closed_port_cli: HatchwayCli, command: tuple[str, ...]) -> None:
    result = closed_port_cli.run(*command)

    assert result.exit_code == 3
    assert "could not be reached" in result.stderr
    assert "Check --url (or HATCHWAY_URL) and that the server is running." in result.stderr
    assert "Traceback" not in result.output


def test_closed_port_json_error(closed_port_cli: HatchwayCli) -> None:
    result = closed_port_cli.run("env", "list", "--json")

    assert result.exit_code == 3
    error = json.loads(result.stdout)
    assert error["Status"] is None
    assert error["Error"] == "Unreachable"
    assert "could not be reached" in error["Message"]
    assert error["ValidationResults"] == []
    assert error["Url"] == f"{closed_port_cli.url}/Provisioning"
    assert result.stderr == ""


def test_refusal_json_error(cli: HatchwayCli) -> None:
    result = cli.run("env", "show", "nowhere", "--json")

    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "Status": 404,
        "Error": "EnvironmentNotFound",
        "Message": "Environment 'nowhere' was not found.",
        "ValidationResults": [],
    }
    assert result.stderr == ""


def test_validation_refusal_json_error(cli: HatchwayCli, contoso: str) -> None:
    result = cli.run(
        "sso",
        "set",
        "contoso",
        "--authority",
        "not a url",
        "--client-id",
        "app-1",
        "--key-stdin",
        "--json",
        input="x-value\n",
    )

    assert result.exit_code == 1
    error = json.loads(result.stdout)
    assert error["Status"] == 400
    assert error["Error"] is None
    assert [item["MemberNames"] for item in error["ValidationResults"]] == [["Authority"]]
    assert error["ValidationResults"][0]["ErrorMessage"] in error["Message"]
    assert result.stderr == ""


def test_gateway_error_exits_3(stub: ProvisioningStub) -> None:
    problem = {"Error": "BadGateway", "Message": "The upstream server is down."}
    stub.answer("GET", "/Provisioning/Environment", problem, status=503)

    result = HatchwayCli(stub.url).run("env", "list")

    assert result.exit_code == 3
    assert "The upstream server is down." in result.stderr


def test_url_option_beats_environment(live_server: LiveServer, contoso: str) -> None:
    cli = HatchwayCli(f"http://127.0.0.1:{free_port()}")

    result = cli.run("env", "list", "--url", live_server.url)

    assert result.exit_code == 0, result.output
    assert "contoso" in result.stdout


def test_url_with_provisioning_path_accepted(cli: HatchwayCli, contoso: str) -> None:
    result = cli.run("env", "list", "--url", f"{cli.url}/Provisioning/")

    assert result.exit_code == 0, result.output


def test_missing_url_is_usage_error(offline_cli: HatchwayCli) -> None:
    result = offline_cli.run("env", "list", env={"HATCHWAY_URL": None})

    assert result.exit_code == 2
    assert "No Hatchway URL: pass --url or set HATCHWAY_URL" in result.stderr


def test_invalid_url_is_usage_error(offline_cli: HatchwayCli) -> None:
    result = offline_cli.run("env", "list", "--url", "portal.example.com")

    assert result.exit_code == 2
    assert "is not an absolute http(s) URL" in result.stderr


def test_missing_provisioning_key_is_usage_error(offline_cli: HatchwayCli) -> None:
    result = offline_cli.run("env", "list", env={"HATCHWAY_PROVISIONING_KEY": None})

    assert result.exit_code == 2
    assert "No Provisioning Key: set HATCHWAY_PROVISIONING_KEY or pass" in result.stderr


def test_missing_provisioning_key_stops_before_prompt(offline_cli: HatchwayCli) -> None:
    result = offline_cli.run(
        "sso", "set", "contoso", env={"HATCHWAY_PROVISIONING_KEY": None}, input="typed-key\n"
    )

    assert result.exit_code == 2
    assert "No Provisioning Key" in result.stderr
    assert not result.stderr.startswith("Key:")


def test_missing_provisioning_key_file_is_usage_error(
    offline_cli: HatchwayCli, tmp_path: Path
) -> None:
    result = offline_cli.run("env", "list", "--provisioning-key-file", str(tmp_path / "nope.txt"))

    assert result.exit_code == 2
    assert "nope.txt" in result.stderr


CURLY_QUOTED_KEY = f"\u201c{PROVISIONING_KEY}\u201d"


def test_curly_quoted_key_file_names_option(offline_cli: HatchwayCli, tmp_path: Path) -> None:
    key_file = tmp_path / "provisioning-key.txt"
    key_file.write_text(CURLY_QUOTED_KEY + "\n", encoding="utf-8")

    result = offline_cli.run(
        "env",
        "list",
        "--provisioning-key-file",
        str(key_file),
        env={"HATCHWAY_PROVISIONING_KEY": None},
    )

    assert result.exit_code == 2
    assert "Invalid value for --provisioning-key-file" in result.stderr
    assert "--url" not in result.stderr
    assert "U+201C" in result.stderr
    assert PROVISIONING_KEY not in result.stderr


def test_curly_quoted_key_variable_names_variable(offline_cli: HatchwayCli) -> None:
    result = offline_cli.run("env", "list", env={"HATCHWAY_PROVISIONING_KEY": CURLY_QUOTED_KEY})

    assert result.exit_code == 2
    assert "Invalid value for HATCHWAY_PROVISIONING_KEY" in result.stderr
    assert "--url" not in result.stderr
    assert "U+201C" in result.stderr
    assert PROVISIONING_KEY not in result.stderr


def test_provisioning_key_option_does_not_exist(offline_cli: HatchwayCli) -> None:
    result = offline_cli.run("env", "list", "--provisioning-key", PROVISIONING_KEY)

    assert result.exit_code == 2
    assert "No such option" in result.stderr


def test_missing_argument_is_usage_error(offline_cli: HatchwayCli) -> None:
    result = offline_cli.run("user", "list")

    assert result.exit_code == 2
    assert "Missing argument" in result.stderr


def test_http_url_to_other_host_warns(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Only builds the client: no request leaves the machine.
    monkeypatch.setenv("HATCHWAY_PROVISIONING_KEY", PROVISIONING_KEY)

    client = connect("http://portal.example.com", None, Output(json_output=False))
    client.close()

    assert "uses http, so the Provisioning Key crosses the network unencrypted" in (
        capsys.readouterr().err
    )


def test_http_url_to_loopback_does_not_warn(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HATCHWAY_PROVISIONING_KEY", PROVISIONING_KEY)

    connect("http://127.0.0.1:8000", None, Output(json_output=False)).close()

    assert capsys.readouterr().err == ""


def test_sso_set_without_key_source_or_terminal(offline_cli: HatchwayCli) -> None:
    result = offline_cli.run("sso", "set", "contoso", "--client-id", "app-1", input="typed-key\n")

    assert result.exit_code == 2
    assert "No Key given, and standard input is not a terminal" in result.stderr
    assert "--key-file PATH, or --key-stdin" in result.stderr
    assert "Key:" not in result.stderr


def test_sso_set_without_terminal_prints_no_getpass_warning(offline_cli: HatchwayCli) -> None:
    hatchway = Path(sys.executable).with_name("hatchway")
    completed = subprocess.run(
        [str(hatchway), "sso", "set", "contoso", "--client-id", "app-1"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env={**os.environ, **{k: v for k, v in offline_cli.environment().items() if v}},
        timeout=60,
        check=False,
    )

    assert completed.returncode == 2
    assert "GetPassWarning" not in completed.stderr
    assert "No Key given, and standard input is not a terminal" in completed.stderr


def test_key_expires_on_error_shows_format(offline_cli: HatchwayCli) -> None:
    result = offline_cli.run("sso", "set", "contoso", "--key-expires-on", "31.03.2030")

    assert result.exit_code == 2
    assert "'31.03.2030' is not a date in the form YYYY-MM-DD, such as 2030-03-31." in " ".join(
        result.stderr.replace("│", " ").split()
    )
    assert "%Y" not in result.stderr
