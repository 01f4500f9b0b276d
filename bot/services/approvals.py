"""Decisions on pending requests: who may decide, votes up to the required number, approve, reject, and expiry
(noticed on a click or by the background pass). Moved verbatim from ``bot.workflow.Workflow``.

A request is decided exactly once: every state change is a conditional ``UPDATE … WHERE state = ?`` and voters of
one request are serialised on its row (``touch_if_state``), on SQLite and PostgreSQL alike; every transition
appends an audit event in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from bot.access import Access, WorkflowPolicy
from bot.domain import AlreadyDecided, Clock, NotAuthorized, RequestState, RequestView
from bot.outbox import Notifier
from bot.rules import check_reason
from bot.services.errors import AlreadyVoted
from bot.services.models import DecisionResult
from bot.services.plumbing import SYSTEM_ACTOR, ServicePlumbing
from bot.services.reads import RequestReads
from bot.texts import refusals, thread
from storage import repositories as repo


class Approvals(ServicePlumbing):
    """Approve (vote), reject, and expire pending requests."""

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        notifier: Notifier,
        access: Access,
        policy: WorkflowPolicy,
        clock: Clock,
        reads: RequestReads,
    ) -> None:
        self._sessions = session_factory
        self._notifier = notifier
        self._access = access
        self._policy = policy
        self._clock = clock
        self._reads = reads
        # Set by the tracking service: an approved request is then submitted by the lease holder's job.
        self.on_approved: Callable[[str], None] | None = None

    # --- decisions ------------------------------------------------------------------------------------
    def _authorize_decider(self, view: RequestView, user: str) -> None:
        if not self._access.is_member(user, self._policy.approvers):
            raise NotAuthorized(refusals.ONLY_APPROVERS_DECIDE)
        if user == view.requester and not self._policy.allow_self_approval:
            raise NotAuthorized(refusals.SELF_APPROVAL)

    def _check_open(self, view: RequestView, actor: str) -> None:
        """AlreadyDecided for anything not pending; a pending request past its TTL expires now."""
        if view.state is not RequestState.PENDING:
            raise AlreadyDecided(view)
        if self._now() > view.expires_at:
            self._expire(view.id, actor)
            raise AlreadyDecided(self._reads.get_request(view.id))

    def can_decide(self, request_id: str, user: str) -> None:
        view = self._reads.get_request(request_id)
        self._check_open(view, user)
        self._authorize_decider(view, user)

    def approve(self, request_id: str, approver: str) -> DecisionResult:
        view = self._reads.get_request(request_id)
        self._check_open(view, approver)
        self._authorize_decider(view, approver)
        now = self._now()
        decided = False
        count = 0
        with self._tx() as session:
            # Serialise voters on the request row while it is pending: one of them decides, alone.
            if not repo.touch_if_state(session, view.id, RequestState.PENDING, now):
                decided = True
            else:
                if not repo.add_vote(session, view.id, approver, now):
                    count = repo.vote_count(session, view.id)
                    raise AlreadyVoted(view, max(view.required_approvals - count, 0))
                count = repo.vote_count(session, view.id)
                if count >= view.required_approvals:
                    won = repo.transition(
                        session,
                        view.id,
                        from_state=RequestState.PENDING,
                        to_state=RequestState.APPROVED,
                        actor=approver,
                        action="approved",
                        at=now,
                        detail={"votes": count, "required": view.required_approvals},
                        values={"decided_at": now, "decided_by": repo.voters(session, view.id)},
                    )
                    assert won, "the pending row is locked by this transaction"
                else:
                    repo.append_audit(
                        session,
                        request_id=view.id,
                        customer_id=view.customer_id,
                        actor=approver,
                        action="vote",
                        at=now,
                        detail={"votes": count, "required": view.required_approvals},
                    )
        current = self._reads.get_request(view.id)
        if decided:
            raise AlreadyDecided(current)
        if current.state is RequestState.APPROVED and count >= view.required_approvals:
            self._notify("update_request", lambda: self._notifier.update_request(current))
            # The lease holder's submission job sends it (bot.campaigns.jobs), woken here when this process
            # holds the lease, else within SUBMIT_SECONDS: the click is answered as soon as the decision commits.
            if self.on_approved is not None:
                self._notify("on_approved", lambda: self.on_approved and self.on_approved(view.id))
            return DecisionResult(request=current, outcome="approved", votes_missing=0)
        self._notify("update_request", lambda: self._notifier.update_request(current))
        return DecisionResult(
            request=current, outcome="vote_recorded", votes_missing=max(view.required_approvals - count, 0)
        )

    def reject(self, request_id: str, approver: str, reason: str) -> DecisionResult:
        reason = check_reason(reason)
        view = self._reads.get_request(request_id)
        self._check_open(view, approver)
        self._authorize_decider(view, approver)
        now = self._now()
        with self._tx() as session:
            won = repo.transition(
                session,
                view.id,
                from_state=RequestState.PENDING,
                to_state=RequestState.REJECTED,
                actor=approver,
                action="rejected",
                at=now,
                detail={"reason": reason},
                values={"decided_at": now, "decided_by": [approver], "reject_reason": reason},
            )
            rejected = [(f"{view.id}:rejected", thread.rejected(view.requester, approver, reason))]
            if won:
                self._effects_in(session, view, rejected)
        current = self._reads.get_request(view.id)
        if not won:
            raise AlreadyDecided(current)
        self._notify("update_request", lambda: self._notifier.update_request(current))  # the click's own reply
        return DecisionResult(request=current, outcome="rejected")

    # --- background -----------------------------------------------------------------------------------
    def _expire(self, request_id: str, actor: str) -> RequestView | None:
        now = self._now()
        with self._tx() as session:
            won = repo.transition(
                session,
                request_id,
                from_state=RequestState.PENDING,
                to_state=RequestState.EXPIRED,
                actor=SYSTEM_ACTOR,
                action="expired",
                at=now,
                detail={"noticed_by": actor},
                values={"decided_at": now},
            )
            if won:  # no click answers an expiry: its message edit goes through the outbox, with the change
                self._notifier.outbox.update_parent(request_id, f"state:{RequestState.EXPIRED.value}", session=session)
        if not won:
            return None
        return self._reads.get_request(request_id)

    def expire_pending(self) -> list[RequestView]:
        with self._tx() as session:
            ids = repo.expired_pending_ids(session, self._now())
        expired: list[RequestView] = []
        for request_id in ids:
            view = self._expire(request_id, SYSTEM_ACTOR)
            if view is not None:
                expired.append(view)
        return expired
