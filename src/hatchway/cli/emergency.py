"""`hatchway emergency-link`: a one-time sign-in link printed on the server's host.

For when the web server or the mail is the problem: the command reads and writes the database
directly and needs neither a running server nor the Provisioning Key, only access to the host.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from hatchway.cli.served_at import served_url
from hatchway.cli.server_database import existing_database_engine, operator_actor
from hatchway.config import ConfigurationError, Settings, load_settings
from hatchway.db.engine import Database
from hatchway.db.types import utcnow
from hatchway.emergency import service
from hatchway.emergency.service import IssuedLink, format_time
from hatchway.environments import service as environments
from hatchway.errors import Conflict, NotFound


def _issue(settings: Settings, environment_name: str, email: str) -> IssuedLink:
    engine = existing_database_engine(settings)
    try:
        database = Database(engine)
        with database.write() as session:
            environment = environments.get_environment(session, environment_name)
            return service.request_from_command_line(
                session, settings, environment, email, actor=operator_actor(), now=utcnow()
            )
    finally:
        engine.dispose()


def _link_address(settings: Settings) -> tuple[Settings, str | None]:
    """Return the settings whose public URL the link names, and a note when it is a guess.

    Without HATCHWAY_PUBLIC_URL, the link names the address that `serve` last recorded, else
    the default address.
    """
    if settings.public_url_configured:
        return settings, None
    recorded = served_url(settings)
    if recorded is not None:
        settings = replace(settings, public_url=recorded[0])
        source = f"the address 'hatchway serve' last listened on (from {recorded[1]})"
    else:
        source = "the default address"
    note = (
        f"Note: HATCHWAY_PUBLIC_URL is not set, so the link uses {settings.public_url}, "
        f"{source}; set HATCHWAY_PUBLIC_URL to the address users open if that differs."
    )
    return settings, note


def emergency_link(
    environment: Annotated[
        str, typer.Option("--environment", "-e", help="Name of the environment, as in its URL.")
    ],
    email: Annotated[
        str, typer.Option("--email", help="E-mail address of an active administrator.")
    ],
) -> None:
    """Print a one-time emergency sign-in link for an administrator (valid 15 minutes)."""
    try:
        settings = load_settings()
    except ConfigurationError as error:
        typer.echo(f"Configuration error: {error}", err=True)
        raise typer.Exit(2) from None
    settings, address_note = _link_address(settings)

    try:
        issued = _issue(settings, environment, email)
    except (NotFound, Conflict) as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(1) from None
    except SQLAlchemyError as error:
        location = make_url(settings.resolved_database_url).render_as_string(hide_password=True)
        typer.echo(
            f"Error: the database at {location} could not be used ({type(error).__name__}). Check "
            "HATCHWAY_DATABASE_URL and HATCHWAY_DATA_DIR, and run 'hatchway db upgrade'.",
            err=True,
        )
        raise typer.Exit(2) from None

    # The note comes after the database work, so that an error there is printed alone.
    if address_note is not None:
        typer.echo(address_note, err=True)
    typer.echo(
        f"One-time emergency sign-in link for {issued.email} in '{environment.lower()}' "
        f"(request {issued.request_id}). It works once and expires at "
        f"{format_time(issued.expires_at)}:\n"
    )
    typer.echo(issued.url)
    typer.echo("\nOpen it in a browser and press the button on the page.")
