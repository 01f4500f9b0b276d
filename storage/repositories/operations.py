"""Partner Center operations: the row written before a write call (claimed, resumed, finished once)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.operations import FINAL_STATUSES, OperationKind, OperationStatus
from storage.models import PartnerCenterOperation
from storage.repositories.base import holder_is_dead, rowcount


@dataclass(frozen=True)
class OperationView:
    """One ``pc_operations`` row: what was (or is being) sent, with which ids, and how it ended."""

    id: int
    request_id: str
    kind: str  # an OperationKind member (typed str so callers keyed by plain strings still type-check)
    target: str
    customer_id: str
    ms_request_id: str
    external_reference_id: str
    status: OperationStatus
    attempts: int
    migration_id: str | None
    schedule_id: str | None
    correlation_id: str | None
    error_code: str | None
    error_description: str | None
    response_status: str | None = None  # "status" of Partner Center's answer (Processing, Created, …)


def _op_view(row: PartnerCenterOperation) -> OperationView:
    return OperationView(
        id=row.id,
        request_id=row.request_id,
        kind=OperationKind(row.kind),
        target=row.target,
        customer_id=row.customer_id,
        ms_request_id=row.ms_request_id,
        external_reference_id=row.external_reference_id,
        status=OperationStatus(row.status),
        attempts=row.attempts,
        migration_id=row.migration_id,
        schedule_id=row.schedule_id,
        correlation_id=row.correlation_id,
        error_code=row.error_code,
        error_description=row.error_description,
        response_status=str(row.response["status"]) if row.response and row.response.get("status") else None,
    )


def operations_for(session: Session, request_id: str) -> list[OperationView]:
    query = select(PartnerCenterOperation).where(PartnerCenterOperation.request_id == request_id)
    return [_op_view(r) for r in session.scalars(query.order_by(PartnerCenterOperation.id))]


def create_operation(
    session: Session,
    *,
    request_id: str,
    kind: str,
    target: str,
    customer_id: str,
    now: datetime,
    lease: timedelta,
    holder: str | None = None,
) -> OperationView | None:
    """Persist a ``sending`` operation with fresh MS-RequestId and externalReferenceId, claimed by the caller
    (``holder``: its process instance id, see :func:`claim_operation`).

    None when the operation already exists (someone else created it): claim it with :func:`claim_operation`.
    """
    op_kind = OperationKind(kind)  # an unknown kind is a programming error: refused before anything is written
    try:
        with session.begin_nested():
            row = PartnerCenterOperation(
                request_id=request_id,
                kind=op_kind,
                target=target,
                customer_id=customer_id,
                ms_request_id=str(uuid.uuid4()),
                external_reference_id=str(uuid.uuid4()),
                status=OperationStatus.SENDING,
                attempts=1,
                claimed_until=now + lease,
                claimed_by=holder,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    return _op_view(row)


def claim_operation(session: Session, operation_id: int, *, now: datetime, lease: timedelta,
                    holder: str | None = None) -> OperationView | None:
    """Conditionally take a ``sending`` operation whose claim is free, lapsed, or held by a process instance
    known dead (:func:`holder_is_dead`: a crash is taken over at once, not after the lease); None if a live
    caller holds it. ``holder``: the claiming process instance."""
    result = session.execute(
        update(PartnerCenterOperation)
        .where(
            PartnerCenterOperation.id == operation_id,
            PartnerCenterOperation.status == OperationStatus.SENDING,
            or_(PartnerCenterOperation.claimed_until.is_(None), PartnerCenterOperation.claimed_until < now,
                holder_is_dead(PartnerCenterOperation.claimed_by, now)),
        )
        .values(claimed_until=now + lease, claimed_by=holder, attempts=PartnerCenterOperation.attempts + 1,
                updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        return None
    row = session.get(PartnerCenterOperation, operation_id, populate_existing=True)
    assert row is not None
    return _op_view(row)


def update_operation_fields(session: Session, operation_id: int, **values: Any) -> None:
    """Ids set on an operation before its call (correlation id, a bulk request's externalReferenceId)."""
    session.execute(
        update(PartnerCenterOperation)
        .where(PartnerCenterOperation.id == operation_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def release_operation(session: Session, operation_id: int, now: datetime, *, error: str | None = None) -> None:
    """Give a ``sending`` operation back (Partner Center unavailable): any replica may resume it."""
    session.execute(
        update(PartnerCenterOperation)
        .where(PartnerCenterOperation.id == operation_id, PartnerCenterOperation.status == OperationStatus.SENDING)
        .values(claimed_until=None, updated_at=now, error_description=error)
        .execution_options(synchronize_session=False)
    )


def finish_operation(
    session: Session,
    operation_id: int,
    *,
    status: str,
    now: datetime,
    migration_id: str | None = None,
    schedule_id: str | None = None,
    response: dict[str, Any] | None = None,
    correlation_id: str | None = None,
    error_code: str | None = None,
    error_description: str | None = None,
) -> bool:
    """``sending`` → ``sent`` | ``refused`` (conditional); True if this caller finished it."""
    if status not in FINAL_STATUSES:
        raise ValueError(f"an operation finishes as sent or refused, not {status!r}")
    result = session.execute(
        update(PartnerCenterOperation)
        .where(PartnerCenterOperation.id == operation_id, PartnerCenterOperation.status == OperationStatus.SENDING)
        .values(
            status=OperationStatus(status),
            claimed_until=None,
            updated_at=now,
            migration_id=migration_id,
            schedule_id=schedule_id,
            response=response,
            correlation_id=correlation_id,
            error_code=error_code,
            error_description=error_description,
        )
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1

