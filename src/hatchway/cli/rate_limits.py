"""`hatchway rate-limits list|clear`: the rate-limit counters, on the server's host.

Both commands work on the server's database directly, like `hatchway provisioning-key rotate`,
so they need neither a running server nor the Provisioning Key.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from hatchway.cli.output import make_console, table
from hatchway.cli.server_database import existing_database_engine, operator_actor
from hatchway.config import ConfigurationError, Settings, load_settings
from hatchway.db.engine import Database
from hatchway.db.types import utcnow
from hatchway.security.ratelimit import RULES, RateLimit
from hatchway.security.ratelimit_admin import (
    Counter,
    CounterFilter,
    clear_counters,
    find_rule,
    list_counters,
)

rate_limits_app = typer.Typer(
    help="Rate-limit counters: list them, or clear them to lift a block (on the server's host).",
    no_args_is_help=True,
)

KIND_NAMES = ", ".join(rule.name for rule in RULES)


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigurationError as error:
        typer.echo(f"Configuration error: {error}", err=True)
        raise typer.Exit(2) from None


def _rules(kinds: list[str]) -> tuple[RateLimit, ...]:
    if not kinds:
        return RULES
    rules = []
    for kind in kinds:
        rule = find_rule(kind)
        if rule is None:
            typer.echo(
                f"Error: --kind {kind!r} is not a rate limit; use one of {KIND_NAMES}.", err=True
            )
            raise typer.Exit(2)
        rules.append(rule)
    return tuple(rules)


def _as_json(counter: Counter, blocking: bool) -> dict[str, Any]:
    return {
        "Kind": counter.rule.name,
        "Per": counter.rule.per.value,
        "Subject": counter.subject,
        "Count": counter.count,
        "Limit": counter.rule.limit,
        "WindowSeconds": counter.rule.window_seconds,
        "WindowEndsOn": counter.window_ends_at.isoformat(),
        "Blocking": blocking,
    }


@rate_limits_app.command("list")
def list_command(
    json_output: Annotated[
        bool, typer.Option("--json", help="Print JSON instead of a table.")
    ] = False,
) -> None:
    """List the counters whose window still runs; 'Blocking' ones refuse requests until it ends."""
    settings = _settings()
    engine = existing_database_engine(settings)
    try:
        with Database(engine).read() as session:
            counters = list_counters(session)
    finally:
        engine.dispose()
    now = utcnow()
    running = [counter for counter in counters if counter.is_running(now)]

    if json_output:
        typer.echo(
            json.dumps([_as_json(counter, counter.blocks(now)) for counter in running], indent=2)
        )
        return
    if not running:
        typer.echo("No rate-limit counter is running; nothing is blocked.")
        return
    rows = [
        (
            counter.rule.name,
            counter.subject,
            f"{counter.count} of {counter.rule.limit}",
            counter.window_ends_at,
            counter.blocks(now),
        )
        for counter in running
    ]
    make_console().print(
        table(["Kind", "Address or environment", "Count", "Window ends (UTC)", "Blocking"], rows)
    )


@rate_limits_app.command("clear")
def clear_command(
    address: Annotated[
        str | None,
        typer.Option("--address", help="Clear only the counters of this client address."),
    ] = None,
    environment: Annotated[
        str | None,
        typer.Option("--environment", help="Clear only the counters of this environment."),
    ] = None,
    kind: Annotated[
        list[str] | None,
        typer.Option(
            "--kind", help=f"Clear only this kind; repeat for several. One of {KIND_NAMES}."
        ),
    ] = None,
) -> None:
    """Clear rate-limit counters, so that the blocked address or environment may try again.

    Without options every counter is cleared. The change is audited with the operator as actor.
    """
    if address is not None and environment is not None:
        typer.echo(
            "Error: give --address or --environment, not both: a counter counts one of them.",
            err=True,
        )
        raise typer.Exit(2)
    selection = CounterFilter(_rules(kind or []), address, environment)
    settings = _settings()
    engine = existing_database_engine(settings)
    try:
        with Database(engine).write() as session:
            cleared = clear_counters(session, selection, actor=operator_actor(), now=utcnow())
    finally:
        engine.dispose()

    if not cleared:
        typer.echo("No rate-limit counter matched; nothing changed.")
        return
    typer.echo(f"Cleared {len(cleared)} rate-limit counter(s):")
    for counter in cleared:
        typer.echo(
            f"  {counter.rule.name} {counter.subject} ({counter.count} of {counter.rule.limit})"
        )
    typer.echo("Running servers apply it within 1 second.")
