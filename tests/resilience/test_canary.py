"""Canary secrets through a whole story: they must never show up in clear anywhere.

A real `hatchway serve` runs with log level DEBUG; the story creates an environment, saves SSO
settings with a canary Key (with whitespace to trim and next to an invalid field), saves the
provider's real client secret, signs in through the provider, signs out and switches SSO off,
all with a canary Provisioning Key. Then every response (status line, headers and body), every
log line, every text column of every table and every file in the data folder is searched.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import JSON, String, Text, create_engine, select

from hatchway.db.models import Base
from tests.support.idp import OidcProvider
from tests.support.idp_http import authorize
from tests.support.server_process import HatchwayProcess, serve_environment

CANARY_KEY = "Canary~Key.Value_7f3c9e21b4d84a0c9d2e"


@pytest.fixture
def provisioning_key() -> str:
    return str(uuid.uuid4()).upper()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def server(data_dir: Path, database_url: str, provisioning_key: str) -> Iterator[HatchwayProcess]:
    environment = serve_environment(
        data_dir,
        database_url,
        provisioning_key,
        Fernet.generate_key().decode("ascii"),
        HATCHWAY_LOG_LEVEL="DEBUG",
    )
    process = HatchwayProcess(environment)
    process.start()
    try:
        yield process
    finally:
        process.stop()


class RecordingClient:
    """Sends requests and keeps every response as text, headers included."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.transcript: list[str] = []

    def send(self, method: str, url: str, **kwargs: object) -> httpx.Response:
        response = self.client.request(method, url, **kwargs)  # type: ignore[arg-type]
        headers = "\n".join(f"{name}: {value}" for name, value in response.headers.items())
        self.transcript.append(f"{response.status_code}\n{headers}\n\n{response.text}")
        return response


def run_story(server: HatchwayProcess, provider: OidcProvider, provisioning_key: str) -> list[str]:
    api_headers = {"ProvisioningKey": provisioning_key}
    base = f"{server.url}/Provisioning"
    sso = f"{base}/contoso/SingleSignOnSettings"
    secret = provider.register_client([f"{server.url}/contoso/OAuth2/HandleAuthorityResponse"])
    with httpx.Client(timeout=30, follow_redirects=False) as http:
        client = RecordingClient(http)
        steps = [
            client.send(
                "POST",
                f"{base}/Environment/",
                headers=api_headers,
                json={
                    "EnvironmentName": "contoso",
                    "EmailAddress": "ada@contoso.test",
                    "Password": "a-long-local-password",
                },
            ),
            client.send(
                "POST",
                f"{base}/contoso/User/",
                headers=api_headers,
                json={"EmailAddress": "bob@contoso.test", "Password": "another-long-password"},
            ),
            client.send("GET", f"{base}/contoso/User/", headers=api_headers),
            client.send(
                "PUT",
                f"{sso}/OAuth2?verify=false",
                headers=api_headers,
                json={
                    "Authority": provider.issuer,
                    "ClientId": "not\u200ba client id",
                    "Key": CANARY_KEY,
                },
            ),
            client.send(
                "PUT",
                f"{sso}/OAuth2?verify=false",
                headers=api_headers,
                json={
                    "Authority": provider.issuer,
                    "ClientId": secret.client_id,
                    "Key": f"  {CANARY_KEY}\n",
                },
            ),
            client.send("GET", sso, headers=api_headers),
            client.send(
                "PUT",
                f"{sso}/OAuth2?verify=false",
                headers=api_headers,
                json={"Key": secret.client_secret},
            ),
        ]
        assert [step.status_code for step in steps] == [200, 200, 200, 400, 200, 200, 200]

        start = client.send("GET", f"{server.url}/contoso/SignIn")
        assert start.status_code == 302, start.text
        callback = authorize(
            http, start.headers["location"], "ada@contoso.test", relying_party_origin=server.url
        )
        finished = client.send("GET", callback)
        assert finished.status_code == 303, finished.text
        home = client.send("GET", f"{server.url}/contoso/")
        assert "ada@contoso.test" in home.text
        client.send("GET", f"{server.url}/contoso/SignOut")
        disabled = client.send("DELETE", f"{sso}/OAuth2", headers=api_headers)
        assert disabled.status_code == 200, disabled.text
        client.send("GET", f"{base}/Environment/", headers={"ProvisioningKey": "wrong"})
    return [*client.transcript, secret.client_secret]


def database_text(database_url: str) -> list[str]:
    """Return every value of every text column of every table, as stored."""
    engine = create_engine(database_url)
    values: list[str] = []
    try:
        with engine.connect() as connection:
            for table in Base.metadata.sorted_tables:
                columns = [
                    column
                    for column in table.columns
                    if isinstance(column.type, (String, Text, JSON))
                ]
                if not columns:
                    continue
                for row in connection.execute(select(*columns)):
                    values.extend(str(value) for value in row if value is not None)
    finally:
        engine.dispose()
    return values


def test_canaries_never_appear_in_clear(
    server: HatchwayProcess,
    oidc_provider: OidcProvider,
    provisioning_key: str,
    database_url: str,
    data_dir: Path,
) -> None:
    *transcript, client_secret = run_story(server, oidc_provider, provisioning_key)
    server.stop()
    canaries = {
        "canary Key": CANARY_KEY,
        "client secret": client_secret,
        "Provisioning Key": provisioning_key,
    }
    places = {
        "responses": "\n".join(transcript),
        "log": server.output(),
        "database": "\n".join(database_text(database_url)),
        "data folder": "\n".join(
            path.read_text(errors="replace") for path in data_dir.rglob("*") if path.is_file()
        ),
    }

    assert "sso.settings.saved" in places["log"], "the log does not cover the story"
    assert "sso.update" in places["database"], "the audit log does not cover the story"
    leaks = [
        f"{name} in {place}"
        for name, canary in canaries.items()
        for place, text in places.items()
        if canary in text
    ]
    assert leaks == []
