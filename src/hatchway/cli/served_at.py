"""The address `hatchway serve` last listened on, for commands that run beside the server.

Without HATCHWAY_PUBLIC_URL, links name the server's listener (`make run PORT=8100` serves on
port 8100). `hatchway emergency-link` runs in another process that cannot see that port, so
`serve` writes its address to a file in the data folder and the command reads it from there.
"""

from __future__ import annotations

import logging
from pathlib import Path

from hatchway.config import Settings

logger = logging.getLogger(__name__)

FILE_NAME = "served-at"


def record_served_url(settings: Settings) -> None:
    """Write the public URL that `serve` derived from its listener; log a warning if that fails."""
    path = settings.data_dir / FILE_NAME
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(settings.public_url + "\n", encoding="utf-8")
    except OSError as error:
        logger.warning("serve.address_not_recorded path=%s error=%s", path, error.strerror)


def served_url(settings: Settings) -> tuple[str, Path] | None:
    """Return the address `serve` last recorded and the file it came from, if there is one."""
    path: Path = settings.data_dir / FILE_NAME
    try:
        recorded = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not recorded.startswith(("http://", "https://")):
        return None
    return recorded, path
