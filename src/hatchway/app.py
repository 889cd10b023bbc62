"""The Hatchway application: routers, middleware and the lifespan of background work."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from hatchway import __version__, operations
from hatchway.config import Settings, load_settings
from hatchway.context import AppContext
from hatchway.db.engine import Database, create_database_engine, upgrade_database
from hatchway.emergency import pages as emergency_pages
from hatchway.environments.passwords import configure_hashing
from hatchway.logs import RequestLogMiddleware, configure_logging, request_id_var
from hatchway.mail.worker import OutboxWorker
from hatchway.oidc.discovery import ProviderDirectory
from hatchway.provisioning.app import create_provisioning_app
from hatchway.provisioning.normalize import ProvisioningRequestMiddleware
from hatchway.security.sealing import load_keyring
from hatchway.security.ssrf import OutboundPolicy
from hatchway.web import signin, workspace
from hatchway.web.admin import audit_log as admin_audit_log
from hatchway.web.admin import overview as admin_overview
from hatchway.web.admin import sso as admin_sso
from hatchway.web.admin import user_actions as admin_user_actions
from hatchway.web.admin import users as admin_users
from hatchway.web.paths import PagePathMiddleware
from hatchway.web.rendering import STATIC_DIR, message_page

logger = logging.getLogger(__name__)


def build_context(settings: Settings, *, migrate: bool = True) -> AppContext:
    """Connect to the database (migrating it when asked) and load the sealing keys."""
    configure_hashing(settings.password_hash_time_cost, settings.password_hash_memory_kib)
    engine = create_database_engine(settings.resolved_database_url)
    if migrate:
        upgrade_database(engine)
    return AppContext(
        settings=settings,
        database=Database(engine),
        keyring=load_keyring(settings.sealing_keys, settings.data_dir),
        outbound_policy=OutboundPolicy(
            allow_loopback=settings.insecure_loopback_idp,
            timeout_seconds=settings.http_timeout_seconds,
        ),
    )


def _warn_about_insecure_settings(settings: Settings) -> None:
    if settings.insecure_loopback_idp:
        logger.warning(
            "config.insecure HATCHWAY_INSECURE_LOOPBACK_IDP=true: identity providers on loopback "
            "addresses are allowed, also over plain http; use this for local testing only"
        )
    if not settings.secure_cookies:
        logger.warning(
            "config.insecure HATCHWAY_PUBLIC_URL=%s is not https: cookies are sent without the "
            "Secure flag",
            settings.public_url,
        )


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    if request.url.path.startswith("/Provisioning"):
        # The mounted Provisioning API has logged this failure and sent its response already.
        return JSONResponse({"Error": "InternalError"}, status_code=500)
    logger.exception("request.failed path=%s", request.url.path)
    reference = request_id_var.get()
    response = message_page(
        request,
        "Something went wrong",
        f"Hatchway failed to handle this request. The operator can find it in the log under "
        f"request id {reference}.",
        status_code=500,
    )
    response.headers["X-Request-ID"] = reference
    return response


def _is_page(request: Request, path: str) -> bool:
    """Tell whether a route serves `path` for the request's method."""
    scope = {**request.scope, "path": path}
    return any(route.matches(scope)[0] is Match.FULL for route in request.app.routes)


def _path_with_other_slash(request: Request) -> str | None:
    """Return the page path with the trailing slash added or removed, when only that form is a
    page. A typed '/contoso/SignIn/' then reaches '/contoso/SignIn'."""
    if request.method not in ("GET", "HEAD"):
        return None
    path = request.scope["path"]
    # A file name such as '/favicon.ico' is never a page with a trailing slash.
    if "." in path.rstrip("/").rsplit("/", 1)[-1]:
        return None
    other = path.rstrip("/") if path.endswith("/") else path + "/"
    if not other or other == path:
        return None
    # Only a path that no route matches is redirected, so a page's own 404 never loops.
    return other if not _is_page(request, path) and _is_page(request, other) else None


def _page_of_form(request: Request) -> str | None:
    """Return the page that a form action belongs to, for a GET of that action's address.

    After a form's POST the browser shows the action's address, such as
    '/contoso/AdminPage/SingleSignOn/Verify'; opening it again leads to the page it came from.
    """
    if request.method not in ("GET", "HEAD"):
        return None
    segments = request.scope["path"].rstrip("/").split("/")
    while len(segments) > 2:
        segments.pop()
        for candidate in ("/".join(segments), "/".join(segments) + "/"):
            if _is_page(request, candidate):
                return candidate
    return None


async def _http_error_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if request.url.path.startswith("/Provisioning"):
        return JSONResponse(
            {
                "Error": "PathNotFound",
                "Message": f"No Provisioning API call has the path "
                f"'{request.url.path}'; see /Provisioning/openapi.json.",
            },
            status_code=exc.status_code,
        )
    if exc.status_code == 405:
        form_page = _page_of_form(request)
        if form_page is not None:
            return RedirectResponse(form_page, status_code=303)
        return message_page(
            request,
            "Not allowed",
            f"{request.method} is not allowed on this page.",
            status_code=405,
        )
    other_form = _path_with_other_slash(request)
    if other_form is not None:
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(other_form + query, status_code=308)
    return message_page(
        request,
        "Page not found",
        f"There is no page at '{request.url.path}'.",
        hint="Check the address you were given.",
        status_code=exc.status_code,
    )


def create_app(settings: Settings | None = None, *, context: AppContext | None = None) -> FastAPI:
    """Build the application; pass a ready `context` to share it (tests, several apps)."""
    settings = settings or (context.settings if context else load_settings())
    context = context or build_context(settings)
    worker = OutboxWorker(context)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _warn_about_insecure_settings(settings)
        if settings.outbox_worker:
            worker.start()
        logger.info("server.started version=%s pid=%d", __version__, os.getpid())
        try:
            yield
        finally:
            await worker.stop()
            logger.info("server.stopped pid=%d", os.getpid())

    app = FastAPI(
        title="Hatchway",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        redirect_slashes=False,
        lifespan=lifespan,
    )
    app.state.context = context
    app.state.provider_directory = ProviderDirectory(context.http_client)
    app.state.outbox_worker = worker
    app.add_exception_handler(Exception, _unexpected_error)
    app.add_exception_handler(StarletteHTTPException, _http_error_page)

    provisioning = create_provisioning_app(context)
    app.mount("/Provisioning", provisioning)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(operations.router)
    app.include_router(signin.router)
    app.include_router(workspace.router)
    app.include_router(emergency_pages.router)
    app.include_router(admin_overview.router)
    app.include_router(admin_users.router)
    app.include_router(admin_user_actions.router)
    app.include_router(admin_audit_log.router)
    app.include_router(admin_sso.router)

    app.add_middleware(ProvisioningRequestMiddleware)
    app.add_middleware(PagePathMiddleware, routes=lambda: app.routes)
    app.add_middleware(RequestLogMiddleware)
    return app


def create_app_from_environment() -> FastAPI:
    """Uvicorn's factory for worker processes; the parent process already migrated."""
    settings = load_settings()
    configure_logging(settings.log_level)
    return create_app(settings, context=build_context(settings, migrate=False))
