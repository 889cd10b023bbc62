"""The README's screenshots of the administration pages can be taken (one browser session)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.admin import screenshots

pytestmark = pytest.mark.browser

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_screenshots_are_saved(chromium: Browser, tmp_path: Path) -> None:
    saved = screenshots.run(chromium, tmp_path / "shots", tmp_path / "work")

    assert sorted(path.name for path in saved) == sorted(screenshots.PAGES)
    for path in saved:
        assert path.read_bytes().startswith(PNG_SIGNATURE), path
