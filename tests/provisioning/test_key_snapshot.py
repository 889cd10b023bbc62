"""Each process checks valid keys from a snapshot; rotation reaches every process within a bound.

Two application contexts on one database stand for two workers. Their snapshots run on a
clock that the tests move, so the bound is tested without sleeping.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy import delete, event
from starlette.testclient import TestClient

from hatchway.app import create_app
from hatchway.config import Settings
from hatchway.context import AppContext
from hatchway.db.models import RateLimitCounter
from hatchway.db.types import utcnow
from hatchway.provisioning.auth import rotate_provisioning_key
from hatchway.provisioning.key_cache import REFRESH_SECONDS
from hatchway.security.ratelimit import PROVISIONING_KEY_FAILURES
from tests.support.hatchway import PROVISIONING_KEY, prepare_context

WRONG_KEY = "00000000-0000-0000-0000-00000000BAD0"


class Clock:
    """A monotonic clock that moves only when a test advances it."""

    def __init__(self) -> None:
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds

    def advance(self, seconds: float) -> None:
        self.seconds += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


def worker(context: AppContext, clock: Clock) -> TestClient:
    context.provisioning_keys.monotonic = clock
    app: FastAPI = create_app(context.settings, context=context)
    return TestClient(app, base_url="http://127.0.0.1/Provisioning")


@pytest.fixture
def workers(context: AppContext, settings: Settings, clock: Clock) -> Iterator[list[TestClient]]:
    other = prepare_context(settings)
    try:
        with worker(context, clock) as first, worker(other, clock) as second:
            yield [first, second]
    finally:
        other.close()


def status(client: TestClient, key: str) -> int:
    return client.get("/Environment/", headers={"ProvisioningKey": key}).status_code


def count_statements(context: AppContext) -> list[str]:
    """Record every SQL statement that the context's engine runs from now on."""
    statements: list[str] = []

    def record(*arguments: object) -> None:
        statements.append(str(arguments[2]))

    event.listen(context.database.engine, "before_cursor_execute", record)
    return statements


def test_valid_key_costs_no_query(context: AppContext, workers: list[TestClient]) -> None:
    first = workers[0]
    assert status(first, PROVISIONING_KEY) == 200
    statements = count_statements(context)

    response = first.get("/Environment/nosuchenv/", headers={"ProvisioningKey": PROVISIONING_KEY})

    assert response.status_code == 404
    assert not any("provisioning_keys" in statement for statement in statements)
    assert not any("rate_limits" in statement for statement in statements)


def test_rotated_key_works_at_once(context: AppContext, workers: list[TestClient]) -> None:
    assert [status(client, PROVISIONING_KEY) for client in workers] == [200, 200]

    new_key = rotate_provisioning_key(context.database, utcnow())

    assert [status(client, new_key) for client in workers] == [200, 200]


def test_old_key_stops_within_bound(
    context: AppContext, workers: list[TestClient], clock: Clock
) -> None:
    assert [status(client, PROVISIONING_KEY) for client in workers] == [200, 200]

    rotate_provisioning_key(context.database, utcnow())
    clock.advance(REFRESH_SECONDS)

    assert [status(client, PROVISIONING_KEY) for client in workers] == [403, 403]


def test_old_key_lasts_until_refresh(
    context: AppContext, workers: list[TestClient], clock: Clock
) -> None:
    assert [status(client, PROVISIONING_KEY) for client in workers] == [200, 200]

    rotate_provisioning_key(context.database, utcnow())
    clock.advance(REFRESH_SECONDS / 2)

    # Documents the bound's other side: within it, a worker may still accept the old key.
    assert [status(client, PROVISIONING_KEY) for client in workers] == [200, 200]


def test_limit_on_other_worker_within_bound(workers: list[TestClient], clock: Clock) -> None:
    first, second = workers
    assert status(second, PROVISIONING_KEY) == 200
    for _ in range(PROVISIONING_KEY_FAILURES.limit):
        assert status(first, WRONG_KEY) == 403

    clock.advance(REFRESH_SECONDS)

    assert status(second, PROVISIONING_KEY) == 429
    assert status(first, PROVISIONING_KEY) == 429


def test_limit_ends_for_right_key(workers: list[TestClient], context: AppContext) -> None:
    first = workers[0]
    for _ in range(PROVISIONING_KEY_FAILURES.limit):
        assert status(first, WRONG_KEY) == 403
    assert status(first, PROVISIONING_KEY) == 429

    with context.database.write() as session:
        session.execute(delete(RateLimitCounter))

    assert status(first, PROVISIONING_KEY) == 200
