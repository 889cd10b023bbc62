"""The Provisioning API application, mounted at /Provisioning."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse

from hatchway import __version__
from hatchway.audit.api import router as audit_router
from hatchway.context import AppContext
from hatchway.emergency.api import router as emergency_router
from hatchway.environments.api import router as environments_router
from hatchway.metrics import ProvisioningMetricsMiddleware
from hatchway.provisioning.auth import HEADER
from hatchway.provisioning.errors import install_error_handlers
from hatchway.sso.api import router as sso_router

DESCRIPTION = """\
Manage environments, users and single sign-on settings of a Hatchway instance.

Compatible with the Workspace 365 Provisioning API: every request carries the instance's
Provisioning Key in the `ProvisioningKey` header; `X-Requested-With: XMLHttpRequest` is accepted
but not required. Paths match with and without a trailing slash and in any case, without
redirects. JSON property names match in any case (`ClientId`, `clientId` and `ClientID` are the
same field); responses use PascalCase. A 400 response is an array of
`{"MemberNames": [...], "ErrorMessage": "..."}` validation results.
"""


def _build_openapi(app: FastAPI, server_url: str) -> dict[str, Any]:
    document = get_openapi(
        title="Hatchway Provisioning API",
        version=__version__,
        description=DESCRIPTION,
        routes=app.routes,
    )
    document["servers"] = [{"url": server_url}]
    components = document.setdefault("components", {})
    components.setdefault("securitySchemes", {})["ProvisioningKey"] = {
        "type": "apiKey",
        "in": "header",
        "name": HEADER,
    }
    document["security"] = [{"ProvisioningKey": []}]
    # FastAPI documents its own 422; Hatchway answers every validation problem with 400.
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            operation.get("responses", {}).pop("422", None)
    schemas = components.get("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    return document


def create_provisioning_app(context: AppContext) -> FastAPI:
    app = FastAPI(
        title="Hatchway Provisioning API",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        # Served by a route of its own below, so that /metrics counts it under its path.
        openapi_url=None,
        redirect_slashes=False,
    )
    app.state.context = context
    install_error_handlers(app)
    app.include_router(environments_router)
    app.include_router(sso_router)
    app.include_router(emergency_router)
    app.add_middleware(ProvisioningMetricsMiddleware)
    app.include_router(audit_router)

    server_url = context.settings.public_base_path + "/Provisioning"
    cached: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        if not cached:
            cached.update(_build_openapi(app, server_url))
        return cached

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/openapi.json", include_in_schema=False)
    def openapi_document() -> JSONResponse:
        return JSONResponse(openapi())

    return app
