"""A real OpenID Provider (node-oidc-provider) for tests, run as a Node.js child process.

The provider runs tests/idp/provider.mjs, which enables development interactions
(any login name signs in), open dynamic client registration and the client credentials
grant, and requires PKCE with S256 for every authorization code request.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx

from tests.support.child_processes import start_group, stop_group
from tests.support.ports import free_port

IDP_DIR = Path(__file__).resolve().parent.parent / "idp"
PROVIDER_SCRIPT = IDP_DIR / "provider.mjs"
DEFAULT_NODE_MODULES = IDP_DIR / "node_modules"

READY_TIMEOUT_SECONDS = 20.0
STOP_TIMEOUT_SECONDS = 5.0
PORT_ATTEMPTS = 3


class OidcProviderError(RuntimeError):
    """The test OpenID Provider could not be started or did not respond as expected."""


class _PortInUseError(OidcProviderError):
    """The provider could not listen because another process took its port first."""


@dataclass(frozen=True)
class RegisteredClient:
    """Credentials of a client created through dynamic client registration."""

    client_id: str
    client_secret: str


class _OutputCollector:
    """Reads a child's stdout and stderr on background threads and keeps every line.

    Draining both pipes keeps the child from blocking on a full pipe buffer. The
    stdout reader sets `ready_line` to the first line that starts with "READY ".
    """

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.stdout_lines: list[str] = []
        self.stderr_lines: list[str] = []
        self.ready_line: str | None = None
        self.ready = threading.Event()
        self._threads = [
            self._spawn(process.stdout, self.stdout_lines, watch_for_ready=True),
            self._spawn(process.stderr, self.stderr_lines, watch_for_ready=False),
        ]

    def _spawn(
        self, stream: IO[str] | None, lines: list[str], *, watch_for_ready: bool
    ) -> threading.Thread:
        assert stream is not None
        thread = threading.Thread(
            target=self._read, args=(stream, lines, watch_for_ready), daemon=True
        )
        thread.start()
        return thread

    def _read(self, stream: IO[str], lines: list[str], watch_for_ready: bool) -> None:
        with stream:
            for line in stream:
                lines.append(line.rstrip("\n"))
                if watch_for_ready and self.ready_line is None and line.startswith("READY "):
                    self.ready_line = line.strip()
                    self.ready.set()
        # End of output also wakes a waiter, which then finds the process has exited.
        self.ready.set()

    def join(self, timeout: float) -> None:
        for thread in self._threads:
            thread.join(timeout)

    def stderr_text(self) -> str:
        return "\n".join(self.stderr_lines) or "(no output on stderr)"


class OidcProvider:
    """A node-oidc-provider instance listening on 127.0.0.1 with a free port.

    Call `start()` once and `stop()` when done. `issuer` and `port` are valid while
    the provider runs, and `metadata` contains its discovery document.
    """

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self._output: _OutputCollector | None = None
        self._issuer: str | None = None
        self._port: int | None = None
        self.metadata: dict[str, Any] = {}

    @property
    def issuer(self) -> str:
        if self._issuer is None:
            raise OidcProviderError("the OpenID Provider is not running; call start() first")
        return self._issuer

    @property
    def port(self) -> int:
        if self._port is None:
            raise OidcProviderError("the OpenID Provider is not running; call start() first")
        return self._port

    @property
    def stderr_lines(self) -> list[str]:
        """Lines the provider process has written to stderr so far."""
        return list(self._output.stderr_lines) if self._output else []

    def start(self, node_modules_dir: Path = DEFAULT_NODE_MODULES) -> None:
        """Launch the provider and wait until it accepts requests.

        `node_modules_dir` is the folder where `npm ci --prefix tests/idp` installed
        oidc-provider. Raises OidcProviderError when Node.js or the package is missing,
        or when the provider does not print READY within 20 seconds.
        """
        if self._process is not None:
            raise OidcProviderError("the OpenID Provider is already running")
        node = _find_node()
        _check_installed(node_modules_dir)

        for attempt in range(1, PORT_ATTEMPTS + 1):
            try:
                self._launch(node, node_modules_dir, free_port())
                break
            except _PortInUseError:
                if attempt == PORT_ATTEMPTS:
                    raise
        try:
            self.metadata = self._fetch_metadata()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Terminate the provider process; does nothing when it is not running."""
        process, output = self._process, self._output
        self._process = self._output = None
        self._issuer = self._port = None
        if process is None:
            return
        _terminate(process)
        if output is not None:
            output.join(STOP_TIMEOUT_SECONDS)

    def register_client(
        self,
        redirect_uris: list[str],
        token_endpoint_auth_method: str = "client_secret_basic",
        *,
        grant_types: Sequence[str] = ("authorization_code",),
    ) -> RegisteredClient:
        """Register a confidential client with exactly these redirect URIs.

        Include "client_credentials" in `grant_types` for a client that may use that grant.
        """
        response = httpx.post(
            self.metadata["registration_endpoint"],
            json={
                "redirect_uris": redirect_uris,
                "token_endpoint_auth_method": token_endpoint_auth_method,
                "grant_types": list(grant_types),
                "response_types": ["code"],
            },
        )
        if response.status_code != httpx.codes.CREATED:
            raise OidcProviderError(
                f"client registration failed with HTTP {response.status_code}: {response.text}"
            )
        body = response.json()
        return RegisteredClient(client_id=body["client_id"], client_secret=body["client_secret"])

    def _launch(self, node: str, node_modules_dir: Path, port: int) -> None:
        environment = {**os.environ, "IDP_NODE_MODULES": str(node_modules_dir)}
        process = start_group(
            [node, str(PROVIDER_SCRIPT), str(port)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
        )
        output = _OutputCollector(process)
        timed_out = not output.ready.wait(READY_TIMEOUT_SECONDS)

        if output.ready_line is None:
            _terminate(process)
            output.join(STOP_TIMEOUT_SECONDS)
            state = (
                f"did not print READY within {READY_TIMEOUT_SECONDS:.0f} s"
                if timed_out
                else f"exited with code {process.returncode}"
            )
            stderr = output.stderr_text()
            error_type = _PortInUseError if "EADDRINUSE" in stderr else OidcProviderError
            raise error_type(
                f"the OpenID Provider ({PROVIDER_SCRIPT}) on port {port} {state}.\n"
                f"stderr:\n{stderr}"
            )

        self._process, self._output, self._port = process, output, port
        self._issuer = output.ready_line.removeprefix("READY ")

    def _fetch_metadata(self) -> dict[str, Any]:
        response = httpx.get(f"{self.issuer}/.well-known/openid-configuration")
        response.raise_for_status()
        metadata: dict[str, Any] = response.json()
        return metadata


def _find_node() -> str:
    node = shutil.which("node")
    if node is None:
        raise OidcProviderError(
            "Node.js (`node`) was not found on PATH; install Node.js 20 or later"
        )
    return node


def _check_installed(node_modules_dir: Path) -> None:
    if not (node_modules_dir / "oidc-provider" / "package.json").is_file():
        raise OidcProviderError(
            f"oidc-provider is not installed in {node_modules_dir}; "
            "run `npm ci --prefix tests/idp` from the repository root"
        )


def _terminate(process: subprocess.Popen[str]) -> None:
    stop_group(process, STOP_TIMEOUT_SECONDS)
