"""Small typed data-access functions used by the workflow and the status tracker.

Every function takes an open ``Session`` and never commits: the caller owns the transaction
(``with session_factory.begin() as session: ...``). State changes are CONDITIONAL updates
(``UPDATE … WHERE id = ? AND state = ?``) whose row count says whether this caller won; each successful
transition appends an audit event in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, CursorResult, Executable, delete, exists, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from bot.domain import (
    ALLOWED_TRANSITIONS,
    ChangeOptions,
    EligibilityReason,
    MessageRef,
    RequestKind,
    RequestState,
    RequestView,
    ValidationOutcome,
    Vote,
)
from storage.models import (
    ApprovalVote,
    AuditEvent,
    ChangeRequest,
    Lease,
    PartnerCenterOperation,
    ProcessInstance,
    SlackMessage,
    WatchedCustomer,
)

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


# --- (de)serialising domain values -------------------------------------------------------------------------


def options_to_json(options: ChangeOptions) -> dict[str, Any]:
    return {
        "term": options.term,
        "billing": options.billing,
        "quantity": options.quantity,
        "full_term": options.full_term,
        "end_date": options.end_date.isoformat() if options.end_date else None,
        "addons": options.addons if isinstance(options.addons, str) else list(options.addons),
        "target_date": options.target_date.isoformat() if options.target_date else None,
        "on_renewal": options.on_renewal,
    }


def options_from_json(data: Mapping[str, Any] | None) -> ChangeOptions:
    if not data:
        return ChangeOptions()
    addons = data.get("addons", "all")
    return ChangeOptions(
        term=data.get("term"),
        billing=data.get("billing"),
        quantity=data.get("quantity"),
        full_term=bool(data.get("full_term", False)),
        end_date=date.fromisoformat(data["end_date"]) if data.get("end_date") else None,
        addons=addons if isinstance(addons, str) else tuple(addons),  # type: ignore[arg-type]
        target_date=date.fromisoformat(data["target_date"]) if data.get("target_date") else None,
        on_renewal=bool(data.get("on_renewal", False)),
    )


def validation_to_json(outcome: ValidationOutcome | None) -> dict[str, Any] | None:
    if outcome is None:
        return None
    return {
        "customer_id": outcome.customer_id,
        "subscription_id": outcome.subscription_id,
        "eligible": outcome.eligible,
        "catalog_item_id": outcome.catalog_item_id,
        "term": outcome.term,
        "billing": outcome.billing,
        "end_date": outcome.end_date.isoformat() if outcome.end_date else None,
        "addon_ids": list(outcome.addon_ids),
        "reasons": [
            {"subscription_id": r.subscription_id, "code": r.code, "description": r.description}
            for r in outcome.reasons
        ],
        "subscription_name": outcome.subscription_name,
        "customer_name": outcome.customer_name,
    }


def validation_from_json(data: Mapping[str, Any] | None) -> ValidationOutcome | None:
    if not data:
        return None
    return ValidationOutcome(
        customer_id=data["customer_id"],
        subscription_id=data["subscription_id"],
        eligible=bool(data["eligible"]),
        catalog_item_id=data.get("catalog_item_id"),
        term=data.get("term"),
        billing=data.get("billing"),
        end_date=date.fromisoformat(data["end_date"]) if data.get("end_date") else None,
        addon_ids=tuple(data.get("addon_ids") or ()),
        reasons=tuple(
            EligibilityReason(r.get("subscription_id"), r.get("code", ""), r.get("description", ""))
            for r in data.get("reasons") or ()
        ),
        subscription_name=data.get("subscription_name"),
        customer_name=data.get("customer_name"),
    )


def to_view(row: ChangeRequest) -> RequestView:
    """The read model of a request row (votes, message and latest operation included)."""
    op = row.operations[-1] if row.operations else None
    message = MessageRef(channel=row.message.channel, ts=row.message.ts) if row.message else None
    return RequestView(
        id=row.id,
        kind=RequestKind(row.kind),
        state=RequestState(row.state),
        customer_id=row.customer_id,
        subscription_id=row.subscription_id,
        requester=row.requester,
        created_at=row.created_at,
        expires_at=row.expires_at,
        options=options_from_json(row.options),
        schedule_id=row.schedule_id,
        customer_name=row.customer_name,
        subscription_name=row.subscription_name,
        validation=validation_from_json(row.validation),
        required_approvals=row.required_approvals,
        votes=tuple(Vote(approver=v.approver, at=v.at) for v in row.votes),
        decided_by=tuple(row.decided_by or ()),
        decided_at=row.decided_at,
        reject_reason=row.reject_reason,
        message=message,
        migration_id=row.migration_id,
        new_subscription_id=row.new_subscription_id,
        new_order_id=row.new_order_id,
        subscription_end_date=row.subscription_end_date,
        error_code=row.error_code,
        error_description=row.error_description,
        pc_request_id=op.ms_request_id if op else None,
        correlation_id=op.correlation_id if op else None,
        external_reference_id=op.external_reference_id if op else None,
    )


# --- change requests ---------------------------------------------------------------------------------------


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


# --- votes -------------------------------------------------------------------------------------------------


def add_vote(session: Session, request_id: str, approver: str, at: datetime) -> bool:
    """Record an approval; False when this approver already voted (unique (request, approver))."""
    return insert_once(session, insert(ApprovalVote).values(request_id=request_id, approver=approver, at=at))


def vote_count(session: Session, request_id: str) -> int:
    return int(
        session.scalar(select(func.count(ApprovalVote.id)).where(ApprovalVote.request_id == request_id)) or 0
    )


def voters(session: Session, request_id: str) -> list[str]:
    query = select(ApprovalVote.approver).where(ApprovalVote.request_id == request_id).order_by(ApprovalVote.id)
    return list(session.scalars(query))


# --- Slack message refs ------------------------------------------------------------------------------------


def save_message(session: Session, request_id: str, ref: MessageRef, at: datetime) -> None:
    existing = session.get(SlackMessage, request_id)
    if existing is None:
        session.add(SlackMessage(request_id=request_id, channel=ref.channel, ts=ref.ts, thread_ts=ref.ts, posted_at=at))
    else:
        existing.channel, existing.ts, existing.thread_ts = ref.channel, ref.ts, ref.ts
    session.flush()


# --- Partner Center operations -----------------------------------------------------------------------------


@dataclass(frozen=True)
class OperationView:
    id: int
    request_id: str
    kind: str
    target: str
    customer_id: str
    ms_request_id: str
    external_reference_id: str
    status: str
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
        kind=row.kind,
        target=row.target,
        customer_id=row.customer_id,
        ms_request_id=row.ms_request_id,
        external_reference_id=row.external_reference_id,
        status=row.status,
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
    try:
        with session.begin_nested():
            row = PartnerCenterOperation(
                request_id=request_id,
                kind=kind,
                target=target,
                customer_id=customer_id,
                ms_request_id=str(uuid.uuid4()),
                external_reference_id=str(uuid.uuid4()),
                status="sending",
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
            PartnerCenterOperation.status == "sending",
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
        .where(PartnerCenterOperation.id == operation_id, PartnerCenterOperation.status == "sending")
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
    assert status in ("sent", "refused")
    result = session.execute(
        update(PartnerCenterOperation)
        .where(PartnerCenterOperation.id == operation_id, PartnerCenterOperation.status == "sending")
        .values(
            status=status,
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


def approved_request_ids(session: Session) -> list[str]:
    query = select(ChangeRequest.id).where(ChangeRequest.state == RequestState.APPROVED.value)
    return list(session.scalars(query.order_by(ChangeRequest.decided_at)))


# --- audit -------------------------------------------------------------------------------------------------


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


# --- watch list --------------------------------------------------------------------------------------------


def add_watch(session: Session, customer_id: str, user: str, at: datetime) -> bool:
    """True when newly added (idempotent)."""
    return insert_once(session, insert(WatchedCustomer).values(customer_id=customer_id, added_by=user, added_at=at))


def remove_watch(session: Session, customer_id: str) -> bool:
    return rowcount(session.execute(delete(WatchedCustomer).where(WatchedCustomer.customer_id == customer_id))) > 0


def watched_customer_ids(session: Session) -> list[str]:
    return list(session.scalars(select(WatchedCustomer.customer_id).order_by(WatchedCustomer.added_at)))


# --- leases --------------------------------------------------------------------------


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
