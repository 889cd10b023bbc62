"""Provisioning API route for an environment's audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from hatchway.audit import service
from hatchway.context import AppContext, context_dependency
from hatchway.db.models import AuditRecord
from hatchway.environments import service as environments
from hatchway.provisioning.auth import require_provisioning_key
from hatchway.provisioning.models import ResponseBody
from hatchway.provisioning.responses import ERRORS

Context = Annotated[AppContext, Depends(context_dependency)]

MAX_PAGE_SIZE = 500

router = APIRouter(dependencies=[Depends(require_provisioning_key)], responses=ERRORS)


class AuditRecordOut(ResponseBody):
    id: int
    occurred_on: datetime
    actor_type: str = Field(
        description="ProvisioningKey, Administrator, User, EmergencySession, CommandLine, System."
    )
    actor: str
    client_address: str | None
    action: str = Field(examples=["sso.update", "sso.restore", "user.create"])
    target: str
    outcome: str = Field(description="success, or rejected for a change that was not saved.")
    before: dict[str, Any] | None = Field(description="Values before the change, secret-free.")
    after: dict[str, Any] | None = Field(description="Values after the change, secret-free.")
    detail: str | None

    @classmethod
    def of(cls, record: AuditRecord) -> AuditRecordOut:
        return cls(
            id=record.id,
            occurred_on=record.occurred_at,
            actor_type=record.actor_type,
            actor=record.actor,
            client_address=record.client_address,
            action=record.action,
            target=record.target,
            outcome=record.outcome,
            before=record.before,
            after=record.after,
            detail=record.detail,
        )


class AuditPageOut(ResponseBody):
    records: list[AuditRecordOut] = Field(description="Newest first.")
    next_before: int | None = Field(
        description="Pass as `before` to read the next, older page; null on the last page."
    )


@router.get(
    "/{EnvironmentName}/AuditLog",
    summary="Page through who changed what, when and from where",
    description=(
        "Records are newest first, `limit` at a time. Each holds the actor, the client address, "
        "the action, its target and the values before and after, with every secret redacted "
        "(a Key shows only as KeyFingerprint). Filter by `action` (one of "
        + ", ".join(sorted(service.ENVIRONMENT_ACTIONS))
        + ", in any letter case; another value is rejected with 400) or by exact `actor`."
    ),
)
def list_audit_records(
    context: Context,
    EnvironmentName: str,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Records per page.")] = 50,
    before: Annotated[
        int | None, Query(ge=1, description="Only records with a smaller Id (from NextBefore).")
    ] = None,
    action: Annotated[str | None, Query(description="Only this action, e.g. sso.update.")] = None,
    actor: Annotated[str | None, Query(description="Only this actor name.")] = None,
) -> AuditPageOut:
    with context.database.read() as session:
        environment = environments.get_environment(session, EnvironmentName)
        records = service.list_records(
            session,
            environment,
            limit=limit + 1,
            before_id=before,
            action=service.get_action(action) if action else None,
            actor=actor,
        )
    page = records[:limit]
    next_before = page[-1].id if len(records) > limit else None
    return AuditPageOut(records=[AuditRecordOut.of(r) for r in page], next_before=next_before)
