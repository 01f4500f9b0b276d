"""Which ncebot processes are alive (issue 9, point 7): ``process_instances`` rows kept fresh by a heartbeat.

A claim (an operation in ``sending``, the poller lease) names the instance holding it. Once that instance's
``alive_until`` is in the past, it is known dead (killed, crashed, stopped) and its claims may be taken over at
once instead of after their own, much longer, expiry. An instance without a row is NOT taken as dead (it never
heartbeated, e.g. a tool or a test): its claims keep their plain expiry. Every function takes an open
``Session`` and never commits. The "known dead" condition itself is ``storage.repositories.holder_is_dead``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from storage.models import ProcessInstance
from storage.repositories import insert_once, rowcount

# Rows of instances dead for longer than this are purged (they hold nothing any more that matters).
FORGET_AFTER = timedelta(days=1)


def heartbeat(session: Session, instance_id: str, now: datetime, timeout: timedelta) -> None:
    """Declare ``instance_id`` alive until ``now + timeout`` (creating its row on the first beat)."""
    result = session.execute(
        update(ProcessInstance)
        .where(ProcessInstance.id == instance_id)
        .values(alive_until=now + timeout)
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) == 0:
        insert_once(session, insert(ProcessInstance).values(id=instance_id, started_at=now,
                                                            alive_until=now + timeout))


def forget_long_dead(session: Session, now: datetime) -> int:
    result = session.execute(delete(ProcessInstance).where(ProcessInstance.alive_until < now - FORGET_AFTER))
    return rowcount(result)


def alive_until(session: Session, instance_id: str) -> datetime | None:
    return session.scalar(select(ProcessInstance.alive_until).where(ProcessInstance.id == instance_id))
