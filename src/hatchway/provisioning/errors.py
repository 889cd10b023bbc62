"""Mapping of domain errors to Provisioning API responses, in one place."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from hatchway.errors import (
    AccessDenied,
    NotFound,
    PreconditionFailed,
    RateLimited,
    ValidationFailed,
    ValidationResult,
)
from hatchway.logs import request_id_var

logger = logging.getLogger(__name__)


def validation_response(results: Sequence[ValidationResult]) -> JSONResponse:
    return JSONResponse([result.as_json() for result in results], status_code=400)


def problem_response(
    status_code: int, error: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"Error": error, "Message": message}, status_code=status_code, headers=headers
    )


def _member_name(location: Sequence[Any]) -> str:
    parts = [str(part) for part in location if part not in ("body", "query", "path", "header")]
    return ".".join(parts)


def _describe(error: dict[str, Any]) -> ValidationResult:
    member = _member_name(error.get("loc", ()))
    kind = str(error.get("type", ""))
    if kind == "json_invalid":
        return ValidationResult(
            (),
            "The request body is not valid JSON; send a JSON object such as "
            '{"EmailAddress": "admin@contoso.com"} with Content-Type: application/json.',
        )
    if kind == "missing" and member == "":
        return ValidationResult((), "The request body is missing; send a JSON object.")
    if kind in ("model_attributes_type", "dict_type", "model_type"):
        return ValidationResult(
            (), "The request body must be a JSON object with named properties, not a list or value."
        )
    if kind == "value_error" and not member:
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        return ValidationResult((), f"The request body is not valid: {message}.")
    message = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
    subject = member or "The request"
    if member and member[0].islower():
        subject = f"Parameter '{member}'"
    return ValidationResult((member,) if member else (), f"{subject} is not valid: {message}.")


async def _on_request_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    results = [_describe(dict(error)) for error in exc.errors()]
    return validation_response(results)


async def _on_validation_failed(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ValidationFailed)
    return validation_response(exc.results)


async def _on_not_found(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, NotFound)
    return problem_response(404, f"{exc.kind}NotFound", str(exc))


async def _on_precondition_failed(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PreconditionFailed)
    return problem_response(412, "PreconditionFailed", str(exc), {"ETag": exc.current})


async def _on_rate_limited(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RateLimited)
    return problem_response(429, "TooManyRequests", str(exc), {"Retry-After": str(exc.retry_after)})


async def _on_access_denied(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AccessDenied)
    return problem_response(403, exc.reason, str(exc))


async def _on_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        return problem_response(
            404,
            "PathNotFound",
            f"No Provisioning API call has the path '{request.url.path}'; see "
            "/Provisioning/openapi.json for the calls there are.",
        )
    if exc.status_code == 400:
        # FastAPI raises this when the body is not UTF-8 or nests too deeply to parse.
        return validation_response(
            [
                ValidationResult(
                    (),
                    "The request body could not be read as JSON; send a UTF-8 encoded JSON object.",
                )
            ]
        )
    if exc.status_code == 405:
        return problem_response(
            405,
            "MethodNotAllowed",
            f"{request.method} is not allowed on '{request.url.path}'.",
            dict(exc.headers or {}),
        )
    return problem_response(exc.status_code, "HttpError", str(exc.detail))


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # The mounted application sends its response before the outer handler runs. Only here is the
    # request id still bound, so a Provisioning API failure is logged and returned here.
    logger.error("provisioning.failed path=%s", request.url.path, exc_info=exc)
    return problem_response(
        500,
        "InternalError",
        "Hatchway failed to handle the request; the operator can find it in the log under "
        f"request id {request_id_var.get()}.",
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Exception, _on_unexpected)
    app.add_exception_handler(RequestValidationError, _on_request_validation)
    app.add_exception_handler(ValidationFailed, _on_validation_failed)
    app.add_exception_handler(NotFound, _on_not_found)
    app.add_exception_handler(PreconditionFailed, _on_precondition_failed)
    app.add_exception_handler(RateLimited, _on_rate_limited)
    app.add_exception_handler(AccessDenied, _on_access_denied)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
