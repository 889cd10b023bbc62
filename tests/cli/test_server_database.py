"""Server-side commands refuse a missing SQLite file instead of creating an empty database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner, Result

from hatchway.cli.main import app
from hatchway.db.engine import create_database_engine

COMMANDS = [
    ["emergency-link", "--environment", "contoso", "--email", "admin@contoso.test"],
    ["provisioning-key", "rotate"],
    ["keys", "rotate"],
    ["rate-limits", "list"],
    ["rate-limits", "clear"],
]


def run_in(folder: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    monkeypatch.chdir(folder)
    runner = CliRunner(
        env={
            "HATCHWAY_DATA_DIR": None,
            "HATCHWAY_DATABASE_URL": None,
            "HATCHWAY_PUBLIC_URL": None,
            "HATCHWAY_PROVISIONING_KEY": None,
            "HATCHWAY_SEALING_KEYS": None,
        }
    )
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_command_refuses_missing_database(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_in(tmp_path, monkeypatch, *command)

    assert result.exit_code == 2
    expected = tmp_path.resolve() / "var" / "hatchway.sqlite3"
    assert result.stderr.startswith(f"Error: No Hatchway database at {expected}")
    assert f"relative to the current folder {tmp_path.resolve()}" in result.stderr
    assert "'make run'" in result.stderr
    assert "HATCHWAY_DATA_DIR or HATCHWAY_DATABASE_URL" in result.stderr
    assert "db upgrade" not in result.stderr
    assert not (tmp_path / "var").exists()


def test_missing_database_url_file_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "elsewhere" / "hatchway.sqlite3"
    runner = CliRunner(env={"HATCHWAY_DATABASE_URL": f"sqlite:///{missing}"})

    result = runner.invoke(app, ["rate-limits", "list"], catch_exceptions=False)

    assert result.exit_code == 2
    assert f"No Hatchway database at {missing} (HATCHWAY_DATABASE_URL names it)" in result.stderr
    assert not missing.parent.exists()


def test_db_upgrade_creates_private_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_in(tmp_path, monkeypatch, "db", "upgrade")

    assert result.exit_code == 0, result.output
    database = tmp_path / "var" / "hatchway.sqlite3"
    assert database.stat().st_mode & 0o777 == 0o600


def test_sqlite_files_readable_by_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "data" / "hatchway.sqlite3"
    engine = create_database_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE probe (id INTEGER)"))
        connection.execute(text("INSERT INTO probe VALUES (1)"))

    # The connections stay open, so the -wal and -shm files still exist.
    modes = {
        suffix: (tmp_path / "data" / f"hatchway.sqlite3{suffix}").stat().st_mode & 0o777
        for suffix in ("", "-wal", "-shm")
    }
    engine.dispose()
    assert modes == {"": 0o600, "-wal": 0o600, "-shm": 0o600}
