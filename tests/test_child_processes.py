"""Servers that tests start end with every process they forked, also when the start fails."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from tests.support import idp, server_process
from tests.support.hatchway import PROVISIONING_KEY
from tests.support.idp import OidcProvider
from tests.support.server_process import HatchwayProcess, serve_environment


def group_members(group_id: int) -> set[int]:
    """Return the ids of the live processes in a process group, read from /proc."""
    members = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        # After the command name come the state, the parent id and the group id. Zombies
        # have exited already and only wait for their parent to collect them.
        if int(fields[2]) == group_id and fields[0] != "Z":
            members.add(int(stat.parent.name))
    return members


def environment(tmp_path: Path, database_url: str) -> dict[str, str]:
    return serve_environment(
        tmp_path / "data",
        database_url,
        PROVISIONING_KEY,
        Fernet.generate_key().decode("ascii"),
        HATCHWAY_OUTBOX_WORKER="false",
    )


class StartedGroups:
    """Records the process group leaders that a module starts through `start_group`."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, module: Any) -> None:
        self.leaders: list[subprocess.Popen[Any]] = []
        start = module.start_group

        def recording_start(command: list[str], **options: Any) -> subprocess.Popen[Any]:
            process = start(command, **options)
            self.leaders.append(process)
            return process

        monkeypatch.setattr(module, "start_group", recording_start)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process groups in /proc")
def test_stop_ends_every_worker(tmp_path: Path, database_url: str) -> None:
    server = HatchwayProcess(environment(tmp_path, database_url), workers=2)
    server.start()
    group = server.pid
    try:
        running = group_members(group)
    finally:
        server.stop()

    assert len(running) >= 3, "the supervisor and two workers"
    assert group_members(group) == set()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process groups in /proc")
def test_failed_start_leaves_nothing(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = StartedGroups(monkeypatch, server_process)
    # Too short for any start, so start() gives up while the server is still coming up.
    monkeypatch.setattr(server_process, "START_TIMEOUT_SECONDS", 0.2)
    server = HatchwayProcess(environment(tmp_path, database_url), workers=2)

    with pytest.raises(RuntimeError, match="did not start within the timeout"):
        server.start()

    assert len(started.leaders) == 1
    assert started.leaders[0].poll() is not None
    assert group_members(started.leaders[0].pid) == set()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process groups in /proc")
def test_provider_stop_ends_its_group(monkeypatch: pytest.MonkeyPatch) -> None:
    started = StartedGroups(monkeypatch, idp)
    provider = OidcProvider()
    provider.start()
    try:
        running = group_members(started.leaders[0].pid)
    finally:
        provider.stop()

    assert len(running) >= 1
    assert group_members(started.leaders[0].pid) == set()
