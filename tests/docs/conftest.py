from __future__ import annotations

from tests.support.cli import stub

__all__ = ["stub"]
