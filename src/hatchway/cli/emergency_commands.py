"""`hatchway emergency ...`: one-time emergency sign-in links, through the Provisioning API.

The server-side `hatchway emergency-link`, which reads the database directly, lives elsewhere.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Annotated

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
from hatchway.cli.output import Output, fields_table, table
from hatchway.client import Delivery, EmergencyAccessGrant, EmergencyRequest

emergency_app = typer.Typer(
    help="Emergency access for locked-out administrators: request a one-time link, list "
    "requests and their delivery status.",
    no_args_is_help=True,
)


class DeliveryChoice(enum.StrEnum):
    EMAIL = "email"
    RESPONSE = "response"


_DELIVERIES = {DeliveryChoice.EMAIL: Delivery.EMAIL, DeliveryChoice.RESPONSE: Delivery.RESPONSE}


def grant_renderables(grant: EmergencyAccessGrant, email: str) -> list[RenderableType]:
    parts: list[RenderableType] = [
        fields_table(
            [
                ("Request", grant.request_id),
                ("Delivery", grant.delivery),
                ("Delivery status", grant.delivery_status),
                ("Expires", grant.expires_on),
            ]
        )
    ]
    if grant.url:
        parts += [
            Text(
                f"One-time sign-in link for {email}. Whoever opens it can sign in once as this "
                "administrator, so hand it over only to them:"
            ),
            Text(grant.url),
        ]
    return parts


def requests_table(requests: Iterable[EmergencyRequest]) -> RenderableType:
    return table(
        [
            "Request",
            "Requested",
            "E-mail address",
            "Channel",
            "Delivery",
            "Status",
            "Attempts",
            "Last reply",
            "Sent",
            "Expires",
            "Redeemed",
        ],
        (
            (
                item.request_id,
                item.requested_on,
                item.email_address,
                item.channel,
                item.delivery,
                item.delivery_status,
                item.attempts,
                item.last_reply,
                item.sent_on,
                item.expires_on,
                item.redeemed_on,
            )
            for item in requests
        ),
    )


@emergency_app.command("request")
def request_access(
    environment: EnvironmentArgument,
    email: Annotated[str, typer.Option("--email", help="The administrator's e-mail address.")],
    delivery: Annotated[
        DeliveryChoice,
        typer.Option(
            "--delivery",
            case_sensitive=False,
            help="'email' mails the link to the administrator; 'response' prints it here.",
        ),
    ] = DeliveryChoice.EMAIL,
    url: UrlOption = None,
    provisioning_key_file: ProvisioningKeyFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Issue a one-time sign-in link for an administrator of the environment."""
    output = Output(json_output=json_output)
    with provisioning_client(url, provisioning_key_file, output) as client:
        grant = client.request_emergency_access(environment, email, delivery=_DELIVERIES[delivery])
    output.result(grant.raw, lambda: grant_renderables(grant, email))


@emergency_app.command("list")
def list_requests(
    environment: EnvironmentArgument,
    url: UrlOption = None,
    provisioning_key_file: ProvisioningKeyFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """List recent emergency access requests with their e-mail delivery status."""
    output = Output(json_output=json_output)
    with provisioning_client(url, provisioning_key_file, output) as client:
        requests = client.list_emergency_requests(environment)
    output.result([item.raw for item in requests], lambda: [requests_table(requests)])
