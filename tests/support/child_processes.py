"""Servers started by tests and benchmarks as process groups that never outlive their starter.

Each server starts in a session (and so a process group) of its own, which also contains every
process it forks, such as uvicorn's workers and multiprocessing's resource tracker. Stopping a
server ends its whole group. Three nets catch servers that a test would otherwise leave behind:

- `stop_group` sends SIGTERM to the leader, then SIGKILL to the group, so that workers which
  outlive their supervisor end too;
- an `atexit` hook stops every group still registered when the interpreter exits normally,
  for example after a fixture failed before its cleanup was set up;
- on Linux, the leader gets SIGTERM from the kernel when the thread that started it ends,
  which covers a test process that was killed and ran no exit hooks.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

STOP_TIMEOUT_SECONDS = 10.0
_PR_SET_PDEATHSIG = 1

_running: dict[int, subprocess.Popen[Any]] = {}
_lock = threading.Lock()


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    library = ctypes.util.find_library("c")
    if library is None:
        return None
    prctl: Callable[..., int] = ctypes.CDLL(library, use_errno=True).prctl
    return prctl


# Looked up once here, because the child of a fork must not load libraries or take locks.
_prctl = _load_prctl()


def _terminate_with_parent() -> None:
    # NOTE: the kernel ties this signal to the starting thread, not the process, so start
    # servers from a thread that lives as long as they should (pytest's main thread does).
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def start_group(command: list[str], **options: Any) -> subprocess.Popen[Any]:
    """Start `command` as the leader of a new process group and register it for cleanup."""
    process: subprocess.Popen[Any] = subprocess.Popen(
        command, start_new_session=True, preexec_fn=_terminate_with_parent, **options
    )
    with _lock:
        _running[process.pid] = process
    return process


def kill_group(process: subprocess.Popen[Any]) -> None:
    """Send SIGKILL to every process of the group, at once, as a crash would."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(STOP_TIMEOUT_SECONDS)
    with _lock:
        _running.pop(process.pid, None)


def stop_group(process: subprocess.Popen[Any], timeout: float = STOP_TIMEOUT_SECONDS) -> None:
    """Stop the leader with SIGTERM (SIGKILL after `timeout` seconds), then kill its group."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
    # Workers that outlived their supervisor are still in its group.
    kill_group(process)


def _stop_all() -> None:
    with _lock:
        remaining = list(_running.values())
    for process in remaining:
        stop_group(process, timeout=2.0)


atexit.register(_stop_all)
