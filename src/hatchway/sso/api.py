"""Provisioning API routes for an environment's single sign-on settings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Response
from pydantic import Field

from hatchway.audit.service import Actor
from hatchway.context import AppContext, get_context
from hatchway.db.models import Environment, SsoSettings
from hatchway.environments import service as environments
from hatchway.errors import ValidationResult
from hatchway.provisioning.auth import require_provisioning_key
from hatchway.provisioning.models import RequestBody, ResponseBody, ValidationResultBody
from hatchway.provisioning.responses import ERRORS
from hatchway.sso import service
from hatchway.sso.service import OAuth2Input

ProvisioningActor = Annotated[Actor, Depends(require_provisioning_key)]
Context = Annotated[AppContext, Depends(get_context)]
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description="The ETag from a GET; a stale one gets 412 and changes nothing.",
    ),
]

router = APIRouter(dependencies=[Depends(require_provisioning_key)], responses=ERRORS)

PRECONDITION: dict[int | str, dict[str, Any]] = {
    412: {"description": "If-Match no longer matches the current version."}
}


class OAuth2Body(RequestBody):
    authority: str | None = Field(
        default=None, examples=["https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0"]
    )
    client_id: str | None = Field(default=None, examples=["00000000-0000-0000-0000-000000000000"])
    key: str | None = Field(
        default=None,
        description="The client secret's Value. Leave it out to keep the stored Key.",
        json_schema_extra={"format": "password", "writeOnly": True},
    )
    key_expires_on: date | None = Field(
        default=None, description="When the client secret expires (YYYY-MM-DD)."
    )

    def change(self) -> OAuth2Input:
        return OAuth2Input(
            authority=self.authority,
            client_id=self.client_id,
            key=self.key,
            key_expires_on=self.key_expires_on,
        )


class SsoSettingsOut(ResponseBody):
    mode: str
    authority: str | None
    client_id: str | None
    key_set: bool
    key_updated_on: datetime | None
    key_expires_on: date | None
    key_days_left: int | None
    version: int
    updated_on: datetime
    last_known_good_version: int | None
    redirect_uri: str


class SsoSettingsChangeOut(SsoSettingsOut):
    changed: bool = Field(description="False when the values sent equal the stored ones.")
    notices: list[ValidationResultBody] = Field(
        default_factory=list, description="What was adjusted, such as whitespace trimmed."
    )


def _view(context: AppContext, settings: SsoSettings, environment: Environment) -> dict[str, Any]:
    today = context.now().date()
    return service.settings_view(settings, environment, context.settings.public_url, today)


def _notices(items: tuple[ValidationResult, ...]) -> list[ValidationResultBody]:
    return [
        ValidationResultBody(MemberNames=list(item.member_names), ErrorMessage=item.message)
        for item in items
    ]


@router.get(
    "/{EnvironmentName}/SingleSignOnSettings",
    summary="Show the SSO settings (the Key only as KeySet)",
    description="The ETag header carries the version, for If-Match on a later change.",
)
def show_settings(context: Context, response: Response, EnvironmentName: str) -> SsoSettingsOut:
    with context.database.read() as session:
        environment = environments.get_environment(session, EnvironmentName)
        settings = service.get_settings(session, environment)
        response.headers["ETag"] = service.etag(settings)
        return SsoSettingsOut.model_validate(_view(context, settings, environment))


@router.put(
    "/{EnvironmentName}/SingleSignOnSettings/OAuth2",
    summary="Set Authority, ClientId and Key and switch to OpenID Connect sign-in",
    responses=PRECONDITION,
)
def put_oauth2(
    context: Context,
    actor: ProvisioningActor,
    response: Response,
    EnvironmentName: str,
    body: Annotated[OAuth2Body, Body()],
    if_match: IfMatch = None,
) -> SsoSettingsChangeOut:
    now = context.now()
    with context.database.read() as session:
        environment = environments.get_environment(session, EnvironmentName)
        stored = service.get_settings(session, environment)
        values = service.check_oauth2_input(
            body.change(), stored, allow_loopback_http=context.settings.insecure_loopback_idp
        )
    with context.database.write() as session:
        environment = environments.get_environment(session, EnvironmentName)
        settings, changed = service.save_oauth2(
            session,
            environment,
            values,
            keyring=context.keyring,
            actor=actor,
            now=now,
            if_match=if_match,
        )
        response.headers["ETag"] = service.etag(settings)
        view = _view(context, settings, environment)
        return SsoSettingsChangeOut.model_validate(
            {**view, "Changed": changed, "Notices": _notices(values.notices)}
        )


@router.delete(
    "/{EnvironmentName}/SingleSignOnSettings/OAuth2",
    summary="Switch back to mode None (local sign-in)",
    description="The previous values stay in the version history.",
    responses=PRECONDITION,
)
def delete_oauth2(
    context: Context,
    actor: ProvisioningActor,
    response: Response,
    EnvironmentName: str,
    if_match: IfMatch = None,
) -> SsoSettingsOut:
    with context.database.write() as session:
        environment = environments.get_environment(session, EnvironmentName)
        settings = service.disable_oauth2(
            session, environment, actor=actor, now=context.now(), if_match=if_match
        )
        response.headers["ETag"] = service.etag(settings)
        return SsoSettingsOut.model_validate(_view(context, settings, environment))
