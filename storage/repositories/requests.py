"""Change requests: add, read, list, conditional state transitions (each with its audit event), message refs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.domain import ALLOWED_TRANSITIONS, ChangeOptions, MessageRef, RequestKind, RequestState, ValidationOutcome
from storage.models import ChangeRequest, SlackMessage
from storage.repositories.audit import append_audit
from storage.repositories.base import OPEN_STATES, TransitionNotAllowed, new_id, rowcount
from storage.repositories.views import options_to_json, validation_to_json


def add_request(
    session: Session,
    *,
    kind: RequestKind,
    requester: str,
    customer_id: str,
    created_at: datetime,
    expires_at: datetime,
    required_approvals: int,
    subscription_id: str | None = None,
    schedule_id: str | None = None,
    options: ChangeOptions = ChangeOptions(),
    validation: ValidationOutcome | None = None,
    customer_name: str | None = None,
    subscription_name: str | None = None,
    items: list[Any] | None = None,
    request_id: str | None = None,
) -> ChangeRequest:
    """Store a new pending request and its ``requested`` audit event."""
    row = ChangeRequest(
        id=request_id or new_id(),
        kind=kind.value,
        state=RequestState.PENDING.value,
        customer_id=customer_id,
        customer_name=customer_name,
        subscription_id=subscription_id,
        subscription_name=subscription_name,
        schedule_id=schedule_id,
        options=options_to_json(options),
        validation=validation_to_json(validation),
        items=items,
        requester=requester,
        required_approvals=required_approvals,
        created_at=created_at,
        expires_at=expires_at,
        updated_at=created_at,
        version=1,
    )
    session.add(row)
    session.flush()
    append_audit(
        session,
        request_id=row.id,
        customer_id=customer_id,
        actor=requester,
        action="requested",
        to_state=RequestState.PENDING,
        at=created_at,
        detail={"kind": kind.value, "subscription_id": subscription_id, "schedule_id": schedule_id,
                "options": options.describe()},
    )
    return row


def get_request(session: Session, request_id: str, *, refresh: bool = False) -> ChangeRequest | None:
    row = session.get(ChangeRequest, request_id, populate_existing=refresh)
    if row is not None and refresh:
        # Relationships too: another transaction may have voted or stored the message meanwhile.
        session.refresh(row)
    return row


def requests_in_states(
    session: Session, states: Iterable[RequestState], *, kinds: Iterable[RequestKind] | None = None
) -> list[ChangeRequest]:
    query = select(ChangeRequest).where(ChangeRequest.state.in_([s.value for s in states]))
    if kinds is not None:
        query = query.where(ChangeRequest.kind.in_([k.value for k in kinds]))
    return list(session.scalars(query.order_by(ChangeRequest.created_at, ChangeRequest.id)))


def requests_by_requester(session: Session, requester: str, *, limit: int = 10) -> list[ChangeRequest]:
    """The newest ``limit`` requests made by ``requester``, newest first (the App Home tab)."""
    query = (
        select(ChangeRequest)
        .where(ChangeRequest.requester == requester)
        .order_by(ChangeRequest.created_at.desc(), ChangeRequest.id.desc())
        .limit(max(limit, 0))
    )
    return list(session.scalars(query))


def open_requests_for_subscription(session: Session, customer_id: str, subscription_id: str) -> list[ChangeRequest]:
    query = select(ChangeRequest).where(
        ChangeRequest.customer_id == customer_id,
        ChangeRequest.subscription_id == subscription_id,
        ChangeRequest.state.in_([s.value for s in OPEN_STATES]),
    )
    return list(session.scalars(query))


def expired_pending_ids(session: Session, now: datetime) -> list[str]:
    query = select(ChangeRequest.id).where(
        ChangeRequest.state == RequestState.PENDING.value, ChangeRequest.expires_at < now
    )
    return list(session.scalars(query))


def touch_if_state(session: Session, request_id: str, state: RequestState, at: datetime) -> bool:
    """Conditional no-op write: locks the request row (PostgreSQL) while it is still in ``state``.

    Used to serialise voters of one request: whoever holds the lock counts votes and decides alone.
    """
    result = session.execute(
        update(ChangeRequest)
        .where(ChangeRequest.id == request_id, ChangeRequest.state == state.value)
        .values(version=ChangeRequest.version + 1, updated_at=at)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


def transition(
    session: Session,
    request_id: str,
    *,
    from_state: RequestState,
    to_state: RequestState,
    actor: str,
    at: datetime,
    action: str | None = None,
    detail: dict[str, Any] | None = None,
    ms_request_id: str | None = None,
    correlation_id: str | None = None,
    values: Mapping[str, Any] | None = None,
) -> bool:
    """``UPDATE change_requests SET state=to, … WHERE id=? AND state=from``; True if this caller won.

    On success an audit event (who, when, from/to, MS ids) is appended in the same transaction. ``values``
    sets other columns at the same time (decided_by, migration_id, error_code, …).
    """
    if to_state not in ALLOWED_TRANSITIONS[from_state]:
        raise TransitionNotAllowed(f"{from_state.value} → {to_state.value} is not an allowed transition")
    result = session.execute(
        update(ChangeRequest)
        .where(ChangeRequest.id == request_id, ChangeRequest.state == from_state.value)
        .values(state=to_state.value, updated_at=at, version=ChangeRequest.version + 1, **dict(values or {}))
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        return False
    customer_id = session.scalar(select(ChangeRequest.customer_id).where(ChangeRequest.id == request_id))
    append_audit(
        session,
        request_id=request_id,
        customer_id=customer_id,
        actor=actor,
        action=action or to_state.value,
        from_state=from_state,
        to_state=to_state,
        at=at,
        detail=detail,
        ms_request_id=ms_request_id,
        correlation_id=correlation_id,
    )
    return True


def update_request_fields(session: Session, request_id: str, at: datetime, **values: Any) -> None:
    """Progress fields without a state change (new_subscription_id, subscription_end_date, …)."""
    session.execute(
        update(ChangeRequest)
        .where(ChangeRequest.id == request_id)
        .values(updated_at=at, version=ChangeRequest.version + 1, **values)
        .execution_options(synchronize_session=False)
    )


def approved_request_ids(session: Session) -> list[str]:
    query = select(ChangeRequest.id).where(ChangeRequest.state == RequestState.APPROVED.value)
    return list(session.scalars(query.order_by(ChangeRequest.decided_at)))


# --- Slack message refs ------------------------------------------------------------------------------------


def save_message(session: Session, request_id: str, ref: MessageRef, at: datetime) -> None:
    existing = session.get(SlackMessage, request_id)
    if existing is None:
        session.add(SlackMessage(request_id=request_id, channel=ref.channel, ts=ref.ts, thread_ts=ref.ts, posted_at=at))
    else:
        existing.channel, existing.ts, existing.thread_ts = ref.channel, ref.ts, ref.ts
    session.flush()
