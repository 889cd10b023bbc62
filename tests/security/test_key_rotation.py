"""`hatchway keys rotate`: a new sealing key, every stored secret resealed, old keys retired."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from starlette.testclient import TestClient
from typer.testing import CliRunner, Result

from hatchway.audit.service import Actor, ActorType
from hatchway.cli.main import app as cli
from hatchway.config import Settings
from hatchway.context import AppContext
from hatchway.db.models import (
    AuditRecord,
    Environment,
    OutboxMessage,
    SsoSettings,
    SsoStagedSettings,
    SsoVersion,
    User,
)
from hatchway.security.sealing import KEYRING_FILE, Keyring, SealingError, load_keyring
from hatchway.sso import staging
from tests.support.entra import (
    CLIENT_ID,
    CLIENT_SECRET,
    TENANT_DOMAIN,
    FakeEntra,
    assert_signed_in,
    fake_entra,
    sign_in,
)
from tests.support.hatchway import prepare_context
from tests.support.hatchway import test_settings as make_settings

__all__ = ["fake_entra"]

REDIRECT_URI = "http://127.0.0.1/contoso/OAuth2/HandleAuthorityResponse"
SECOND_KEY = "second-Key-value-4c1d"


@pytest.fixture
def context(settings: Settings, fake_entra: FakeEntra) -> Iterator[AppContext]:
    app_context = prepare_context(settings)
    fake_entra.attach(app_context)
    try:
        yield app_context
    finally:
        app_context.close()


@pytest.fixture(autouse=True)
def keep_logging() -> Iterator[None]:
    """The command configures logging for a terminal; put the test's logging back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


@pytest.fixture
def stored_secrets(api: TestClient, fake_entra: FakeEntra) -> None:
    """A queued mail, the SSO Key and three versions, each with a sealed Key."""
    fake_entra.register_app(redirect_uris=(REDIRECT_URI,))
    created = api.post(
        "/Environment/",
        params={"version": "2.0"},
        json={"EnvironmentName": "contoso", "EmailAddress": "ada@contoso.test"},
    )
    assert created.status_code == 200, created.text
    body = {
        "Authority": f"https://login.microsoftonline.com/{TENANT_DOMAIN}/v2.0",
        "ClientId": CLIENT_ID,
        "Key": CLIENT_SECRET,
    }
    sso = "/contoso/SingleSignOnSettings"
    assert api.put(f"{sso}/OAuth2", json=body).status_code == 200
    second = api.put(f"{sso}/OAuth2", json={**body, "Key": SECOND_KEY}, params={"verify": "false"})
    assert second.status_code == 200
    assert api.post(f"{sso}/History/1/Restore").status_code == 200


def keyring_keys(settings: Settings) -> list[str]:
    lines = (settings.data_dir / KEYRING_FILE).read_text().splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def rotate(settings: Settings, **environment: str) -> Result:
    env = {
        "HATCHWAY_DATA_DIR": str(settings.data_dir),
        "HATCHWAY_DATABASE_URL": settings.database_url,
        "HATCHWAY_SEALING_KEYS": "",
        **environment,
    }
    return CliRunner().invoke(cli, ["keys", "rotate"], env=env)


def sealed_values(context: AppContext) -> list[str]:
    with context.database.read() as session:
        values = list(session.scalars(select(SsoSettings.key_sealed)))
        values += list(session.scalars(select(SsoVersion.key_sealed)))
        values += list(session.scalars(select(OutboxMessage.body_sealed)))
    return [value for value in values if value is not None]


def test_rotate_reports_counts(settings: Settings, stored_secrets: None) -> None:
    result = rotate(settings)

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        "Sealing key rotated. Resealed 1 SSO Key(s), 3 version Key(s), 0 staged Key(s) and 1 "
        "queued mail body(ies); the old keys are retired."
    )


def test_rotate_replaces_keyring(settings: Settings, stored_secrets: None) -> None:
    old_keys = keyring_keys(settings)

    rotate(settings)

    new_keys = keyring_keys(settings)
    assert len(new_keys) == 1
    assert new_keys[0] not in old_keys


def test_every_value_opens_with_new_key_only(
    settings: Settings, stored_secrets: None, context: AppContext
) -> None:
    old_keyring = Keyring(keyring_keys(settings))

    rotate(settings)

    new_keyring = load_keyring((), settings.data_dir)
    values = sealed_values(context)
    assert len(values) == 5
    opened = [new_keyring.unseal(value) for value in values]
    assert opened[0] == CLIENT_SECRET
    assert sorted(opened[1:4]) == sorted([CLIENT_SECRET, SECOND_KEY, CLIENT_SECRET])
    assert "Temporary password" in opened[4]
    for value in values:
        with pytest.raises(SealingError):
            old_keyring.unseal(value)


def test_staged_key_opens_after_rotation(
    settings: Settings, stored_secrets: None, context: AppContext
) -> None:
    with context.database.write() as session:
        environment = session.scalars(select(Environment)).one()
        administrator = session.scalars(select(User)).one()
        creator = staging.Creator(
            administrator.id, Actor(ActorType.ADMINISTRATOR, administrator.email)
        )
        draft = staging.create_draft(
            session,
            environment,
            "staged-Key-value",
            keyring=context.keyring,
            creator=creator,
            now=context.now(),
        )
        draft_id = draft.id
    old_keyring = Keyring(keyring_keys(settings))

    result = rotate(settings)

    assert "1 staged Key(s)" in result.stdout
    with context.database.read() as session:
        sealed = session.get_one(SsoStagedSettings, draft_id).key_sealed
    assert sealed is not None
    assert load_keyring((), settings.data_dir).unseal(sealed) == "staged-Key-value"
    with pytest.raises(SealingError):
        old_keyring.unseal(sealed)


def test_sign_in_works_after_rotation(
    settings: Settings, stored_secrets: None, client: TestClient, fake_entra: FakeEntra
) -> None:
    rotate(settings)

    # The running server still holds the old key in memory and rereads the file by itself.
    assert_signed_in(sign_in(client, fake_entra))


def test_running_server_seals_with_new_key(
    settings: Settings, stored_secrets: None, api: TestClient, context: AppContext
) -> None:
    rotate(settings)

    response = api.put(
        "/contoso/SingleSignOnSettings/OAuth2",
        json={"Key": "third-Key"},
        params={"verify": "false"},
    )

    assert response.status_code == 200
    with context.database.read() as session:
        sealed = session.scalar(select(SsoSettings.key_sealed))
    assert sealed is not None
    assert Keyring(keyring_keys(settings)).unseal(sealed) == "third-Key"


def test_rotation_is_audited(settings: Settings, stored_secrets: None, context: AppContext) -> None:
    rotate(settings)

    with context.database.read() as session:
        record = session.scalar(select(AuditRecord).where(AuditRecord.action == "keys.rotate"))
    assert record is not None
    assert record.actor_type == "CommandLine"
    assert record.after == {
        "SsoSettings": 1,
        "SsoVersions": 3,
        "OutboxMessages": 1,
        "StagedKeys": 0,
    }


def test_unreadable_value_keeps_old_keys(
    settings: Settings, stored_secrets: None, context: AppContext
) -> None:
    with context.database.write() as session:
        version = session.scalar(select(SsoVersion).where(SsoVersion.version == 2))
        assert version is not None
        version.key_sealed = "f1:not-a-fernet-token"
    old_keys = keyring_keys(settings)

    result = rotate(settings)

    assert result.exit_code == 1
    assert "Rotation failed, the old keys stay in place" in result.output
    assert keyring_keys(settings)[1:] == old_keys
    assert load_keyring((), settings.data_dir).unseal(sealed_values(context)[0]) == CLIENT_SECRET


class TestConfiguredKeys:
    """Keys from HATCHWAY_SEALING_KEYS: the operator adds a key, the command reseals with it."""

    OLD_KEY = Fernet.generate_key().decode()
    NEW_KEY = Fernet.generate_key().decode()

    @pytest.fixture
    def settings(self, tmp_path: Path, database_url: str) -> Settings:
        return make_settings(tmp_path / "data", database_url, sealing_keys=(self.OLD_KEY,))

    def test_reseals_with_first_configured_key(
        self, settings: Settings, stored_secrets: None, context: AppContext
    ) -> None:
        result = rotate(settings, HATCHWAY_SEALING_KEYS=f"{self.NEW_KEY},{self.OLD_KEY}")

        assert result.exit_code == 0, result.output
        assert "with the first key of HATCHWAY_SEALING_KEYS" in result.output
        new_only = Keyring([self.NEW_KEY])
        assert new_only.unseal(sealed_values(context)[0]) == CLIENT_SECRET
        assert not (settings.data_dir / KEYRING_FILE).exists()
