"""Baseline: a bare Starlette app doing the database work of GET and PUT SingleSignOnSettings.

It reads and writes Hatchway's own tables through SQLAlchemy Core on the same database, so the
difference to Hatchway is what Hatchway adds around that work: key checks on every request,
input checks, sealing, versions through the ORM, audit, logging and the JSON contract.
The Provisioning Key is compared with a constant, without a database lookup.

Run: BENCH_DATABASE_URL=... BENCH_PROVISIONING_KEY=... uvicorn --factory
     bench.baselines.bare_app:create_app
"""

from __future__ import annotations

import hmac
import json
import os
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Engine, Table, insert, select, update
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hatchway.db.engine import create_database_engine
from hatchway.db.models import AuditRecord, Environment, SsoSettings, SsoVersion

ENVIRONMENTS = cast(Table, Environment.__table__)
SETTINGS = cast(Table, SsoSettings.__table__)
VERSIONS = cast(Table, SsoVersion.__table__)
AUDIT = cast(Table, AuditRecord.__table__)


def _now() -> datetime:
    return datetime.now(UTC)


def _read(engine: Engine, name: str) -> dict[str, object] | None:
    query = (
        select(SETTINGS)
        .join(ENVIRONMENTS, ENVIRONMENTS.c.id == SETTINGS.c.environment_id)
        .where(ENVIRONMENTS.c.name == name)
    )
    with engine.connect() as connection:
        row = connection.execute(query).mappings().first()
    if row is None:
        return None
    return {
        "Mode": row["mode"],
        "Authority": row["authority"],
        "ClientId": row["client_id"],
        "KeySet": row["key_sealed"] is not None,
        "Version": row["version"],
        "UpdatedOn": row["updated_at"].isoformat(),
    }


def _write(engine: Engine, name: str, body: dict[str, str]) -> dict[str, object] | None:
    now = _now()
    # On SQLite, take the write lock at BEGIN as Hatchway does, so that writers queue.
    with engine.execution_options(hatchway_write=True).begin() as connection:
        environment_id = connection.scalar(
            select(ENVIRONMENTS.c.id).where(ENVIRONMENTS.c.name == name)
        )
        if environment_id is None:
            return None
        locked = select(SETTINGS).where(SETTINGS.c.environment_id == environment_id)
        if engine.dialect.name == "postgresql":
            locked = locked.with_for_update()
        row = connection.execute(locked).mappings().one()
        version = row["version"] + 1
        values = {
            "mode": "OAuth2",
            "authority": body.get("Authority", row["authority"]),
            "client_id": body.get("ClientId", row["client_id"]),
            "key_sealed": body.get("Key", row["key_sealed"]),
            "version": version,
            "updated_at": now,
        }
        connection.execute(
            update(SETTINGS).where(SETTINGS.c.environment_id == environment_id).values(**values)
        )
        connection.execute(
            insert(VERSIONS).values(
                environment_id=environment_id,
                version=version,
                mode="OAuth2",
                authority=values["authority"],
                client_id=values["client_id"],
                key_sealed=values["key_sealed"],
                created_at=now,
                actor_type="ProvisioningKey",
                actor="bench",
                verification_skipped=True,
            )
        )
        connection.execute(
            insert(AUDIT).values(
                occurred_at=now,
                environment_id=environment_id,
                environment_name=name,
                actor_type="ProvisioningKey",
                actor="bench",
                action="sso.update",
                target=name,
                outcome="success",
            )
        )
    return {"Version": version, "ClientId": values["client_id"]}


def create_app() -> Starlette:
    engine = create_database_engine(os.environ["BENCH_DATABASE_URL"])
    key = os.environ["BENCH_PROVISIONING_KEY"]

    def authorized(request: Request) -> bool:
        return hmac.compare_digest(request.headers.get("ProvisioningKey", ""), key)

    async def get_settings(request: Request) -> Response:
        if not authorized(request):
            return JSONResponse({"Error": "ProvisioningKeyInvalid"}, status_code=403)
        view = await run_in_threadpool(_read, engine, request.path_params["name"])
        if view is None:
            return JSONResponse({"Error": "EnvironmentNotFound"}, status_code=404)
        return JSONResponse(view, headers={"ETag": f'"{view["Version"]}"'})

    async def put_settings(request: Request) -> Response:
        if not authorized(request):
            return JSONResponse({"Error": "ProvisioningKeyInvalid"}, status_code=403)
        body = json.loads(await request.body())
        view = await run_in_threadpool(_write, engine, request.path_params["name"], body)
        if view is None:
            return JSONResponse({"Error": "EnvironmentNotFound"}, status_code=404)
        return JSONResponse(view)

    return Starlette(
        routes=[
            Route("/Provisioning/{name}/SingleSignOnSettings", get_settings, methods=["GET"]),
            Route(
                "/Provisioning/{name}/SingleSignOnSettings/OAuth2", put_settings, methods=["PUT"]
            ),
            Route("/healthz", lambda request: JSONResponse({"Status": "ok"})),
        ]
    )
