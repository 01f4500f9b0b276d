"""Campaign storage (issue #11): counts by one GROUP BY, Pause/Stop, the operations to track per customer.

Like ``storage.repositories`` every function takes an open ``Session`` and never commits; changes are
conditional updates (safe with several replicas on SQLite and PostgreSQL).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from storage.models import ChangeRequest, PartnerCenterOperation
from storage.repositories import rowcount

BULK = "bulk"


@dataclass(frozen=True)
class OperationCounts:
    sending: int = 0
    refused: int = 0
    sent: int = 0
    completed: int = 0
    failed: int = 0
    done: int = 0  # schedules made / cancelled: nothing to follow


def operation_counts(session: Session, request_id: str) -> OperationCounts:
    """The campaign's operations by status and Partner Center status (one GROUP BY)."""
    query = (select(PartnerCenterOperation.status, PartnerCenterOperation.pc_status, func.count())
             .where(PartnerCenterOperation.request_id == request_id)
             .group_by(PartnerCenterOperation.status, PartnerCenterOperation.pc_status))
    counts: dict[str, int] = defaultdict(int)
    for status, pc_status, n in session.execute(query):
        counts[str(status)] += int(n)
        if status == "sent":
            key = (pc_status or "").lower()
            if key in ("completed", "failed", "done"):
                counts[key] += int(n)
    return OperationCounts(**{k: counts.get(k, 0) for k in OperationCounts.__dataclass_fields__})


@dataclass(frozen=True)
class OperationRow:
    """What the results file and the failures reply need of one operation."""

    position: int | None
    kind: str
    target: str
    customer_id: str
    status: str
    pc_status: str | None
    migration_id: str | None
    schedule_id: str | None
    response: dict[str, Any] | None
    error_code: str | None
    error_description: str | None
    ms_request_id: str


def operation_rows(session: Session, request_id: str, *, problems_only: bool = False) -> list[OperationRow]:
    op = PartnerCenterOperation
    query = select(op.position, op.kind, op.target, op.customer_id, op.status, op.pc_status, op.migration_id,
                   op.schedule_id, op.response, op.error_code, op.error_description,
                   op.ms_request_id).where(op.request_id == request_id)
    if problems_only:
        query = query.where((op.status == "refused") | (func.lower(op.pc_status) == "failed"))
    return [OperationRow(*row) for row in session.execute(query.order_by(op.id))]


def finished_targets(session: Session, request_id: str) -> set[tuple[str, str]]:
    """(kind, lower-case target) of the operations answered (sent or refused): never sent again."""
    op = PartnerCenterOperation
    query = select(op.kind, op.target).where(op.request_id == request_id, op.status.in_(("sent", "refused")))
    return {(kind, target.lower()) for kind, target in session.execute(query)}


def stamp_operation(session: Session, operation_id: int, *, position: int, external_reference_id: str,
                    correlation_id: str) -> None:
    """A campaign operation's plan position, the campaign's shared ``externalReferenceId`` and its own
    ``MS-CorrelationId``, committed before its call."""
    session.execute(update(PartnerCenterOperation).where(PartnerCenterOperation.id == operation_id)
                    .values(position=position, external_reference_id=external_reference_id,
                            correlation_id=correlation_id).execution_options(synchronize_session=False))


def set_pc_status(session: Session, operation_id: int, pc_status: str, *, now: datetime,
                  response: dict[str, Any] | None = None, error_code: str | None = None,
                  error_description: str | None = None) -> None:
    values: dict[str, Any] = {"pc_status": pc_status, "updated_at": now}
    if response is not None:
        values["response"] = response
    if error_code is not None:
        values.update(error_code=error_code, error_description=error_description)
    session.execute(update(PartnerCenterOperation).where(PartnerCenterOperation.id == operation_id)
                    .values(**values).execution_options(synchronize_session=False))


def control(session: Session, request_id: str) -> str | None:
    return session.scalar(select(ChangeRequest.control).where(ChangeRequest.id == request_id))


def set_control(session: Session, request_id: str, value: str, *, allowed_from: tuple[str | None, ...],
                states: tuple[str, ...], now: datetime) -> bool:
    """Conditionally set Pause/Resume/Stop: only from ``allowed_from`` and while the request is in ``states``."""
    conditions = [ChangeRequest.id == request_id, ChangeRequest.state.in_(states)]
    known = [v for v in allowed_from if v is not None]
    if None in allowed_from:
        conditions.append(or_(ChangeRequest.control.in_(known), ChangeRequest.control.is_(None)))
    else:
        conditions.append(ChangeRequest.control.in_(known))
    result = session.execute(update(ChangeRequest).where(*conditions).values(control=value, updated_at=now)
                             .execution_options(synchronize_session=False))
    return rowcount(result) == 1


def campaigns_to_run(session: Session, states: tuple[str, ...]) -> list[str]:
    """Campaign (plan-holding bulk) requests in ``states``, oldest decision first."""
    query = (select(ChangeRequest.id).where(ChangeRequest.kind == BULK, ChangeRequest.plan.is_not(None),
                                            ChangeRequest.state.in_(states))
             .order_by(ChangeRequest.decided_at, ChangeRequest.id))
    return list(session.scalars(query))


def recent_campaigns(session: Session, limit: int = 20) -> list[ChangeRequest]:
    query = (select(ChangeRequest).where(ChangeRequest.kind == BULK, ChangeRequest.plan.is_not(None))
             .order_by(ChangeRequest.created_at.desc()).limit(limit))
    return list(session.scalars(query))


@dataclass(frozen=True)
class Trackable:
    operation_id: int
    request_id: str
    migration_id: str
    pc_status: str | None


def trackable_by_customer(session: Session, request_ids: list[str]) -> dict[str, list[Trackable]]:
    """Sent creates of these campaigns whose migration has not ended, by customer (one list call each)."""
    if not request_ids:
        return {}
    op = PartnerCenterOperation
    query = (select(op.id, op.request_id, op.migration_id, op.pc_status, op.customer_id)
             .where(op.request_id.in_(request_ids), op.status == "sent", op.migration_id.is_not(None),
                    (op.pc_status.is_(None)) | (func.lower(op.pc_status).not_in(("completed", "failed", "done"))))
             .order_by(op.customer_id, op.id))
    out: dict[str, list[Trackable]] = defaultdict(list)
    for op_id, request_id, migration_id, pc_status, customer_id in session.execute(query):
        out[str(customer_id).lower()].append(Trackable(op_id, request_id, str(migration_id), pc_status))
    return dict(out)


def open_requests(session: Session, customer_ids: Sequence[str]) -> list[ChangeRequest]:
    """Pending or approved requests of these customers, and campaigns over several customers (stored under
    ``*``): what a new request for one of their subscriptions would race at Partner Center."""
    wanted = [c.lower() for c in customer_ids]
    query = select(ChangeRequest).where(ChangeRequest.state.in_(("pending", "approved")),
                                        func.lower(ChangeRequest.customer_id).in_([*wanted, "*"]))
    return list(session.scalars(query))


def recent_creates(session: Session, since: datetime, now: datetime, *,
                   not_by: str | None) -> list[tuple[int, datetime]]:
    """(id, when Partner Center counted it) of migration creates of another process than ``not_by`` that may
    still be in Partner Center's window: answered ones by their answer (``updated_at``, as the client's limiter
    stamps its own), ones still in flight as now (the most cautious)."""
    op = PartnerCenterOperation
    query = select(op.id, op.status, op.updated_at).where(
        op.kind == "create_migration", or_(op.updated_at >= since, op.status == "sending"))
    if not_by is not None:
        query = query.where(or_(op.claimed_by.is_(None), op.claimed_by != not_by))
    return [(int(i), now if status == "sending" else at) for i, status, at in session.execute(query)]
