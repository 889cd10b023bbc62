"""Free TCP ports on the loopback interface.

Ports come from below the kernel's ephemeral range (32768 and up on Linux), so an
outgoing connection's local port never takes one between the check and the bind.
Each pytest-xdist worker draws from its own block, so two workers never hand out
the same port.
"""

from __future__ import annotations

import os
import random
import socket

LOOPBACK = "127.0.0.1"

FIRST_PORT = 20000
BLOCK_SIZE = 1500
BLOCK_COUNT = 8


def _block_start() -> int:
    """Return the first port of this test process's block."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    return FIRST_PORT + (index % BLOCK_COUNT) * BLOCK_SIZE


def _is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
        return True


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now.

    The port is only free at the time of the call: another program on the machine
    may still bind it first, so a caller that starts a server should be ready to
    try again with a new port.
    """
    start = _block_start()
    for _ in range(200):
        port = random.randrange(start, start + BLOCK_SIZE)
        if _is_free(port):
            return port
    raise RuntimeError(
        f"no free TCP port between {start} and {start + BLOCK_SIZE - 1} on {LOOPBACK}; "
        "stop the servers that earlier test runs left behind"
    )
