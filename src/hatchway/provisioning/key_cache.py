"""The valid Provisioning Key hashes and the rate-limited addresses, kept in each process.

A request with a valid key from an address that is not limited is accepted from this snapshot
alone, without a database round trip. Everything else (a missing, wrong or revoked key, a
limited address) goes to the database check in `hatchway.provisioning.auth`, which reloads the
snapshot in its transaction. So a new key works at once on every worker, and a revoked key
stops working on every worker at most `REFRESH_SECONDS` after its revocation committed.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hatchway.db.engine import Database
from hatchway.db.models import ProvisioningKeyRecord
from hatchway.security import ratelimit

# The maximum age of a snapshot that a request decides from, in seconds. A request reloads an
# older one first, so this bounds how long a revoked key or another worker's new limit go unseen.
REFRESH_SECONDS = 1.0


@dataclass(frozen=True)
class KeySnapshot:
    """The valid key hashes with their record ids, and each limited address's window end."""

    keys: tuple[tuple[str, int], ...]
    limited_until: dict[str, datetime]
    loaded_at: float

    def match(self, presented_hash: str) -> int | None:
        """Return the record id of the key with this hash, comparing every hash in full."""
        found = None
        for key_hash, record_id in self.keys:
            if hmac.compare_digest(key_hash, presented_hash):
                found = record_id
        return found

    def is_limited(self, address: str, now: datetime) -> bool:
        until = self.limited_until.get(address)
        return until is not None and now < until


@dataclass
class ProvisioningKeyCache:
    """One process's snapshot of the valid keys and limited addresses, reloaded when stale."""

    database: Database
    refresh_seconds: float = REFRESH_SECONDS
    monotonic: Callable[[], float] = time.monotonic
    _snapshot: KeySnapshot | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def is_fresh(self) -> bool:
        """Tell whether a request may decide from the snapshot without reloading it first."""
        snapshot = self._snapshot
        return snapshot is not None and self.monotonic() - snapshot.loaded_at < self.refresh_seconds

    def current(self) -> KeySnapshot | None:
        """Return the snapshot when it is fresh, else None."""
        return self._snapshot if self.is_fresh() else None

    def refresh(self, now: datetime) -> KeySnapshot:
        """Reload the snapshot in a transaction of its own, unless another thread just did."""
        with self._lock:
            snapshot = self._snapshot
            if snapshot is not None and self.is_fresh():
                return snapshot
            with self.database.read() as session:
                return self.reload(session, now)

    def reload(self, session: Session, now: datetime) -> KeySnapshot:
        """Reload the snapshot in the caller's transaction and return it."""
        loaded_at = self.monotonic()
        rows = session.execute(
            select(ProvisioningKeyRecord.key_hash, ProvisioningKeyRecord.id).where(
                ProvisioningKeyRecord.revoked_at.is_(None)
            )
        )
        snapshot = KeySnapshot(
            keys=tuple((key_hash, record_id) for key_hash, record_id in rows),
            limited_until=ratelimit.limited_subjects(
                session, ratelimit.PROVISIONING_KEY_FAILURES, now
            ),
            loaded_at=loaded_at,
        )
        self._snapshot = snapshot
        return snapshot

    def note_limited(self, address: str, until: datetime) -> None:
        """Mark an address as limited until `until` in this process, before the next reload."""
        snapshot = self._snapshot
        if snapshot is None:
            return
        limited = {**snapshot.limited_until, address: until}
        self._snapshot = KeySnapshot(snapshot.keys, limited, snapshot.loaded_at)
