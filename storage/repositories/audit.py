"""The audit trail: one event per action, in the transaction of the change it records."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from bot.domain import RequestState
from storage.models import AuditEvent


def append_audit(
    session: Session,
    *,
    actor: str,
    action: str,
    at: datetime,
    request_id: str | None = None,
    customer_id: str | None = None,
    from_state: RequestState | None = None,
    to_state: RequestState | None = None,
    detail: dict[str, Any] | None = None,
    ms_request_id: str | None = None,
    correlation_id: str | None = None,
) -> None:
    session.execute(
        insert(AuditEvent).values(
            request_id=request_id,
            customer_id=customer_id,
            actor=actor,
            action=action,
            from_state=from_state.value if from_state else None,
            to_state=to_state.value if to_state else None,
            at=at,
            detail=detail,
            ms_request_id=ms_request_id,
            correlation_id=correlation_id,
        )
    )


def audit_events(
    session: Session, *, request_id: str | None = None, customer_id: str | None = None
) -> Sequence[AuditEvent]:
    query = select(AuditEvent)
    if request_id is not None:
        query = query.where(AuditEvent.request_id == request_id)
    if customer_id is not None:
        query = query.where(AuditEvent.customer_id == customer_id)
    return list(session.scalars(query.order_by(AuditEvent.at, AuditEvent.id)))
