"""`hatchway emergency ...` and `hatchway audit`, against a stand-in and against Hatchway.

This branch of Hatchway serves neither EmergencyAccess nor AuditLog. Tests marked
`stub_endpoint` run against `ProvisioningStub` with bodies in the contract's shapes; the
`needs_*` tests run against Hatchway as soon as /Provisioning/openapi.json lists the endpoint.
"""

from __future__ import annotations

import json

import pytest

from tests.support import contract_samples as samples
from tests.support.cli import (
    ADMINISTRATOR,
    HatchwayCli,
    ProvisioningStub,
    provisioning_operation_exists,
)
from tests.support.idp import OidcProvider, RegisteredClient

EMERGENCY_PATH = "/Provisioning/contoso/EmergencyAccess"
AUDIT_PATH = "/Provisioning/contoso/AuditLog"

needs_emergency = pytest.mark.skipif(
    not provisioning_operation_exists("POST", "/{EnvironmentName}/EmergencyAccess")
    or not provisioning_operation_exists("GET", "/{EnvironmentName}/EmergencyAccess"),
    reason="Hatchway does not serve .../EmergencyAccess yet",
)
needs_audit = pytest.mark.skipif(
    not provisioning_operation_exists("GET", "/{EnvironmentName}/AuditLog"),
    reason="Hatchway does not serve GET .../AuditLog yet",
)


@pytest.fixture
def stub_cli(stub: ProvisioningStub) -> HatchwayCli:
    return HatchwayCli(stub.url)


# emergency


@pytest.mark.stub_endpoint
def test_emergency_request_response_prints_url(
    stub: ProvisioningStub, stub_cli: HatchwayCli
) -> None:
    stub.answer("POST", EMERGENCY_PATH, samples.EMERGENCY_GRANT)

    result = stub_cli.run(
        "emergency", "request", "contoso", "--email", "admin@contoso.test", "--delivery", "response"
    )

    assert result.exit_code == 0, result.output
    assert samples.ONE_TIME_URL in result.stdout
    assert "NotMailed" in result.stdout
    assert stub.requests[0].body == {"EmailAddress": "admin@contoso.test", "Delivery": "Response"}


@pytest.mark.stub_endpoint
def test_emergency_request_email_by_default(stub: ProvisioningStub, stub_cli: HatchwayCli) -> None:
    grant = {**samples.EMERGENCY_GRANT, "Delivery": "Email", "DeliveryStatus": "Queued"}
    del grant["Url"]
    stub.answer("POST", EMERGENCY_PATH, grant)

    result = stub_cli.run_json("emergency", "request", "contoso", "--email", "admin@contoso.test")

    assert result["DeliveryStatus"] == "Queued"
    assert stub.requests[0].body["Delivery"] == "Email"


@pytest.mark.stub_endpoint
def test_emergency_request_rate_limited(stub: ProvisioningStub, stub_cli: HatchwayCli) -> None:
    problem = {"Error": "TooManyRequests", "Message": "Too many emergency requests."}
    stub.answer("POST", EMERGENCY_PATH, problem, status=429, headers={"Retry-After": "60"})

    result = stub_cli.run("emergency", "request", "contoso", "--email", "admin@contoso.test")

    assert result.exit_code == 1
    assert "Too many emergency requests." in result.stderr
    assert "Retry after 60 seconds." in result.stderr


@pytest.mark.stub_endpoint
def test_rate_limit_wait_is_named_once(stub: ProvisioningStub, stub_cli: HatchwayCli) -> None:
    message = "Too many emergency requests. Try again in 60 seconds."
    problem = {"Error": "TooManyRequests", "Message": message}
    stub.answer("POST", EMERGENCY_PATH, problem, status=429, headers={"Retry-After": "60"})

    result = stub_cli.run("emergency", "request", "contoso", "--email", "admin@contoso.test")

    assert result.exit_code == 1
    assert message in result.stderr
    assert "Retry after" not in result.stderr


def test_emergency_request_bad_delivery_is_usage_error(stub_cli: HatchwayCli) -> None:
    result = stub_cli.run(
        "emergency", "request", "contoso", "--email", "admin@contoso.test", "--delivery", "fax"
    )

    assert result.exit_code == 2
    assert "--delivery" in result.stderr


@pytest.mark.stub_endpoint
def test_emergency_list_table(stub: ProvisioningStub, stub_cli: HatchwayCli) -> None:
    stub.answer("GET", EMERGENCY_PATH, samples.EMERGENCY_REQUESTS)

    result = stub_cli.run("emergency", "list", "contoso")

    assert result.exit_code == 0, result.output
    assert "Retrying" in result.stdout
    assert "451 4.3.0 Mailbox temporarily unavailable" in result.stdout


@pytest.mark.stub_endpoint
def test_emergency_list_json(stub: ProvisioningStub, stub_cli: HatchwayCli) -> None:
    stub.answer("GET", EMERGENCY_PATH, samples.EMERGENCY_REQUESTS)

    assert stub_cli.run_json("emergency", "list", "contoso") == samples.EMERGENCY_REQUESTS


@pytest.mark.stub_endpoint
def test_emergency_list_unknown_environment(stub: ProvisioningStub, stub_cli: HatchwayCli) -> None:
    problem = {"Error": "EnvironmentNotFound", "Message": "Environment 'nowhere' was not found."}
    stub.answer("GET", "/Provisioning/nowhere/EmergencyAccess", problem, status=404)

    result = stub_cli.run("emergency", "list", "nowhere")

    assert result.exit_code == 1
    assert "Environment 'nowhere' was not found." in result.stderr


@needs_emergency
def test_emergency_request_live(cli: HatchwayCli, contoso: str) -> None:
    grant = cli.run_json(
        "emergency",
        "request",
        "contoso",
        "--email",
        ADMINISTRATOR["EmailAddress"],
        "--delivery",
        "response",
    )

    assert "/contoso/AdminPage/EmergencyAccess?token=" in grant["Url"]


@needs_emergency
def test_emergency_list_live(cli: HatchwayCli, contoso: str) -> None:
    cli.run_json("emergency", "request", "contoso", "--email", ADMINISTRATOR["EmailAddress"])

    requests = cli.run_json("emergency", "list", "contoso")

    assert requests[0]["Delivery"] == "Email"


@needs_emergency
def test_emergency_request_live_unknown_environment(cli: HatchwayCli) -> None:
    result = cli.run("emergency", "request", "nowhere", "--email", "a@b.test")

    assert result.exit_code == 1


# audit


@pytest.mark.stub_endpoint
def test_audit_table_and_paging_hint(stub: ProvisioningStub, stub_cli: HatchwayCli) -> None:
    page = {"Records": [samples.audit_record(9)], "NextBefore": 9}
    stub.answer("GET", f"{AUDIT_PATH}?limit=1&action=sso.update", page)

    result = stub_cli.run("audit", "contoso", "--limit", "1", "--action", "sso.update")

    assert result.exit_code == 0, result.output
    assert "sso.update" in result.stdout
    assert '"Key": "[redacted]"' in result.stdout
    assert "Older records: add --before 9, or use --all." in result.stdout


@pytest.mark.stub_endpoint
def test_audit_all_pages_json(stub: ProvisioningStub, stub_cli: HatchwayCli) -> None:
    first = {"Records": [samples.audit_record(3), samples.audit_record(2)], "NextBefore": 2}
    second = {"Records": [samples.audit_record(1)], "NextBefore": None}
    stub.answer("GET", f"{AUDIT_PATH}?limit=2", first)
    stub.answer("GET", f"{AUDIT_PATH}?limit=2&before=2", second)

    log = stub_cli.run_json("audit", "contoso", "--limit", "2", "--all")

    assert [record["Id"] for record in log["Records"]] == [3, 2, 1]
    assert log["NextBefore"] is None


def test_audit_zero_limit_is_usage_error(stub_cli: HatchwayCli) -> None:
    result = stub_cli.run("audit", "contoso", "--limit", "0")

    assert result.exit_code == 2


@pytest.mark.stub_endpoint
def test_audit_refusal(stub: ProvisioningStub, stub_cli: HatchwayCli) -> None:
    problem = [{"MemberNames": ["limit"], "ErrorMessage": "Parameter 'limit' is too large."}]
    stub.answer("GET", f"{AUDIT_PATH}?limit=5000", problem, status=400)

    result = stub_cli.run("audit", "contoso", "--limit", "5000", "--json")

    assert result.exit_code == 1
    assert json.loads(result.stdout)["ValidationResults"] == problem
    assert result.stderr == ""


@needs_audit
def test_audit_live_shows_sso_change(
    cli: HatchwayCli, oidc_provider: OidcProvider, idp_client: RegisteredClient
) -> None:
    cli.run(
        "sso",
        "set",
        "contoso",
        "--authority",
        oidc_provider.issuer,
        "--client-id",
        idp_client.client_id,
        "--key-stdin",
        input=idp_client.client_secret,
    )

    log = cli.run_json("audit", "contoso", "--action", "sso.update")

    assert [record["Action"] for record in log["Records"]] == ["sso.update"]
    assert idp_client.client_secret not in json.dumps(log)
