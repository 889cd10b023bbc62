"""Test servers get ports that nothing else takes, and move on when something does."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from hatchway.config import Settings
from tests.support import hatchway as hatchway_support
from tests.support import server_process
from tests.support.hatchway import iterate_live_server
from tests.support.ports import LOOPBACK, free_port
from tests.support.server_process import HatchwayProcess, serve_environment


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port that another program listens on for the whole test."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind((LOOPBACK, free_port()))
        listener.listen()
        yield listener.getsockname()[1]


def test_free_port_below_ephemeral_range() -> None:
    ephemeral_start = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    port = free_port()
    assert port < ephemeral_start
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, port))


def test_serve_retries_taken_port(
    taken_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ports = iter([taken_port])
    monkeypatch.setattr(server_process, "free_port", lambda: next(ports, None) or free_port())
    environment = serve_environment(
        tmp_path,
        f"sqlite:///{tmp_path / 'hatchway.sqlite3'}",
        "ports-test-provisioning-key-0123456789",
        Fernet.generate_key().decode("ascii"),
    )
    server = HatchwayProcess(environment)
    server.start()
    try:
        assert server.port != taken_port
        assert server.environment["HATCHWAY_PUBLIC_URL"] == server.url
        assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
    finally:
        server.stop()


def test_serve_on_chosen_taken_port_fails(taken_port: int, tmp_path: Path) -> None:
    environment = serve_environment(
        tmp_path,
        f"sqlite:///{tmp_path / 'hatchway.sqlite3'}",
        "ports-test-provisioning-key-0123456789",
        Fernet.generate_key().decode("ascii"),
    )
    server = HatchwayProcess(environment, port=taken_port)
    with pytest.raises(RuntimeError, match=r"(?i)address already in use"):
        server.start()


def test_live_server_retries_taken_port(
    taken_port: int, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    ports = iter([taken_port])
    monkeypatch.setattr(hatchway_support, "free_port", lambda: next(ports, None) or free_port())
    live_servers = iterate_live_server(settings)
    live = next(live_servers)
    try:
        assert live.port != taken_port
        assert httpx.get(f"{live.url}/healthz", timeout=5).status_code == 200
    finally:
        live_servers.close()
