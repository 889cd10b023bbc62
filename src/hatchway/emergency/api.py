"""Provisioning API routes for emergency access: issue a link, list requests and their mail."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import Field, field_validator

from hatchway.audit.service import Actor
from hatchway.context import AppContext, context_dependency
from hatchway.emergency import service
from hatchway.emergency.service import Delivery
from hatchway.environments import service as environments
from hatchway.provisioning.auth import require_provisioning_key
from hatchway.provisioning.models import ProblemBody, RequestBody, ResponseBody
from hatchway.provisioning.responses import ERRORS

ProvisioningActor = Annotated[Actor, Depends(require_provisioning_key)]
Context = Annotated[AppContext, Depends(context_dependency)]

router = APIRouter(dependencies=[Depends(require_provisioning_key)], responses=ERRORS)

MAX_LIST_LIMIT = 200
_DELIVERIES = {Delivery.EMAIL.value.lower(): Delivery.EMAIL, "response": Delivery.RESPONSE}


class EmergencyAccessBody(RequestBody):
    email_address: str | None = Field(default=None, examples=["admin@contoso.com"])
    delivery: str = Field(
        default=Delivery.EMAIL.value,
        description="'Email' mails the link to the administrator; 'Response' returns it in this "
        "response's Url, for when the mail does not arrive.",
        examples=["Email", "Response"],
    )

    @field_validator("delivery")
    @classmethod
    def _known_delivery(cls, value: str) -> str:
        if value.strip().lower() not in _DELIVERIES:
            raise ValueError(f"{value!r} is not a Delivery; use 'Email' or 'Response'")
        return _DELIVERIES[value.strip().lower()].value


class EmergencyAccessOut(ResponseBody):
    request_id: int
    delivery: str
    expires_on: datetime
    delivery_status: str = Field(description="Queued for Email, NotMailed for Response.")
    url: str | None = Field(
        default=None,
        description="The one-time sign-in URL; only with Delivery 'Response'.",
    )


class EmergencyRequestOut(ResponseBody):
    request_id: int
    requested_on: datetime
    channel: str = Field(description="RequestPage, ProvisioningApi or CommandLine.")
    delivery: str = Field(description="Email, Response or Printed (command line).")
    email_address: str | None
    delivery_status: str = Field(
        description="Queued, Sent (the SMTP server accepted the mail), Written (no SMTP server "
        "is configured, so the mail was written to a file in the server's data folder), "
        "Retrying, Failed or NotMailed."
    )
    attempts: int
    last_reply: str | None = Field(
        description="The SMTP server's last reply, or for Written the file's name relative to "
        "the data folder."
    )
    sent_on: datetime | None = Field(
        description="When the SMTP server accepted the mail; for Written, when the mail file "
        "was written."
    )
    expires_on: datetime | None
    redeemed_on: datetime | None

    @classmethod
    def of(cls, view: service.RequestView) -> EmergencyRequestOut:
        return cls(
            request_id=view.request_id,
            requested_on=view.requested_at,
            channel=view.channel,
            delivery=view.delivery,
            email_address=view.email,
            delivery_status=view.delivery_status,
            attempts=view.attempts,
            last_reply=view.last_reply,
            sent_on=view.sent_at,
            expires_on=view.expires_at,
            redeemed_on=view.redeemed_at,
        )


REFUSALS: dict[int | str, dict[str, Any]] = {
    404: {
        "model": ProblemBody,
        "description": "The environment does not exist, or no active administrator has the "
        "address (EnvironmentNotFound, AdministratorNotFound).",
    },
    409: {"model": ProblemBody, "description": "The environment is deactivated."},
    429: {
        "model": ProblemBody,
        "description": "Too many emergency requests for the environment or from this address; "
        "wait for the seconds in Retry-After.",
    },
}


@router.post(
    "/{EnvironmentName}/EmergencyAccess",
    summary="Issue a one-time emergency sign-in link for an administrator",
    description=(
        "The link is valid for 15 minutes and works once; it starts a 60-minute session that "
        "reaches only the administration pages. With `Delivery: Email` it is mailed and "
        "`GET .../EmergencyAccess` shows whether the mail went out; with `Delivery: Response` "
        "it is returned in `Url`, and nothing is mailed."
    ),
    responses=REFUSALS,
    response_model=EmergencyAccessOut,
)
def request_emergency_access(
    context: Context,
    actor: ProvisioningActor,
    EnvironmentName: str,
    body: Annotated[EmergencyAccessBody, Body()],
) -> JSONResponse:
    with context.database.write() as session:
        environment = environments.get_environment(session, EnvironmentName)
        issued = service.request_from_api(
            session,
            context.keyring,
            context.settings,
            environment,
            body.email_address,
            Delivery(body.delivery),
            actor=actor,
            now=context.now(),
        )
    result = EmergencyAccessOut(
        request_id=issued.request_id,
        delivery=issued.delivery.value,
        expires_on=issued.expires_at,
        delivery_status=issued.delivery_status,
        url=issued.url if issued.delivery is Delivery.RESPONSE else None,
    )
    return JSONResponse(
        result.model_dump(mode="json", exclude_none=True),
        headers={"Cache-Control": "no-store"},
    )


@router.get(
    "/{EnvironmentName}/EmergencyAccess",
    summary="List recent emergency requests with their e-mail delivery status",
    description="Newest first. `LastReply` is the SMTP server's last reply to the mail; "
    "without an SMTP server, `DeliveryStatus` is `Written`, `LastReply` names the .eml file "
    "in the server's data folder and `SentOn` is the time the file was written.",
)
def list_emergency_requests(
    context: Context,
    EnvironmentName: str,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST_LIMIT, description="At most this many.")] = 50,
) -> list[EmergencyRequestOut]:
    with context.database.read() as session:
        environment = environments.get_environment(session, EnvironmentName)
        views = service.list_requests(session, environment, limit)
    return [EmergencyRequestOut.of(view) for view in views]
