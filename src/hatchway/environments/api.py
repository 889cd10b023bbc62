"""Provisioning API routes for environments and users."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy.orm import Session

from hatchway.audit.service import Actor
from hatchway.context import AppContext, context_dependency
from hatchway.db.models import Environment, User
from hatchway.environments import service
from hatchway.environments.passwords import generate_temporary_password
from hatchway.environments.service import UserInput
from hatchway.errors import ValidationFailed, ValidationResult
from hatchway.mail import outbox
from hatchway.provisioning.auth import require_provisioning_key
from hatchway.provisioning.models import RequestBody, ResponseBody, ValidationResultBody
from hatchway.provisioning.responses import ERRORS

ProvisioningActor = Annotated[Actor, Depends(require_provisioning_key)]
Context = Annotated[AppContext, Depends(context_dependency)]
EnvironmentName = Annotated[str, Field(description="The environment's name, as in its URL.")]

router = APIRouter(dependencies=[Depends(require_provisioning_key)], responses=ERRORS)


class EnvironmentCreateBody(RequestBody):
    environment_name: str | None = Field(default=None, examples=["contoso"])
    email_address: str | None = Field(default=None, examples=["admin@contoso.com"])
    first_name: str | None = None
    last_name: str | None = None
    password: str | None = Field(default=None, json_schema_extra={"format": "password"})

    def administrator(self) -> UserInput:
        return UserInput(
            email=self.email_address,
            first_name=self.first_name,
            last_name=self.last_name,
            password=self.password,
            is_administrator=True,
        )


class UserBody(RequestBody):
    id: int | None = Field(default=None, description="Identifies the user in PUT or DELETE /User/.")
    email_address: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    password: str | None = Field(default=None, json_schema_extra={"format": "password"})
    is_administrator: bool | None = None
    is_active: bool | None = None

    def fields(self) -> UserInput:
        return UserInput(
            email=self.email_address,
            first_name=self.first_name,
            last_name=self.last_name,
            password=self.password,
            is_administrator=self.is_administrator,
            is_active=self.is_active,
        )


class EnvironmentOut(ResponseBody):
    environment_name: str
    is_active: bool
    created_on: datetime

    @classmethod
    def of(cls, environment: Environment) -> EnvironmentOut:
        return cls(
            environment_name=environment.name,
            is_active=environment.is_active,
            created_on=environment.created_at,
        )


class UserOut(ResponseBody):
    id: int
    email_address: str
    first_name: str
    last_name: str
    is_administrator: bool
    is_active: bool
    has_password: bool
    bound_to_identity_provider: bool
    created_on: datetime
    last_sign_in_on: datetime | None

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            email_address=user.email,
            first_name=user.first_name,
            last_name=user.last_name,
            is_administrator=user.is_administrator,
            is_active=user.is_active,
            has_password=user.password_hash is not None,
            bound_to_identity_provider=user.idp_subject is not None,
            created_on=user.created_at,
            last_sign_in_on=user.last_sign_in_at,
        )


OptionalBody = Annotated[UserBody | None, Body()]


def _temporary_password_mail(context: AppContext, environment: Environment, password: str) -> str:
    sign_in = context.settings.public_link(f"/{environment.name}/SignIn?local=1")
    return (
        f"An administrator account was created for you in the workspace environment "
        f"'{environment.name}'.\n\n"
        f"Sign in at {sign_in}\n"
        f"Temporary password: {password}\n\n"
        "You will be asked to choose a new password at the first sign-in.\n"
    )


# Environments


@router.get("/Environment", summary="List environments")
def list_environments(context: Context) -> list[EnvironmentOut]:
    with context.database.read() as session:
        return [EnvironmentOut.of(item) for item in service.list_environments(session)]


@router.post(
    "/Environment",
    summary="Create an environment with its administrator",
    description=(
        "Returns the sanitized environment name (lower-case letters and digits). Without "
        "`version=2.0` the body needs `Password`; with `version=2.0` the administrator gets a "
        "temporary password by e-mail and `Password` is ignored."
    ),
)
def create_environment(
    context: Context,
    actor: ProvisioningActor,
    body: Annotated[EnvironmentCreateBody, Body()],
    version: Annotated[str | None, Query(description="'2.0' mails a temporary password.")] = None,
) -> str:
    mail_password = version is not None and version.strip() == "2.0"
    admin = body.administrator()
    temporary = generate_temporary_password() if mail_password else None
    if temporary is not None:
        admin = UserInput(
            email=admin.email,
            first_name=admin.first_name,
            last_name=admin.last_name,
            password=temporary,
            is_administrator=True,
        )
    now = context.now()
    with context.database.write() as session:
        environment, user = service.create_environment(
            session,
            body.environment_name,
            admin,
            actor=actor,
            now=now,
        )
        if temporary is not None and user is not None:
            user.password_is_temporary = True
            outbox.enqueue(
                session,
                context.keyring,
                recipient=user.email,
                subject=f"Your administrator account for '{environment.name}'",
                body=_temporary_password_mail(context, environment, temporary),
                purpose="temporary-password",
                environment=environment,
                now=now,
            )
        return environment.name


@router.post(
    "/Environment/Validate",
    summary="Validate an environment create body without creating anything",
    response_model=list[ValidationResultBody],
)
def validate_environment(
    context: Context,
    body: Annotated[EnvironmentCreateBody, Body()],
    version: Annotated[str | None, Query()] = None,
) -> JSONResponse:
    require_password = not (version is not None and version.strip() == "2.0")
    with context.database.read() as session:
        _, results = service.check_new_environment(
            session, body.environment_name, body.administrator(), require_password=require_password
        )
    if results:
        raise ValidationFailed(results)
    return JSONResponse([])


@router.get("/Environment/{EnvironmentName}", summary="Show one environment")
def show_environment(context: Context, EnvironmentName: str) -> EnvironmentOut:
    with context.database.read() as session:
        return EnvironmentOut.of(service.get_environment(session, EnvironmentName))


@router.post(
    "/Environment/{EnvironmentName}",
    summary="Create an empty environment",
    description="Creates an environment without users. Returns the sanitized name.",
)
def create_empty_environment(
    context: Context, actor: ProvisioningActor, EnvironmentName: str
) -> str:
    with context.database.write() as session:
        environment, _ = service.create_environment(
            session, EnvironmentName, None, actor=actor, now=context.now()
        )
        return environment.name


def _set_active(context: AppContext, actor: Actor, name: str, active: bool) -> EnvironmentOut:
    with context.database.write() as session:
        environment = service.get_environment(session, name)
        service.set_environment_active(session, environment, active, actor=actor, now=context.now())
        return EnvironmentOut.of(environment)


@router.put("/Environment/{EnvironmentName}/Activate", summary="Activate an environment")
def activate_environment(
    context: Context, actor: ProvisioningActor, EnvironmentName: str
) -> EnvironmentOut:
    return _set_active(context, actor, EnvironmentName, True)


@router.put(
    "/Environment/{EnvironmentName}/Deactivate",
    summary="Deactivate an environment",
    description="Sign-in is refused and sessions end; data and the Provisioning API stay.",
)
def deactivate_environment(
    context: Context, actor: ProvisioningActor, EnvironmentName: str
) -> EnvironmentOut:
    return _set_active(context, actor, EnvironmentName, False)


@router.delete("/Environment/{EnvironmentName}", summary="Delete an environment and its users")
def delete_environment(
    context: Context, actor: ProvisioningActor, EnvironmentName: str
) -> EnvironmentOut:
    with context.database.write() as session:
        environment = service.get_environment(session, EnvironmentName)
        deleted = EnvironmentOut.of(environment)
        service.delete_environment(session, environment, actor=actor, now=context.now())
        return deleted


# Users


@router.post(
    "/{EnvironmentName}/User",
    summary="Create a user",
    description="Returns the new user's id.",
)
def create_user(
    context: Context,
    actor: ProvisioningActor,
    EnvironmentName: str,
    body: Annotated[UserBody, Body()],
) -> int:
    with context.database.write() as session:
        environment = service.get_environment(session, EnvironmentName)
        user = service.create_user(
            session, environment, body.fields(), actor=actor, now=context.now()
        )
        return user.id


@router.post(
    "/{EnvironmentName}/User/Validate",
    summary="Validate a user body without creating the user",
    response_model=list[ValidationResultBody],
)
def validate_user(
    context: Context, EnvironmentName: str, body: Annotated[UserBody, Body()]
) -> JSONResponse:
    with context.database.read() as session:
        environment = service.get_environment(session, EnvironmentName)
        results = service.check_new_user(session, environment, body.fields())
    if results:
        raise ValidationFailed(results)
    return JSONResponse([])


@router.get("/{EnvironmentName}/User", summary="List users")
def list_users(context: Context, EnvironmentName: str) -> list[UserOut]:
    with context.database.read() as session:
        environment = service.get_environment(session, EnvironmentName)
        return [UserOut.of(user) for user in service.list_users(session, environment)]


@router.get("/{EnvironmentName}/User/{Id}", summary="Show one user")
def show_user(context: Context, EnvironmentName: str, Id: int) -> UserOut:
    with context.database.read() as session:
        environment = service.get_environment(session, EnvironmentName)
        return UserOut.of(service.get_user(session, environment, Id))


def _identified_user(
    session: Session,
    environment: Environment,
    user_id: int | None,
    email: str | None,
) -> User:
    if user_id is not None:
        return service.get_user(session, environment, user_id)
    if email:
        return service.get_user_by_email(session, environment, email)
    raise ValidationFailed(
        [
            ValidationResult(
                ("Id", "EmailAddress"),
                "Say which user: put the id in the path (/User/{Id}/), or send Id or "
                "EmailAddress in the body.",
            )
        ]
    )


def _update(
    context: AppContext, actor: Actor, name: str, user_id: int | None, body: UserBody
) -> UserOut:
    with _audited_rejection(context, actor), context.database.write() as session:
        environment = service.get_environment(session, name)
        identified_by_email = user_id is None and body.id is None
        user = _identified_user(
            session,
            environment,
            user_id if user_id is not None else body.id,
            body.email_address if identified_by_email else None,
        )
        fields = body.fields()
        if identified_by_email:
            fields = UserInput(
                first_name=fields.first_name,
                last_name=fields.last_name,
                password=fields.password,
                is_administrator=fields.is_administrator,
                is_active=fields.is_active,
            )
        service.update_user(session, environment, user, fields, actor=actor, now=context.now())
        return UserOut.of(user)


@router.put(
    "/{EnvironmentName}/User",
    summary="Update a user named in the body",
    description="The body names the user by `Id` or, failing that, by `EmailAddress`.",
)
def update_user_from_body(
    context: Context,
    actor: ProvisioningActor,
    EnvironmentName: str,
    body: Annotated[UserBody, Body()],
) -> UserOut:
    return _update(context, actor, EnvironmentName, None, body)


@router.put("/{EnvironmentName}/User/{Id}", summary="Update a user")
def update_user(
    context: Context,
    actor: ProvisioningActor,
    EnvironmentName: str,
    Id: int,
    body: Annotated[UserBody, Body()],
) -> UserOut:
    return _update(context, actor, EnvironmentName, Id, body)


@contextmanager
def _audited_rejection(context: AppContext, actor: Actor) -> Iterator[None]:
    """Audit a rejected removal of the last administrator after its transaction rolled back."""
    try:
        yield
    except service.LastAdministratorRejected as rejected:
        with context.database.write() as session:
            service.record_last_administrator_rejection(
                session, rejected, actor=actor, now=context.now()
            )
        raise


def _delete(
    context: AppContext, actor: Actor, name: str, user_id: int | None, email: str | None
) -> UserOut:
    with _audited_rejection(context, actor), context.database.write() as session:
        environment = service.get_environment(session, name)
        user = _identified_user(session, environment, user_id, email)
        deleted = UserOut.of(user)
        service.delete_user(session, environment, user, actor=actor, now=context.now())
        return deleted


@router.delete(
    "/{EnvironmentName}/User",
    summary="Delete a user named in the body or query",
    description="Name the user by `Id` or `EmailAddress`, in the JSON body or the query string.",
)
def delete_user_from_body(
    context: Context,
    actor: ProvisioningActor,
    EnvironmentName: str,
    body: OptionalBody = None,
    Id: Annotated[int | None, Query()] = None,
    EmailAddress: Annotated[str | None, Query()] = None,
) -> UserOut:
    user_id = Id
    email = EmailAddress
    if body is not None:
        user_id = user_id if user_id is not None else body.id
        email = email if email is not None else body.email_address
    return _delete(context, actor, EnvironmentName, user_id, email)


@router.delete("/{EnvironmentName}/User/{Id}", summary="Delete a user")
def delete_user(
    context: Context, actor: ProvisioningActor, EnvironmentName: str, Id: int
) -> UserOut:
    return _delete(context, actor, EnvironmentName, Id, None)
