"""Audit records: who changed what, when and from where, secret-free by construction."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.orm import Session

from hatchway.db.models import AuditRecord, Environment
from hatchway.db.types import unstorable_character
from hatchway.errors import ValidationFailed
from hatchway.security.redaction import redact


class ActorType(enum.StrEnum):
    PROVISIONING_KEY = "ProvisioningKey"
    ADMINISTRATOR = "Administrator"
    USER = "User"
    EMERGENCY_SESSION = "EmergencySession"
    COMMAND_LINE = "CommandLine"
    SYSTEM = "System"
    ANONYMOUS = "Anonymous"


@dataclass(frozen=True)
class Actor:
    """Who acts: the kind of actor, a name (never a secret) and the client address."""

    type: ActorType
    name: str
    client_address: str | None = None


SYSTEM_ACTOR = Actor(ActorType.SYSTEM, "hatchway")


class AuditAction(enum.StrEnum):
    """The kind of change an audit record describes; also the values of the `action` filter."""

    EMERGENCY_DELIVERY = "emergency.delivery"
    EMERGENCY_REDEEM = "emergency.redeem"
    EMERGENCY_REQUEST = "emergency.request"
    ENVIRONMENT_ACTIVATE = "environment.activate"
    ENVIRONMENT_CREATE = "environment.create"
    ENVIRONMENT_DEACTIVATE = "environment.deactivate"
    ENVIRONMENT_DELETE = "environment.delete"
    KEYS_ROTATE = "keys.rotate"
    MAIL_DELIVERY = "mail.delivery"
    PROVISIONING_KEY_ROTATE = "provisioning_key.rotate"
    RATE_LIMIT_CLEAR = "rate_limit.clear"
    SSO_DISABLE = "sso.disable"
    SSO_KEY_EXPIRY_NOTICE = "sso.key_expiry_notice"
    SSO_RESTORE = "sso.restore"
    SSO_TEST_SIGN_IN = "sso.test_sign_in"
    SSO_UPDATE = "sso.update"
    USER_CREATE = "user.create"
    USER_DELETE = "user.delete"
    USER_UPDATE = "user.update"


# Actions of the instance itself, recorded without an environment.
INSTANCE_ACTIONS = frozenset(
    {AuditAction.KEYS_ROTATE, AuditAction.PROVISIONING_KEY_ROTATE, AuditAction.RATE_LIMIT_CLEAR}
)
ENVIRONMENT_ACTIONS = frozenset(AuditAction) - INSTANCE_ACTIONS


def record(
    session: Session,
    actor: Actor,
    action: AuditAction,
    target: str,
    *,
    now: datetime,
    environment: Environment | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    outcome: str = "success",
    detail: str | None = None,
) -> AuditRecord:
    """Add an audit record to the session's transaction; values pass through `redact`."""
    entry = AuditRecord(
        **_columns(actor, action, target, now, environment, before, after, outcome, detail)
    )
    session.add(entry)
    return entry


_INSERT = insert(AuditRecord.__table__)  # type: ignore[arg-type]


def insert_record(
    connection: Connection,
    actor: Actor,
    action: AuditAction,
    target: str,
    *,
    now: datetime,
    environment: Environment | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    outcome: str = "success",
    detail: str | None = None,
) -> None:
    """Write an audit record in a Core connection's transaction, the same row as `record`."""
    connection.execute(
        _INSERT, _columns(actor, action, target, now, environment, before, after, outcome, detail)
    )


def _columns(
    actor: Actor,
    action: AuditAction,
    target: str,
    now: datetime,
    environment: Environment | None,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    outcome: str,
    detail: str | None,
) -> dict[str, Any]:
    return {
        "occurred_at": now,
        "environment_id": environment.id if environment is not None else None,
        "environment_name": environment.name if environment is not None else None,
        "actor_type": actor.type.value,
        "actor": actor.name,
        "client_address": actor.client_address,
        "action": action,
        "target": target,
        "outcome": outcome,
        "before": redact(before) if before is not None else None,
        "after": redact(after) if after is not None else None,
        "detail": detail,
    }


def list_records(
    session: Session,
    environment: Environment | None,
    *,
    limit: int = 50,
    before_id: int | None = None,
    action: str | None = None,
    actor: str | None = None,
) -> list[AuditRecord]:
    """Return an environment's records, newest first, `limit` at a time below `before_id`.

    With `environment` None, return the instance's own records, such as key rotations.
    """
    if any(value and unstorable_character(value) for value in (action, actor)):
        # No record can hold such a character, and PostgreSQL rejects it in a query.
        return []
    if environment is None:
        query = select(AuditRecord).where(AuditRecord.environment_id.is_(None))
    else:
        query = select(AuditRecord).where(AuditRecord.environment_id == environment.id)
    if before_id is not None:
        query = query.where(AuditRecord.id < before_id)
    if action:
        query = query.where(AuditRecord.action == action)
    if actor:
        query = query.where(AuditRecord.actor == actor)
    return list(session.scalars(query.order_by(AuditRecord.id.desc()).limit(limit)))


def find_action(name: str) -> AuditAction | None:
    """Return the audit action named `name` in any letter case, or None."""
    try:
        return AuditAction(name.strip().lower())
    except ValueError:
        return None


def action_problem(name: str, *, instance: bool = False) -> str | None:
    """Return why `name` is no action of an environment's (or the instance's) audit log."""
    action = find_action(name)
    allowed = INSTANCE_ACTIONS if instance else ENVIRONMENT_ACTIONS
    if action is not None and action in allowed:
        return None
    known = ", ".join(sorted(allowed))
    if action is not None and not instance:
        return (
            f"Action {name!r} is recorded for the instance, not for an environment; run "
            f"'hatchway instance-audit' on the server's host, or use one of {known}."
        )
    if action is not None:
        return f"Action {name!r} is recorded for environments; use one of {known}."
    return f"Action {name!r} is not an audit action; use one of {known}."


def get_action(name: str) -> AuditAction:
    """Return the environment audit action named `name`, or raise ValidationFailed."""
    problem = action_problem(name)
    if problem is not None:
        raise ValidationFailed.single("action", problem)
    action = find_action(name)
    assert action is not None
    return action


def list_actions(session: Session, environment: Environment) -> list[str]:
    """Return the distinct actions recorded for an environment, sorted."""
    query = (
        select(AuditRecord.action)
        .where(AuditRecord.environment_id == environment.id)
        .distinct()
        .order_by(AuditRecord.action)
    )
    return list(session.scalars(query))


def list_actors(session: Session, environment: Environment, *, limit: int = 100) -> list[str]:
    """Return up to `limit` distinct actor names recorded for an environment, sorted."""
    query = (
        select(AuditRecord.actor)
        .where(AuditRecord.environment_id == environment.id)
        .distinct()
        .order_by(AuditRecord.actor)
        .limit(limit)
    )
    return list(session.scalars(query))
