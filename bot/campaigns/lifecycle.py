"""A campaign's request lifecycle after approval: the one place that moves it (SPEC §5 states, §8.4 messages).

``approved`` → ``submitted`` at its first answered operation (the campaign is under way) → ``processing`` once
every item was sent (or the campaign was stopped) while migrations still run → ``completed`` when every sent
migration ended and at least one completed (or, for schedules and cancels, at least one was made), else
``failed``. Every Slack write a change causes is an outbox row added IN THE SAME TRANSACTION: the live progress
reply (edited in place), the failures reply (grouped, edited in place), the parent edit, the results file.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.campaigns.model import Control, load_plan, plan_items
from bot.domain import SYSTEM_ACTOR, RequestState
from bot.outbox import Outbox
from bot.texts import thread
from storage import campaigns as store
from storage import repositories as repo
from storage.models import ChangeRequest

PROGRESS = "progress"
FAILURES = "failures"
RESULTS = "results"
PLAN = "plan"


def operation_answered(session: Session, outbox: Outbox, request_id: str, now: datetime, *, failed: bool) -> None:
    """An operation was answered (sent or refused): the campaign is under way; its replies follow."""
    if repo.transition(session, request_id, from_state=RequestState.APPROVED, to_state=RequestState.SUBMITTED,
                       actor=SYSTEM_ACTOR, action="submitted", at=now, detail={"campaign": True}):
        outbox.update_parent(request_id, "state:submitted", session=session)
    outbox.live(request_id, PROGRESS, session=session)
    if failed:
        outbox.live(request_id, FAILURES, session=session)


def migrations_changed(session: Session, outbox: Outbox, request_id: str, now: datetime, *, failed: bool) -> None:
    """Tracking saw migrations of the campaign change: progress, failures, and the end when it came."""
    row = repo.get_request(session, request_id, refresh=True)
    if row is None:
        return
    outbox.live(request_id, PROGRESS, session=session)
    if failed:
        outbox.live(request_id, FAILURES, session=session)
    if row.state == RequestState.PROCESSING.value:
        _finish_if_done(session, outbox, row, now)


def after_sending(sessions: sessionmaker[Session], outbox: Outbox, request_id: str, now: datetime) -> None:
    """After a pass of the runner: once nothing is left to send (or it was stopped) and nothing is in flight,
    the sending phase ends."""
    with sessions.begin() as session:
        row = repo.get_request(session, request_id, refresh=True)
        if row is None or row.state not in (RequestState.APPROVED.value, RequestState.SUBMITTED.value):
            return
        plan = load_plan(row.plan)
        if plan is None:
            return
        counts = store.operation_counts(session, request_id)
        stopped = row.control == Control.STOPPED.value
        if counts.sending or (counts.sent + counts.refused < len(plan_items(plan)) and not stopped):
            return  # more to send (paused: the Pause click itself updated the progress reply)
        state = RequestState(row.state)
        if counts.sent == 0:
            first = next(iter(store.operation_rows(session, request_id, problems_only=True)), None)
            code = "Stopped" if first is None else first.error_code
            text = thread.CAMPAIGN_STOPPED_BEFORE_SENDING if first is None else first.error_description
            repo.transition(session, request_id, from_state=state, to_state=RequestState.FAILED, actor=SYSTEM_ACTOR,
                            action="campaign_failed", at=now, detail={"refused": counts.refused, "stopped": stopped},
                            values={"error_code": code, "error_description": text})
            _ended(session, outbox, request_id)
            return
        if state is RequestState.APPROVED:  # sent by an earlier pass that crashed before it said so
            repo.transition(session, request_id, from_state=state, to_state=RequestState.SUBMITTED,
                            actor=SYSTEM_ACTOR, action="submitted", at=now, detail={"campaign": True})
        repo.transition(session, request_id, from_state=RequestState.SUBMITTED, to_state=RequestState.PROCESSING,
                        actor=SYSTEM_ACTOR, action="sending_finished", at=now,
                        detail={"sent": counts.sent, "refused": counts.refused, "stopped": stopped})
        outbox.update_parent(request_id, "state:processing", session=session)
        outbox.live(request_id, PROGRESS, session=session)
        row = repo.get_request(session, request_id, refresh=True)
        assert row is not None
        _finish_if_done(session, outbox, row, now)


def _finish_if_done(session: Session, outbox: Outbox, row: ChangeRequest, now: datetime) -> None:
    counts = store.operation_counts(session, row.id)
    if counts.sending or counts.completed + counts.failed + counts.done < counts.sent:
        return
    succeeded = counts.completed + counts.done
    to_state = RequestState.COMPLETED if succeeded else RequestState.FAILED
    values = {} if succeeded else {"error_code": "MigrationFailed",
                                   "error_description": thread.CAMPAIGN_NONE_COMPLETED}
    if repo.transition(session, row.id, from_state=RequestState.PROCESSING, to_state=to_state, actor=SYSTEM_ACTOR,
                       action=f"campaign_{to_state.value}", at=now, values=values,
                       detail={"completed": counts.completed, "failed": counts.failed, "refused": counts.refused,
                               "done": counts.done}):
        _ended(session, outbox, row.id)


def _ended(session: Session, outbox: Outbox, request_id: str) -> None:
    outbox.update_parent(request_id, "state:ended", session=session)
    outbox.live(request_id, PROGRESS, session=session, final=True)
    if store.operation_rows(session, request_id, problems_only=True):
        outbox.live(request_id, FAILURES, session=session, final=True)
    outbox.file(request_id, RESULTS, session=session)
