"""Sending one message by SMTP (aiosmtplib), and what the server replied.

`HATCHWAY_SMTP_URL` has the form `smtp://user:password@host:port` (STARTTLS whenever the server
offers it) or `smtps://user:password@host:port` (TLS from the first byte). The user name and
password are optional and percent-decoded. The password is sent only over TLS, or in clear to a
loopback server; it is never logged and never part of a reply or an error.
"""

from __future__ import annotations

import enum
import logging
import re
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import aiosmtplib

from hatchway.config import is_loopback_host

logger = logging.getLogger(__name__)

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
SMTP_TIMEOUT_SECONDS = 30.0
MAX_REPLY_LENGTH = 1000

_ADDRESS_PATTERN = re.compile(r"[^\s<>\"']+@[^\s<>\"']+")


class Outcome(enum.StrEnum):
    """What a delivery attempt means for the message."""

    SENT = "sent"
    # Written to a file instead of mailed, because no SMTP server is configured.
    WRITTEN = "written"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True)
class SendResult:
    """The outcome of one attempt and the server's reply (or the connection problem) as text."""

    outcome: Outcome
    reply: str
    code: int | None = None


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to submit mail, parsed from HATCHWAY_SMTP_URL."""

    host: str
    port: int
    implicit_tls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_url(cls, url: str) -> SmtpTarget:
        parts = urlsplit(url)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError("the SMTP URL must start with smtp:// or smtps:// and name a host")
        return cls(
            host=parts.hostname,
            port=parts.port or DEFAULT_PORTS[parts.scheme],
            implicit_tls=parts.scheme == "smtps",
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password is not None else None,
        )

    def describe(self) -> str:
        """Return a password-free description for logs, such as 'smtps://mail.example.com:465'."""
        scheme = "smtps" if self.implicit_tls else "smtp"
        user = "user@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"


def mask_addresses(text: str) -> str:
    """Replace e-mail addresses in a server reply, for log lines."""
    return _ADDRESS_PATTERN.sub("<address>", text)


def _reply_text(code: int | None, message: str) -> str:
    text = " ".join(message.split())
    reply = f"{code} {text}" if code is not None else text
    return reply[:MAX_REPLY_LENGTH]


def _result_for_code(code: int, message: str) -> SendResult:
    outcome = Outcome.FAILED if 500 <= code < 600 else Outcome.RETRY
    return SendResult(outcome, _reply_text(code, message), code)


class SmtpSender:
    """Submits messages to one SMTP server, one connection per message."""

    def __init__(
        self,
        target: SmtpTarget,
        *,
        tls_context: ssl.SSLContext | None = None,
        timeout_seconds: float = SMTP_TIMEOUT_SECONDS,
    ) -> None:
        self.target = target
        self._tls_context = tls_context
        self._timeout = timeout_seconds

    def describe(self) -> str:
        return self.target.describe()

    async def send(self, email: EmailMessage) -> SendResult:
        """Submit one message; never raises for SMTP or network problems, it reports them."""
        target = self.target
        client = aiosmtplib.SMTP(
            hostname=target.host,
            port=target.port,
            use_tls=target.implicit_tls,
            start_tls=False if target.implicit_tls else None,
            timeout=self._timeout,
            tls_context=self._tls_context,
        )
        try:
            await client.connect()
            try:
                if target.username is not None:
                    problem = self._unsafe_login_problem(client)
                    if problem is not None:
                        return SendResult(Outcome.RETRY, problem)
                    await client.login(target.username, target.password or "")
                _errors, reply = await client.send_message(email)
            finally:
                if client.is_connected:
                    try:
                        await client.quit()
                    except aiosmtplib.SMTPException:
                        client.close()
        except aiosmtplib.SMTPRecipientsRefused as refused:
            first = refused.recipients[0]
            return _result_for_code(first.code, first.message)
        except aiosmtplib.SMTPAuthenticationError as error:
            # A wrong user name or password is fixed by the operator, so the message waits.
            return SendResult(
                Outcome.RETRY,
                _reply_text(error.code, f"authentication failed: {error.message}"),
                error.code,
            )
        except aiosmtplib.SMTPResponseException as error:
            return _result_for_code(error.code, error.message)
        except (aiosmtplib.SMTPException, OSError, ssl.SSLError) as error:
            return SendResult(Outcome.RETRY, _reply_text(None, f"{type(error).__name__}: {error}"))
        return SendResult(Outcome.SENT, _reply_text(250, reply), 250)

    def _unsafe_login_problem(self, client: aiosmtplib.SMTP) -> str | None:
        encrypted = client.get_transport_info("sslcontext") is not None
        if encrypted or is_loopback_host(self.target.host):
            return None
        return (
            f"the server {self.target.host} did not offer STARTTLS, so Hatchway did not send the "
            "password in clear; enable STARTTLS on the server or use an smtps:// URL"
        )
