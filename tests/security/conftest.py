from __future__ import annotations

from tests.support.api import make_api

__all__ = ["make_api"]
