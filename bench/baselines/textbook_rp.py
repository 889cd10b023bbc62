"""Baseline: the relying party a team would write instead of Hatchway.

Authlib's Starlette client with a signed cookie session (itsdangerous): /SignIn redirects to the
provider, the callback exchanges the code and checks the ID token, and the home page shows who
signed in. There is no database.

Run: BENCH_ISSUER=... BENCH_CLIENT_ID=... BENCH_CLIENT_SECRET=... BENCH_PUBLIC_URL=...
     BENCH_SESSION_SECRET=... (the same in every worker)
     uvicorn --factory bench.baselines.textbook_rp:create_app
"""

from __future__ import annotations

import os

from authlib.integrations.starlette_client import OAuth
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route


def create_app() -> Starlette:
    public_url = os.environ["BENCH_PUBLIC_URL"].rstrip("/")
    oauth = OAuth()
    oauth.register(
        "provider",
        client_id=os.environ["BENCH_CLIENT_ID"],
        client_secret=os.environ["BENCH_CLIENT_SECRET"],
        server_metadata_url=f"{os.environ['BENCH_ISSUER']}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid profile email", "code_challenge_method": "S256"},
    )
    provider = oauth.create_client("provider")
    assert provider is not None

    async def sign_in(request: Request) -> Response:
        redirect_uri = f"{public_url}/rp/OAuth2/HandleAuthorityResponse"
        response: Response = await provider.authorize_redirect(request, redirect_uri)
        return response

    async def callback(request: Request) -> Response:
        token = await provider.authorize_access_token(request)
        userinfo = token.get("userinfo") or {}
        request.session["user"] = {"sub": userinfo.get("sub"), "email": userinfo.get("email")}
        return RedirectResponse(f"{public_url}/rp/", status_code=303)

    async def home(request: Request) -> Response:
        user = request.session.get("user")
        if not user:
            return RedirectResponse(f"{public_url}/rp/SignIn", status_code=303)
        return HTMLResponse(f"<p>Signed in as {user['email']}</p>")

    return Starlette(
        routes=[
            Route("/rp/SignIn", sign_in),
            Route("/rp/OAuth2/HandleAuthorityResponse", callback),
            Route("/rp/", home),
            Route("/healthz", lambda request: JSONResponse({"Status": "ok"})),
        ],
        middleware=[
            Middleware(
                SessionMiddleware,
                secret_key=os.environ["BENCH_SESSION_SECRET"],
                https_only=False,
            )
        ],
    )
