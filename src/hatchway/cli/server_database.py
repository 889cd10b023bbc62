"""Helpers of the server-side commands: the operator as audit actor, and the server's database.

The commands `emergency-link`, `provisioning-key rotate`, `keys rotate` and `rate-limits` work
on the database of a server that already exists. They never create one: run from another
folder, the default `./var` would name a new, empty SQLite file.
"""

from __future__ import annotations

import getpass
import socket
from pathlib import Path

import typer
from sqlalchemy import Engine

from hatchway.audit.service import Actor, ActorType
from hatchway.config import Settings
from hatchway.db.engine import create_database_engine, sqlite_file


def operator_actor() -> Actor:
    """Return the audit actor of a server-side command: the host's user and host name."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown user"
    return Actor(ActorType.COMMAND_LINE, f"{user}@{socket.gethostname()}"[:320])


def missing_database_message(settings: Settings, path: Path) -> str:
    """Return the sentence a command prints when the SQLite file it needs does not exist."""
    if settings.database_url:
        source = "HATCHWAY_DATABASE_URL names it"
    elif settings.data_dir.is_absolute():
        source = f"it is hatchway.sqlite3 in HATCHWAY_DATA_DIR '{settings.data_dir}'"
    else:
        source = (
            f"it is hatchway.sqlite3 in the data folder '{settings.data_dir}', which is relative "
            f"to the current folder {Path.cwd()}"
        )
    return (
        f"No Hatchway database at {path} ({source}). This command works on the database of a "
        "server that has started before and creates none. Run it from the folder where you run "
        "'make run' or 'hatchway serve', or set HATCHWAY_DATA_DIR or HATCHWAY_DATABASE_URL as "
        "the server has them."
    )


def existing_database_engine(settings: Settings) -> Engine:
    """Return an engine on the server's database; exit with status 2 when its file is missing."""
    path = sqlite_file(settings.resolved_database_url)
    if path is not None and not path.is_file():
        typer.echo(f"Error: {missing_database_message(settings, path)}", err=True)
        raise typer.Exit(2)
    return create_database_engine(settings.resolved_database_url)
