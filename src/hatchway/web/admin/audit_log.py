"""The audit log page: who changed what, when and from where, newest first.

Routes:
    GET /{env}/AdminPage/AuditLog?action=...&actor=...&before=...&limit=...   (admin/audit_log.html)

It reads the same records as `GET /Provisioning/{env}/AuditLog`, through the same service
function, with the same exact-match filters and paging by record id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from hatchway.audit import service as audit
from hatchway.context import get_context
from hatchway.db.models import AuditRecord
from hatchway.environments import service as environments
from hatchway.web.admin.access import AdminVisit, admin_visit, render_admin

router = APIRouter(include_in_schema=False)

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_FILTER_LENGTH = 320


@dataclass(frozen=True)
class ValueChange:
    """One field of a record's values, before and after, as text for the page."""

    name: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class RecordRow:
    """An audit record as the page shows it."""

    id: int
    occurred_at: datetime
    actor_type: str
    actor: str
    client_address: str | None
    action: str
    target: str
    outcome: str
    detail: str | None
    kind: str
    values: list[ValueChange]


@dataclass(frozen=True)
class AuditQuery:
    """The page's query string, checked."""

    action: str
    actor: str
    before: int | None
    limit: int

    def link(self, before: int | None) -> str:
        """Return the query string of this filter at another page."""
        parameters: dict[str, str | int] = {}
        if self.action:
            parameters["action"] = self.action
        if self.actor:
            parameters["actor"] = self.actor
        if before is not None:
            parameters["before"] = before
        if self.limit != DEFAULT_PAGE_SIZE:
            parameters["limit"] = self.limit
        return "?" + urlencode(parameters) if parameters else ""


def display_value(value: Any) -> str | None:
    """Write a stored value as a person reads it: yes/no, plain text, or compact JSON."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def describe_values(
    before: dict[str, Any] | None, after: dict[str, Any] | None
) -> tuple[str, list[ValueChange]]:
    """Return the kind of change and the fields to show.

    An update shows the fields whose value changed; a record with only `after` (a creation)
    or only `before` (a deletion) shows every field it holds.
    """
    if before is not None and after is not None:
        names = [*after, *(name for name in before if name not in after)]
        changed = [
            ValueChange(name, display_value(before.get(name)), display_value(after.get(name)))
            for name in names
            if before.get(name) != after.get(name)
        ]
        return "changed", changed
    if after is not None:
        return "created", [ValueChange(name, None, display_value(after[name])) for name in after]
    if before is not None:
        return "removed", [ValueChange(name, display_value(before[name]), None) for name in before]
    return "none", []


def _row(record: AuditRecord) -> RecordRow:
    kind, values = describe_values(record.before, record.after)
    if kind == "created" and record.outcome == "rejected":
        # The values of a rejected change were proposed, never stored.
        kind = "proposed"
    return RecordRow(
        id=record.id,
        occurred_at=record.occurred_at,
        actor_type=record.actor_type,
        actor=record.actor,
        client_address=record.client_address,
        action=record.action,
        target=record.target,
        outcome=record.outcome,
        detail=record.detail,
        kind=kind,
        values=values,
    )


def _whole_number(raw: str, name: str, low: int, high: int) -> tuple[int | None, str | None]:
    text = raw.strip()
    if not text:
        return None, None
    if text.isascii() and text.isdigit() and len(text) <= 10 and low <= int(text) <= high:
        return int(text), None
    return None, f"{name} {raw!r} is not a whole number from {low} to {high}; remove it or fix it."


def parse_query(request: Request) -> tuple[AuditQuery, list[str]]:
    """Read the filters and the page position; every problem comes back as a sentence."""
    params = request.query_params
    problems: list[str] = []
    action = params.get("action", "").strip()
    actor = params.get("actor", "").strip()
    for name, value in (("Action", action), ("Actor", actor)):
        if len(value) > MAX_FILTER_LENGTH:
            problems.append(
                f"{name} has {len(value)} characters; no record has more than {MAX_FILTER_LENGTH}."
            )
    action_problem = audit.action_problem(action) if action else None
    if action_problem is not None and len(action) <= MAX_FILTER_LENGTH:
        problems.append(action_problem)
        action = ""
    elif action and action_problem is None:
        known_action = audit.find_action(action)
        assert known_action is not None
        action = known_action.value
    before, before_problem = _whole_number(params.get("before", ""), "before", 1, 2**31 - 1)
    limit, limit_problem = _whole_number(params.get("limit", ""), "limit", 1, MAX_PAGE_SIZE)
    problems.extend(problem for problem in (before_problem, limit_problem) if problem)
    query = AuditQuery(action, actor, before, limit or DEFAULT_PAGE_SIZE)
    return query, problems


def _read_page(
    request: Request, visit: AdminVisit, query: AuditQuery, valid: bool
) -> dict[str, Any]:
    context = get_context(request)
    with context.database.read() as session:
        environment = environments.get_environment(session, visit.environment.name)
        records = (
            audit.list_records(
                session,
                environment,
                limit=query.limit + 1,
                before_id=query.before,
                action=query.action or None,
                actor=query.actor or None,
            )
            if valid
            else []
        )
        actions = audit.list_actions(session, environment)
        actors = audit.list_actors(session, environment)
    page = records[: query.limit]
    next_before = page[-1].id if len(records) > query.limit else None
    return {
        "records": [_row(record) for record in page],
        "actions": actions,
        "actors": actors,
        "older_link": query.link(next_before) if next_before is not None else None,
        "newest_link": query.link(None) if query.before is not None else None,
    }


@router.get("/{environment_name}/AdminPage/AuditLog")
def audit_log(request: Request, environment_name: str) -> Response:
    visit = admin_visit(request, environment_name)
    if isinstance(visit, Response):
        return visit
    query, problems = parse_query(request)
    values = _read_page(request, visit, query, valid=not problems)
    values.update({"query": query, "problems": problems, "default_page_size": DEFAULT_PAGE_SIZE})
    return render_admin(
        request,
        visit,
        "admin/audit_log.html",
        "Audit log",
        values,
        status_code=400 if problems else 200,
    )
