"""`hatchway audit`: an environment's audit log, through the Provisioning API."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Annotated, Any

import typer
from rich.console import RenderableType
from rich.text import Text

from hatchway.cli.client_options import (
    EnvironmentArgument,
    JsonOption,
    ProvisioningKeyFileOption,
    UrlOption,
    provisioning_client,
)
from hatchway.cli.output import Output, table
from hatchway.client import AuditRecord


def _compact(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def records_table(records: Iterable[AuditRecord]) -> RenderableType:
    return table(
        [
            "Id",
            "When",
            "Actor",
            "Address",
            "Action",
            "Target",
            "Outcome",
            "Before",
            "After",
            "Detail",
        ],
        (
            (
                record.id,
                record.occurred_on,
                f"{record.actor_type}: {record.actor}",
                record.client_address,
                record.action,
                record.target,
                record.outcome,
                _compact(record.before),
                _compact(record.after),
                record.detail,
            )
            for record in records
        ),
    )


def show_audit_log(
    environment: EnvironmentArgument,
    limit: Annotated[
        int,
        typer.Option("--limit", min=1, help="Records per page, newest first."),
    ] = 50,
    before: Annotated[
        str | None,
        typer.Option("--before", help="Show records older than this record id (paging)."),
    ] = None,
    action: Annotated[
        str | None, typer.Option("--action", help="Only this action, such as sso.update.")
    ] = None,
    actor: Annotated[str | None, typer.Option("--actor", help="Only this actor.")] = None,
    all_pages: Annotated[
        bool, typer.Option("--all", help="Follow the pages to the oldest record.")
    ] = False,
    url: UrlOption = None,
    provisioning_key_file: ProvisioningKeyFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show who changed what in an environment, when and from where, newest first."""
    output = Output(json_output=json_output)
    with provisioning_client(url, provisioning_key_file, output) as client:
        if all_pages:
            records = list(
                client.iter_audit_records(environment, page_size=limit, action=action, actor=actor)
            )
            raw: Any = {"Records": [record.raw for record in records], "NextBefore": None}
            next_before = None
        else:
            page = client.audit_log(
                environment, limit=limit, before=before, action=action, actor=actor
            )
            records, raw, next_before = list(page.records), page.raw, page.next_before

    def render() -> list[RenderableType]:
        parts: list[RenderableType] = [records_table(records)]
        if next_before is not None:
            parts.append(Text(f"Older records: add --before {next_before}, or use --all."))
        return parts

    output.result(raw, render)
