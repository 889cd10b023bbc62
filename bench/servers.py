"""The processes a benchmark run starts: Hatchway, the two baselines, and their CPU clocks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
from tests.support.child_processes import start_group, stop_group
from tests.support.ports import free_port
from tests.support.server_process import HatchwayProcess

REPOSITORY = Path(__file__).resolve().parent.parent
START_TIMEOUT_SECONDS = 60.0


def process_tree(pid: int) -> list[psutil.Process]:
    parent = psutil.Process(pid)
    return [parent, *parent.children(recursive=True)]


def cpu_seconds(pid: int) -> float:
    """Return the user and system CPU time of a server process and all its workers."""
    total = 0.0
    for process in process_tree(pid):
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def worker_rss_mb(pid: int) -> list[float]:
    """Return the resident memory of each process that serves requests, in MiB.

    With several workers the parent only supervises, so only the workers are listed.
    """
    tree = process_tree(pid)
    workers = tree[1:] if len(tree) > 1 else tree
    # uvicorn starts a multiprocessing resource tracker next to its workers; it serves nothing.
    serving = [p for p in workers if "resource_tracker" not in " ".join(p.cmdline())]
    return [p.memory_info().rss / 2**20 for p in serving]


class UvicornProcess:
    """A baseline app served by uvicorn with the same worker count as Hatchway."""

    def __init__(self, factory: str, environment: dict[str, str], workers: int) -> None:
        self.port = free_port()
        self.factory = factory
        self.workers = workers
        self.environment = {**os.environ, **environment}
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def start(self) -> None:
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            self.factory,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        self._process = start_group(
            command, cwd=REPOSITORY, env=self.environment, stdin=subprocess.DEVNULL
        )
        try:
            wait_until_serving(self.url, lambda: self._process is not None and self._process.poll())
            wait_for_workers(self.pid, self.workers)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server and every worker it started."""
        if self._process is None:
            return
        stop_group(self._process, 15.0)
        self._process = None


def wait_until_serving(url: str, exited: object) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if callable(exited) and exited() is not None:
            raise RuntimeError(f"the server for {url} exited during start")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server for {url} did not start within {START_TIMEOUT_SECONDS} s")


def wait_for_workers(pid: int, workers: int) -> None:
    """Wait until a multi-worker server has all its workers; uvicorn starts them one by one."""
    if workers == 1:
        return
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if len(worker_rss_mb(pid)) >= workers:
            # A worker that exists may still be importing; give it time to listen.
            time.sleep(2.0)
            return
        time.sleep(0.1)


def start_hatchway(environment: dict[str, str], workers: int) -> HatchwayProcess:
    server = HatchwayProcess(environment, workers=workers)
    server.start()
    return server
