"""`hatchway instance-audit`: the audit records of the instance itself, on the server's host.

Provisioning Key and sealing key rotations and rate-limit clears belong to no environment, so
the Provisioning API's per-environment audit log does not list them. This command reads them
from the server's database, like `hatchway rate-limits`.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import RenderableType
from rich.text import Text

from hatchway.audit import service as audit
from hatchway.cli.audit_commands import records_table
from hatchway.cli.output import Output
from hatchway.cli.server_database import existing_database_engine
from hatchway.client import AuditRecord
from hatchway.config import ConfigurationError, load_settings
from hatchway.db.engine import Database
from hatchway.db.models import AuditRecord as StoredRecord


def _as_json(record: StoredRecord) -> dict[str, Any]:
    return {
        "Id": record.id,
        "OccurredOn": record.occurred_at.isoformat(),
        "ActorType": record.actor_type,
        "Actor": record.actor,
        "ClientAddress": record.client_address,
        "Action": record.action,
        "Target": record.target,
        "Outcome": record.outcome,
        "Before": record.before,
        "After": record.after,
        "Detail": record.detail,
    }


def show_instance_audit(
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=500, help="Records to show, newest first.")
    ] = 50,
    action: Annotated[
        str | None,
        typer.Option("--action", help="Only this action, such as provisioning_key.rotate."),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print JSON instead of a table.")
    ] = False,
) -> None:
    """Show the instance's own audit records (key rotations, rate-limit clears), newest first."""
    try:
        settings = load_settings()
    except ConfigurationError as error:
        typer.echo(f"Configuration error: {error}", err=True)
        raise typer.Exit(2) from None
    selected_action = None
    if action is not None:
        problem = audit.action_problem(action, instance=True)
        if problem is not None:
            typer.echo(f"Error: --action: {problem}", err=True)
            raise typer.Exit(2)
        selected_action = audit.find_action(action)
    engine = existing_database_engine(settings)
    try:
        with Database(engine).read() as session:
            stored = audit.list_records(session, None, limit=limit, action=selected_action)
            rows = [_as_json(record) for record in stored]
    finally:
        engine.dispose()

    def render() -> list[RenderableType]:
        if not rows:
            return [Text("No audit records of the instance yet.")]
        return [records_table(AuditRecord.from_json(row) for row in rows)]

    Output(json_output=json_output).result(rows, render)
