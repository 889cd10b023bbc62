"""`hatchway serve`: it migrates in a child process and does not start when that fails."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.support.hatchway import PROVISIONING_KEY
from tests.support.server_process import HatchwayProcess, serve_environment


def test_serve_stops_when_migration_fails(tmp_path: Path) -> None:
    # SQLite cannot open a folder as its database file, so the migration fails.
    database = tmp_path / "hatchway.sqlite3"
    database.mkdir()
    environment = serve_environment(
        tmp_path / "data",
        f"sqlite:///{database}",
        PROVISIONING_KEY,
        Fernet.generate_key().decode("ascii"),
    )
    server = HatchwayProcess(environment)

    with pytest.raises(RuntimeError, match="exited with 1") as failure:
        server.start()

    assert "Migrating the database failed (exit status 1)" in str(failure.value)
    assert "Hatchway did not start." in str(failure.value)
