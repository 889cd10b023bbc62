"""`hatchway provisioning-key rotate`, run on the server's database while Hatchway serves."""

from __future__ import annotations

import getpass
import json
import re
import socket
import time

import httpx
from sqlalchemy import select
from typer.testing import CliRunner, Result

from hatchway.cli.main import app
from hatchway.db.models import AuditRecord
from hatchway.provisioning.key_cache import REFRESH_SECONDS
from tests.support.hatchway import PROVISIONING_KEY, LiveServer

GUID = re.compile(r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}")


def _rotate(live: LiveServer, *args: str, configured_key: str | None = None) -> Result:
    settings = live.context.settings
    runner = CliRunner(
        env={
            "HATCHWAY_DATA_DIR": str(settings.data_dir),
            "HATCHWAY_DATABASE_URL": settings.resolved_database_url,
            "HATCHWAY_PROVISIONING_KEY": configured_key,
        }
    )
    return runner.invoke(app, ["provisioning-key", "rotate", *args], catch_exceptions=False)


def _status_with(live: LiveServer, key: str) -> int:
    response = httpx.get(live.provisioning("/Environment"), headers={"ProvisioningKey": key})
    return response.status_code


def test_rotate_prints_new_key_once(live_server: LiveServer) -> None:
    result = _rotate(live_server)

    assert result.exit_code == 0, result.output
    keys = GUID.findall(result.stdout)
    assert len(keys) == 1
    assert keys[0] != PROVISIONING_KEY
    assert "The previous key stopped working" in result.stdout


def test_rotate_old_key_stops_working(live_server: LiveServer) -> None:
    assert _status_with(live_server, PROVISIONING_KEY) == 200

    result = _rotate(live_server, "--json")

    new_key = json.loads(result.stdout)["ProvisioningKey"]
    assert _status_with(live_server, new_key) == 200
    # The server's key snapshot may accept the old key until its next reload.
    time.sleep(REFRESH_SECONDS)
    assert _status_with(live_server, PROVISIONING_KEY) == 403


def test_rotate_refused_when_key_configured(live_server: LiveServer) -> None:
    result = _rotate(live_server, configured_key=PROVISIONING_KEY)

    assert result.exit_code == 2
    assert "HATCHWAY_PROVISIONING_KEY is set" in result.stderr
    assert PROVISIONING_KEY not in result.output
    assert _status_with(live_server, PROVISIONING_KEY) == 200


def test_rotate_database_failure(live_server: LiveServer) -> None:
    # An empty file: a database without Hatchway's tables.
    empty = live_server.context.settings.data_dir / "empty.db"
    empty.touch()
    runner = CliRunner(
        env={
            "HATCHWAY_DATABASE_URL": f"sqlite:///{empty}",
            "HATCHWAY_PROVISIONING_KEY": None,
        }
    )

    result = runner.invoke(app, ["provisioning-key", "rotate"], catch_exceptions=False)

    assert result.exit_code == 1
    assert "The Provisioning Key was not changed because the database failed" in result.stderr
    assert _status_with(live_server, PROVISIONING_KEY) == 200


def test_rotate_is_audited_without_the_key(live_server: LiveServer) -> None:
    result = _rotate(live_server, "--json")

    new_key = json.loads(result.stdout)["ProvisioningKey"]
    with live_server.context.database.read() as session:
        [record] = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "provisioning_key.rotate")
        )
    assert record.actor_type == "CommandLine"
    assert record.actor == f"{getpass.getuser()}@{socket.gethostname()}"
    assert record.target == "Provisioning Key"
    assert record.after is not None
    assert len(record.after["ValidKeys"]) == 1
    stored = f"{record.actor} {record.target} {record.before} {record.after} {record.detail}"
    assert new_key not in stored
    assert PROVISIONING_KEY not in stored
