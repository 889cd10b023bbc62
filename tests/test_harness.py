"""Checks that the shared test harness runs and that its failures surface."""

from __future__ import annotations

import base64
import hashlib
import queue
import secrets
import smtplib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from playwright.sync_api import BrowserContext, Request

from tests.support import idp
from tests.support.browser import sign_in_at_provider
from tests.support.idp import OidcProvider, OidcProviderError
from tests.support.ports import LOOPBACK
from tests.support.smtp import SmtpSink

LOGIN = "alice@contoso.test"
CALLBACK_PATH = "/callback"


# --- OpenID Provider -------------------------------------------------------------------


def test_discovery_document(oidc_provider: OidcProvider) -> None:
    response = httpx.get(f"{oidc_provider.issuer}/.well-known/openid-configuration")

    assert response.status_code == 200
    metadata = response.json()
    assert metadata["issuer"] == f"http://{LOOPBACK}:{oidc_provider.port}"
    assert "S256" in metadata["code_challenge_methods_supported"]
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert {"client_secret_basic", "client_secret_post"} <= set(
        metadata["token_endpoint_auth_methods_supported"]
    )


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
def test_token_endpoint_wrong_secret(
    oidc_provider: OidcProvider,
    auth_method: str,
) -> None:
    client = oidc_provider.register_client(["http://127.0.0.1:9/callback"], auth_method)

    response = _post_token(
        oidc_provider,
        auth_method,
        client.client_id,
        "not-the-secret",
        _code_grant_form("not-a-code", "http://127.0.0.1:9/callback"),
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
def test_token_endpoint_invalid_code(
    oidc_provider: OidcProvider,
    auth_method: str,
) -> None:
    client = oidc_provider.register_client(["http://127.0.0.1:9/callback"], auth_method)

    response = _post_token(
        oidc_provider,
        auth_method,
        client.client_id,
        client.client_secret,
        _code_grant_form("not-a-code", "http://127.0.0.1:9/callback"),
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_client_credentials_grant(oidc_provider: OidcProvider) -> None:
    client = oidc_provider.register_client(
        ["http://127.0.0.1:9/callback"], grant_types=["client_credentials"]
    )

    response = httpx.post(
        oidc_provider.metadata["token_endpoint"],
        auth=(client.client_id, client.client_secret),
        data={"grant_type": "client_credentials"},
    )

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["access_token"]


def test_client_credentials_not_registered(oidc_provider: OidcProvider) -> None:
    client = oidc_provider.register_client(["http://127.0.0.1:9/callback"])

    response = httpx.post(
        oidc_provider.metadata["token_endpoint"],
        auth=(client.client_id, client.client_secret),
        data={"grant_type": "client_credentials"},
    )

    # oidc-provider 9.13 replies invalid_request here, where RFC 6749 names unauthorized_client.
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_registration_rejects_bad_redirect_uri(oidc_provider: OidcProvider) -> None:
    with pytest.raises(OidcProviderError, match="HTTP 400"):
        oidc_provider.register_client(["not a url"])


def test_provider_start_without_packages(tmp_path: Path) -> None:
    provider = OidcProvider()

    with pytest.raises(OidcProviderError, match=r"npm ci --prefix tests/idp"):
        provider.start(tmp_path / "node_modules")


def test_provider_start_shows_stderr(tmp_path: Path) -> None:
    package = tmp_path / "node_modules" / "oidc-provider"
    package.mkdir(parents=True)
    (package / "package.json").write_text('{"name": "oidc-provider", "main": "index.js"}')
    (package / "index.js").write_text('throw new Error("broken on purpose");\n')
    provider = OidcProvider()

    with pytest.raises(OidcProviderError) as failure:
        provider.start(tmp_path / "node_modules")

    assert "exited with code 1" in str(failure.value)
    assert "broken on purpose" in str(failure.value)


def test_provider_start_times_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "node_modules" / "oidc-provider"
    package.mkdir(parents=True)
    (package / "package.json").write_text(
        '{"name": "oidc-provider", "type": "module", "main": "index.js"}'
    )
    # The import never finishes, so the provider never prints READY.
    (package / "index.js").write_text(
        "setInterval(() => {}, 60000);\nawait new Promise(() => {});\n"
    )
    monkeypatch.setattr(idp, "READY_TIMEOUT_SECONDS", 0.5)
    provider = OidcProvider()

    with pytest.raises(OidcProviderError, match="did not print READY within"):
        provider.start(tmp_path / "node_modules")


# --- SMTP sink -----------------------------------------------------------------------


def test_smtp_sink_receives_message(smtp_sink: SmtpSink) -> None:
    _send_mail(smtp_sink, "Welcome")

    message = smtp_sink.wait_for_message(lambda m: m["Subject"] == "Welcome")

    assert message["To"] == "bob@contoso.test"
    assert message.get_content().strip() == "Hello Bob"
    delivery = smtp_sink.deliveries[0]
    assert delivery.mail_from == "noreply@hatchway.test"
    assert delivery.rcpt_tos == ("bob@contoso.test",)


def test_smtp_refuse_next_data(smtp_sink: SmtpSink) -> None:
    smtp_sink.refuse_next(1)

    with pytest.raises(smtplib.SMTPDataError) as refused:
        _send_mail(smtp_sink, "First try")
    _send_mail(smtp_sink, "Second try")

    assert refused.value.smtp_code == 451
    assert smtp_sink.rejected_count == 1
    assert [m["Subject"] for m in smtp_sink.messages] == ["Second try"]


def test_smtp_refuse_next_rcpt(smtp_sink: SmtpSink) -> None:
    smtp_sink.refuse_next(2, stage="RCPT")

    for _ in range(2):
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            _send_mail(smtp_sink, "Refused")
        assert refused.value.recipients["bob@contoso.test"][0] == 451
    _send_mail(smtp_sink, "Accepted")

    assert [m["Subject"] for m in smtp_sink.messages] == ["Accepted"]


def test_smtp_reject_permanently(smtp_sink: SmtpSink) -> None:
    smtp_sink.reject_permanently()

    for _ in range(3):
        with pytest.raises(smtplib.SMTPDataError) as rejected:
            _send_mail(smtp_sink, "Bounced")
        assert rejected.value.smtp_code == 550
    smtp_sink.accept_all()
    _send_mail(smtp_sink, "Delivered")

    assert smtp_sink.rejected_count == 3
    assert [m["Subject"] for m in smtp_sink.messages] == ["Delivered"]


def test_smtp_wait_times_out(smtp_sink: SmtpSink) -> None:
    _send_mail(smtp_sink, "Unrelated")

    with pytest.raises(TimeoutError, match="1 message"):
        smtp_sink.wait_for_message(lambda m: m["Subject"] == "Missing", timeout=0.2)


# --- Browser -------------------------------------------------------------------------


@dataclass
class RedirectTarget:
    """A local HTTP server that acts as a client's redirect URI and records each query."""

    url: str
    query_strings: queue.Queue[str]


@pytest.fixture
def redirect_target() -> Iterator[RedirectTarget]:
    received: queue.Queue[str] = queue.Queue()

    class RecordQuery(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            received.put(urlsplit(self.path).query)
            body = b"signed in"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((LOOPBACK, 0), RecordQuery)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield RedirectTarget(f"http://{LOOPBACK}:{server.server_port}{CALLBACK_PATH}", received)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.browser
def test_authorization_code_round_trip(
    oidc_provider: OidcProvider,
    browser_context: BrowserContext,
    redirect_target: RedirectTarget,
) -> None:
    client = oidc_provider.register_client([redirect_target.url])
    verifier = secrets.token_urlsafe(48)
    state = secrets.token_urlsafe(16)
    nonce = secrets.token_urlsafe(16)
    authorization_url = _authorization_url(
        oidc_provider, client.client_id, redirect_target.url, verifier, state, nonce
    )
    blocked_hosts: list[str] = []
    page = browser_context.new_page()
    page.on("requestfailed", lambda request: _record_blocked(request, blocked_hosts))

    page.goto(authorization_url)
    sign_in_at_provider(page, LOGIN)
    callback = parse_qs(redirect_target.query_strings.get(timeout=10))

    assert callback["state"] == [state]
    assert callback["iss"] == [oidc_provider.issuer]
    assert callback["code"][0]
    # The provider's pages import a web font, which the isolated context must abort.
    assert "fonts.googleapis.com" in blocked_hosts

    tokens = _post_token(
        oidc_provider,
        "client_secret_basic",
        client.client_id,
        client.client_secret,
        {**_code_grant_form(callback["code"][0], redirect_target.url), "code_verifier": verifier},
    )
    assert tokens.status_code == 200
    claims = _verified_id_token_claims(oidc_provider, tokens.json()["id_token"])
    assert claims["iss"] == oidc_provider.issuer
    assert claims["aud"] == client.client_id
    assert claims["nonce"] == nonce
    assert claims["sub"] == LOGIN
    assert claims["email"] == LOGIN
    assert claims["email_verified"] is True
    assert claims["name"] == "Alice"


@pytest.mark.browser
def test_authorization_requires_pkce(
    oidc_provider: OidcProvider,
    browser_context: BrowserContext,
    redirect_target: RedirectTarget,
) -> None:
    client = oidc_provider.register_client([redirect_target.url])
    query = urlencode(
        {
            "client_id": client.client_id,
            "response_type": "code",
            "scope": "openid",
            "redirect_uri": redirect_target.url,
            "state": "no-pkce",
        }
    )
    page = browser_context.new_page()

    page.goto(f"{oidc_provider.metadata['authorization_endpoint']}?{query}")
    callback = parse_qs(redirect_target.query_strings.get(timeout=10))

    assert callback["error"] == ["invalid_request"]
    assert callback["state"] == ["no-pkce"]
    assert "code" not in callback


# --- Helpers -------------------------------------------------------------------------


def _send_mail(sink: SmtpSink, subject: str) -> None:
    message = EmailMessage()
    message["From"] = "noreply@hatchway.test"
    message["To"] = "bob@contoso.test"
    message["Subject"] = subject
    message.set_content("Hello Bob")
    with smtplib.SMTP(sink.host, sink.port, timeout=5) as connection:
        connection.send_message(message)


def _code_grant_form(code: str, redirect_uri: str) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": secrets.token_urlsafe(48),
    }


def _post_token(
    provider: OidcProvider,
    auth_method: str,
    client_id: str,
    client_secret: str,
    form: dict[str, str],
) -> httpx.Response:
    endpoint = provider.metadata["token_endpoint"]
    if auth_method == "client_secret_basic":
        return httpx.post(endpoint, auth=(client_id, client_secret), data=form)
    credentials = {"client_id": client_id, "client_secret": client_secret}
    return httpx.post(endpoint, data={**form, **credentials})


def _authorization_url(
    provider: OidcProvider,
    client_id: str,
    redirect_uri: str,
    verifier: str,
    state: str,
    nonce: str,
) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    query = urlencode(
        {
            "client_id": client_id,
            "response_type": "code",
            "scope": "openid email profile",
            "redirect_uri": redirect_uri,
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    return f"{provider.metadata['authorization_endpoint']}?{query}"


def _verified_id_token_claims(provider: OidcProvider, id_token: str) -> dict[str, Any]:
    jwks = httpx.get(provider.metadata["jwks_uri"]).json()
    token = jwt.decode(id_token, KeySet.import_key_set(jwks), algorithms=["RS256"])
    claims: dict[str, Any] = token.claims
    return claims


def _record_blocked(request: Request, blocked_hosts: list[str]) -> None:
    if (request.failure or "").startswith("net::ERR_BLOCKED_BY_CLIENT"):
        blocked_hosts.append(urlsplit(request.url).hostname or "")
