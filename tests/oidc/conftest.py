"""Every test here talks to a fake Entra ID through Hatchway's guarded client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hatchway.config import Settings
from hatchway.context import AppContext
from tests.support.entra import FakeEntra, fake_entra
from tests.support.hatchway import prepare_context

__all__ = ["fake_entra"]


@pytest.fixture
def context(settings: Settings, fake_entra: FakeEntra) -> Iterator[AppContext]:
    app_context = prepare_context(settings)
    fake_entra.attach(app_context)
    try:
        yield app_context
    finally:
        app_context.close()
