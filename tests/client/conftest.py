from __future__ import annotations

from tests.support.cli import cli, contoso, idp_client, stub

__all__ = ["cli", "contoso", "idp_client", "stub"]
