"""Named leases (the poller's): take, renew, release; a holder known dead loses its lease at once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.orm import Session

from storage.models import Lease
from storage.repositories.base import holder_is_dead, insert_once, rowcount


def read_lease(session: Session, name: str) -> tuple[str, datetime] | None:
    row = session.execute(select(Lease.holder, Lease.expires_at).where(Lease.name == name)).first()
    return (row[0], row[1]) if row else None


def try_acquire_lease(session: Session, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take the lease if free, lapsed or held by a process instance known dead (:func:`holder_is_dead`), or extend
    it if ours: one conditional UPDATE, else one INSERT."""
    result = session.execute(
        update(Lease)
        .where(Lease.name == name,
               or_(Lease.holder == holder, Lease.expires_at <= now, holder_is_dead(Lease.holder, now)))
        .values(holder=holder, expires_at=now + ttl)
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) == 1:
        return True
    return insert_once(session, insert(Lease).values(name=name, holder=holder, expires_at=now + ttl))


def renew_lease(session: Session, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Extend the lease only while this holder still has it (nobody took it over after a lapse)."""
    result = session.execute(
        update(Lease)
        .where(Lease.name == name, Lease.holder == holder)
        .values(expires_at=now + ttl)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


def release_lease(session: Session, name: str, holder: str) -> bool:
    return rowcount(session.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))) == 1
