"""Settings, read once from HATCHWAY_* environment variables at start-up.

Nothing else in Hatchway reads the process environment: every component receives the
`Settings` object (or the values it needs) from its caller.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

_TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
_FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})


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
    if value <= 0:
        raise ConfigurationError(f"{name}={raw!r} must be greater than 0.")
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
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"HATCHWAY_PUBLIC_URL={raw!r} is not an absolute http(s) URL; "
            "use the address users type, such as 'https://portal.example.com'."
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(f"HATCHWAY_PUBLIC_URL={raw!r} has a query or fragment; remove it.")
    return raw.rstrip("/")


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
    sealing_raw = env.get("HATCHWAY_SEALING_KEYS", "")
    sealing_keys = tuple(part.strip() for part in sealing_raw.split(",") if part.strip())
    provisioning_key = env.get("HATCHWAY_PROVISIONING_KEY", "").strip() or None

    return Settings(
        data_dir=Path(env.get("HATCHWAY_DATA_DIR", "./var")),
        database_url=env.get("HATCHWAY_DATABASE_URL", "").strip(),
        public_url=_check_public_url(env.get("HATCHWAY_PUBLIC_URL", "http://127.0.0.1:8000")),
        public_url_configured=bool(env.get("HATCHWAY_PUBLIC_URL", "").strip()),
        provisioning_key=provisioning_key,
        provisioning_api_enabled=_read_bool(env, "HATCHWAY_PROVISIONING_API_ENABLED", True),
        smtp_url=env.get("HATCHWAY_SMTP_URL", "").strip() or None,
        mail_from=env.get("HATCHWAY_MAIL_FROM", "hatchway@localhost").strip(),
        insecure_loopback_idp=_read_bool(env, "HATCHWAY_INSECURE_LOOPBACK_IDP", False),
        sealing_keys=sealing_keys,
        outbox_worker=_read_bool(env, "HATCHWAY_OUTBOX_WORKER", True),
        log_level=env.get("HATCHWAY_LOG_LEVEL", "INFO").strip().upper() or "INFO",
        http_timeout_seconds=_read_float(env, "HATCHWAY_HTTP_TIMEOUT", 5.0),
        clock_leeway_seconds=_read_seconds(env, "HATCHWAY_CLOCK_LEEWAY", 120, maximum=3600),
    )
