"""One poller across replicas: a named lease row in the database (SQLite and PostgreSQL).

Acquire is one conditional ``UPDATE … WHERE name = ? AND (holder = me OR expires_at <= now)`` followed, when no
row exists yet, by an ``INSERT`` that a unique key lets only one replica win: there is no read-then-write race.
A standby calls :meth:`DatabaseLease.try_acquire` at every job tick and takes over once the holder's lease has
expired (``ttl`` = two poll intervals by default), or at once when the holder is a process instance known dead
(its heartbeat ran out, ``bot.liveness``).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.domain import Clock, utc_now
from bot.liveness import new_instance_id as default_holder_id
from storage import repositories as store

log = logging.getLogger("ncebot.tracking.lease")


@dataclass(frozen=True)
class LeaseState:
    """For ``bot.health.lease_check``: does this process hold the lease, who does, until when."""

    held: bool
    holder: str | None
    expires_at: datetime | None


class DatabaseLease:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        name: str = "poller",
        holder_id: str | None = None,
        ttl: timedelta,
        clock: Clock,
    ) -> None:
        if ttl <= timedelta(0):
            raise ValueError("ttl must be positive")
        self._sessions = session_factory
        self.name = name
        self.holder_id = holder_id or default_holder_id()
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._held_until: datetime | None = None  # our own view: when our lease runs out

    def _now(self) -> datetime:
        return utc_now(self._clock)

    def try_acquire(self) -> bool:
        """Take the lease if free or lapsed, or extend ours. True while this process holds it."""
        now = self._now()
        with self._lock:
            try:
                with self._sessions.begin() as session:
                    won = store.try_acquire_lease(session, self.name, self.holder_id, now, self.ttl)
            except Exception:
                log.warning("lease %s: acquire failed", self.name, exc_info=True)
                won = False
            if won and self._held_until is None:
                log.info("lease %s acquired by %s", self.name, self.holder_id)
            self._held_until = now + self.ttl if won else None
            return won

    def renew(self) -> bool:
        """Extend the lease only if this process still holds it; False (and not held) otherwise."""
        now = self._now()
        with self._lock:
            try:
                with self._sessions.begin() as session:
                    ok = store.renew_lease(session, self.name, self.holder_id, now, self.ttl)
            except Exception:
                log.warning("lease %s: renew failed", self.name, exc_info=True)
                ok = False
            self._held_until = now + self.ttl if ok else None
            return ok

    def ensure(self) -> bool:
        """Cheap check at the top of every job: hold it (renewing when a third of the ttl is gone) or try to."""
        now = self._now()
        with self._lock:
            held_until = self._held_until
        if held_until is not None and now < held_until - (self.ttl * 2) / 3:
            return True
        return self.try_acquire()

    def release(self) -> None:
        with self._lock:
            try:
                with self._sessions.begin() as session:
                    store.release_lease(session, self.name, self.holder_id)
            except Exception:
                log.warning("lease %s: release failed", self.name, exc_info=True)
            self._held_until = None

    @property
    def held(self) -> bool:
        with self._lock:
            return self._held_until is not None and self._now() < self._held_until

    def state(self) -> LeaseState:
        """What the database says now (``held`` is true only if the row names this process and is live)."""
        try:
            with self._sessions() as session:
                current = store.read_lease(session, self.name)
        except Exception:
            log.warning("lease %s: read failed", self.name, exc_info=True)
            current = None
        if current is None:
            return LeaseState(held=False, holder=None, expires_at=None)
        holder, expires_at = current
        held = holder == self.holder_id and expires_at > self._now()
        return LeaseState(held=held, holder=holder, expires_at=expires_at)
