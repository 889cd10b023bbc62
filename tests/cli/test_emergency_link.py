"""`hatchway emergency-link`: a one-time URL printed from the database, for the server's host."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient
from typer.testing import CliRunner, Result

from hatchway.cli.main import app
from hatchway.config import Settings
from hatchway.context import AppContext
from hatchway.db.models import AuditRecord, EmergencyRequest
from tests.support.accounts import ADMIN_EMAIL, add_user, create_environment, redeem
from tests.support.hatchway import PROVISIONING_KEY
from tests.support.server_process import HatchwayProcess, serve_environment

URL_PATTERN = re.compile(
    r"^http://127\.0\.0\.1/contoso/AdminPage/EmergencyAccess\?token=\S+$", re.M
)


def run_command(settings: Settings, *arguments: str, public_url: bool = True) -> Result:
    environment: dict[str, str | None] = {
        "HATCHWAY_DATABASE_URL": settings.resolved_database_url,
        "HATCHWAY_DATA_DIR": str(settings.data_dir),
        "HATCHWAY_PUBLIC_URL": settings.public_url if public_url else None,
        "HATCHWAY_SMTP_URL": None,
    }
    return CliRunner().invoke(app, ["emergency-link", *arguments], env=environment)


def printed_url(result: Result) -> str:
    match = URL_PATTERN.search(result.stdout)
    assert match, result.output
    return match.group(0)


def test_prints_url_that_signs_in(api: TestClient, client: TestClient, settings: Settings) -> None:
    create_environment(api)

    result = run_command(settings, "--environment", "contoso", "--email", ADMIN_EMAIL)

    assert result.exit_code == 0, result.output
    assert f"One-time emergency sign-in link for {ADMIN_EMAIL} in 'contoso'" in result.stdout
    response = redeem(client, printed_url(result))
    assert response.status_code == 303
    assert response.headers["location"] == "/contoso/AdminPage/SingleSignOn"


def test_request_is_recorded_as_printed(
    api: TestClient, context: AppContext, settings: Settings
) -> None:
    create_environment(api)

    run_command(settings, "-e", "Contoso", "--email", "Admin@Contoso.test")

    with context.database.read() as session:
        request = session.scalars(select(EmergencyRequest)).one()
        record = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "emergency.request")
        ).one()
    assert (request.channel, request.delivery, request.outbox_message_id) == (
        "CommandLine",
        "Printed",
        None,
    )
    assert record.actor_type == "CommandLine"


def test_listing_shows_command_line_request(api: TestClient, settings: Settings) -> None:
    create_environment(api)
    run_command(settings, "--environment", "contoso", "--email", ADMIN_EMAIL)

    [entry] = api.get("/contoso/EmergencyAccess").json()

    assert entry["Channel"] == "CommandLine"
    assert entry["DeliveryStatus"] == "NotMailed"


def test_unknown_environment_exits_1(api: TestClient, settings: Settings) -> None:
    result = run_command(settings, "--environment", "nowhere", "--email", ADMIN_EMAIL)

    assert result.exit_code == 1
    assert "Error: Environment 'nowhere' was not found." in result.stderr
    assert "token=" not in result.output


def test_non_administrator_exits_1(api: TestClient, settings: Settings) -> None:
    create_environment(api)
    add_user(api, "contoso", "user@contoso.test", is_administrator=False)

    result = run_command(settings, "--environment", "contoso", "--email", "user@contoso.test")

    assert result.exit_code == 1
    assert "No active administrator has EmailAddress 'user@contoso.test'" in result.stderr


def test_deactivated_environment_exits_1(api: TestClient, settings: Settings) -> None:
    create_environment(api)
    api.put("/Environment/contoso/Deactivate")

    result = run_command(settings, "--environment", "contoso", "--email", ADMIN_EMAIL)

    assert result.exit_code == 1
    assert "Environment 'contoso' is deactivated" in result.stderr


def test_missing_public_url_is_pointed_out(api: TestClient, settings: Settings) -> None:
    create_environment(api)

    result = run_command(
        settings, "--environment", "contoso", "--email", ADMIN_EMAIL, public_url=False
    )

    assert result.exit_code == 0
    assert "so the link uses http://127.0.0.1:8000, the default address" in result.stderr


def test_error_without_public_url_comes_alone(api: TestClient, settings: Settings) -> None:
    result = run_command(
        settings, "--environment", "nowhere", "--email", ADMIN_EMAIL, public_url=False
    )

    assert result.exit_code == 1
    assert result.stderr == "Error: Environment 'nowhere' was not found.\n"


def test_link_names_address_that_serve_listened_on(api: TestClient, settings: Settings) -> None:
    create_environment(api)
    server = HatchwayProcess(
        serve_environment(
            settings.data_dir,
            settings.resolved_database_url,
            PROVISIONING_KEY,
            ",".join(settings.sealing_keys),
        )
    )
    del server.environment["HATCHWAY_PUBLIC_URL"]
    server.start()
    server.stop()

    result = run_command(
        settings, "--environment", "contoso", "--email", ADMIN_EMAIL, public_url=False
    )

    assert result.exit_code == 0, result.output
    assert f"{server.url}/contoso/AdminPage/EmergencyAccess?token=" in result.stdout
    assert (
        f"so the link uses {server.url}, the address 'hatchway serve' last listened on (from "
        f"{settings.data_dir / 'served-at'})"
    ) in result.stderr


@pytest.mark.parametrize("missing", ["--environment", "--email"])
def test_options_are_required(settings: Settings, missing: str) -> None:
    arguments = {"--environment": "contoso", "--email": ADMIN_EMAIL}
    del arguments[missing]

    result = run_command(settings, *[part for pair in arguments.items() for part in pair])

    assert result.exit_code == 2
    assert missing in result.output
