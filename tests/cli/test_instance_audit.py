"""`hatchway instance-audit` lists the records that belong to no environment."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner, Result

from hatchway.cli.main import app
from tests.support.hatchway import PROVISIONING_KEY, LiveServer
from tests.support.provisioning import create_environment


def _run(live: LiveServer, *args: str) -> Result:
    settings = live.context.settings
    runner = CliRunner(
        env={
            "HATCHWAY_DATA_DIR": str(settings.data_dir),
            "HATCHWAY_DATABASE_URL": settings.resolved_database_url,
            "HATCHWAY_PROVISIONING_KEY": None,
        }
    )
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_instance_audit_empty(live_server: LiveServer) -> None:
    result = _run(live_server, "instance-audit")

    assert result.exit_code == 0, result.output
    assert "No audit records of the instance yet." in result.stdout


def test_instance_audit_lists_key_rotation(live_server: LiveServer) -> None:
    with live_server.api() as api:
        create_environment(api)
    rotated = _run(live_server, "provisioning-key", "rotate", "--json")
    new_key = json.loads(rotated.stdout)["ProvisioningKey"]

    result = _run(live_server, "instance-audit", "--json")

    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert [record["Action"] for record in records] == ["provisioning_key.rotate"]
    assert records[0]["ActorType"] == "CommandLine"
    assert new_key not in result.stdout
    assert PROVISIONING_KEY not in result.stdout


def test_instance_audit_table_and_filter(live_server: LiveServer) -> None:
    _run(live_server, "provisioning-key", "rotate", "--json")
    _run(live_server, "rate-limits", "clear")

    table = _run(live_server, "instance-audit", "--action", "PROVISIONING_KEY.ROTATE")

    assert table.exit_code == 0, table.output
    assert "provisioning_key.rotate" in table.stdout
    assert "rate_limit.clear" not in table.stdout


def test_instance_audit_unknown_action(live_server: LiveServer) -> None:
    result = _run(live_server, "instance-audit", "--action", "bogus")

    assert result.exit_code == 2
    assert "--action: Action 'bogus' is not an audit action; use one of" in result.stderr
    assert "provisioning_key.rotate" in result.stderr


def test_instance_audit_missing_database(tmp_path: Path) -> None:
    runner = CliRunner(env={"HATCHWAY_DATA_DIR": str(tmp_path), "HATCHWAY_DATABASE_URL": None})

    result = runner.invoke(app, ["instance-audit"], catch_exceptions=False)

    assert result.exit_code == 2
    assert "No Hatchway database at" in result.stderr
    assert not (tmp_path / "hatchway.sqlite3").exists()


def test_instance_audit_environment_action(live_server: LiveServer) -> None:
    result = _run(live_server, "instance-audit", "--action", "sso.update")

    assert result.exit_code == 2
    assert "Action 'sso.update' is recorded for environments; use one of" in result.stderr
    assert "keys.rotate, provisioning_key.rotate, rate_limit.clear." in result.stderr
