"""The operator's view of the rate-limit counters: list them, and clear them with an audit record.

`hatchway rate-limits list` and `hatchway rate-limits clear` call these on the server's host,
for example after a Provisioning Key rotation, when old scripts keep failing from a partner's
address and the block would refuse the new key too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hatchway.audit import service as audit
from hatchway.audit.service import Actor
from hatchway.db.models import RateLimitCounter
from hatchway.security.ratelimit import RULES, Per, RateLimit

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Counter:
    """One stored counter: its limit, the address or environment it counts, and its window."""

    rule: RateLimit
    subject: str
    count: int
    window_started_at: datetime

    @property
    def window_ends_at(self) -> datetime:
        return self.window_started_at + timedelta(seconds=self.rule.window_seconds)

    def is_running(self, now: datetime) -> bool:
        """Tell whether the counter's window has not ended yet."""
        return self.window_ends_at > now

    def blocks(self, now: datetime) -> bool:
        """Tell whether the limit refuses further requests of this subject now."""
        return self.is_running(now) and self.count >= self.rule.limit


@dataclass(frozen=True)
class CounterFilter:
    """A selection of counters to clear: of these limits, and of one address or environment."""

    rules: tuple[RateLimit, ...] = RULES
    address: str | None = None
    environment: str | None = None

    def matches(self, counter: Counter) -> bool:
        if counter.rule not in self.rules:
            return False
        if self.address is not None:
            return counter.rule.per is Per.ADDRESS and counter.subject == self.address
        if self.environment is not None:
            return (
                counter.rule.per is Per.ENVIRONMENT and counter.subject == self.environment.lower()
            )
        return True


def find_rule(name: str) -> RateLimit | None:
    """Return the limit named `name`, such as 'sign-in-failure', in any letter case, or None."""
    normalized = name.strip().lower()
    return next((rule for rule in RULES if rule.name == normalized), None)


def _counter(row: RateLimitCounter) -> Counter | None:
    name, _, subject = row.bucket.partition(":")
    rule = find_rule(name)
    if rule is None:
        return None
    return Counter(rule, subject, row.count, row.window_started_at)


def list_counters(session: Session) -> list[Counter]:
    """Return every stored counter of a known limit, sorted by limit and subject."""
    rows = session.scalars(select(RateLimitCounter).order_by(RateLimitCounter.bucket))
    return [counter for row in rows if (counter := _counter(row)) is not None]


def clear_counters(
    session: Session, selection: CounterFilter, *, actor: Actor, now: datetime
) -> list[Counter]:
    """Delete the counters `selection` matches and audit it; return the deleted counters.

    A cleared subject starts from zero at once. Servers that keep a copy of the blocked
    addresses (the Provisioning Key check does) reload it from the database within a second.
    """
    rows = list(session.scalars(select(RateLimitCounter).with_for_update()))
    cleared: list[Counter] = []
    for row in rows:
        counter = _counter(row)
        if counter is not None and selection.matches(counter):
            cleared.append(counter)
            session.delete(row)
    if not cleared:
        return cleared

    audit.record(
        session,
        actor,
        audit.AuditAction.RATE_LIMIT_CLEAR,
        ", ".join(f"{counter.rule.name}:{counter.subject}" for counter in cleared)[:320],
        now=now,
        before={
            "Counters": [
                {
                    "Kind": counter.rule.name,
                    "Subject": counter.subject,
                    "Count": counter.count,
                    "Blocking": counter.blocks(now),
                }
                for counter in cleared
            ]
        },
        detail=f"{len(cleared)} rate-limit counter(s) cleared on the server's command line",
    )
    logger.info("ratelimit.cleared counters=%d", len(cleared))
    return cleared
