"""The database layer: migrations match the models, timestamps stay aware, constraints hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from hatchway.context import AppContext
from hatchway.db.engine import (
    current_revision,
    head_revision,
    is_unique_violation,
    normalize_database_url,
)
from hatchway.db.models import Base, Environment, User
from hatchway.db.types import unstorable_character


def test_database_is_at_head_revision(context: AppContext) -> None:
    engine = context.database.engine

    assert current_revision(engine) == head_revision(engine)


def test_migrations_match_models(context: AppContext) -> None:
    with context.database.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)

    assert differences == []


def test_timestamps_come_back_aware_in_utc(context: AppContext) -> None:
    created = datetime(2030, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    with context.database.write() as session:
        session.add(Environment(name="contoso", created_at=created, updated_at=created))

    with context.database.read() as session:
        stored = session.scalars(select(Environment)).one()

    assert stored.created_at == created
    assert stored.created_at.tzinfo == UTC
    assert stored.created_at.hour == 12


def test_naive_timestamp_is_refused(context: AppContext) -> None:
    naive = datetime(2030, 5, 1, 12, 0)

    with pytest.raises(StatementError, match="naive datetime"):
        with context.database.write() as session:
            session.add(Environment(name="contoso", created_at=naive, updated_at=naive))


def test_unique_violation_is_recognized(context: AppContext) -> None:
    now = datetime.now(UTC)
    with context.database.write() as session:
        session.add(Environment(name="contoso", created_at=now, updated_at=now))

    with pytest.raises(IntegrityError) as raised:
        with context.database.write() as session:
            session.add(Environment(name="contoso", created_at=now, updated_at=now))

    assert is_unique_violation(raised.value)


def test_foreign_key_violation_is_not_unique(context: AppContext) -> None:
    now = datetime.now(UTC)

    with pytest.raises(IntegrityError) as raised:
        with context.database.write() as session:
            session.add(
                User(
                    environment_id=999,
                    email="a@contoso.test",
                    email_key="a@contoso.test",
                    created_at=now,
                    updated_at=now,
                )
            )

    assert not is_unique_violation(raised.value)


def test_deleting_environment_cascades_to_users(context: AppContext) -> None:
    now = datetime.now(UTC)
    with context.database.write() as session:
        environment = Environment(name="contoso", created_at=now, updated_at=now)
        session.add(environment)
        session.flush()
        session.add(
            User(
                environment_id=environment.id,
                email="a@contoso.test",
                email_key="a@contoso.test",
                created_at=now,
                updated_at=now,
            )
        )

    with context.database.write() as session:
        session.execute(text("DELETE FROM environments"))

    with context.database.read() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 0


@pytest.mark.parametrize(
    ("url", "normalized"),
    [
        ("postgresql://u@db/h", "postgresql+psycopg://u@db/h"),
        ("postgres://u@db/h", "postgresql+psycopg://u@db/h"),
        ("postgresql+psycopg://u@db/h", "postgresql+psycopg://u@db/h"),
        ("sqlite:///var/h.sqlite3", "sqlite:///var/h.sqlite3"),
    ],
)
def test_normalize_database_url(url: str, normalized: str) -> None:
    assert normalize_database_url(url) == normalized


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("plain text ✓", None),
        ("a\x00b", "contains at position 2 a NUL character (U+0000); remove it"),
        ("\udc80", "contains at position 1 an unpaired surrogate (U+DC80)"),
    ],
)
def test_unstorable_character(value: str, problem: str | None) -> None:
    found = unstorable_character(value)

    if problem is None:
        assert found is None
    else:
        assert found is not None and found.startswith(problem)
