"""Settings from HATCHWAY_* variables: defaults, each variable, and errors that name it."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from hatchway.config import ConfigurationError, Settings, is_loopback_host, load_settings


def test_defaults_without_variables() -> None:
    settings = load_settings({})

    assert settings.data_dir == Path("./var")
    assert settings.database_url == ""
    assert settings.public_url == "http://127.0.0.1:8000"
    assert settings.public_url_configured is False
    assert settings.provisioning_key is None
    assert settings.provisioning_api_enabled is True
    assert settings.smtp_url is None
    assert settings.mail_from == "hatchway@localhost"
    assert settings.insecure_loopback_idp is False
    assert settings.sealing_keys == ()
    assert settings.outbox_worker is True
    assert settings.log_level == "INFO"
    assert settings.http_timeout_seconds == 5.0


def test_default_database_is_sqlite_in_data_folder(tmp_path: Path) -> None:
    settings = load_settings({"HATCHWAY_DATA_DIR": str(tmp_path)})

    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'hatchway.sqlite3'}"


def test_every_variable_is_read(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    settings = load_settings(
        {
            "HATCHWAY_DATA_DIR": str(tmp_path),
            "HATCHWAY_DATABASE_URL": " postgresql+psycopg://hatchway:pw@db:5432/hatchway ",
            "HATCHWAY_PUBLIC_URL": "https://portal.contoso.test/",
            "HATCHWAY_PROVISIONING_KEY": " 5C1B7E2A-0D4F-4A8B-9E6C-3F2D1A0B9C8D ",
            "HATCHWAY_PROVISIONING_API_ENABLED": "false",
            "HATCHWAY_SMTP_URL": "smtps://mailer:pw@smtp.contoso.test:465",
            "HATCHWAY_MAIL_FROM": " portal@contoso.test ",
            "HATCHWAY_INSECURE_LOOPBACK_IDP": "yes",
            "HATCHWAY_SEALING_KEYS": key,
            "HATCHWAY_OUTBOX_WORKER": "off",
            "HATCHWAY_LOG_LEVEL": "debug",
            "HATCHWAY_HTTP_TIMEOUT": "2.5",
        }
    )

    assert settings == Settings(
        data_dir=tmp_path,
        database_url="postgresql+psycopg://hatchway:pw@db:5432/hatchway",
        public_url="https://portal.contoso.test",
        public_url_configured=True,
        provisioning_key="5C1B7E2A-0D4F-4A8B-9E6C-3F2D1A0B9C8D",
        provisioning_api_enabled=False,
        smtp_url="smtps://mailer:pw@smtp.contoso.test:465",
        mail_from="portal@contoso.test",
        insecure_loopback_idp=True,
        sealing_keys=(key,),
        outbox_worker=False,
        log_level="DEBUG",
        http_timeout_seconds=2.5,
    )


def test_secrets_are_not_in_repr() -> None:
    settings = load_settings(
        {
            "HATCHWAY_PROVISIONING_KEY": "provisioning-canary",
            "HATCHWAY_SMTP_URL": "smtp://user:smtp-canary@smtp.contoso.test",
        }
    )

    assert "provisioning-canary" not in repr(settings)
    assert "smtp-canary" not in repr(settings)


def test_blank_provisioning_key_means_generate() -> None:
    assert load_settings({"HATCHWAY_PROVISIONING_KEY": "   "}).provisioning_key is None


@pytest.mark.parametrize(
    ("public_url", "origin", "base_path", "secure"),
    [
        ("https://portal.contoso.test", "https://portal.contoso.test", "", True),
        ("https://portal.contoso.test/hatchway/", "https://portal.contoso.test", "/hatchway", True),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000", "", False),
    ],
)
def test_public_url_parts(public_url: str, origin: str, base_path: str, secure: bool) -> None:
    settings = load_settings({"HATCHWAY_PUBLIC_URL": public_url})

    assert settings.public_origin == origin
    assert settings.public_base_path == base_path
    assert settings.secure_cookies is secure
    assert settings.public_link("/contoso/SignIn") == f"{origin}{base_path}/contoso/SignIn"


@pytest.mark.parametrize(
    "name",
    [
        "HATCHWAY_PROVISIONING_API_ENABLED",
        "HATCHWAY_INSECURE_LOOPBACK_IDP",
        "HATCHWAY_OUTBOX_WORKER",
    ],
)
@pytest.mark.parametrize(
    ("word", "value"), [("TRUE", True), ("1", True), ("no", False), ("", False)]
)
def test_booleans(name: str, word: str, value: bool) -> None:
    settings = load_settings({name: word})

    attribute = name.removeprefix("HATCHWAY_").lower()
    assert getattr(settings, attribute) is value


# Bad values name the variable


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("HATCHWAY_PUBLIC_URL", "portal.contoso.test", "is not an absolute http(s) URL"),
        ("HATCHWAY_PUBLIC_URL", "ftp://portal.contoso.test", "is not an absolute http(s) URL"),
        ("HATCHWAY_PUBLIC_URL", "https://portal.contoso.test:99999", "is not an absolute"),
        ("HATCHWAY_PUBLIC_URL", "https://[::1", "is not an absolute"),
        ("HATCHWAY_PUBLIC_URL", "https://portal.contoso.test/?x=1", "has a query or fragment"),
        ("HATCHWAY_PROVISIONING_API_ENABLED", "maybe", "is not a boolean"),
        ("HATCHWAY_INSECURE_LOOPBACK_IDP", "2", "is not a boolean"),
        ("HATCHWAY_OUTBOX_WORKER", "enabled", "is not a boolean"),
        ("HATCHWAY_HTTP_TIMEOUT", "soon", "is not a number of seconds"),
        ("HATCHWAY_HTTP_TIMEOUT", "0", "must be greater than 0"),
        ("HATCHWAY_HTTP_TIMEOUT", "-3", "must be greater than 0"),
        ("HATCHWAY_HTTP_TIMEOUT", "nan", "is not a finite number"),
        ("HATCHWAY_HTTP_TIMEOUT", "inf", "is not a finite number"),
        ("HATCHWAY_LOG_LEVEL", "LOUD", "is not a log level"),
        ("HATCHWAY_MAIL_FROM", "portal", "is not an e-mail address"),
        ("HATCHWAY_MAIL_FROM", "a@b.test\nBcc: x@y.test", "is not an e-mail address"),
        ("HATCHWAY_DATA_DIR", "  ", "is set but empty"),
        ("HATCHWAY_DATABASE_URL", "not a url", "is not a database URL"),
        ("HATCHWAY_DATABASE_URL", "mysql://root@db/hatchway", "'postgresql' and 'sqlite' only"),
        ("HATCHWAY_SMTP_URL", "smtp.contoso.test:25", "is not an SMTP URL"),
        ("HATCHWAY_SMTP_URL", "https://smtp.contoso.test", "is not an SMTP URL"),
        ("HATCHWAY_SMTP_URL", "smtp://", "is not an SMTP URL"),
        ("HATCHWAY_SEALING_KEYS", "not-a-key", "is not a Fernet key"),
    ],
)
def test_bad_value_names_variable(name: str, value: str, fragment: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_settings({name: value})

    message = str(raised.value)
    assert message.startswith(name)
    assert fragment in message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HATCHWAY_SMTP_URL", "http://mailer:smtp-canary@smtp.contoso.test"),
        ("HATCHWAY_DATABASE_URL", "mysql://root:db-canary@db/hatchway"),
        ("HATCHWAY_DATABASE_URL", "postgresql://root:db-canary@db:port/hatchway"),
    ],
)
def test_bad_url_never_shows_password(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_settings({name: value})

    assert "canary" not in str(raised.value)


def test_configuration_error_is_value_error() -> None:
    assert issubclass(ConfigurationError, ValueError)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("LOCALHOST", True),
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("10.0.0.1", False),
        ("login.microsoftonline.com", False),
        ("localhost.contoso.test", False),
    ],
)
def test_is_loopback_host(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback
