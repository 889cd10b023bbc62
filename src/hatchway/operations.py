"""Endpoints for the operator's tooling: liveness, readiness and Prometheus metrics.

- `/healthz` answers 200 while the process serves requests; it touches nothing else.
- `/readyz` answers 200 when the database answers and its schema is at the newest migration,
  and 503 with the reason otherwise, so that a load balancer sends no traffic to the worker.
- `/metrics` returns the counters and gauges of `hatchway.metrics` in the Prometheus text format.
"""

from __future__ import annotations

import functools
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from hatchway import metrics
from hatchway.context import get_context
from hatchway.db.engine import current_revision, head_revision

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

NO_STORE = {"Cache-Control": "no-store"}

HEALTHZ = "/healthz"
READYZ = "/readyz"
METRICS = "/metrics"
# Probes and scrapers reach these in any letter case and with a trailing slash, never redirected.
PATHS = frozenset({HEALTHZ, READYZ, METRICS})


@functools.lru_cache(maxsize=8)
def _expected_revision(engine: Engine) -> str | None:
    # The newest migration shipped with this code; it cannot change while the process runs.
    # NOTE: this imports Alembic, so a worker grows by about 10 MiB at its first /readyz.
    return head_revision(engine)


@router.get(HEALTHZ)
async def healthz() -> JSONResponse:
    return JSONResponse({"Status": "ok"}, headers=NO_STORE)


@router.get(READYZ)
def readyz(request: Request) -> JSONResponse:
    context = get_context(request)
    expected = _expected_revision(context.database.engine)
    try:
        with context.database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        revision = current_revision(context.database.engine)
    except SQLAlchemyError as error:
        # The error text can contain the database URL with its password, so only its type is kept.
        logger.warning("readyz.database_unreachable error=%s", type(error).__name__)
        return _not_ready(f"The database cannot be reached ({type(error).__name__}).")
    if revision != expected:
        logger.warning("readyz.schema_outdated revision=%s expected=%s", revision, expected)
        return _not_ready(
            f"The database schema is at revision {revision!r}, not {expected!r}; run "
            "'hatchway db upgrade' or restart 'hatchway serve', which migrates at start."
        )
    return JSONResponse({"Status": "ready", "Revision": revision}, headers=NO_STORE)


def _not_ready(reason: str) -> JSONResponse:
    return JSONResponse(
        {"Status": "unavailable", "Reason": reason}, status_code=503, headers=NO_STORE
    )


@router.get(METRICS)
def metrics_endpoint(request: Request) -> Response:
    context = get_context(request)
    body = metrics.render(
        context.database, context.now(), context.settings.metrics_multiprocess_dir
    )
    return Response(body, media_type=metrics.CONTENT_TYPE, headers=NO_STORE)
