"""/healthz, /readyz and /metrics: what an operator's probes and Prometheus read."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, text
from starlette.testclient import TestClient

from hatchway.app import create_app
from hatchway.context import AppContext
from hatchway.db.engine import Database, create_database_engine
from hatchway.db.models import EmergencyRequest, Environment, OutboxMessage
from hatchway.db.types import utcnow
from tests.support.ports import free_port

PASSWORD = "a-long-local-password"


def sample(client: TestClient, name: str, **labels: str) -> float:
    """Return the value of one sample of /metrics, or 0 when it is absent."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    for family in text_string_to_metric_families(response.text):
        for item in family.samples:
            if item.name == name and all(item.labels.get(k) == v for k, v in labels.items()):
                return float(item.value)
    return 0.0


@pytest.fixture
def environment(api: TestClient) -> str:
    created = api.post(
        "/Environment/",
        json={
            "EnvironmentName": "contoso",
            "EmailAddress": "ada@contoso.test",
            "FirstName": "Ada",
            "LastName": "Admin",
            "Password": PASSWORD,
        },
    )
    assert created.status_code == 200, created.text
    return "contoso"


def test_healthz_answers_ok(client: TestClient) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"Status": "ok"}


@pytest.mark.parametrize(
    ("path", "canonical"),
    [
        ("/healthz/", "/healthz"),
        ("/HEALTHZ", "/healthz"),
        ("/Healthz/", "/healthz"),
        ("/readyz/", "/readyz"),
        ("/READYZ", "/readyz"),
        ("/metrics/", "/metrics"),
        ("/Metrics", "/metrics"),
    ],
)
def test_operations_path_variants_answer(client: TestClient, path: str, canonical: str) -> None:
    response = client.get(path)
    expected = client.get(canonical)

    assert response.status_code == 200
    assert "location" not in response.headers
    assert response.headers["content-type"] == expected.headers["content-type"]
    if canonical != "/metrics":
        assert response.json() == expected.json()


def test_readyz_reports_current_revision(client: TestClient) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["Status"] == "ready"
    assert response.json()["Revision"]


@pytest.fixture
def outdated_schema(context: AppContext) -> Iterator[None]:
    """Mark the schema as an older revision; the PostgreSQL database is shared by the run."""
    engine = context.database.engine
    with engine.begin() as connection:
        current = connection.scalar(text("SELECT version_num FROM alembic_version"))
        connection.execute(text("UPDATE alembic_version SET version_num = 'older'"))
    try:
        yield
    finally:
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE alembic_version SET version_num = :current"), {"current": current}
            )


@pytest.mark.usefixtures("outdated_schema")
def test_readyz_rejects_outdated_schema(client: TestClient) -> None:
    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["Status"] == "unavailable"
    assert "revision 'older'" in response.json()["Reason"]
    assert "hatchway db upgrade" in response.json()["Reason"]


@pytest.fixture
def unreachable_app(context: AppContext) -> Iterator[FastAPI]:
    # Port 1 on loopback refuses connections at once.
    engine = create_database_engine("postgresql+psycopg://hatchway:secret-pw@127.0.0.1:1/none")
    broken = replace(context, database=Database(engine))
    try:
        yield create_app(context.settings, context=broken)
    finally:
        engine.dispose()


def test_readyz_reports_unreachable_database(unreachable_app: FastAPI) -> None:
    with TestClient(unreachable_app, base_url="http://127.0.0.1") as client:
        response = client.get("/readyz")

    assert response.status_code == 503
    assert "cannot be reached" in response.json()["Reason"]
    assert "secret-pw" not in response.text


def test_healthz_ignores_unreachable_database(unreachable_app: FastAPI) -> None:
    with TestClient(unreachable_app, base_url="http://127.0.0.1") as client:
        response = client.get("/healthz")

    assert response.status_code == 200


def test_metrics_counts_provisioning_calls_by_route(
    client: TestClient, api: TestClient, environment: str
) -> None:
    labels = {
        "route": "/{EnvironmentName}/SingleSignOnSettings",
        "method": "GET",
        "status": "200",
    }
    before = sample(client, "hatchway_provisioning_requests_total", **labels)

    api.get(f"/{environment}/SingleSignOnSettings")
    api.get(f"/{environment}/singlesignonsettings/")

    assert sample(client, "hatchway_provisioning_requests_total", **labels) == before + 2


def test_metrics_counts_rejected_key_under_route(client: TestClient, environment: str) -> None:
    labels = {"route": "/Environment", "method": "GET", "status": "403"}
    before = sample(client, "hatchway_provisioning_requests_total", **labels)

    client.get("/Provisioning/Environment", headers={"ProvisioningKey": "wrong"})

    assert sample(client, "hatchway_provisioning_requests_total", **labels) == before + 1


def test_metrics_labels_unknown_paths_unmatched(client: TestClient, api: TestClient) -> None:
    labels = {"route": "unmatched", "method": "GET", "status": "404"}
    before = sample(client, "hatchway_provisioning_requests_total", **labels)

    api.get("/no/such/path/at/all/abc123")

    assert sample(client, "hatchway_provisioning_requests_total", **labels) == before + 1
    assert "abc123" not in client.get("/metrics").text


def test_metrics_labels_openapi_route(client: TestClient) -> None:
    labels = {"route": "/openapi.json", "method": "GET", "status": "200"}
    unmatched = {"route": "unmatched", "method": "GET", "status": "200"}
    before = sample(client, "hatchway_provisioning_requests_total", **labels)
    unmatched_before = sample(client, "hatchway_provisioning_requests_total", **unmatched)

    response = client.get("/Provisioning/openapi.json")

    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Hatchway Provisioning API"
    assert sample(client, "hatchway_provisioning_requests_total", **labels) == before + 1
    assert sample(client, "hatchway_provisioning_requests_total", **unmatched) == unmatched_before


def test_metrics_counts_failed_sign_in_by_reason(client: TestClient, environment: str) -> None:
    labels = {"kind": "sso", "outcome": "attempt_unknown"}
    before = sample(client, "hatchway_sign_ins_total", **labels)

    page = client.get(f"/{environment}/OAuth2/HandleAuthorityResponse?code=x&state=unknown")

    assert page.status_code == 400
    assert sample(client, "hatchway_sign_ins_total", **labels) == before + 1


def test_metrics_counts_verification_failures(
    api: TestClient, client: TestClient, environment: str
) -> None:
    before = sample(client, "hatchway_verification_failures_total", reason="Discovery")
    jwks_before = sample(client, "hatchway_verification_failures_total", reason="Jwks")
    closed_port = f"http://127.0.0.1:{free_port()}"

    response = api.post(
        f"/{environment}/SingleSignOnSettings/OAuth2/Verify",
        json={"Authority": closed_port, "ClientId": "app", "Key": "a-client-secret-value"},
    )

    assert response.status_code == 200, response.text
    assert response.json()["Passed"] is False
    assert sample(client, "hatchway_verification_failures_total", reason="Discovery") == before + 1
    # Jwks did not run after Discovery failed, so it is not counted as a failure.
    assert sample(client, "hatchway_verification_failures_total", reason="Jwks") == jwks_before


def test_metrics_reports_outbox_depth_and_age(
    client: TestClient, context: AppContext, environment: str
) -> None:
    now = utcnow()
    with context.database.write() as session:
        for age_minutes, status in ((5, "queued"), (2, "retrying"), (30, "sent")):
            created = now - timedelta(minutes=age_minutes)
            session.add(
                OutboxMessage(
                    created_at=created,
                    purpose="test",
                    recipient="ada@contoso.test",
                    subject="Test",
                    status=status,
                    next_attempt_at=now + timedelta(hours=1),
                    give_up_at=now + timedelta(hours=1),
                )
            )

    assert sample(client, "hatchway_outbox_depth") == 2
    assert sample(client, "hatchway_outbox_messages", status="sent") == 1
    age = sample(client, "hatchway_outbox_oldest_pending_age_seconds")
    assert 300 <= age < 400


def test_metrics_reports_empty_outbox_as_zero_age(client: TestClient) -> None:
    assert sample(client, "hatchway_outbox_depth") == 0
    assert sample(client, "hatchway_outbox_oldest_pending_age_seconds") == 0


def test_metrics_counts_emergency_requests_by_channel(
    client: TestClient, context: AppContext, environment: str
) -> None:
    with context.database.write() as session:
        environment_row = session.scalars(select(Environment)).one()
        for channel in ("email", "email", "response"):
            session.add(
                EmergencyRequest(environment_id=environment_row.id, channel=channel, delivery="x")
            )

    assert sample(client, "hatchway_emergency_requests", channel="email") == 2
    assert sample(client, "hatchway_emergency_requests", channel="response") == 1
