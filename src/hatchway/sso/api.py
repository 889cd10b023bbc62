"""Provisioning API routes for an environment's single sign-on settings."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, Query, Response
from pydantic import Field, field_validator
from starlette.concurrency import run_in_threadpool

from hatchway.audit.service import Actor
from hatchway.context import AppContext, context_dependency
from hatchway.environments import service as environments
from hatchway.errors import ValidationResult
from hatchway.provisioning.auth import require_provisioning_key
from hatchway.provisioning.models import (
    RequestBody,
    ResponseBody,
    ValidationResultBody,
    check_unknown_properties,
)
from hatchway.provisioning.responses import ERRORS
from hatchway.sso import history, operations, restore, service
from hatchway.sso.validation import OAuth2Input

ProvisioningActor = Annotated[Actor, Depends(require_provisioning_key)]
Context = Annotated[AppContext, Depends(context_dependency)]
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
        default=None,
        description=(
            "The identity provider's issuer URL. For Microsoft Entra ID any form is accepted "
            "(login.windows.net, pasted endpoint paths, national clouds) and saved as "
            "'https://<sign-in host>/<tenant>/v2.0'; the Notices say what changed."
        ),
        examples=["https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0"],
    )
    client_id: str | None = Field(
        default=None,
        description="The Application (client) ID; a GUID for Entra ID.",
        examples=["00000000-0000-0000-0000-000000000000"],
    )
    key: str | None = Field(
        default=None,
        description="The client secret's Value. Leave it out to keep the stored Key.",
        json_schema_extra={"format": "password", "writeOnly": True},
    )
    key_expires_on: date | None = Field(
        default=None,
        description=(
            "When the client secret expires: a date (YYYY-MM-DD) or an ISO 8601 date-time, "
            "whose UTC date is kept. GET shows it with the days left."
        ),
        examples=["2027-06-30"],
    )
    allowed_tenants: list[str] | None = Field(
        default=None,
        description=(
            "Directory (tenant) IDs whose accounts may sign in with a multi-tenant Authority "
            "('organizations' or 'common'); an empty list allows every tenant, and other "
            "Authorities ignore the list. Leave it out to keep the stored list."
        ),
    )
    skip_verification: bool = Field(
        default=False,
        description=(
            "Save even when verification fails, like '?verify=false'; the failed checks are "
            "returned as Warnings and the audit log records the skip."
        ),
    )

    @field_validator("key_expires_on", mode="before")
    @classmethod
    def _parse_expiry(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        return parse_expiry(value)

    def change(self) -> OAuth2Input:
        return OAuth2Input(
            authority=self.authority,
            client_id=self.client_id,
            key=self.key,
            key_expires_on=self.key_expires_on,
            allowed_tenants=tuple(self.allowed_tenants)
            if self.allowed_tenants is not None
            else None,
        )

    def is_empty(self) -> bool:
        return self.change() == OAuth2Input()


def parse_expiry(raw: str) -> date:
    """Read a date or an ISO 8601 date-time (its UTC date); raise ValueError naming the forms."""
    text = raw.strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{raw!r} is not a date; send a date such as '2027-06-30' or an ISO 8601 date-time "
            "such as '2027-06-30T23:59:59Z'"
        ) from None
    return moment.astimezone(UTC).date() if moment.tzinfo is not None else moment.date()


class SsoSettingsOut(ResponseBody):
    mode: str
    authority: str | None
    client_id: str | None
    key_set: bool
    key_updated_on: datetime | None
    key_expires_on: date | None
    key_days_left: int | None = Field(description="Days until KeyExpiresOn; negative once past.")
    allowed_tenants: list[str]
    version: int
    updated_on: datetime
    last_known_good_version: int | None = Field(
        description="The version that last produced a successful sign-in."
    )
    redirect_uri: str = Field(description="The exact redirect URI to register at the provider.")


class VerificationCheckOut(ResponseBody):
    name: str = Field(
        description="Authority, KeyFormat, Discovery, Jwks, ClientCredentials or RedirectUri."
    )
    passed: bool
    outcome: Literal["Passed", "Warning", "Failed", "NotChecked"] = Field(
        description="Passed; Warning: passed, but read the message (a Key shaped like a Secret "
        "ID); Failed; NotChecked: not run because an earlier check failed."
    )
    message: str


class VerificationOut(ResponseBody):
    passed: bool = Field(description="True when every check passed.")
    authority: str = Field(description="The Authority as it is (or would be) saved.")
    tenant_id: str | None = Field(
        description="The Entra ID tenant GUID the discovery document names, if any."
    )
    redirect_uri: str
    checks: list[VerificationCheckOut]
    notices: list[ValidationResultBody]


class SsoSettingsChangeOut(SsoSettingsOut):
    changed: bool = Field(
        description="False when the values sent (or restored) equal the stored ones."
    )
    notices: list[ValidationResultBody] = Field(
        default_factory=list,
        description="What was adjusted or deserves attention, such as a rewritten Authority.",
    )
    verification: VerificationOut | None = Field(
        default=None,
        description="The verification that ran before saving; null for a restore of mode None.",
    )
    warnings: list[ValidationResultBody] = Field(
        default_factory=list,
        description=(
            "One entry per failed check of a change saved anyway: with verification skipped, "
            "or a restore allowed because an administrator has a password."
        ),
    )


class HistoryEntryOut(ResponseBody):
    version: int
    created_on: datetime
    actor_type: str
    actor: str
    client_address: str | None
    mode: str
    authority: str | None
    client_id: str | None
    key_fingerprint: str | None = Field(
        description="A short hash that tells Keys apart; the Key itself is never shown."
    )
    key_expires_on: date | None
    changes: dict[str, Any] = Field(description="Each changed setting with its From and To.")
    verification_skipped: bool
    restored_from: int | None
    is_current: bool
    is_last_known_good: bool


def _results(items: tuple[ValidationResult, ...]) -> list[ValidationResultBody]:
    return [
        ValidationResultBody(MemberNames=list(item.member_names), ErrorMessage=item.message)
        for item in items
    ]


@router.get(
    "/{EnvironmentName}/SingleSignOnSettings",
    summary="Show the SSO settings (the Key only as KeySet)",
    description=(
        "The ETag header carries the version, for If-Match on a later change. "
        "LastKnownGoodVersion is the version that last produced a successful sign-in."
    ),
)
async def show_settings(
    context: Context, response: Response, EnvironmentName: str
) -> SsoSettingsOut:
    # One hand-over to a worker thread for the database read; the rest runs on the event loop.
    view, etag = await run_in_threadpool(operations.read_settings_view, context, EnvironmentName)
    response.headers["ETag"] = etag
    return SsoSettingsOut.model_validate(view)


# Names scripts use for a field of this call; sending one must not silently keep the old value.
MISPLACED_PROPERTIES = {
    "clientsecret": "Key",
    "secret": "Key",
    "secretvalue": "Key",
    "clientsecretvalue": "Key",
    "value": "Key",
    "password": "Key",
    "applicationid": "ClientId",
    "appid": "ClientId",
    "tenant": "Authority",
    "tenantid": "Authority",
    "issuer": "Authority",
}


@router.put(
    "/{EnvironmentName}/SingleSignOnSettings/OAuth2",
    summary="Set Authority, ClientId and Key and switch to OpenID Connect sign-in",
    description=(
        "Verifies the values against the identity provider first (discovery, issuer, JWKS, a "
        "test exchange at the token endpoint, the redirect URI) and saves only when every check "
        "passes; otherwise answers 400 with one entry per failed check. With `?verify=false` or "
        '`"SkipVerification": true` it saves anyway, returns the failed checks as Warnings and '
        "records the skip in the audit log. Every change creates a version (see History). When "
        "no active administrator has a password, settings that failed verification are refused "
        "(400, member Mode) even then, unless a test sign-in on the administration page passed "
        "with the same values."
    ),
    responses=PRECONDITION,
)
async def put_oauth2(
    context: Context,
    actor: ProvisioningActor,
    response: Response,
    EnvironmentName: str,
    body: Annotated[OAuth2Body, Body()],
    if_match: IfMatch = None,
    verify: Annotated[
        bool, Query(description="false saves without requiring verification to pass.")
    ] = True,
) -> SsoSettingsChangeOut:
    ignored = check_unknown_properties(body, MISPLACED_PROPERTIES)
    # Verification and the save block, so they run in a worker thread; the rest on the loop.
    saved = await run_in_threadpool(
        functools.partial(
            operations.update_oauth2,
            context,
            EnvironmentName,
            body.change(),
            actor=actor,
            if_match=if_match,
            skip_verification=body.skip_verification or not verify,
        )
    )
    response.headers["ETag"] = saved.etag
    return SsoSettingsChangeOut.model_validate(
        {
            **saved.view,
            "Changed": saved.changed,
            "Notices": _results((*saved.notices, *ignored)),
            "Verification": saved.verification.as_json(),
            "Warnings": _results(saved.warnings),
        }
    )


@router.post(
    "/{EnvironmentName}/SingleSignOnSettings/OAuth2/Verify",
    summary="Run the verification checks without saving",
    description=(
        "Checks a body (values left out fall back to the stored ones) or, with an empty body, "
        "the stored settings. Always answers 200 with the report when the values pass the static "
        "checks; `Passed` says whether every check passed."
    ),
)
def verify_oauth2(
    context: Context,
    EnvironmentName: str,
    body: Annotated[OAuth2Body | None, Body()] = None,
) -> VerificationOut:
    change = None if body is None or body.is_empty() else body.change()
    report = operations.verify_oauth2(context, EnvironmentName, change)
    return VerificationOut.model_validate(report.as_json())


@router.delete(
    "/{EnvironmentName}/SingleSignOnSettings/OAuth2",
    summary="Switch back to mode None (local sign-in)",
    description=(
        "The previous values stay in the version history and can be restored. Refused with 400 "
        "(member Mode) when no active administrator has a password, because nobody could sign "
        "in then."
    ),
    responses=PRECONDITION,
)
def delete_oauth2(
    context: Context,
    actor: ProvisioningActor,
    response: Response,
    EnvironmentName: str,
    if_match: IfMatch = None,
) -> SsoSettingsOut:
    change = operations.disable_oauth2(context, EnvironmentName, actor=actor, if_match=if_match)
    response.headers["ETag"] = change.etag
    return SsoSettingsOut.model_validate(change.view)


@router.get(
    "/{EnvironmentName}/SingleSignOnSettings/History",
    summary="List the versions of the SSO settings, newest first",
    description=(
        "Each version says who changed what, when and from where; the Key shows only as "
        "KeyFingerprint. IsLastKnownGood marks the version that last produced a successful "
        "sign-in."
    ),
)
def list_history(context: Context, EnvironmentName: str) -> list[HistoryEntryOut]:
    with context.database.read() as session:
        environment = environments.get_environment(session, EnvironmentName)
        current = service.get_settings(session, environment)
        return [
            HistoryEntryOut.model_validate(history.version_view(version, current))
            for version in history.list_versions(session, environment)
        ]


@router.post(
    "/{EnvironmentName}/SingleSignOnSettings/History/{Version}/Restore",
    summary="Roll back to an earlier version, its Key included",
    description=(
        "Makes the version's settings current again as a new version whose RestoredFrom names "
        "it. The version's values, with its Key, are verified first with the checks of a PUT, "
        "and the answer carries them under Verification; failed checks also come back as "
        "Warnings. When a check fails and no active administrator has a password, the restore "
        "is refused with 400 (member Mode, then one entry per failed check) and nothing "
        "changes: a version that signed someone in once does not override a check that fails "
        "now, because the provider may reject its values today. A version in mode None is not "
        "verified, and is refused when no active administrator has a password. Honors If-Match."
    ),
    responses=PRECONDITION,
)
def restore_version(
    context: Context,
    actor: ProvisioningActor,
    response: Response,
    EnvironmentName: str,
    Version: int,
    if_match: IfMatch = None,
) -> SsoSettingsChangeOut:
    restored = restore.restore_version(
        context, EnvironmentName, Version, actor=actor, if_match=if_match
    )
    response.headers["ETag"] = restored.etag
    verification = restored.verification
    return SsoSettingsChangeOut.model_validate(
        {
            **restored.view,
            "Changed": restored.changed,
            "Verification": verification.as_json() if verification is not None else None,
            "Warnings": _results(restored.warnings),
        }
    )
