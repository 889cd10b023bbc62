"""The server killed with SIGKILL in the middle of a stream of PUTs, then restarted.

Every version on record must be whole (its Client ID and Key belong to the same PUT), its
sealed Key must open with the instance's sealing key, and no acknowledged PUT may be missing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from hatchway.db.models import AuditRecord, SsoSettings, SsoVersion
from hatchway.security.sealing import Keyring
from hatchway.security.tokens import fingerprint
from tests.support.hatchway import PROVISIONING_KEY
from tests.support.server_process import HatchwayProcess, serve_environment

ACKNOWLEDGED_BEFORE_KILL = 20
STREAM_TIMEOUT_SECONDS = 30.0


def client_id_for(index: int) -> str:
    return f"00000000-0000-0000-0000-{index:012d}"


def key_for(index: int) -> str:
    return f"crash-test-key-{index:08d}-0123456789abcdef"


class PutStream:
    """Sends PUTs with a new Client ID and Key each, one after the other, until stopped."""

    def __init__(self, server: HatchwayProcess) -> None:
        self.acknowledged: dict[int, int] = {}
        self.stopped = threading.Event()
        self._server = server
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self) -> None:
        self.stopped.set()
        self._thread.join(STREAM_TIMEOUT_SECONDS)

    def _run(self) -> None:
        with httpx.Client(
            base_url=f"{self._server.url}/Provisioning",
            headers={"ProvisioningKey": PROVISIONING_KEY},
            timeout=10,
        ) as client:
            index = 0
            while not self.stopped.is_set():
                index += 1
                try:
                    response = client.put(
                        "/contoso/SingleSignOnSettings/OAuth2?verify=false",
                        json={"ClientId": client_id_for(index), "Key": key_for(index)},
                    )
                except httpx.TransportError:
                    return
                assert response.status_code == 200, response.text
                self.acknowledged[index] = int(response.json()["Version"])


@pytest.fixture
def sealing_key() -> str:
    return Fernet.generate_key().decode("ascii")


@pytest.fixture
def server_environment(tmp_path: Path, database_url: str, sealing_key: str) -> dict[str, str]:
    return serve_environment(
        tmp_path / "data", database_url, PROVISIONING_KEY, sealing_key, HATCHWAY_LOG_LEVEL="WARNING"
    )


@pytest.fixture
def crashed_stream(server_environment: dict[str, str]) -> Iterator[PutStream]:
    """Run a stream of PUTs, kill the server during it, and leave the database as it was left."""
    server = HatchwayProcess(server_environment)
    server.start()
    try:
        with httpx.Client(
            base_url=f"{server.url}/Provisioning", headers={"ProvisioningKey": PROVISIONING_KEY}
        ) as api:
            created = api.post(
                "/Environment/",
                json={
                    "EnvironmentName": "contoso",
                    "EmailAddress": "ada@contoso.test",
                    "Password": "a-long-local-password",
                },
            )
            assert created.status_code == 200, created.text
            first = api.put(
                "/contoso/SingleSignOnSettings/OAuth2?verify=false",
                json={
                    "Authority": "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0",
                    "ClientId": client_id_for(0),
                    "Key": key_for(0),
                },
            )
            assert first.status_code == 200, first.text

        stream = PutStream(server)
        stream.start()
        deadline = time.monotonic() + STREAM_TIMEOUT_SECONDS
        while len(stream.acknowledged) < ACKNOWLEDGED_BEFORE_KILL:
            assert time.monotonic() < deadline, "the PUT stream did not get going"
            time.sleep(0.01)
        server.kill()
        stream.join()
        yield stream
    finally:
        server.stop()


@pytest.fixture
def restarted(
    crashed_stream: PutStream, server_environment: dict[str, str]
) -> Iterator[HatchwayProcess]:
    server = HatchwayProcess(server_environment)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def read_versions(database_url: str) -> tuple[list[SsoVersion], SsoSettings, int]:
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            versions = list(session.scalars(select(SsoVersion).order_by(SsoVersion.version)))
            settings = session.scalars(select(SsoSettings)).one()
            updates = session.scalar(select(func.count()).where(AuditRecord.action == "sso.update"))
            session.expunge_all()
    finally:
        engine.dispose()
    return versions, settings, int(updates or 0)


def test_kill_keeps_every_version_whole_and_readable(
    crashed_stream: PutStream, restarted: HatchwayProcess, database_url: str, sealing_key: str
) -> None:
    versions, settings, updates = read_versions(database_url)
    keyring = Keyring([sealing_key])

    numbers = [version.version for version in versions]
    assert numbers == list(range(1, len(versions) + 1))
    assert settings.version == numbers[-1]
    assert updates == len(versions)
    for version in versions:
        assert version.key_sealed is not None
        key = keyring.unseal(version.key_sealed)
        assert fingerprint(key) == version.key_fingerprint
        assert version.client_id is not None
        index = int(version.client_id.rsplit("-", 1)[1])
        assert key == key_for(index), f"version {version.version} mixes two PUTs"
    assert settings.key_sealed is not None
    assert settings.client_id is not None
    assert keyring.unseal(settings.key_sealed) == key_for(int(settings.client_id.rsplit("-")[-1]))

    # No PUT that was answered with 200 before the kill may be missing.
    stored = {version.version: version.client_id for version in versions}
    assert len(crashed_stream.acknowledged) >= ACKNOWLEDGED_BEFORE_KILL
    for index, number in crashed_stream.acknowledged.items():
        assert stored.get(number) == client_id_for(index)

    # The restarted server reads the settings and saves the next version.
    with httpx.Client(
        base_url=f"{restarted.url}/Provisioning", headers={"ProvisioningKey": PROVISIONING_KEY}
    ) as api:
        current = api.get("/contoso/SingleSignOnSettings")
        assert current.status_code == 200, current.text
        changed = api.put(
            "/contoso/SingleSignOnSettings/OAuth2?verify=false",
            headers={"If-Match": current.headers["etag"]},
            json={"ClientId": client_id_for(999_999), "Key": key_for(999_999)},
        )
    assert changed.status_code == 200, changed.text
    assert changed.json()["Version"] == numbers[-1] + 1
