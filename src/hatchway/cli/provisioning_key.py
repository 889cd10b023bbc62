"""`hatchway provisioning-key rotate`: a new Provisioning Key, on the server's host."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from hatchway.cli.server_database import existing_database_engine, operator_actor
from hatchway.config import ConfigurationError, Settings, load_settings

provisioning_key_app = typer.Typer(
    help="The instance's Provisioning Key (on the server's host).", no_args_is_help=True
)


def _banner(key: str) -> str:
    from hatchway.provisioning.key_cache import REFRESH_SECONDS

    return f"""\
New Provisioning Key, shown only now (Hatchway stores only its hash):

    {key}

The previous key stopped working; running servers reject it within {REFRESH_SECONDS:g} s.
Give the new one to the people who run scripts or flows against the Provisioning API."""


def rotate(settings: Settings, *, json_output: bool) -> None:
    """Replace the stored Provisioning Key with a new one and print it once."""
    from hatchway.db.engine import Database
    from hatchway.db.types import utcnow
    from hatchway.provisioning.auth import rotate_provisioning_key

    if settings.provisioning_key is not None:
        # The server makes HATCHWAY_PROVISIONING_KEY the only valid key at each start, so a
        # rotated key would stop working at the next restart.
        typer.echo(
            "HATCHWAY_PROVISIONING_KEY is set, and the server restores that key at every start. "
            "Put a new key in that variable and restart the server instead, or unset it and "
            "run this command again.",
            err=True,
        )
        raise typer.Exit(2)

    engine = existing_database_engine(settings)
    try:
        key = rotate_provisioning_key(Database(engine), utcnow(), operator_actor())
    except SQLAlchemyError as error:
        reason = str(error).splitlines()[0]
        typer.echo(
            f"The Provisioning Key was not changed because the database failed: {reason}. "
            "Check HATCHWAY_DATABASE_URL, and run 'hatchway db upgrade' if the database is new.",
            err=True,
        )
        raise typer.Exit(1) from None
    finally:
        engine.dispose()

    if json_output:
        typer.echo(json.dumps({"ProvisioningKey": key}))
    else:
        typer.echo(_banner(key))


@provisioning_key_app.command("rotate")
def rotate_command(
    json_output: Annotated[
        bool, typer.Option("--json", help='Print {"ProvisioningKey": "..."} instead of text.')
    ] = False,
) -> None:
    """Replace the Provisioning Key with a new one and print it once; the old one stops working.

    Run it on the server's host, with the server's HATCHWAY_* settings: it writes to the
    database directly.
    """
    try:
        settings = load_settings()
    except ConfigurationError as error:
        typer.echo(f"Configuration error: {error}", err=True)
        raise typer.Exit(2) from None
    rotate(settings, json_output=json_output)
