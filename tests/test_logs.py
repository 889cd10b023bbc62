"""The operator's log: which lines each HATCHWAY_LOG_LEVEL lets through."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from hatchway.logs import configure_logging


@contextmanager
def configured(level: str) -> Iterator[None]:
    """Configure logging as `hatchway serve` does, and put pytest's own handlers back after."""
    root = logging.getLogger()
    handlers, root_level = root.handlers[:], root.level
    httpx_logger = logging.getLogger("httpx")
    httpx_level = httpx_logger.level
    access = logging.getLogger("uvicorn.access")
    access_disabled = access.disabled
    configure_logging(level)
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(root_level)
        httpx_logger.setLevel(httpx_level)
        access.disabled = access_disabled


def fetch_from_provider() -> None:
    """Send one request through httpx, which logs it at INFO."""
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"keys": []}))
    with httpx.Client(transport=transport) as client:
        assert client.get("http://127.0.0.1:9/jwks").status_code == 200
    logging.getLogger("hatchway.sso.verification").info("sso.verification.done passed=True")


def test_info_log_omits_provider_requests(capsys: pytest.CaptureFixture[str]) -> None:
    with configured("INFO"):
        fetch_from_provider()

    log = capsys.readouterr().err
    assert "sso.verification.done passed=True" in log
    assert "HTTP Request" not in log


def test_debug_log_shows_provider_requests(capsys: pytest.CaptureFixture[str]) -> None:
    with configured("DEBUG"):
        fetch_from_provider()

    log = capsys.readouterr().err
    assert 'HTTP Request: GET http://127.0.0.1:9/jwks "HTTP/1.1 200 OK"' in log
