"""The `hatchway keys` commands: the sealing keys that protect stored secrets."""

from __future__ import annotations

import typer

from hatchway.cli.server_database import existing_database_engine, operator_actor
from hatchway.config import ConfigurationError, load_settings
from hatchway.logs import configure_logging

app = typer.Typer(help="Sealing keys that protect stored secrets.", no_args_is_help=True)


@app.command("rotate")
def rotate() -> None:
    """Create a new sealing key, reseal every stored secret with it and retire the old keys.

    Running servers pick up the new key by themselves. Back up the data folder's
    'sealing-keys' file afterwards. With HATCHWAY_SEALING_KEYS set, put a new key first in that
    variable and restart before running this; it then reseals with that key.
    """
    from hatchway.db.engine import Database, upgrade_database
    from hatchway.security.rotation import rotate_sealing_keys
    from hatchway.security.sealing import SealingError, load_keyring

    try:
        settings = load_settings()
    except ConfigurationError as error:
        typer.echo(f"Configuration error: {error}", err=True)
        raise typer.Exit(2) from None
    configure_logging(settings.log_level)
    engine = existing_database_engine(settings)
    try:
        upgrade_database(engine)
        keyring = load_keyring(settings.sealing_keys, settings.data_dir)
        result = rotate_sealing_keys(Database(engine), keyring, operator_actor())
    except SealingError as error:
        typer.echo(f"Rotation failed, the old keys stay in place: {error}.", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    resealed = (
        f"{result.sso_settings} SSO Key(s), {result.sso_versions} version Key(s), "
        f"{result.staged_keys} staged Key(s) and {result.outbox_messages} queued mail body(ies)"
    )
    if keyring.file_backed:
        typer.echo(f"Sealing key rotated. Resealed {resealed}; the old keys are retired.")
        return
    typer.echo(
        f"Resealed {resealed} with the first key of HATCHWAY_SEALING_KEYS. Hatchway cannot "
        "change that variable: remove the other keys from it and restart the servers."
    )
