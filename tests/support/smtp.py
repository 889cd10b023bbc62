"""An SMTP server on 127.0.0.1 that stores what it receives and can reject on request."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support.ports import LOOPBACK, free_port

SmtpStage = Literal["RCPT", "DATA"]
MessagePredicate = Callable[[EmailMessage], bool]

PORT_ATTEMPTS = 3


@dataclass(frozen=True)
class Delivery:
    """A message the sink accepted, with its SMTP envelope."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage


@dataclass
class _Rejection:
    stage: SmtpStage
    reply: str
    remaining: int | None  # None: reject until accept_all()


class _Handler:
    """aiosmtpd handler hooks, which run on the controller's event loop thread."""

    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        rejection = self._sink._take_rejection("RCPT")
        if rejection is not None:
            return rejection
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        rejection = self._sink._take_rejection("DATA")
        if rejection is not None:
            return rejection
        self._sink._store(envelope)
        return "250 Message accepted for delivery"


class SmtpSink:
    """An SMTP server on 127.0.0.1 with a free port, for one test.

    Accepted messages are parsed with the default email policy and appended to
    `deliveries` (and `messages`). `refuse_next` and `reject_permanently` make the
    sink reply to RCPT or DATA commands with an error, so tests can check retries and
    bounces. `rejected_count` counts the commands that got such a reply.
    """

    def __init__(self) -> None:
        self._controller: Controller | None = None
        self._condition = threading.Condition()
        self._deliveries: list[Delivery] = []
        self._rejection: _Rejection | None = None
        self._rejected_count = 0
        self.host = LOOPBACK

    @property
    def port(self) -> int:
        if self._controller is None:
            raise RuntimeError("the SMTP sink is not running; call start() first")
        port: int = self._controller.port
        return port

    @property
    def deliveries(self) -> list[Delivery]:
        with self._condition:
            return list(self._deliveries)

    @property
    def messages(self) -> list[EmailMessage]:
        return [delivery.message for delivery in self.deliveries]

    @property
    def rejected_count(self) -> int:
        with self._condition:
            return self._rejected_count

    def start(self, port: int | None = None) -> None:
        """Listen on `port`, or on a free port; a test that simulates an outage passes the port
        the SMTP server was down on."""
        if self._controller is not None:
            raise RuntimeError("the SMTP sink is already running")
        attempts = 1 if port is not None else PORT_ATTEMPTS
        for attempt in range(1, attempts + 1):
            controller = Controller(_Handler(self), hostname=LOOPBACK, port=port or free_port())
            try:
                controller.start()
            except OSError:
                # Another process took the port between the probe and the bind.
                controller.loop.close()
                if attempt == attempts:
                    raise
                continue
            self._controller = controller
            return

    def stop(self) -> None:
        """Stop the server; does nothing when it is not running."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def refuse_next(
        self,
        n: int,
        code: int = 451,
        text: str = "4.3.0 Try again later",
        *,
        stage: SmtpStage = "DATA",
    ) -> None:
        """Answer the next `n` commands of `stage` (DATA or RCPT) with `code` and `text`.

        With the default 451 this is a temporary failure that a client should retry.
        """
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        self._set_rejection(_Rejection(stage, _reply(code, text), remaining=n))

    def reject_permanently(
        self,
        code: int = 550,
        text: str = "5.7.1 Message rejected",
        *,
        stage: SmtpStage = "DATA",
    ) -> None:
        """Answer every later command of `stage` with `code` and `text` until `accept_all()`."""
        self._set_rejection(_Rejection(stage, _reply(code, text), remaining=None))

    def accept_all(self) -> None:
        """Cancel `refuse_next` and `reject_permanently`."""
        self._set_rejection(None)

    def wait_for_message(
        self, predicate: MessagePredicate | None = None, timeout: float = 10
    ) -> EmailMessage:
        """Return the first received message that matches `predicate`, waiting up to `timeout` s.

        Without a predicate, returns the first message. Raises TimeoutError when no
        matching message arrives in time.
        """
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                for delivery in self._deliveries:
                    if predicate is None or predicate(delivery.message):
                        return delivery.message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"no matching message arrived within {timeout} s; "
                        f"received {len(self._deliveries)} message(s) in total"
                    )
                self._condition.wait(remaining)

    def _set_rejection(self, rejection: _Rejection | None) -> None:
        with self._condition:
            self._rejection = rejection

    def _take_rejection(self, stage: SmtpStage) -> str | None:
        with self._condition:
            rejection = self._rejection
            if rejection is None or rejection.stage != stage:
                return None
            if rejection.remaining is not None:
                rejection.remaining -= 1
                if rejection.remaining == 0:
                    self._rejection = None
            self._rejected_count += 1
            return rejection.reply

    def _store(self, envelope: Envelope) -> None:
        raw = envelope.original_content or b""
        message = BytesParser(_class=EmailMessage, policy=policy.default).parsebytes(raw)
        delivery = Delivery(
            mail_from=envelope.mail_from or "",
            rcpt_tos=tuple(envelope.rcpt_tos),
            message=message,
        )
        with self._condition:
            self._deliveries.append(delivery)
            self._condition.notify_all()


def _reply(code: int, text: str) -> str:
    return f"{code} {text}"
