"""Alembic environment: Hatchway passes its engine in `config.attributes['engine']`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from hatchway.db.models import Base

engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise RuntimeError("Run migrations through 'hatchway db upgrade' or hatchway.db.engine.")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
