"""Settings, read once from HATCHWAY_* environment variables at start-up.

Nothing else in Hatchway reads the process environment: every component receives the
`Settings` object (or the values it needs) from its caller.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import SplitResult, urlsplit

from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

_TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
_FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})
_LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")
_DATABASE_BACKENDS = ("sqlite", "postgresql", "postgres")
_MAIL_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+$")


class ConfigurationError(ValueError):
    """A HATCHWAY_* variable has a value Hatchway cannot use; the message names it and the fix."""


@dataclass(frozen=True)
class Settings:
    """Typed configuration of one Hatchway process."""

    data_dir: Path = Path("./var")
    database_url: str = ""
    public_url: str = "http://127.0.0.1:8000"
    public_url_configured: bool = False
    provisioning_key: str | None = field(default=None, repr=False)
    provisioning_api_enabled: bool = True
    smtp_url: str | None = field(default=None, repr=False)
    mail_from: str = "hatchway@localhost"
    insecure_loopback_idp: bool = False
    sealing_keys: tuple[str, ...] = field(default=(), repr=False)
    outbox_worker: bool = True
    log_level: str = "INFO"
    http_timeout_seconds: float = 5.0
    clock_leeway_seconds: int = 120
    # argon2id cost of new password hashes; lower only on small hosts or in tests.
    password_hash_time_cost: int = 3
    password_hash_memory_kib: int = 65536
    outbox_poll_seconds: float = 1.0
    outbox_first_retry_seconds: float = 30.0
    outbox_max_retry_seconds: float = 3600.0
    # prometheus-client's multiprocess folder; `hatchway serve --workers N` (N > 1) sets it.
    metrics_multiprocess_dir: Path | None = None

    @property
    def resolved_database_url(self) -> str:
        """Return the configured database URL, or the SQLite file in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'hatchway.sqlite3').resolve()}"

    @property
    def public_origin(self) -> str:
        """Return scheme, host and port of the public URL, without a path."""
        parts = urlsplit(self.public_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def public_base_path(self) -> str:
        """Return the path prefix of the public URL without a trailing slash ('' at the root)."""
        return urlsplit(self.public_url).path.rstrip("/")

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    def public_link(self, path: str) -> str:
        """Build an absolute URL on the public URL for a path that starts with '/'."""
        assert path.startswith("/"), path
        return f"{self.public_url.rstrip('/')}{path}"


def _read_bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise ConfigurationError(f"{name}={raw!r} is not a boolean; use 'true' or 'false'.")


def _read_float(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a number of seconds.") from None
    if not math.isfinite(value):
        raise ConfigurationError(f"{name}={raw!r} is not a finite number of seconds.")
    if value <= 0:
        raise ConfigurationError(f"{name}={raw!r} must be greater than 0.")
    return value


def _split_url(raw: str, schemes: tuple[str, ...]) -> SplitResult | None:
    """Split an absolute URL with one of `schemes`, a host and a valid port; else return None."""
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in schemes or not parts.hostname or port == 0:
        return None
    return parts


def _read_int(
    environ: Mapping[str, str], name: str, default: int, minimum: int, maximum: int
) -> int:
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a whole number.") from None
    if not minimum <= value <= maximum:
        raise ConfigurationError(f"{name}={raw!r} must be between {minimum} and {maximum}.")
    return value


def _read_seconds(environ: Mapping[str, str], name: str, default: int, maximum: int) -> int:
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a whole number of seconds.") from None
    if not 0 <= value <= maximum:
        raise ConfigurationError(f"{name}={raw!r} must be between 0 and {maximum} seconds.")
    return value


def _check_public_url(raw: str) -> str:
    parts = _split_url(raw, ("http", "https"))
    if parts is None:
        raise ConfigurationError(
            f"HATCHWAY_PUBLIC_URL={raw!r} is not an absolute http(s) URL; "
            "use the address users type, such as 'https://portal.example.com'."
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(f"HATCHWAY_PUBLIC_URL={raw!r} has a query or fragment; remove it.")
    return raw.rstrip("/")


def _read_data_dir(environ: Mapping[str, str]) -> Path:
    raw = environ.get("HATCHWAY_DATA_DIR")
    if raw is None:
        return Path("./var")
    if not raw.strip():
        raise ConfigurationError(
            "HATCHWAY_DATA_DIR is set but empty; name a folder, or unset it to use './var'."
        )
    return Path(raw.strip())


def _read_database_url(environ: Mapping[str, str]) -> str:
    """Return the database URL, checked for syntax and backend; the password is never shown."""
    raw = environ.get("HATCHWAY_DATABASE_URL", "").strip()
    if not raw:
        return ""
    try:
        url = make_url(raw)
    except (ArgumentError, ValueError):
        raise ConfigurationError(
            "HATCHWAY_DATABASE_URL is not a database URL; use the form "
            "'postgresql+psycopg://user:password@host:5432/hatchway' or 'sqlite:///path/file'."
        ) from None
    if url.get_backend_name() not in _DATABASE_BACKENDS:
        shown = url.render_as_string(hide_password=True)
        raise ConfigurationError(
            f"HATCHWAY_DATABASE_URL={shown!r} names the database {url.get_backend_name()!r}; "
            "Hatchway runs on 'postgresql' and 'sqlite' only."
        )
    return raw


def _read_smtp_url(environ: Mapping[str, str]) -> str | None:
    """Return the SMTP URL after checking scheme, host and port; the password is never shown."""
    raw = environ.get("HATCHWAY_SMTP_URL", "").strip()
    if not raw:
        return None
    if _split_url(raw, ("smtp", "smtps")) is None:
        raise ConfigurationError(
            "HATCHWAY_SMTP_URL is not an SMTP URL with a host (the value is not shown, because "
            "it can contain a password); use 'smtp://user:password@host:587' (STARTTLS when the "
            "server offers it) or 'smtps://user:password@host:465' (TLS from the start), with "
            "special characters in the password percent-encoded."
        )
    return raw


def _read_mail_from(environ: Mapping[str, str]) -> str:
    raw = environ.get("HATCHWAY_MAIL_FROM", "hatchway@localhost")
    address = raw.strip()
    if not _MAIL_ADDRESS.match(address):
        raise ConfigurationError(
            f"HATCHWAY_MAIL_FROM={raw!r} is not an e-mail address; use the form "
            "'hatchway@example.com'."
        )
    return address


def _read_log_level(environ: Mapping[str, str]) -> str:
    raw = environ.get("HATCHWAY_LOG_LEVEL", "INFO")
    level = raw.strip().upper() or "INFO"
    if level not in _LOG_LEVELS:
        raise ConfigurationError(
            f"HATCHWAY_LOG_LEVEL={raw!r} is not a log level; use one of {', '.join(_LOG_LEVELS)}."
        )
    return level


def _read_sealing_keys(environ: Mapping[str, str]) -> tuple[str, ...]:
    """Return the Fernet keys, newest first; a bad entry is named by position, never shown."""
    raw = environ.get("HATCHWAY_SEALING_KEYS", "")
    keys = tuple(part.strip() for part in raw.split(",") if part.strip())
    for position, key in enumerate(keys, start=1):
        if not is_fernet_key(key):
            raise ConfigurationError(
                f"HATCHWAY_SEALING_KEYS entry {position} of {len(keys)} is not a Fernet key "
                "(32 url-safe base64-encoded bytes); generate one with "
                "'python -c \"from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())\"'."
            )
    return keys


def is_fernet_key(key: str) -> bool:
    """Tell whether a string is a usable Fernet key."""
    try:
        Fernet(key.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return False
    return True


def is_loopback_host(host: str) -> bool:
    """Tell whether a host name or address literal names this machine's loopback interface."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from HATCHWAY_* variables (the process environment by default)."""
    env = os.environ if environ is None else environ
    provisioning_key = env.get("HATCHWAY_PROVISIONING_KEY", "").strip() or None
    multiprocess_dir = env.get("PROMETHEUS_MULTIPROC_DIR", "").strip()

    return Settings(
        data_dir=_read_data_dir(env),
        database_url=_read_database_url(env),
        public_url=_check_public_url(env.get("HATCHWAY_PUBLIC_URL", "http://127.0.0.1:8000")),
        public_url_configured=bool(env.get("HATCHWAY_PUBLIC_URL", "").strip()),
        provisioning_key=provisioning_key,
        provisioning_api_enabled=_read_bool(env, "HATCHWAY_PROVISIONING_API_ENABLED", True),
        smtp_url=_read_smtp_url(env),
        mail_from=_read_mail_from(env),
        insecure_loopback_idp=_read_bool(env, "HATCHWAY_INSECURE_LOOPBACK_IDP", False),
        sealing_keys=_read_sealing_keys(env),
        outbox_worker=_read_bool(env, "HATCHWAY_OUTBOX_WORKER", True),
        log_level=_read_log_level(env),
        http_timeout_seconds=_read_float(env, "HATCHWAY_HTTP_TIMEOUT", 5.0),
        outbox_poll_seconds=_read_float(env, "HATCHWAY_OUTBOX_POLL_SECONDS", 1.0),
        outbox_first_retry_seconds=_read_float(env, "HATCHWAY_OUTBOX_FIRST_RETRY_SECONDS", 30.0),
        outbox_max_retry_seconds=_read_float(env, "HATCHWAY_OUTBOX_MAX_RETRY_SECONDS", 3600.0),
        metrics_multiprocess_dir=Path(multiprocess_dir) if multiprocess_dir else None,
        clock_leeway_seconds=_read_seconds(env, "HATCHWAY_CLOCK_LEEWAY", 120, maximum=3600),
        password_hash_time_cost=_read_int(env, "HATCHWAY_PASSWORD_HASH_TIME_COST", 3, 1, 20),
        password_hash_memory_kib=_read_int(
            env, "HATCHWAY_PASSWORD_HASH_MEMORY_KIB", 65536, 1024, 4 * 1024 * 1024
        ),
    )
