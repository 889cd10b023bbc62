"""Environments and their users: the rules and transactions behind the Provisioning API."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hatchway.audit import service as audit
from hatchway.audit.service import Actor
from hatchway.db.engine import is_unique_violation
from hatchway.db.models import Environment, SessionRecord, SsoSettings, User
from hatchway.db.types import unstorable_character
from hatchway.environments.names import environment_name_problem, sanitize_environment_name
from hatchway.environments.passwords import hash_password, password_problem
from hatchway.errors import NotFound, ValidationFailed, ValidationResult

logger = logging.getLogger(__name__)

MAX_NAME_PART_LENGTH = 200
MAX_EMAIL_LENGTH = 320
# User ids are 32-bit integer columns on PostgreSQL, so a larger id cannot exist. SQLite raises
# OverflowError on integers beyond 64 bits, so such ids get NotFound before any query runs.
MAX_USER_ID = 2**31 - 1
_EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$|^[^@\s]+@[^@\s.]+$")


@dataclass(frozen=True)
class UserInput:
    """The fields of a user as the Provisioning API receives them; None means 'not sent'."""

    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    password: str | None = None
    is_administrator: bool | None = None
    is_active: bool | None = None


def email_key(email: str) -> str:
    """Return the form users are matched on: trimmed and case-folded."""
    return email.strip().casefold()


def _email_problem(email: str) -> str | None:
    if not email.strip():
        return "EmailAddress is empty; send the user's e-mail address."
    if problem := unstorable_character(email):
        return f"EmailAddress {problem}."
    if len(email) > MAX_EMAIL_LENGTH:
        return f"EmailAddress has {len(email)} characters; use at most {MAX_EMAIL_LENGTH}."
    if not _EMAIL_PATTERN.match(email.strip()):
        return f"EmailAddress {email!r} is not an e-mail address; use the form 'name@example.com'."
    return None


def _check_user_fields(
    fields: UserInput, *, require_password: bool, creating: bool, current_email: str | None = None
) -> list[ValidationResult]:
    """Check the fields that were sent; `current_email` is the stored address of an update."""
    results: list[ValidationResult] = []
    if creating and fields.email is None:
        results.append(
            ValidationResult(("EmailAddress",), "EmailAddress is missing; send the e-mail address.")
        )
    elif fields.email is not None and (problem := _email_problem(fields.email)):
        results.append(ValidationResult(("EmailAddress",), problem))

    for member, value in (("FirstName", fields.first_name), ("LastName", fields.last_name)):
        if value is not None and (problem := unstorable_character(value)):
            results.append(ValidationResult((member,), f"{member} {problem}."))
        elif value is not None and len(value) > MAX_NAME_PART_LENGTH:
            results.append(
                ValidationResult(
                    (member,),
                    f"{member} has {len(value)} characters; use at most {MAX_NAME_PART_LENGTH}.",
                )
            )

    if fields.password is None:
        if require_password:
            results.append(
                ValidationResult(
                    ("Password",),
                    "Password is missing; send one, or create the environment with "
                    "'?version=2.0' to have a temporary password e-mailed.",
                )
            )
    elif problem := password_problem(fields.password, fields.email or current_email):
        results.append(ValidationResult(("Password",), problem))
    return results


def _flush_unique(session: Session, member: str, message: str) -> None:
    """Flush pending rows; a unique value that a concurrent transaction took first becomes a 400.

    The checks before an insert cannot see rows that another transaction has not committed yet.
    On PostgreSQL two requests for one name can therefore both pass them, and the later one
    fails here.
    """
    try:
        session.flush()
    except IntegrityError as error:
        if not is_unique_violation(error):
            raise
        raise ValidationFailed.single(member, message) from None


# Environments


def find_environment(session: Session, name: str) -> Environment | None:
    """Find an environment by name as it appears in a URL (case does not matter)."""
    key = name.lower()
    if not (key.isascii() and key.isalnum()):
        # Stored names are sanitized to ASCII letters and digits, so nothing else can match,
        # and PostgreSQL refuses to compare text that contains NUL.
        return None
    return session.scalar(select(Environment).where(Environment.name == key))


def get_environment(session: Session, name: str) -> Environment:
    environment = find_environment(session, name)
    if environment is not None:
        return environment
    sanitized = sanitize_environment_name(name)
    if sanitized != name.lower() and find_environment(session, sanitized) is not None:
        raise NotFound(
            "Environment",
            name,
            f"Environment names are reduced to lower-case letters and digits: use '{sanitized}'.",
        )
    raise NotFound("Environment", name)


def list_environments(session: Session) -> list[Environment]:
    return list(session.scalars(select(Environment).order_by(Environment.name)))


def check_new_environment(
    session: Session, raw_name: str | None, admin: UserInput | None, *, require_password: bool
) -> tuple[str, list[ValidationResult]]:
    """Return the sanitized name and every problem with a create request, creating nothing."""
    results: list[ValidationResult] = []
    raw = raw_name if raw_name is not None else ""
    name = sanitize_environment_name(raw)
    if raw_name is None:
        results.append(
            ValidationResult(
                ("EnvironmentName",), "EnvironmentName is missing; send a name such as 'contoso'."
            )
        )
    elif problem := environment_name_problem(raw, name):
        results.append(ValidationResult(("EnvironmentName",), problem))
    elif find_environment(session, name) is not None:
        results.append(ValidationResult(("EnvironmentName",), _environment_exists_message(name)))
    if admin is not None:
        results.extend(_check_user_fields(admin, require_password=require_password, creating=True))
    return name, results


def _environment_exists_message(name: str) -> str:
    return f"Environment '{name}' already exists; choose another name or manage the existing one."


def create_environment(
    session: Session,
    raw_name: str | None,
    admin: UserInput | None,
    *,
    actor: Actor,
    now: datetime,
    require_password: bool = True,
) -> tuple[Environment, User | None]:
    """Create an environment, its SSO settings in mode None and, if given, its administrator."""
    name, results = check_new_environment(
        session, raw_name, admin, require_password=require_password
    )
    if results:
        raise ValidationFailed(results)

    environment = Environment(name=name, is_active=True, created_at=now, updated_at=now)
    session.add(environment)
    _flush_unique(session, "EnvironmentName", _environment_exists_message(name))
    session.add(SsoSettings(environment_id=environment.id, mode="None", version=0, updated_at=now))
    audit.record(
        session, actor, audit.AuditAction.ENVIRONMENT_CREATE, name, now=now, environment=environment
    )

    user = None
    if admin is not None:
        user = _insert_user(session, environment, admin, is_administrator=True, now=now)
        audit.record(
            session,
            actor,
            audit.AuditAction.USER_CREATE,
            user.email,
            now=now,
            environment=environment,
            after=user_audit_view(user),
        )
    logger.info("environment.created environment=%s", name)
    return environment, user


def set_environment_active(
    session: Session, environment: Environment, active: bool, *, actor: Actor, now: datetime
) -> None:
    """Activate or deactivate; deactivation ends every session of the environment."""
    before = environment.is_active
    environment.is_active = active
    environment.updated_at = now
    if not active:
        _end_sessions(session, environment.id, None, now)
    action = (
        audit.AuditAction.ENVIRONMENT_ACTIVATE
        if active
        else audit.AuditAction.ENVIRONMENT_DEACTIVATE
    )
    audit.record(
        session,
        actor,
        action,
        environment.name,
        now=now,
        environment=environment,
        before={"IsActive": before},
        after={"IsActive": active},
    )
    logger.info("%s environment=%s", action, environment.name)


def delete_environment(
    session: Session, environment: Environment, *, actor: Actor, now: datetime
) -> None:
    audit.record(
        session,
        actor,
        audit.AuditAction.ENVIRONMENT_DELETE,
        environment.name,
        now=now,
        environment=None,
    )
    session.delete(environment)
    logger.info("environment.deleted environment=%s", environment.name)


def _end_sessions(
    session: Session, environment_id: int, user_id: int | None, now: datetime
) -> None:
    query = select(SessionRecord).where(
        SessionRecord.environment_id == environment_id, SessionRecord.ended_at.is_(None)
    )
    if user_id is not None:
        query = query.where(SessionRecord.user_id == user_id)
    for record in session.scalars(query):
        record.ended_at = now


# Users


def user_audit_view(user: User) -> dict[str, object]:
    return {
        "EmailAddress": user.email,
        "FirstName": user.first_name,
        "LastName": user.last_name,
        "IsAdministrator": user.is_administrator,
        "IsActive": user.is_active,
        "PasswordSet": user.password_hash is not None,
    }


def find_user_by_email(session: Session, environment: Environment, email: str) -> User | None:
    if unstorable_character(email):
        return None
    return session.scalar(
        select(User).where(
            User.environment_id == environment.id, User.email_key == email_key(email)
        )
    )


def get_user(session: Session, environment: Environment, user_id: int) -> User:
    if not 1 <= user_id <= MAX_USER_ID:
        raise NotFound("User", str(user_id))
    user = session.scalar(
        select(User).where(User.environment_id == environment.id, User.id == user_id)
    )
    if user is None:
        raise NotFound("User", str(user_id))
    return user


def get_user_by_email(session: Session, environment: Environment, email: str) -> User:
    user = find_user_by_email(session, environment, email)
    if user is None:
        raise NotFound("User", email)
    return user


def list_users(session: Session, environment: Environment) -> list[User]:
    return list(
        session.scalars(select(User).where(User.environment_id == environment.id).order_by(User.id))
    )


def count_users(session: Session, environment: Environment) -> int:
    count = session.scalar(select(func.count(User.id)).where(User.environment_id == environment.id))
    return int(count or 0)


def search_users(
    session: Session, environment: Environment, term: str, *, limit: int
) -> tuple[list[User], int]:
    """Return up to `limit` users whose e-mail address or name contains `term`, and the count.

    Matching ignores case; an empty term matches every user. Users come in id order.

    NOTE: SQLite's lower() folds only ASCII letters, so there a name search for 'é' misses 'É';
    PostgreSQL folds every letter.
    """
    query = select(User).where(User.environment_id == environment.id)
    needle = term.strip()
    if unstorable_character(needle):
        # No stored name or address can contain such a character.
        return [], 0
    if needle:
        full_name = func.lower(User.first_name + " " + User.last_name)
        query = query.where(
            User.email_key.contains(email_key(needle), autoescape=True)
            | full_name.contains(needle.lower(), autoescape=True)
        )
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    users = list(session.scalars(query.order_by(User.id).limit(limit)))
    return users, int(total or 0)


def check_new_user(
    session: Session, environment: Environment, fields: UserInput
) -> list[ValidationResult]:
    results = _check_user_fields(fields, require_password=False, creating=True)
    if (
        fields.email is not None
        and not results
        and find_user_by_email(session, environment, fields.email)
    ):
        results.append(
            ValidationResult(("EmailAddress",), _user_exists_message(environment, fields.email))
        )
    return results


def _user_exists_message(environment: Environment, email: str) -> str:
    return (
        f"A user with EmailAddress {email.strip()!r} already exists in environment "
        f"'{environment.name}'; update that user instead."
    )


def _insert_user(
    session: Session,
    environment: Environment,
    fields: UserInput,
    *,
    is_administrator: bool,
    now: datetime,
    password_is_temporary: bool = False,
) -> User:
    assert fields.email is not None
    user = User(
        environment_id=environment.id,
        email=fields.email.strip(),
        email_key=email_key(fields.email),
        first_name=(fields.first_name or "").strip(),
        last_name=(fields.last_name or "").strip(),
        password_hash=hash_password(fields.password) if fields.password else None,
        password_is_temporary=password_is_temporary,
        is_administrator=is_administrator,
        is_active=True if fields.is_active is None else fields.is_active,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    _flush_unique(session, "EmailAddress", _user_exists_message(environment, fields.email))
    return user


def create_user(
    session: Session,
    environment: Environment,
    fields: UserInput,
    *,
    actor: Actor,
    now: datetime,
    password_is_temporary: bool = False,
) -> User:
    results = check_new_user(session, environment, fields)
    if results:
        raise ValidationFailed(results)
    user = _insert_user(
        session,
        environment,
        fields,
        is_administrator=bool(fields.is_administrator),
        now=now,
        password_is_temporary=password_is_temporary,
    )
    audit.record(
        session,
        actor,
        audit.AuditAction.USER_CREATE,
        user.email,
        now=now,
        environment=environment,
        after=user_audit_view(user),
    )
    return user


def active_administrator_count(session: Session, environment: Environment) -> int:
    count = session.scalar(
        select(func.count(User.id)).where(
            User.environment_id == environment.id,
            User.is_administrator.is_(True),
            User.is_active.is_(True),
        )
    )
    return int(count or 0)


def active_administrators_with_password(session: Session, environment: Environment) -> int:
    """Count the active administrators who can sign in with the local form in every mode."""
    count = session.scalar(
        select(func.count(User.id)).where(
            User.environment_id == environment.id,
            User.is_administrator.is_(True),
            User.is_active.is_(True),
            User.password_hash.is_not(None),
        )
    )
    return int(count or 0)


class LastAdministratorRejected(ValidationFailed):
    """Rejection of a change that would leave an environment without an active administrator."""

    def __init__(
        self,
        environment: Environment,
        user: User,
        action: audit.AuditAction,
        members: tuple[str, ...],
    ) -> None:
        super().__init__(
            [
                ValidationResult(
                    members,
                    f"User {user.email!r} is the last active administrator of environment "
                    f"'{environment.name}'; make another user an administrator first, so that "
                    "someone can still manage the environment.",
                )
            ]
        )
        self.environment_id = environment.id
        self.user_email = user.email
        self.action = action
        self.members = members


def record_last_administrator_rejection(
    session: Session, rejected: LastAdministratorRejected, *, actor: Actor, now: datetime
) -> None:
    """Add an audit record of a rejected change; the caller opens a new transaction for it,
    because the rejected change rolled back."""
    environment = session.get(Environment, rejected.environment_id)
    audit.record(
        session,
        actor,
        rejected.action,
        rejected.user_email,
        now=now,
        environment=environment,
        outcome="rejected",
        detail=(
            "not changed: the last active administrator"
            + (f" ({', '.join(rejected.members)})" if rejected.members else "")
        ),
    )
    logger.info(
        "user.change_rejected environment=%s action=%s reason=last_administrator",
        environment.name if environment is not None else rejected.environment_id,
        rejected.action.value,
    )


def _guard_last_administrator(
    session: Session,
    environment: Environment,
    user: User,
    action: audit.AuditAction,
    members: tuple[str, ...],
) -> None:
    if not (user.is_administrator and user.is_active):
        return
    # Two administrators demoting each other at once must not both see the other still counted:
    # the environment's row lock serializes such changes on PostgreSQL (SQLite writes serialize).
    session.execute(
        select(Environment.id).where(Environment.id == environment.id).with_for_update()
    )
    if active_administrator_count(session, environment) <= 1:
        raise LastAdministratorRejected(environment, user, action, members)


def update_user(
    session: Session,
    environment: Environment,
    user: User,
    fields: UserInput,
    *,
    actor: Actor,
    now: datetime,
) -> User:
    """Change the fields that were sent; the last active administrator cannot lose that role."""
    results = _check_user_fields(
        fields, require_password=False, creating=False, current_email=user.email
    )
    if fields.email is not None and not results:
        other = find_user_by_email(session, environment, fields.email)
        if other is not None and other.id != user.id:
            results.append(
                ValidationResult(
                    ("EmailAddress",),
                    f"Another user already has EmailAddress {fields.email.strip()!r}.",
                )
            )
    if results:
        raise ValidationFailed(results)
    if fields.is_administrator is False or fields.is_active is False:
        members = tuple(
            member
            for member, value in (
                ("IsAdministrator", fields.is_administrator),
                ("IsActive", fields.is_active),
            )
            if value is False
        )
        _guard_last_administrator(
            session, environment, user, audit.AuditAction.USER_UPDATE, members
        )

    before = user_audit_view(user)
    _apply_user_fields(user, fields)
    user.updated_at = now
    if fields.email is not None:
        _flush_unique(
            session, "EmailAddress", f"Another user already has EmailAddress {user.email!r}."
        )
    if fields.is_active is False or fields.password is not None:
        _end_sessions(session, environment.id, user.id, now)
    after = user_audit_view(user)
    if after == before and fields.password is None:
        # Nothing changed (every field sent had its stored value), so there is nothing to audit.
        return user
    audit.record(
        session,
        actor,
        audit.AuditAction.USER_UPDATE,
        user.email,
        now=now,
        environment=environment,
        before=before,
        after=after,
    )
    return user


def _apply_user_fields(user: User, fields: UserInput) -> None:
    if fields.email is not None:
        user.email = fields.email.strip()
        user.email_key = email_key(fields.email)
    if fields.first_name is not None:
        user.first_name = fields.first_name.strip()
    if fields.last_name is not None:
        user.last_name = fields.last_name.strip()
    if fields.password is not None:
        user.password_hash = hash_password(fields.password)
        user.password_is_temporary = False
    if fields.is_administrator is not None:
        user.is_administrator = fields.is_administrator
    if fields.is_active is not None:
        user.is_active = fields.is_active


def delete_user(
    session: Session, environment: Environment, user: User, *, actor: Actor, now: datetime
) -> None:
    _guard_last_administrator(
        session, environment, user, audit.AuditAction.USER_DELETE, ("IsAdministrator",)
    )
    audit.record(
        session,
        actor,
        audit.AuditAction.USER_DELETE,
        user.email,
        now=now,
        environment=environment,
        before=user_audit_view(user),
    )
    session.delete(user)
