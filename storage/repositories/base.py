"""Helpers every repository module uses: ids, row counts, insert-once, the dead-holder condition."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, CursorResult, Executable, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from bot.domain import RequestState
from storage.models import ProcessInstance

OPEN_STATES = (RequestState.PENDING, RequestState.APPROVED, RequestState.SUBMITTED, RequestState.PROCESSING)


class TransitionNotAllowed(ValueError):
    """A transition outside ``ALLOWED_TRANSITIONS`` was asked for (a programming error)."""


def new_id() -> str:
    """Unique across replicas and restarts."""
    return uuid.uuid4().hex


def rowcount(result: Any) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def holder_is_dead(holder: InstrumentedAttribute[str] | InstrumentedAttribute[str | None], now: datetime,
                   ) -> ColumnElement[bool]:
    """SQL condition: the process instance named by column ``holder`` has a heartbeat row (``storage.liveness``)
    and that heartbeat ran out before ``now``. An instance without a row is not known dead."""
    return exists(select(ProcessInstance.id).where(ProcessInstance.id == holder, ProcessInstance.alive_until < now))


def insert_once(session: Session, statement: Executable) -> bool:
    """Run an INSERT in a savepoint; False, and nothing written, when a row with its unique key exists already."""
    try:
        with session.begin_nested():
            session.execute(statement)
    except IntegrityError:
        return False
    return True
