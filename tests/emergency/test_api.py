"""POST and GET /Provisioning/{env}/EmergencyAccess: the routes that need no e-mail."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from hatchway.config import Settings
from hatchway.context import AppContext
from hatchway.db.models import EmergencyRequest
from hatchway.emergency import service
from hatchway.mail.worker import OutboxWorker
from hatchway.security import ratelimit
from tests.support.accounts import (
    ADMIN_EMAIL,
    add_user,
    create_environment,
    link_in,
    path_of,
    redeem,
)
from tests.support.aio import run_async
from tests.support.hatchway import test_settings as make_settings
from tests.support.smtp import SmtpSink


@pytest.fixture
def settings(tmp_path: Path, database_url: str, smtp_sink: SmtpSink) -> Settings:
    return make_settings(
        tmp_path / "data", database_url, smtp_url=f"smtp://127.0.0.1:{smtp_sink.port}"
    )


@pytest.fixture
def environment(api: TestClient) -> Iterator[str]:
    yield create_environment(api)


def deliver(context: AppContext) -> int:
    return run_async(OutboxWorker(context).run_once())


def test_response_delivery_returns_url_that_signs_in(
    api: TestClient, client: TestClient, environment: str
) -> None:
    response = api.post(
        f"/{environment}/EmergencyAccess",
        json={"EmailAddress": ADMIN_EMAIL, "Delivery": "Response"},
    )

    assert response.status_code == 200
    body = response.json()
    assert body["Delivery"] == "Response"
    assert body["DeliveryStatus"] == "NotMailed"
    assert body["Url"].startswith("http://127.0.0.1/contoso/AdminPage/EmergencyAccess?token=")
    assert response.headers["Cache-Control"] == "no-store"
    signed_in = redeem(client, body["Url"])
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/contoso/AdminPage/SingleSignOn"


def test_response_delivery_sends_no_mail(
    api: TestClient, context: AppContext, environment: str, smtp_sink: SmtpSink
) -> None:
    api.post(
        f"/{environment}/EmergencyAccess",
        json={"emailaddress": ADMIN_EMAIL, "delivery": "response"},
    )

    assert deliver(context) == 0
    assert smtp_sink.messages == []


def test_email_delivery_mails_link_without_url(
    api: TestClient,
    client: TestClient,
    context: AppContext,
    environment: str,
    smtp_sink: SmtpSink,
) -> None:
    response = api.post(
        f"/{environment}/EmergencyAccess", json={"EmailAddress": ADMIN_EMAIL, "Delivery": "Email"}
    )
    deliver(context)
    message = smtp_sink.wait_for_message()

    assert response.status_code == 200
    assert "Url" not in response.json()
    assert response.json()["DeliveryStatus"] == "Queued"
    assert message["To"] == ADMIN_EMAIL
    assert message["Subject"] == "Emergency sign-in link for 'contoso'"
    assert redeem(client, link_in(message)).status_code == 303


def test_delivery_defaults_to_email(
    api: TestClient, context: AppContext, environment: str, smtp_sink: SmtpSink
) -> None:
    response = api.post(f"/{environment}/EmergencyAccess/", json={"EmailAddress": ADMIN_EMAIL})
    deliver(context)

    assert response.json()["Delivery"] == "Email"
    assert smtp_sink.wait_for_message()["To"] == ADMIN_EMAIL


def test_expires_on_is_fifteen_minutes_after_request(
    api: TestClient, context: AppContext, environment: str
) -> None:
    response = api.post(
        f"/{environment}/EmergencyAccess",
        json={"EmailAddress": ADMIN_EMAIL, "Delivery": "Response"},
    )

    with context.database.read() as session:
        request = session.scalars(select(EmergencyRequest)).one()
    assert request.expires_at is not None
    assert request.expires_at - request.requested_at == timedelta(minutes=15)
    assert response.json()["ExpiresOn"].startswith(request.expires_at.strftime("%Y-%m-%dT%H:%M"))


def test_listing_shows_sent_status_and_reply(
    api: TestClient, context: AppContext, environment: str, smtp_sink: SmtpSink
) -> None:
    created = api.post(f"/{environment}/EmergencyAccess", json={"EmailAddress": ADMIN_EMAIL})
    deliver(context)

    listing = api.get(f"/{environment}/EmergencyAccess")

    assert listing.status_code == 200
    [entry] = listing.json()
    assert entry["RequestId"] == created.json()["RequestId"]
    assert entry["Channel"] == "ProvisioningApi"
    assert entry["Delivery"] == "Email"
    assert entry["EmailAddress"] == ADMIN_EMAIL
    assert entry["DeliveryStatus"] == "Sent"
    assert entry["Attempts"] == 1
    assert entry["LastReply"] == "250 Message accepted for delivery"
    assert entry["SentOn"] is not None
    assert entry["RedeemedOn"] is None


def test_listing_shows_failed_status_with_server_reply(
    api: TestClient, context: AppContext, environment: str, smtp_sink: SmtpSink
) -> None:
    smtp_sink.reject_permanently(550, "5.7.1 Relaying denied for this sender")
    api.post(f"/{environment}/EmergencyAccess", json={"EmailAddress": ADMIN_EMAIL})
    deliver(context)

    [entry] = api.get(f"/{environment}/EmergencyAccess").json()

    assert entry["DeliveryStatus"] == "Failed"
    assert entry["LastReply"] == "550 5.7.1 Relaying denied for this sender"
    assert entry["SentOn"] is None


def test_listing_shows_retrying_status_with_server_reply(
    api: TestClient, context: AppContext, environment: str, smtp_sink: SmtpSink
) -> None:
    smtp_sink.refuse_next(1, 451, "4.3.2 System not accepting network messages")
    api.post(f"/{environment}/EmergencyAccess", json={"EmailAddress": ADMIN_EMAIL})
    deliver(context)

    [entry] = api.get(f"/{environment}/EmergencyAccess").json()

    assert entry["DeliveryStatus"] == "Retrying"
    assert entry["Attempts"] == 1
    assert entry["LastReply"] == "451 4.3.2 System not accepting network messages"


def test_listing_is_newest_first_and_shows_redemption(
    api: TestClient, client: TestClient, environment: str
) -> None:
    first = api.post(
        f"/{environment}/EmergencyAccess",
        json={"EmailAddress": ADMIN_EMAIL, "Delivery": "Response"},
    ).json()
    second = api.post(
        f"/{environment}/EmergencyAccess",
        json={"EmailAddress": ADMIN_EMAIL, "Delivery": "Response"},
    ).json()
    redeem(client, first["Url"])

    listing = api.get(f"/{environment}/EmergencyAccess").json()

    assert [entry["RequestId"] for entry in listing] == [second["RequestId"], first["RequestId"]]
    assert [entry["DeliveryStatus"] for entry in listing] == ["NotMailed", "NotMailed"]
    assert listing[0]["RedeemedOn"] is None
    assert listing[1]["RedeemedOn"] is not None


def test_listing_respects_limit(api: TestClient, environment: str) -> None:
    for _ in range(3):
        api.post(
            f"/{environment}/EmergencyAccess",
            json={"EmailAddress": ADMIN_EMAIL, "Delivery": "Response"},
        )

    assert len(api.get(f"/{environment}/EmergencyAccess?limit=2").json()) == 2


def test_listing_unknown_environment_is_404(api: TestClient) -> None:
    response = api.get("/nowhere/EmergencyAccess")

    assert response.status_code == 404
    assert response.json()["Error"] == "EnvironmentNotFound"


def test_post_unknown_environment_is_404(api: TestClient) -> None:
    response = api.post("/nowhere/EmergencyAccess", json={"EmailAddress": ADMIN_EMAIL})

    assert response.status_code == 404
    assert response.json() == {
        "Error": "EnvironmentNotFound",
        "Message": "Environment 'nowhere' was not found.",
    }


def test_post_unknown_address_is_404_naming_it(api: TestClient, environment: str) -> None:
    response = api.post(
        f"/{environment}/EmergencyAccess", json={"EmailAddress": "nobody@contoso.test"}
    )

    assert response.status_code == 404
    assert response.json()["Error"] == "AdministratorNotFound"
    assert "'nobody@contoso.test'" in response.json()["Message"]
    assert "environment 'contoso'" in response.json()["Message"]


def test_post_non_administrator_is_404(api: TestClient, environment: str) -> None:
    add_user(api, environment, "user@contoso.test", is_administrator=False)

    response = api.post(
        f"/{environment}/EmergencyAccess", json={"EmailAddress": "user@contoso.test"}
    )

    assert response.status_code == 404
    assert response.json()["Error"] == "AdministratorNotFound"


def test_post_deactivated_administrator_is_404(api: TestClient, environment: str) -> None:
    user_id = add_user(api, environment, "second@contoso.test", is_administrator=True)
    api.put(f"/{environment}/User/{user_id}", json={"IsActive": False})

    response = api.post(
        f"/{environment}/EmergencyAccess", json={"EmailAddress": "second@contoso.test"}
    )

    assert response.status_code == 404


def test_post_deactivated_environment_is_409(api: TestClient, environment: str) -> None:
    api.put(f"/Environment/{environment}/Deactivate")

    response = api.post(f"/{environment}/EmergencyAccess", json={"EmailAddress": ADMIN_EMAIL})

    assert response.status_code == 409
    assert response.json()["Error"] == "EnvironmentDeactivated"
    assert "/Provisioning/Environment/contoso/Activate" in response.json()["Message"]


def test_post_without_address_is_400(api: TestClient, environment: str) -> None:
    response = api.post(f"/{environment}/EmergencyAccess", json={"Delivery": "Response"})

    assert response.status_code == 400
    assert response.json() == [
        {
            "MemberNames": ["EmailAddress"],
            "ErrorMessage": "EmailAddress is missing; send the administrator's e-mail address.",
        }
    ]


def test_post_unknown_delivery_is_400(api: TestClient, environment: str) -> None:
    response = api.post(
        f"/{environment}/EmergencyAccess",
        json={"EmailAddress": ADMIN_EMAIL, "Delivery": "Pigeon"},
    )

    assert response.status_code == 400
    [result] = response.json()
    assert result["MemberNames"] == ["Delivery"]
    assert "'Pigeon' is not a Delivery; use 'Email' or 'Response'" in result["ErrorMessage"]


def test_post_without_provisioning_key_is_403(client: TestClient, environment: str) -> None:
    response = client.post(
        "/Provisioning/contoso/EmergencyAccess", json={"EmailAddress": ADMIN_EMAIL}
    )

    assert response.status_code == 403
    assert response.json()["Error"] == "ProvisioningKeyMissing"


def test_post_over_client_limit_is_429(api: TestClient, environment: str) -> None:
    statuses = [
        api.post(
            f"/{environment}/EmergencyAccess",
            json={"EmailAddress": ADMIN_EMAIL, "Delivery": "Response"},
        ).status_code
        for _ in range(service.API_PER_CLIENT.limit + 1)
    ]

    assert statuses[:-1] == [200] * service.API_PER_CLIENT.limit
    assert statuses[-1] == 429


def test_post_over_environment_limit_is_429(
    api: TestClient, context: AppContext, environment: str
) -> None:
    now = context.now()
    with context.database.write() as session:
        for _ in range(service.API_PER_ENVIRONMENT.limit):
            ratelimit.record(session, service.API_PER_ENVIRONMENT, environment, now)

    response = api.post(
        f"/{environment}/EmergencyAccess",
        json={"EmailAddress": ADMIN_EMAIL, "Delivery": "Response"},
    )

    assert response.status_code == 429
    assert response.json()["Error"] == "TooManyRequests"
    assert "at most 20 per 60 minutes for one environment" in response.json()["Message"]
    assert 3500 <= int(response.headers["Retry-After"]) <= 3600


def test_rate_limited_post_issues_no_link(
    api: TestClient, context: AppContext, environment: str
) -> None:
    now = context.now()
    with context.database.write() as session:
        for _ in range(service.API_PER_ENVIRONMENT.limit):
            ratelimit.record(session, service.API_PER_ENVIRONMENT, environment, now)

    api.post(f"/{environment}/EmergencyAccess", json={"EmailAddress": ADMIN_EMAIL})

    with context.database.read() as session:
        assert session.scalars(select(EmergencyRequest)).all() == []


def test_request_page_flood_does_not_block_api(
    api: TestClient, context: AppContext, environment: str
) -> None:
    now = context.now()
    with context.database.write() as session:
        for _ in range(service.PAGE_PER_ENVIRONMENT.limit + 5):
            ratelimit.record(session, service.PAGE_PER_ENVIRONMENT, environment, now)

    response = api.post(
        f"/{environment}/EmergencyAccess",
        json={"EmailAddress": ADMIN_EMAIL, "Delivery": "Response"},
    )

    assert response.status_code == 200


def test_openapi_documents_emergency_routes(api: TestClient) -> None:
    paths = api.get("/openapi.json").json()["paths"]

    assert set(paths["/{EnvironmentName}/EmergencyAccess"]) == {"get", "post"}


def test_url_path_is_link_page(api: TestClient, environment: str) -> None:
    url = api.post(
        f"/{environment}/EmergencyAccess",
        json={"EmailAddress": ADMIN_EMAIL, "Delivery": "Response"},
    ).json()["Url"]

    assert path_of(url).startswith("/contoso/AdminPage/EmergencyAccess?token=")
