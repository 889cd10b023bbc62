"""No Key or Provisioning Key in the command's output, nor in its process's arguments."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.cli import HatchwayCli, assert_absent
from tests.support.hatchway import PROVISIONING_KEY, LiveServer
from tests.support.idp import OidcProvider, RegisteredClient

HATCHWAY_SCRIPT = Path(sys.executable).parent / "hatchway"
WRONG_PROVISIONING_KEY = "0D4F5C1B-7E2A-4A8B-9E6C-CANARY000001"
CANARY_KEY = "canary-client-secret-5d1e"


def _write(path: Path, text: str) -> str:
    path.write_text(text + "\n")
    path.chmod(0o600)
    return str(path)


def test_provisioning_key_from_file(live_server: LiveServer, contoso: str, tmp_path: Path) -> None:
    cli = HatchwayCli(live_server.url, provisioning_key=None)
    key_file = _write(tmp_path / "provisioning-key.txt", PROVISIONING_KEY)

    result = cli.run("env", "list", "--provisioning-key-file", key_file)

    assert result.exit_code == 0, result.output
    assert "contoso" in result.stdout
    assert PROVISIONING_KEY not in result.output


def test_provisioning_key_file_beats_environment(
    live_server: LiveServer, contoso: str, tmp_path: Path
) -> None:
    cli = HatchwayCli(live_server.url, provisioning_key=WRONG_PROVISIONING_KEY)
    key_file = _write(tmp_path / "provisioning-key.txt", PROVISIONING_KEY)

    result = cli.run("env", "list", "--provisioning-key-file", key_file)

    assert result.exit_code == 0, result.output


def test_wrong_provisioning_key_not_echoed(
    live_server: LiveServer, contoso: str, tmp_path: Path
) -> None:
    cli = HatchwayCli(live_server.url, provisioning_key=None)
    key_file = _write(tmp_path / "provisioning-key.txt", WRONG_PROVISIONING_KEY)

    for extra in ((), ("--json",)):
        result = cli.run("env", "list", "--provisioning-key-file", key_file, *extra)

        assert result.exit_code == 1
        assert_absent([WRONG_PROVISIONING_KEY], result.stdout, result.stderr)


def test_outputs_never_contain_keys(
    cli: HatchwayCli,
    oidc_provider: OidcProvider,
    idp_client: RegisteredClient,
    tmp_path: Path,
) -> None:
    secret = idp_client.client_secret
    key_file = _write(tmp_path / "client-secret.txt", secret)
    values = ("--authority", oidc_provider.issuer, "--client-id", idp_client.client_id)
    runs = [
        cli.run("sso", "set", "contoso", *values, "--key-file", key_file),
        cli.run("sso", "set", "contoso", *values, "--key-file", key_file, "--json"),
        cli.run("sso", "set", "contoso", *values, "--key-stdin", input=f"{secret}\n"),
        cli.run("sso", "set", "contoso", *values, "--key-stdin", "--json", input=f"{secret}\n"),
        cli.run(
            "sso",
            "set",
            "contoso",
            "--authority",
            "not a url",
            "--key-stdin",
            input=f"{CANARY_KEY}\n",
        ),
        cli.run(
            "sso",
            "set",
            "contoso",
            "--authority",
            "not a url",
            "--key-stdin",
            "--json",
            input=f"{CANARY_KEY}\n",
        ),
        cli.run("sso", "show", "contoso"),
        cli.run("sso", "show", "contoso", "--json"),
        cli.run("env", "list", "--json"),
    ]

    for result in runs:
        assert result.exit_code in (0, 1), result.output
        assert_absent([secret, CANARY_KEY, PROVISIONING_KEY], result.stdout, result.stderr)


def _wait_for_exec(pid: int, marker: bytes) -> bytes:
    """Return the process's command line once it runs the hatchway script (after exec)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        if marker in cmdline:
            return cmdline
        time.sleep(0.01)
    raise AssertionError(f"process {pid} did not start the hatchway script")


def _ps_arguments(pid: int) -> str:
    result = subprocess.run(
        ["ps", "-ww", "-o", "args=", "-p", str(pid)], capture_output=True, text=True, check=True
    )
    return result.stdout


@pytest.mark.parametrize("provisioning_key_from", ["file", "environment"])
def test_process_arguments_hold_no_keys(
    live_server: LiveServer,
    oidc_provider: OidcProvider,
    idp_client: RegisteredClient,
    tmp_path: Path,
    provisioning_key_from: str,
) -> None:
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("HATCHWAY_")
    }
    arguments = [
        str(HATCHWAY_SCRIPT),
        "sso",
        "set",
        "contoso",
        "--url",
        live_server.url,
        "--authority",
        oidc_provider.issuer,
        "--client-id",
        idp_client.client_id,
        "--key-stdin",
    ]
    if provisioning_key_from == "file":
        key_file = _write(tmp_path / "provisioning-key.txt", PROVISIONING_KEY)
        arguments += ["--provisioning-key-file", key_file]
    else:
        environment["HATCHWAY_PROVISIONING_KEY"] = PROVISIONING_KEY
    assert_absent([PROVISIONING_KEY, idp_client.client_secret], " ".join(arguments))

    process = subprocess.Popen(
        arguments,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
        text=True,
    )
    try:
        # The process waits for the Key on standard input, so it is running while we look.
        cmdline = _wait_for_exec(process.pid, b"--key-stdin")
        ps_arguments = _ps_arguments(process.pid)
        stdout, stderr = process.communicate(f"{idp_client.client_secret}\n", timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert process.returncode == 0, stderr
    assert "sso set contoso" in ps_arguments
    assert_absent(
        [PROVISIONING_KEY, idp_client.client_secret],
        cmdline.decode("utf-8", "replace"),
        ps_arguments,
        stdout,
        stderr,
    )
    assert "Saved version 1." in stdout


def test_crash_traceback_hides_key(tmp_path: Path) -> None:
    # A bug that escapes as a traceback must not print the locals that hold the secrets.
    script = (
        "import sys\n"
        "from hatchway.client import HatchwayClient\n"
        "def crash(*args, **kwargs):\n"
        "    raise RuntimeError('simulated failure')\n"
        "HatchwayClient.set_oauth2 = crash\n"
        "from hatchway.cli.main import main\n"
        "sys.argv = ['hatchway', *sys.argv[1:]]\n"
        "main()\n"
    )
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("HATCHWAY_")
    }
    environment["HATCHWAY_PROVISIONING_KEY"] = PROVISIONING_KEY
    arguments = ["sso", "set", "contoso", "--url", "http://127.0.0.1:9", "--key-stdin"]

    result = subprocess.run(
        [sys.executable, "-c", script, *arguments],
        input=f"{CANARY_KEY}\n",
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1
    assert "simulated failure" in result.stderr
    assert_absent([CANARY_KEY, PROVISIONING_KEY], result.stdout, result.stderr)
