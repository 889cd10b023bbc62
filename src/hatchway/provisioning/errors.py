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
    Conflict,
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


_UNREADABLE_BODY = ValidationResult(
    (),
    "The request body could not be read as JSON; send a UTF-8 encoded JSON object with the "
    "properties of this call and Content-Type: application/json.",
)


def _member_name(location: Sequence[Any]) -> str:
    parts = [str(part) for part in location if part not in ("body", "query", "path", "header")]
    return ".".join(parts)


def _describe(error: dict[str, Any]) -> ValidationResult:
    member = _member_name(error.get("loc", ()))
    kind = str(error.get("type", ""))
    if kind == "json_invalid":
        detail = str(error.get("ctx", {}).get("error", "")).strip().removesuffix(" at")
        positions = [part for part in error.get("loc", ()) if isinstance(part, int)]
        if positions:
            detail = f"{detail} at character {positions[0] + 1}".strip()
        where = f" ({detail})" if detail else ""
        return ValidationResult(
            (),
            f"The request body is not valid JSON{where}; send one JSON object with the "
            "properties of this call and Content-Type: application/json. Line breaks and "
            'quotes inside a value must be escaped as \\n and \\".',
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


async def _on_conflict(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Conflict)
    return problem_response(409, exc.reason, str(exc))


async def _on_rate_limited(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RateLimited)
    seconds = "1 second" if exc.retry_after == 1 else f"{exc.retry_after} seconds"
    message = f"{exc} Try again in {seconds}."
    return problem_response(429, "TooManyRequests", message, {"Retry-After": str(exc.retry_after)})


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
        # FastAPI raises this for a body it cannot decode, such as JSON that is not UTF-8.
        return validation_response([_UNREADABLE_BODY])
    if exc.status_code == 405:
        headers = dict(exc.headers or {})
        allowed = headers.get("Allow") or headers.get("allow", "")
        hint = ""
        if request.url.path.endswith("/SingleSignOnSettings") and request.method != "GET":
            hint = " Settings are changed at '.../SingleSignOnSettings/OAuth2'."
        return problem_response(
            405,
            "MethodNotAllowed",
            f"{request.method} is not allowed on '{request.url.path}'; allowed: {allowed}.{hint}",
            headers,
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
    app.add_exception_handler(Conflict, _on_conflict)
    app.add_exception_handler(RateLimited, _on_rate_limited)
    app.add_exception_handler(AccessDenied, _on_access_denied)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
