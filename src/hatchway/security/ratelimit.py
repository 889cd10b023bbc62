"""Fixed-window rate limits kept in the database, so that every worker and host sees one count.

A bucket is a string such as ``provisioning-key-failure:203.0.113.7``. One upsert per event
increments the bucket's counter, or starts a new window when the old one has passed.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hatchway.db.models import RateLimitCounter
from hatchway.db.types import UtcDateTime
from hatchway.errors import RateLimited


class Per(enum.StrEnum):
    """The subject a bucket counts for: one client address, or one environment."""

    ADDRESS = "address"
    ENVIRONMENT = "environment"


@dataclass(frozen=True)
class RateLimit:
    """At most `limit` events per `window_seconds` in one bucket of one subject."""

    name: str
    limit: int
    window_seconds: int
    per: Per = Per.ADDRESS

    def bucket(self, subject: str) -> str:
        return f"{self.name}:{subject}"[:200]


PROVISIONING_KEY_FAILURES = RateLimit("provisioning-key-failure", limit=10, window_seconds=300)
SIGN_IN_FAILURES = RateLimit("sign-in-failure", limit=10, window_seconds=300)
EMERGENCY_PAGE_PER_CLIENT = RateLimit("emergency-page-client", limit=5, window_seconds=900)
EMERGENCY_PAGE_PER_ENVIRONMENT = RateLimit(
    "emergency-page-environment", limit=20, window_seconds=3600, per=Per.ENVIRONMENT
)
EMERGENCY_API_PER_CLIENT = RateLimit("emergency-api-client", limit=10, window_seconds=900)
EMERGENCY_API_PER_ENVIRONMENT = RateLimit(
    "emergency-api-environment", limit=20, window_seconds=3600, per=Per.ENVIRONMENT
)

# Every limit Hatchway applies; `hatchway rate-limits` lists and clears their counters.
RULES = (
    PROVISIONING_KEY_FAILURES,
    SIGN_IN_FAILURES,
    EMERGENCY_PAGE_PER_CLIENT,
    EMERGENCY_PAGE_PER_ENVIRONMENT,
    EMERGENCY_API_PER_CLIENT,
    EMERGENCY_API_PER_ENVIRONMENT,
)


def _retry_after(window_started_at: datetime, rule: RateLimit, now: datetime) -> int:
    ends = window_started_at + timedelta(seconds=rule.window_seconds)
    return max(1, math.ceil((ends - now).total_seconds()))


def check(session: Session, rule: RateLimit, subject: str, now: datetime, message: str) -> None:
    """Raise `RateLimited` when the bucket already holds `limit` events in its current window."""
    counter = session.scalar(
        select(RateLimitCounter).where(RateLimitCounter.bucket == rule.bucket(subject))
    )
    if counter is None:
        return
    if counter.window_started_at + timedelta(seconds=rule.window_seconds) <= now:
        return
    if counter.count >= rule.limit:
        raise RateLimited(message, _retry_after(counter.window_started_at, rule, now))


def limited_subjects(session: Session, rule: RateLimit, now: datetime) -> dict[str, datetime]:
    """Return each subject that `check` would limit now, with the end of its current window."""
    prefix = rule.bucket("")
    window = timedelta(seconds=rule.window_seconds)
    rows = session.execute(
        select(RateLimitCounter.bucket, RateLimitCounter.window_started_at).where(
            RateLimitCounter.bucket.startswith(prefix, autoescape=True),
            RateLimitCounter.count >= rule.limit,
            RateLimitCounter.window_started_at > now - window,
        )
    )
    return {bucket.removeprefix(prefix): started + window for bucket, started in rows}


def record(session: Session, rule: RateLimit, subject: str, now: datetime) -> int:
    """Count one event in the bucket and return the count of the current window."""
    bucket = rule.bucket(subject)
    window_cutoff = now - timedelta(seconds=rule.window_seconds)
    table = RateLimitCounter.__table__
    expired = table.c.window_started_at <= window_cutoff

    dialect = session.get_bind().dialect.name
    insert_factory = postgresql.insert if dialect == "postgresql" else sqlite.insert
    insert = insert_factory(RateLimitCounter).values(bucket=bucket, window_started_at=now, count=1)
    statement = insert.on_conflict_do_update(
        index_elements=[table.c.bucket],
        set_={
            "count": case((expired, 1), else_=table.c.count + 1),
            "window_started_at": case(
                (expired, literal(now, UtcDateTime())), else_=table.c.window_started_at
            ),
        },
    ).returning(table.c.count)
    count = session.execute(statement).scalar_one()
    return int(count)


def consume(session: Session, rule: RateLimit, subject: str, now: datetime, message: str) -> None:
    """Count one event and raise `RateLimited` when it goes over the limit."""
    count = record(session, rule, subject, now)
    if count > rule.limit:
        counter = session.get(RateLimitCounter, rule.bucket(subject))
        started = counter.window_started_at if counter is not None else now
        raise RateLimited(message, _retry_after(started, rule, now))


def reset(session: Session, rule: RateLimit, subject: str) -> None:
    counter = session.get(RateLimitCounter, rule.bucket(subject))
    if counter is not None:
        session.delete(counter)
