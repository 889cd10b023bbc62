"""`hatchway serve` as a real child process, for tests of workers, crashes and log lines.

The child writes its log to stderr; a reader thread keeps every line, so a test can find the
process id that answered a request from the request id that Hatchway echoes in X-Request-ID.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from tests.support.child_processes import kill_group, start_group, stop_group
from tests.support.ports import free_port

HATCHWAY_COMMAND = Path(sys.executable).with_name("hatchway")
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0
PORT_ATTEMPTS = 3

# "2025-01-31 12:00:00,123 INFO 4242 hatchway.access [0123abcd] request ..."
_LOG_LINE = re.compile(r"^\S+ \S+ [A-Z]+ (?P<pid>\d+) \S+ \[(?P<request_id>[^\]]+)\]")


def _inherited_environment() -> dict[str, str]:
    """Return this process's environment without Hatchway's and prometheus-client's variables."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("HATCHWAY_") and name != "PROMETHEUS_MULTIPROC_DIR"
    }


class HatchwayProcess:
    """`hatchway serve` on 127.0.0.1 with the given HATCHWAY_* variables."""

    def __init__(
        self,
        environment: Mapping[str, str],
        *,
        workers: int = 1,
        port: int | None = None,
    ) -> None:
        self.port = port or free_port()
        self.workers = workers
        self._port_chosen_by_caller = port is not None
        self._public_url_given = "HATCHWAY_PUBLIC_URL" in environment
        self.environment = {
            **_inherited_environment(),
            "HATCHWAY_PUBLIC_URL": self.url,
            **environment,
        }
        self.lines: list[str] = []
        self._process: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self._process is not None, "the server is not running"
        return self._process.pid

    def start(self) -> None:
        """Start the server and wait until /healthz responds and every worker has logged its start.

        When another program took the chosen port first, start again on a new one, unless
        the caller asked for that port.
        """
        for attempt in range(PORT_ATTEMPTS):
            try:
                self._start_once()
                return
            except RuntimeError:
                # _start_once stopped the server, so its output is complete here.
                port_taken = "address already in use" in self.output().lower()
                if not port_taken or self._port_chosen_by_caller or attempt == PORT_ATTEMPTS - 1:
                    raise
                self._move_to_new_port()

    def _move_to_new_port(self) -> None:
        self.port = free_port()
        if not self._public_url_given:
            self.environment["HATCHWAY_PUBLIC_URL"] = self.url
        self.lines = []

    def _start_once(self) -> None:
        command = [
            str(HATCHWAY_COMMAND),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
        ]
        self._process = start_group(
            command,
            env=self.environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read_output, daemon=True)
        self._reader.start()
        try:
            self._wait_until_started()
        except BaseException:
            # The caller's cleanup only runs after a successful start.
            self.stop()
            raise

    def _read_output(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        with self._process.stdout as stream:
            for line in stream:
                self.lines.append(line.rstrip("\n"))

    def _wait_until_started(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"hatchway serve exited with {self._process.returncode}:\n{self.output()}"
                )
            # Workers log 'server.started' at level INFO, which a test may have silenced.
            workers_started = self.workers == 1 or len(self.worker_pids()) >= self.workers
            if workers_started and self._answers():
                return
            time.sleep(0.05)
        raise RuntimeError(f"hatchway serve did not start within the timeout:\n{self.output()}")

    def _answers(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def worker_pids(self) -> set[int]:
        """Return the process ids of the workers that logged 'server.started'."""
        started = re.compile(r"server\.started version=\S+ pid=(\d+)")
        return {int(match.group(1)) for line in self.lines if (match := started.search(line))}

    def pid_of(self, response: httpx.Response, timeout: float = 3.0) -> int:
        """Return the id of the worker process that answered a response, from the access log."""
        request_id = response.headers["x-request-id"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                match = _LOG_LINE.match(line)
                if match and match.group("request_id") == request_id:
                    return int(match.group("pid"))
            time.sleep(0.02)
        raise AssertionError(f"no log line carries request id {request_id}")

    def output(self) -> str:
        return "\n".join(self.lines)

    def kill(self) -> None:
        """Kill the server process at once (SIGKILL), as a crash or a power cut would."""
        assert self._process is not None
        kill_group(self._process)
        self._join_reader()

    def stop(self) -> None:
        """Stop the server as an operator would (SIGTERM), then kill whatever is left of it.

        Every process of the server's group ends, uvicorn's workers included.
        """
        if self._process is None:
            return
        stop_group(self._process, STOP_TIMEOUT_SECONDS)
        self._join_reader()

    def _join_reader(self) -> None:
        if self._reader is not None:
            self._reader.join(STOP_TIMEOUT_SECONDS)
        self._process = None


def serve_environment(
    data_dir: Path, database_url: str, provisioning_key: str, sealing_key: str, **extra: str
) -> dict[str, str]:
    """Return the HATCHWAY_* variables of a test server; `extra` adds or overrides some."""
    return {
        "HATCHWAY_DATA_DIR": str(data_dir),
        "HATCHWAY_DATABASE_URL": database_url,
        "HATCHWAY_PROVISIONING_KEY": provisioning_key,
        "HATCHWAY_SEALING_KEYS": sealing_key,
        "HATCHWAY_INSECURE_LOOPBACK_IDP": "true",
        **extra,
    }
