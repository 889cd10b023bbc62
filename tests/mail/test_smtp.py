"""The SMTP sender: URL parsing, replies, AUTH from the URL, STARTTLS and implicit TLS."""

from __future__ import annotations

import datetime
import ipaddress
import logging
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hatchway.config import ConfigurationError, load_settings
from hatchway.mail.smtp import Outcome, SmtpSender, SmtpTarget, mask_addresses
from tests.support.aio import run_async
from tests.support.ports import LOOPBACK, free_port
from tests.support.smtp import SmtpSink

PASSWORD = "canary-smtp-password-7f3a"


def message(subject: str = "Hello") -> EmailMessage:
    email = EmailMessage()
    email["From"] = "hatchway@contoso.test"
    email["To"] = "admin@contoso.test"
    email["Subject"] = subject
    email.set_content("Hello")
    return email


def send(sender: SmtpSender, subject: str = "Hello") -> Any:
    return run_async(sender.send(message(subject)))


# URL parsing


def test_url_with_credentials_is_decoded() -> None:
    target = SmtpTarget.from_url("smtp://mailer%40contoso.test:p%40ss%3Aword@mail.contoso.test:587")

    assert target.host == "mail.contoso.test"
    assert target.port == 587
    assert target.implicit_tls is False
    assert target.username == "mailer@contoso.test"
    assert target.password == "p@ss:word"


@pytest.mark.parametrize(
    ("url", "port", "implicit_tls"),
    [("smtp://mail.contoso.test", 25, False), ("smtps://mail.contoso.test", 465, True)],
)
def test_url_default_ports(url: str, port: int, implicit_tls: bool) -> None:
    target = SmtpTarget.from_url(url)

    assert target.port == port
    assert target.implicit_tls is implicit_tls


def test_description_hides_password() -> None:
    target = SmtpTarget.from_url(f"smtps://mailer:{PASSWORD}@mail.contoso.test")

    assert target.describe() == "smtps://user@mail.contoso.test:465"
    assert PASSWORD not in repr(target)


def test_settings_reject_other_scheme_without_echoing_url() -> None:
    with pytest.raises(ConfigurationError) as error:
        load_settings({"HATCHWAY_SMTP_URL": f"https://mailer:{PASSWORD}@mail.contoso.test"})

    assert "HATCHWAY_SMTP_URL is not an SMTP URL" in str(error.value)
    assert PASSWORD not in str(error.value)


def test_settings_keep_smtp_url_out_of_repr() -> None:
    settings = load_settings({"HATCHWAY_SMTP_URL": f"smtp://mailer:{PASSWORD}@127.0.0.1:2525"})

    assert settings.smtp_url == f"smtp://mailer:{PASSWORD}@127.0.0.1:2525"
    assert PASSWORD not in repr(settings)


def test_mask_addresses_hides_recipients() -> None:
    masked = mask_addresses("550 5.1.1 <admin@contoso.test>: Recipient address rejected")

    assert masked == "550 5.1.1 <<address>>: Recipient address rejected"


# Replies


def sink_sender(sink: SmtpSink) -> SmtpSender:
    return SmtpSender(SmtpTarget.from_url(f"smtp://{LOOPBACK}:{sink.port}"))


def test_accepted_message_is_sent_with_reply(smtp_sink: SmtpSink) -> None:
    result = send(sink_sender(smtp_sink))

    assert result.outcome is Outcome.SENT
    assert result.reply == "250 Message accepted for delivery"
    assert smtp_sink.wait_for_message()["Subject"] == "Hello"


def test_temporary_data_refusal_means_retry(smtp_sink: SmtpSink) -> None:
    smtp_sink.refuse_next(1, 451, "4.3.0 Try again later")

    result = send(sink_sender(smtp_sink))

    assert result.outcome is Outcome.RETRY
    assert result.reply == "451 4.3.0 Try again later"
    assert result.code == 451


def test_temporary_recipient_refusal_means_retry(smtp_sink: SmtpSink) -> None:
    smtp_sink.refuse_next(1, 450, "4.2.1 Mailbox busy", stage="RCPT")

    result = send(sink_sender(smtp_sink))

    assert result.outcome is Outcome.RETRY
    assert result.reply == "450 4.2.1 Mailbox busy"


def test_permanent_rejection_means_failed(smtp_sink: SmtpSink) -> None:
    smtp_sink.reject_permanently(550, "5.7.1 Message rejected", stage="RCPT")

    result = send(sink_sender(smtp_sink))

    assert result.outcome is Outcome.FAILED
    assert result.reply == "550 5.7.1 Message rejected"


def test_unreachable_server_means_retry() -> None:
    sender = SmtpSender(SmtpTarget.from_url(f"smtp://{LOOPBACK}:{free_port()}"))

    result = send(sender)

    assert result.outcome is Outcome.RETRY
    assert "SMTPConnectError" in result.reply
    assert result.code is None


# AUTH and TLS against servers of this test


@dataclass
class Received:
    """What a test server saw: the credentials and whether the DATA arrived over TLS."""

    logins: list[tuple[str, str]] = field(default_factory=list)
    encrypted: list[bool] = field(default_factory=list)


class RecordingHandler:
    def __init__(self, received: Received) -> None:
        self.received = received

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        transport = server.transport
        over_tls = transport is not None and transport.get_extra_info("ssl_object") is not None
        self.received.encrypted.append(over_tls)
        return "250 OK"


def authenticator(received: Received) -> Any:
    def check(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        received.logins.append((data.login.decode(), data.password.decode()))
        # handled=False makes aiosmtpd send the 535 reply itself.
        return AuthResult(success=data.password.decode() == PASSWORD, handled=False)

    return check


@pytest.fixture
def server_with_auth() -> Iterator[tuple[int, Received]]:
    received = Received()
    port = free_port()
    controller = Controller(
        RecordingHandler(received),
        hostname=LOOPBACK,
        port=port,
        authenticator=authenticator(received),
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield port, received
    finally:
        controller.stop()


def test_credentials_from_url_are_sent(
    server_with_auth: tuple[int, Received], caplog: pytest.LogCaptureFixture
) -> None:
    port, received = server_with_auth
    caplog.set_level(logging.DEBUG)
    sender = SmtpSender(SmtpTarget.from_url(f"smtp://mailer:{PASSWORD}@{LOOPBACK}:{port}"))

    result = send(sender)

    assert result.outcome is Outcome.SENT
    assert received.logins == [("mailer", PASSWORD)]
    assert PASSWORD not in caplog.text


def test_wrong_password_means_retry(server_with_auth: tuple[int, Received]) -> None:
    port, _ = server_with_auth
    sender = SmtpSender(SmtpTarget.from_url(f"smtp://mailer:wrong@{LOOPBACK}:{port}"))

    result = send(sender)

    assert result.outcome is Outcome.RETRY
    assert result.reply.startswith("535 authentication failed")
    assert "wrong" not in result.reply


@dataclass(frozen=True)
class Certificate:
    server_context: ssl.SSLContext
    client_context: ssl.SSLContext


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1 and contexts that serve and trust it."""
    folder: Path = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, LOOPBACK)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(LOOPBACK))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = folder / "cert.pem"
    key_path = folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_path, key_path)
    client = ssl.create_default_context(cafile=str(cert_path))
    return Certificate(server, client)


def test_starttls_is_used_when_offered(certificate: Certificate) -> None:
    received = Received()
    port = free_port()
    controller = Controller(
        RecordingHandler(received),
        hostname=LOOPBACK,
        port=port,
        tls_context=certificate.server_context,
    )
    controller.start()
    try:
        sender = SmtpSender(
            SmtpTarget.from_url(f"smtp://{LOOPBACK}:{port}"),
            tls_context=certificate.client_context,
        )
        result = send(sender)
    finally:
        controller.stop()

    assert result.outcome is Outcome.SENT
    assert received.encrypted == [True]


def test_smtps_uses_tls_from_the_start(certificate: Certificate) -> None:
    received = Received()
    port = free_port()
    controller = Controller(
        RecordingHandler(received),
        hostname=LOOPBACK,
        port=port,
        ssl_context=certificate.server_context,
    )
    controller.start()
    try:
        sender = SmtpSender(
            SmtpTarget.from_url(f"smtps://{LOOPBACK}:{port}"),
            tls_context=certificate.client_context,
        )
        result = send(sender)
    finally:
        controller.stop()

    assert result.outcome is Outcome.SENT
    assert received.encrypted == [True]


def test_untrusted_certificate_means_retry(certificate: Certificate) -> None:
    received = Received()
    port = free_port()
    controller = Controller(
        RecordingHandler(received),
        hostname=LOOPBACK,
        port=port,
        ssl_context=certificate.server_context,
    )
    controller.start()
    try:
        result = send(SmtpSender(SmtpTarget.from_url(f"smtps://{LOOPBACK}:{port}")))
    finally:
        controller.stop()

    assert result.outcome is Outcome.RETRY
    assert "CERTIFICATE_VERIFY_FAILED" in result.reply
    assert received.encrypted == []
