from __future__ import annotations

from tests.support.cli import cli, contoso, idp_client, offline_cli, stub

__all__ = ["cli", "contoso", "idp_client", "offline_cli", "stub"]
