"""A stand-in for Microsoft Entra ID's v2.0 endpoints, served on a loopback port.

Entra ID cannot be reached from test machines. `FakeEntra` serves documents of the shape
Entra ID publishes: discovery documents whose issuer names the tenant GUID (also for a tenant
given by domain) or the '{tenantid}' template ('common', 'organizations'), JWKS entries without
`alg`, AADSTS error bodies from the token endpoint, and RS256 ID tokens signed with keys made in
the test. `attach` routes Hatchway's guarded client to it: the Microsoft host names resolve to
127.0.0.1 through the policy's resolver, and https requests to them go to the server's port
over plain http.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.testclient import TestClient

from hatchway.context import AppContext
from hatchway.security.ssrf import (
    OutboundPolicy,
    Resolver,
    create_guarded_client,
    create_guarded_transport,
)
from tests.support.network import LoopbackRoute, install_http_client, mapping_resolver
from tests.support.ports import LOOPBACK

PUBLIC_CLOUD = "login.microsoftonline.com"
# Sign-in hosts that tests may name; all of them lead to the same fake.
MICROSOFT_HOSTS = frozenset(
    {
        PUBLIC_CLOUD,
        "login.microsoftonline.us",
        "login.partner.microsoftonline.cn",
        "graph.microsoft.com",
    }
)
TENANT_ID = "00000000-0000-0000-0000-000000000000"
TENANT_DOMAIN = "contoso.onmicrosoft.com"
CLIENT_ID = "11111111-1111-1111-1111-111111111111"
CLIENT_SECRET = "Qx8~kT3.vH_ZmW9rLp2YbN4cF6dJ0sAe1uGi7oRq"
MULTI_TENANT_TEMPLATE = "{tenantid}"


@dataclass
class EntraApp:
    """An app registration: its client ID, secret Value, home tenant and redirect URIs."""

    client_id: str
    secret: str
    tenant_id: str
    redirect_uris: list[str]
    secret_expired: bool = False


@dataclass
class SigningKey:
    kid: str
    key: RSAKey

    def public_jwk(self) -> dict[str, Any]:
        # Entra ID's keys carry no "alg"; they name the issuer template instead.
        data = dict(self.key.as_dict(private=False))
        data.pop("alg", None)
        data.update(
            {
                "kid": self.kid,
                "use": "sig",
                "x5t": self.kid,
                "issuer": f"https://{PUBLIC_CLOUD}/{MULTI_TENANT_TEMPLATE}/v2.0",
            }
        )
        return data


def _new_signing_key() -> SigningKey:
    return SigningKey(secrets.token_urlsafe(12), RSAKey.generate_key(2048, private=True))


def aadsts_body(error: str, code: int, description: str) -> dict[str, Any]:
    """Return an error body shaped like Entra ID's, with trace and correlation ids."""
    trace = str(uuid.uuid4())
    return {
        "error": error,
        "error_description": (
            f"AADSTS{code}: {description} Trace ID: {trace} Correlation ID: {uuid.uuid4()} "
            "Timestamp: 2026-01-05 10:00:00Z"
        ),
        "error_codes": [code],
        "timestamp": "2026-01-05 10:00:00Z",
        "trace_id": trace,
        "correlation_id": str(uuid.uuid4()),
        "error_uri": f"https://{PUBLIC_CLOUD}/error?code={code}",
    }


@dataclass
class FakeEntra:
    """Entra ID's discovery, keys and token endpoints for the tenants and apps a test adds."""

    tenants: dict[str, str] = field(default_factory=dict)
    apps: dict[str, EntraApp] = field(default_factory=dict)
    published_keys: list[SigningKey] = field(default_factory=list)
    signing_key: SigningKey = field(default_factory=_new_signing_key)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_answer: tuple[int, dict[str, Any]] | None = None
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    port: int = 0
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        self.published_keys = [self.signing_key]

    # Setting up

    def add_tenant(self, tenant_id: str, *domains: str) -> None:
        self.tenants[tenant_id.lower()] = tenant_id.lower()
        for domain in domains:
            self.tenants[domain.lower()] = tenant_id.lower()

    def register_app(
        self,
        client_id: str = CLIENT_ID,
        secret: str = CLIENT_SECRET,
        tenant_id: str = TENANT_ID,
        redirect_uris: tuple[str, ...] = (),
    ) -> EntraApp:
        app = EntraApp(client_id, secret, tenant_id.lower(), list(redirect_uris))
        self.apps[client_id.lower()] = app
        return app

    def rotate_keys(self) -> SigningKey:
        """Sign with a new key from now on and publish only that one."""
        self.signing_key = _new_signing_key()
        self.published_keys = [self.signing_key]
        return self.signing_key

    def issue_code(self, claims: dict[str, Any], *, header: dict[str, Any] | None = None) -> str:
        """Return an authorization code that the token endpoint exchanges for these claims."""
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"claims": claims, "header": header or {}}
        return code

    def id_token(self, claims: dict[str, Any], header: dict[str, Any] | None = None) -> str:
        """Sign claims with the current key; a header value of None leaves that field out."""
        protected = {"typ": "JWT", "alg": "RS256", "kid": self.signing_key.kid, **(header or {})}
        protected = {name: value for name, value in protected.items() if value is not None}
        return jwt.encode(protected, claims, self.signing_key.key, algorithms=["RS256"])

    def count(self, path_suffix: str) -> int:
        return sum(1 for _, _, path in self.requests if path.endswith(path_suffix))

    def attach(self, context: AppContext) -> None:
        """Route the context's guarded client to this server for the Microsoft host names."""
        install_http_client(context, self.resolver(), (MICROSOFT_HOSTS, self.port))

    def resolver(self) -> Resolver:
        return mapping_resolver(dict.fromkeys(MICROSOFT_HOSTS, LOOPBACK))

    def http_client(self) -> httpx.Client:
        """Return a guarded client (loopback allowed) that reaches this server."""
        policy = OutboundPolicy(allow_loopback=True, resolver=self.resolver())
        transport = LoopbackRoute(create_guarded_transport(policy), MICROSOFT_HOSTS, self.port)
        return create_guarded_client(policy, transport)

    # Serving

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        host = handler.headers.get("Host", "").rsplit(":", 1)[0]
        path = urlsplit(handler.path).path
        self.requests.append((method, host, path))
        segments = [unquote(part) for part in path.split("/") if part]
        tenant = segments[0] if segments else ""
        rest = "/".join(segments[1:])
        if method == "GET" and rest == "v2.0/.well-known/openid-configuration":
            status, body = self._discovery(host, tenant)
        elif method == "GET" and rest == "discovery/v2.0/keys":
            status, body = 200, {"keys": [key.public_jwk() for key in self.published_keys]}
        elif method == "POST" and rest == "oauth2/v2.0/token":
            length = int(handler.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(handler.rfile.read(length).decode()).items()}
            status, body = self._token(tenant, form, handler.headers.get("Authorization"))
        else:
            status, body = 404, {"error": "not_found"}
        payload = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def _discovery(self, host: str, tenant: str) -> tuple[int, dict[str, Any]]:
        if tenant.lower() in ("common", "organizations"):
            issuer_tenant, path_tenant = MULTI_TENANT_TEMPLATE, tenant.lower()
        elif tenant.lower() in self.tenants:
            issuer_tenant = path_tenant = self.tenants[tenant.lower()]
        else:
            return 400, aadsts_body(
                "invalid_tenant",
                90002,
                f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
                "and are signing into the correct cloud.",
            )
        base = f"https://{host}/{path_tenant}"
        return 200, {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"https://{host}/{issuer_tenant}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "tid", "oid"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": host.removeprefix("login.").removeprefix("partner."),
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
        }

    def _client_credentials(
        self, form: dict[str, str], authorization: str | None
    ) -> tuple[str, str]:
        if authorization and authorization.startswith("Basic "):
            decoded = base64.b64decode(authorization.removeprefix("Basic ")).decode()
            client_id, _, secret = decoded.partition(":")
            return unquote(client_id), unquote(secret)
        return form.get("client_id", ""), form.get("client_secret", "")

    def _token(
        self, tenant: str, form: dict[str, str], authorization: str | None
    ) -> tuple[int, dict[str, Any]]:
        if self.token_answer is not None:
            return self.token_answer
        client_id, secret = self._client_credentials(form, authorization)
        app = self.apps.get(client_id.lower())
        home = self.tenants.get(tenant.lower(), tenant.lower())
        if app is None or (home not in ("common", "organizations") and app.tenant_id != home):
            return 400, aadsts_body(
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{tenant}'. This can happen if the application has not been installed by the "
                "administrator of the tenant.",
            )
        if secret != app.secret:
            return 401, aadsts_body(
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                f"the client secret value, not the client secret ID, for a secret added to app "
                f"'{app.client_id}'.",
            )
        if app.secret_expired:
            return 401, aadsts_body(
                "invalid_client",
                7000222,
                f"The provided client secret keys for app '{app.client_id}' are expired. Visit "
                "the Azure portal to create new keys for your app.",
            )
        if app.redirect_uris and form.get("redirect_uri") not in app.redirect_uris:
            return 400, aadsts_body(
                "invalid_request",
                50011,
                f"The redirect URI '{form.get('redirect_uri')}' specified in the request does "
                f"not match the redirect URIs configured for the application '{app.client_id}'.",
            )
        issued = self.codes.pop(form.get("code", ""), None)
        if issued is None:
            return 400, aadsts_body(
                "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid."
            )
        return 200, {
            "token_type": "Bearer",
            "scope": "openid profile email",
            "expires_in": 3600,
            "access_token": secrets.token_urlsafe(32),
            "id_token": self.id_token(issued["claims"], issued["header"]),
        }


def entra_claims(
    client_id: str = CLIENT_ID,
    tenant_id: str = TENANT_ID,
    *,
    nonce: str,
    issuer: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Return the claims of an Entra ID v2.0 ID token for a work account."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "ver": "2.0",
        "iss": issuer or f"https://{PUBLIC_CLOUD}/{tenant_id}/v2.0",
        "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
        "aud": client_id,
        "exp": now + 3600,
        "iat": now,
        "nbf": now,
        "nonce": nonce,
        "name": "Ada Admin",
        "preferred_username": "ada@contoso.test",
        "oid": "00000000-0000-0000-66f3-3332eca7ea81",
        "tid": tenant_id,
        "aio": "Df2UVXL1ix!lMCWMSOJBcFatzcGfvFGhjKv8q5g0x732dR5MB5BisvGQO7YWByjd8iQDLq",
    }
    claims.update(extra)
    return claims


def start_sign_in(client: TestClient, environment: str = "contoso") -> tuple[str, str]:
    """Begin a sign-in; return the attempt's state and nonce from the authorization URL."""
    response = client.get(f"/{environment}/SignIn")
    assert response.status_code == 302, response.text
    query = parse_qs(urlsplit(response.headers["location"]).query)
    return query["state"][0], query["nonce"][0]


def sign_in(
    client: TestClient,
    fake_entra: FakeEntra,
    header: dict[str, Any] | None = None,
    environment: str = "contoso",
    **claims: Any,
) -> httpx.Response:
    """Sign in with an ID token of `entra_claims` changed by `claims` (None removes one).

    The browser's part is played by the test: it reads state and nonce from Hatchway's
    redirect, has the fake issue a code for the claims, and calls the redirect URI.
    """
    state, nonce = start_sign_in(client, environment)
    token_claims = entra_claims(nonce=nonce)
    token_claims.update(claims)
    token_claims = {name: value for name, value in token_claims.items() if value is not None}
    code = fake_entra.issue_code(token_claims, header=header)
    return client.get(
        f"/{environment}/OAuth2/HandleAuthorityResponse", params={"code": code, "state": state}
    )


def assert_signed_in(response: httpx.Response, environment: str = "contoso") -> None:
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/{environment}/"
    assert "hatchway_session" in response.headers["set-cookie"]


@pytest.fixture
def fake_entra() -> Iterator[FakeEntra]:
    """Entra ID with the tenant 'contoso.onmicrosoft.com' (TENANT_ID) and no apps yet."""
    entra = FakeEntra()
    entra.add_tenant(TENANT_ID, TENANT_DOMAIN)
    entra.start()
    try:
        yield entra
    finally:
        entra.stop()
