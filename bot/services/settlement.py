"""A request's lifecycle after approval, in one module (issue #10 item 2): approved → submitted (→ processing /
completed) or → failed once no operation is in flight (:class:`RequestSettlement`), then submitted / processing →
completed / failed from what tracking saw of its migrations (:func:`settle_tracked`) or its schedule
(:func:`finish_schedule`). Every Slack write a change causes is an outbox row of the change's own transaction.
A campaign (a plan) has its own rules: :mod:`bot.campaigns.lifecycle`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.deadlines import window
from bot.domain import SCHEDULE_CANCELLED, Clock, RequestKind, RequestState, RequestView
from bot.operations import OP_CREATE_SCHEDULE
from bot.outbox import Notifier, Outbox
from bot.partner_center.models import MigrationStatus
from bot.services.plumbing import SYSTEM_ACTOR, ServicePlumbing
from bot.texts import thread
from storage import repositories as repo
from storage import tracking as tracking_store
from storage.repositories import OperationView


class RequestSettlement(ServicePlumbing):
    """Moves an approved request on from what its operations' results say."""

    def __init__(self, *, session_factory: sessionmaker[Session], notifier: Notifier, clock: Clock) -> None:
        self._sessions = session_factory
        self._notifier = notifier
        self._clock = clock

    def settle(self, request_id: str) -> RequestView:
        """Once no operation is in flight: approved → submitted (→ processing/completed) or → failed."""
        now = self._now()
        notes: list[tuple[str, str]] = []
        with self._tx() as session:
            row = repo.get_request(session, request_id)
            assert row is not None
            if row.state != RequestState.APPROVED.value:
                return repo.to_view(row)
            ops = repo.operations_for(session, request_id)
            if not ops or any(o.status == "sending" for o in ops):
                return repo.to_view(row)
            sent = [o for o in ops if o.status == "sent"]
            refused = [o for o in ops if o.status == "refused"]
            view = repo.to_view(row)
            if not sent:
                first = refused[0]
                if repo.transition(
                    session,
                    request_id,
                    from_state=RequestState.APPROVED,
                    to_state=RequestState.FAILED,
                    actor=SYSTEM_ACTOR,
                    action="submit_refused",
                    at=now,
                    detail={"operation": first.kind, "code": first.error_code, "description": first.error_description},
                    ms_request_id=first.ms_request_id,
                    correlation_id=first.correlation_id,
                    values={"error_code": first.error_code, "error_description": first.error_description},
                ):
                    notes.append(
                        (f"{request_id}:failed", thread.refused(view.requester, first.error_code,
                                                                first.error_description))
                    )
            else:
                first = sent[0]
                statuses = [o.response_status for o in sent]
                values: dict[str, Any] = {}
                if first.migration_id:
                    values["migration_id"] = first.migration_id
                if first.kind == OP_CREATE_SCHEDULE and first.schedule_id:
                    values["schedule_id"] = first.schedule_id
                repo.transition(
                    session,
                    request_id,
                    from_state=RequestState.APPROVED,
                    to_state=RequestState.SUBMITTED,
                    actor=SYSTEM_ACTOR,
                    action="submitted",
                    at=now,
                    detail={"operation": first.kind, "sent": len(sent), "refused": len(refused),
                            "migration_id": first.migration_id, "schedule_id": first.schedule_id,
                            **self._bulk_detail(view, ops)},
                    ms_request_id=first.ms_request_id,
                    correlation_id=first.correlation_id,
                    values=values,
                )
                notes.append((f"{request_id}:submitted", self._submitted_text(view, sent, refused)))
                follow = self._after_submit(view.kind, statuses)
                if follow is not None:
                    extra: dict[str, Any] = {}
                    if follow is RequestState.FAILED:
                        extra = {"error_code": "MigrationFailed", "error_description": thread.PC_REPORTED_FAILED}
                    repo.transition(
                        session,
                        request_id,
                        from_state=RequestState.SUBMITTED,
                        to_state=follow,
                        actor=SYSTEM_ACTOR,
                        action=follow.value,
                        at=now,
                        detail={"statuses": statuses},
                        ms_request_id=first.ms_request_id,
                        correlation_id=first.correlation_id,
                        values=extra,
                    )
            current = repo.to_view(repo.get_request(session, request_id, refresh=True) or row)
            self._effects_in(session, current, notes, parent_key=f"state:{current.state.value}" if notes else None)
        return current

    @staticmethod
    def _bulk_detail(view: RequestView, ops: Sequence[OperationView]) -> dict[str, Any]:
        """For a bulk request, every operation's ids in the ``submitted`` audit event."""
        if view.kind is not RequestKind.BULK:
            return {}
        return {
            "external_reference_id": ops[0].external_reference_id if ops else None,
            "operations": [
                {"target": o.target, "status": o.status, "migration_id": o.migration_id,
                 "ms_request_id": o.ms_request_id, "correlation_id": o.correlation_id,
                 "error_code": o.error_code}
                for o in ops
            ],
        }

    @staticmethod
    def _after_submit(kind: RequestKind, statuses: Sequence[str | None]) -> RequestState | None:
        if kind in (RequestKind.RESCHEDULE, RequestKind.CANCEL, *window.WINDOW_KINDS):
            return RequestState.COMPLETED
        if kind is RequestKind.SCHEDULE:
            return None  # runs later; the status tracker follows the schedule
        lowered = [(s or "").lower() for s in statuses]
        if kind is RequestKind.MIGRATE and lowered:
            if lowered[0] == MigrationStatus.COMPLETED.value.lower():
                return RequestState.COMPLETED
            if lowered[0] == MigrationStatus.FAILED.value.lower():
                return RequestState.FAILED
        return RequestState.PROCESSING

    @staticmethod
    def _submitted_text(view: RequestView, sent: Sequence[OperationView], refused: Sequence[OperationView]) -> str:
        first = sent[0]
        if view.kind is RequestKind.SCHEDULE:
            text = thread.submitted_schedule_created(first.schedule_id, view.options.migrates_when())
        elif view.kind is RequestKind.RESCHEDULE:
            moved = view.options.on_renewal or view.options.target_date
            text = thread.submitted_schedule_updated(first.target, view.options.migrates_when() if moved else None)
        elif view.kind is RequestKind.CANCEL:
            text = thread.submitted_schedule_cancelled(first.target)
        elif view.kind is RequestKind.BULK:
            text = thread.submitted_bulk(len(sent))
        elif view.kind is RequestKind.CANCEL_SUBSCRIPTION:
            text = thread.submitted_subscription_cancelled(first.target)
        elif view.kind is RequestKind.REDUCE_SEATS:
            text = thread.submitted_seats_reduced(first.target, view.options.quantity)
        else:
            text = thread.submitted_migration(first.migration_id)
        return text + thread.submitted_footer(
            first.ms_request_id, [(o.target, o.error_code, o.error_description) for o in refused])


def settle_tracked(session: Session, outbox: Outbox, view: RequestView, ids: list[str], *, many: bool,
                   now: datetime) -> None:
    """Submitted / processing → processing, completed or failed from the tracked state of its migrations ``ids``
    (conditional; called by the status tracker in its transaction)."""
    row = repo.get_request(session, view.id, refresh=True)
    if row is None:
        return
    state = RequestState(row.state)
    if state not in (RequestState.SUBMITTED, RequestState.PROCESSING):
        return
    tracked = {t.item_id: t for t in tracking_store.tracked_for_request(session, view.id, "migration")}
    items = [tracked.get(i.lower()) for i in ids]
    if not items or any(t is None for t in items):
        return
    done = [t for t in items if t is not None and t.done]
    to_state: RequestState | None = None
    values: dict[str, Any] = {}
    if len(done) == len(items):
        failed = [t for t in done if (t.status or "").lower() == "failed"]
        if failed:
            to_state = RequestState.FAILED
            detail = failed[0].detail or {}
            values = {"error_code": detail.get("error_code"), "error_description": detail.get("error_description")}
        else:
            to_state = RequestState.COMPLETED
            detail = done[0].detail or {}
            end = detail.get("subscription_end_date")
            values = {
                "new_subscription_id": detail.get("new_subscription_id"),
                "new_order_id": detail.get("new_order_id"),
                "subscription_end_date": datetime.fromisoformat(end).date() if end else None,
            }
        if many:
            outbox.thread(view.id, "final:summary", thread.all_finished(view.requester, len(items), len(failed)),
                          session=session, message=view.message)
    elif state is RequestState.SUBMITTED:
        to_state = RequestState.PROCESSING
    if to_state is None:
        return
    won = repo.transition(
        session, view.id, from_state=state, to_state=to_state, actor=SYSTEM_ACTOR, at=now,
        action=f"tracked_{to_state.value}",
        detail={"migrations": ids[:20], **{k: str(v) for k, v in values.items() if v is not None}},
        ms_request_id=view.pc_request_id, correlation_id=view.correlation_id,
        values={k: v for k, v in values.items() if v is not None},
    )
    if won:
        outbox.update_parent(view.id, f"state:{to_state.value}", session=session)


def finish_schedule(session: Session, outbox: Outbox, view: RequestView, now: datetime, *, code: str,
                    description: str, schedule_id: str) -> None:
    """A schedule request's schedule failed or was cancelled: submitted → failed (its message reads "Cancelled"
    for ``SCHEDULE_CANCELLED``)."""
    won = repo.transition(
        session, view.id, from_state=RequestState.SUBMITTED, to_state=RequestState.FAILED, actor=SYSTEM_ACTOR,
        at=now, action="tracked_schedule_" + ("cancelled" if code == SCHEDULE_CANCELLED else "failed"),
        detail={"schedule_id": schedule_id, "code": code, "description": description},
        values={"error_code": code[:64], "error_description": description},
    )
    if won:
        outbox.update_parent(view.id, f"state:{RequestState.FAILED.value}", session=session)
