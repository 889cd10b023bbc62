"""The hatchway command: server-side operations of the host's operator and a Provisioning API
client (env, user, sso, emergency, audit)."""

from __future__ import annotations

import multiprocessing
import os
import sys
from typing import Annotated

import typer

from hatchway import __version__
from hatchway.cli import keys
from hatchway.cli.audit_commands import show_audit_log
from hatchway.cli.emergency import emergency_link
from hatchway.cli.emergency_commands import emergency_app
from hatchway.cli.env_commands import env_app
from hatchway.cli.instance_audit import show_instance_audit
from hatchway.cli.provisioning_key import provisioning_key_app
from hatchway.cli.rate_limits import rate_limits_app
from hatchway.cli.served_at import record_served_url
from hatchway.cli.sso_commands import sso_app
from hatchway.cli.user_commands import user_app
from hatchway.config import ConfigurationError, Settings, load_settings
from hatchway.logs import configure_logging

app = typer.Typer(
    name="hatchway",
    help="Hatchway: identity control plane for multi-tenant workspace portals.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database operations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(provisioning_key_app, name="provisioning-key")
app.add_typer(rate_limits_app, name="rate-limits")
app.command("instance-audit")(show_instance_audit)
app.command("emergency-link")(emergency_link)

# Provisioning API client commands
app.add_typer(env_app, name="env")
app.add_typer(user_app, name="user")
app.add_typer(sso_app, name="sso")
app.add_typer(emergency_app, name="emergency")
app.command("audit")(show_audit_log)
app.add_typer(keys.app, name="keys")


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigurationError as error:
        typer.echo(f"Configuration error: {error}", err=True)
        raise typer.Exit(2) from None


def _first_start_banner(settings: Settings, key: str) -> str:
    base = settings.public_url
    return f"""
================================================================================
 Hatchway generated this instance's Provisioning Key. It is shown only now;
 Hatchway stores only its hash. Keep it somewhere safe:

     {key}

 Create an environment with its administrator:

   curl -X POST '{base}/Provisioning/Environment/' \\
     -H 'ProvisioningKey: {key}' \\
     -H 'Content-Type: application/json' \\
     -d '{{"EnvironmentName": "contoso", "EmailAddress": "admin@contoso.com",
          "FirstName": "Ada", "LastName": "Admin", "Password": "choose-a-long-password"}}'

 Then sign in at {base}/contoso/SignIn
================================================================================
"""


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Number of worker processes.")] = 1,
) -> None:
    """Migrate the database and start the server."""
    import uvicorn

    from hatchway.db.engine import Database, create_database_engine
    from hatchway.db.types import utcnow
    from hatchway.provisioning.auth import ensure_provisioning_key

    settings = _settings()
    if not settings.public_url_configured:
        # Without a configured public URL, links and redirect URIs name this listener; the
        # worker processes read their settings from the environment, so it goes there too.
        display_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
        os.environ["HATCHWAY_PUBLIC_URL"] = f"http://{display_host}:{port}"
        settings = _settings()
        record_served_url(settings)
    configure_logging(settings.log_level)
    _migrate_in_child_process(settings)
    engine = create_database_engine(settings.resolved_database_url)

    new_key = ensure_provisioning_key(Database(engine), settings.provisioning_key, utcnow())
    engine.dispose()
    if new_key is not None:
        print(_first_start_banner(settings, new_key), flush=True)
    if workers > 1:
        _share_metrics_between_workers(settings)

    uvicorn.run(
        "hatchway.app:create_app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_config=None,
        proxy_headers=False,
        server_header=False,
    )


def _migrate_in_child_process(settings: Settings) -> None:
    """Apply pending migrations in a child process; exit with status 1 if they fail.

    Alembic adds about 10 MiB to a process that imports it. With one worker this process goes
    on to serve requests, so it never imports Alembic itself.
    """
    child = multiprocessing.Process(
        target=_migrate, args=(settings.resolved_database_url, settings.log_level)
    )
    child.start()
    child.join()
    if child.exitcode != 0:
        typer.echo(
            f"Migrating the database failed (exit status {child.exitcode}); the log above "
            "shows why. Hatchway did not start.",
            err=True,
        )
        raise typer.Exit(1)


def _migrate(database_url: str, log_level: str) -> None:
    from hatchway.db.engine import create_database_engine, upgrade_database

    configure_logging(log_level)
    engine = create_database_engine(database_url)
    try:
        upgrade_database(engine)
    finally:
        engine.dispose()


def _share_metrics_between_workers(settings: Settings) -> None:
    """Put prometheus-client in multiprocess mode, so that any worker's /metrics covers all.

    The workers are started fresh and read PROMETHEUS_MULTIPROC_DIR when they import
    prometheus-client; the folder defaults to `metrics` in the data folder.
    """
    from hatchway.metrics import prepare_multiprocess_dir

    directory = settings.metrics_multiprocess_dir or settings.data_dir / "metrics"
    prepare_multiprocess_dir(directory)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory.resolve())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending database migrations."""
    from hatchway.db.engine import create_database_engine, current_revision, upgrade_database

    settings = _settings()
    configure_logging(settings.log_level)
    engine = create_database_engine(settings.resolved_database_url)
    upgrade_database(engine)
    typer.echo(f"Database is at revision {current_revision(engine)}.")
    engine.dispose()


@app.command()
def version() -> None:
    """Print Hatchway's version."""
    typer.echo(__version__)


def main() -> None:
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(app())
