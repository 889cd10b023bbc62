"""Fixed-window rate limits in the database, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest

from hatchway.context import AppContext
from hatchway.db.models import RateLimitCounter
from hatchway.errors import RateLimited
from hatchway.security import ratelimit
from hatchway.security.ratelimit import RateLimit

RULE = RateLimit("test-rule", limit=3, window_seconds=60)
MESSAGE = "Too many attempts."


def _record(context: AppContext, now: datetime, subject: str = "203.0.113.7") -> int:
    with context.database.write() as session:
        return ratelimit.record(session, RULE, subject, now)


def _check(context: AppContext, now: datetime, subject: str = "203.0.113.7") -> None:
    with context.database.read() as session:
        ratelimit.check(session, RULE, subject, now, MESSAGE)


def test_record_counts_within_window(context: AppContext) -> None:
    now = context.now()

    counts = [_record(context, now + timedelta(seconds=second)) for second in range(3)]

    assert counts == [1, 2, 3]


def test_check_passes_below_limit(context: AppContext) -> None:
    now = context.now()
    for _ in range(RULE.limit - 1):
        _record(context, now)

    _check(context, now)


def test_check_raises_at_limit_with_retry_after(context: AppContext) -> None:
    now = context.now()
    for _ in range(RULE.limit):
        _record(context, now)

    with pytest.raises(RateLimited) as raised:
        _check(context, now + timedelta(seconds=20))

    assert str(raised.value) == MESSAGE
    assert raised.value.retry_after == 40


def test_retry_after_is_at_least_one_second(context: AppContext) -> None:
    now = context.now()
    for _ in range(RULE.limit):
        _record(context, now)

    with pytest.raises(RateLimited) as raised:
        _check(context, now + timedelta(seconds=59, milliseconds=999))

    assert raised.value.retry_after == 1


def test_window_end_lifts_limit(context: AppContext) -> None:
    now = context.now()
    for _ in range(RULE.limit):
        _record(context, now)

    _check(context, now + timedelta(seconds=RULE.window_seconds))


def test_record_after_window_starts_new_count(context: AppContext) -> None:
    now = context.now()
    for _ in range(RULE.limit):
        _record(context, now)

    later = now + timedelta(seconds=RULE.window_seconds + 5)

    assert _record(context, later) == 1
    with context.database.read() as session:
        counter = session.get(RateLimitCounter, RULE.bucket("203.0.113.7"))
        assert counter is not None
        assert counter.window_started_at == later


def test_subjects_have_separate_buckets(context: AppContext) -> None:
    now = context.now()
    for _ in range(RULE.limit):
        _record(context, now, "203.0.113.7")

    _check(context, now, "203.0.113.8")


def test_rules_have_separate_buckets(context: AppContext) -> None:
    now = context.now()
    other = RateLimit("other-rule", limit=1, window_seconds=60)
    for _ in range(RULE.limit):
        _record(context, now)

    with context.database.read() as session:
        ratelimit.check(session, other, "203.0.113.7", now, MESSAGE)


def test_reset_clears_bucket(context: AppContext) -> None:
    now = context.now()
    for _ in range(RULE.limit):
        _record(context, now)

    with context.database.write() as session:
        ratelimit.reset(session, RULE, "203.0.113.7")

    _check(context, now)
    assert _record(context, now) == 1


def test_reset_of_unknown_bucket_does_nothing(context: AppContext) -> None:
    with context.database.write() as session:
        ratelimit.reset(session, RULE, "198.51.100.1")


def test_consume_raises_over_limit(context: AppContext) -> None:
    now = context.now()
    with context.database.write() as session:
        for _ in range(RULE.limit):
            ratelimit.consume(session, RULE, "client", now, MESSAGE)

    with context.database.write() as session, pytest.raises(RateLimited) as raised:
        ratelimit.consume(session, RULE, "client", now + timedelta(seconds=10), MESSAGE)

    assert raised.value.retry_after == 50


def test_long_subject_is_cut_to_column(context: AppContext) -> None:
    subject = "x" * 500

    assert _record(context, context.now(), subject) == 1
    assert len(RULE.bucket(subject)) == 200


def test_concurrent_records_are_all_counted(context: AppContext) -> None:
    now = context.now()
    threads, per_thread = 8, 10
    wide = RateLimit("wide", limit=1000, window_seconds=60)
    start = threading.Barrier(threads)
    failures: list[BaseException] = []

    def hammer() -> None:
        try:
            start.wait(10)
            for _ in range(per_thread):
                with context.database.write() as session:
                    ratelimit.record(session, wide, "shared", now)
        except BaseException as error:  # reported by the assertion below
            failures.append(error)

    workers = [threading.Thread(target=hammer) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)

    assert failures == []
    with context.database.read() as session:
        counter = session.get(RateLimitCounter, wide.bucket("shared"))
        assert counter is not None
        assert counter.count == threads * per_thread
