"""The campaign use cases Slack calls (SPEC §8): ask for one, Pause / Resume / Stop it, read it, list them.

Asking stores ONE bulk change request holding the validated plan and posts it for approval (§5, §8.2); the plan
file follows in its thread through the outbox. What happens after approval belongs to :mod:`bot.campaigns.runner`
(on the lease holder) and :mod:`bot.campaigns.lifecycle`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import NoReturn

from sqlalchemy.orm import Session, sessionmaker

from bot.access import Access, WorkflowPolicy
from bot.bam.models import BamPlan, SkippedRow
from bot.campaigns import lifecycle
from bot.campaigns.model import CampaignProgress, CampaignSource, Control, dump_plan, item_target, plan_items
from bot.campaigns.open_items import undecided_targets
from bot.campaigns.progress import CampaignReader
from bot.domain import (
    SYSTEM_ACTOR,
    Clock,
    InvalidInput,
    NotAuthorized,
    NotFound,
    RequestKind,
    RequestState,
    RequestView,
    utc_now,
)
from bot.outbox import Notifier
from bot.texts import refusals
from storage import campaigns as store
from storage import repositories as repo

log = logging.getLogger("ncebot.campaigns")

ALL_CUSTOMERS = "*"  # a campaign over several customers: its request names no single customer
RUNNING_STATES = (RequestState.APPROVED.value, RequestState.SUBMITTED.value)


class CampaignNotRunning(InvalidInput):
    def __init__(self, request_id: str, state: str, control: str | None, asked: Control) -> None:
        now = f"{state}, {control}" if control and control != Control.RUNNING.value else state
        super().__init__(refusals.campaign_not_running(request_id, asked.value, now), field="campaign")


class CampaignService:
    def __init__(self, *, session_factory: sessionmaker[Session], notifier: Notifier,
                 access: Access, policy: WorkflowPolicy, clock: Clock, reader: CampaignReader,
                 end_unposted: Callable[[RequestView, Exception], NoReturn]) -> None:
        self._sessions = session_factory
        self._notifier = notifier
        self._outbox = notifier.outbox
        self._access = access
        self._policy = policy
        self._clock = clock
        self.reader = reader
        self._end_unposted = end_unposted  # Workflow.end_unposted: one rule for an approval message not posted

    def _now(self) -> datetime:
        return utc_now(self._clock)

    # --- asking ---------------------------------------------------------------------------------------------
    def request(self, plan: BamPlan, *, requester: str, source: CampaignSource,
                ineligible: Sequence[SkippedRow] = (), file_name: str | None = None) -> RequestView:
        self._access.authorize_requester(requester)
        self._access.check_approvable(requester)
        if not plan_items(plan):
            raise InvalidInput(refusals.nothing_to_do(len(ineligible)), field="plan")
        plan = plan.model_copy(update={"skipped": (*plan.skipped, *ineligible)})
        customers = plan.customers
        now = self._now()
        with self._sessions.begin() as session:
            busy = undecided_targets(session, customers)
            for item in plan_items(plan):
                other = busy.get(item_target(item).lower())
                if other is not None:
                    raise InvalidInput(refusals.already_open(other[0], other[1], item_target(item)), field="plan")
            names = {m.customer_tenant_id: m.base.customer_name for m in plan.migrations if m.base.customer_name}
            single = customers[0] if len(customers) == 1 else None
            row = repo.add_request(
                session, kind=RequestKind.BULK, requester=requester,
                customer_id=single or ALL_CUSTOMERS, created_at=now, expires_at=now + self._policy.approval_ttl,
                required_approvals=self._policy.required_approvals,
                customer_name=(names.get(single) if single else f"{len(customers)} customers"),
                subscription_name=f"{plan.subscriptions} subscriptions")
            row.plan = dump_plan(plan)
            row.source = (f"{source.value}: {file_name}" if file_name else source.value)[:64]
            session.flush()
            view = repo.to_view(row)
        try:
            ref = self._notifier.post_request(view)
        except Exception as exc:
            self._end_unposted(view, exc)
        with self._sessions.begin() as session:
            repo.save_message(session, view.id, ref, self._now())
            repo.append_audit(session, request_id=view.id, customer_id=view.customer_id, actor=SYSTEM_ACTOR,
                              action="posted", at=self._now(), detail={"channel": ref.channel, "ts": ref.ts})
            self._outbox.file(view.id, lifecycle.PLAN, session=session)
        return replace(view, message=ref)

    # --- Pause / Resume / Stop ------------------------------------------------------------------------------
    def pause(self, request_id: str, user: str) -> CampaignProgress:
        return self._control(request_id, user, Control.PAUSED, (None, Control.RUNNING.value))

    def resume(self, request_id: str, user: str) -> CampaignProgress:
        return self._control(request_id, user, Control.RUNNING, (Control.PAUSED.value,))

    def stop(self, request_id: str, user: str) -> CampaignProgress:
        return self._control(request_id, user, Control.STOPPED, (None, Control.RUNNING.value, Control.PAUSED.value))

    def _control(self, request_id: str, user: str, to: Control, allowed: tuple[str | None, ...]) -> CampaignProgress:
        if not self._access.is_member(user, self._policy.approvers):
            raise NotAuthorized(refusals.ONLY_APPROVERS_CONTROL_CAMPAIGN)
        now = self._now()
        with self._sessions.begin() as session:
            row = repo.get_request(session, request_id)
            if row is None or row.plan is None:
                raise NotFound(refusals.campaign_missing(request_id))
            if not store.set_control(session, request_id, to.value, allowed_from=allowed, states=RUNNING_STATES,
                                     now=now):
                raise CampaignNotRunning(request_id, row.state, row.control, to)
            action = {Control.PAUSED: "paused", Control.RUNNING: "resumed", Control.STOPPED: "stopped"}[to]
            repo.append_audit(session, request_id=request_id, customer_id=row.customer_id, actor=user, action=action,
                              at=now, detail={"control": to.value})
            self._outbox.live(request_id, lifecycle.PROGRESS, session=session)
            self._outbox.update_parent(request_id, f"control:{action}:{now.timestamp()}", session=session)
        progress = self.reader.progress(request_id)
        assert progress is not None
        return progress

    # --- reading --------------------------------------------------------------------------------------------
    def progress(self, request_id: str) -> CampaignProgress:
        progress = self.reader.progress(request_id)
        if progress is None:
            raise NotFound(refusals.campaign_missing(request_id))
        return progress

    def results_file(self, request_id: str) -> tuple[str, bytes]:
        found = self.reader.results_file(request_id)
        if found is None:
            raise NotFound(refusals.campaign_missing(request_id))
        return found

    def recent(self, limit: int = 20) -> list[tuple[RequestView, CampaignProgress]]:
        with self._sessions() as session:
            ids = [row.id for row in store.recent_campaigns(session, limit)]
        out: list[tuple[RequestView, CampaignProgress]] = []
        for request_id in ids:
            progress = self.reader.progress(request_id)
            with self._sessions() as session:
                row = repo.get_request(session, request_id)
                if row is not None and progress is not None:
                    out.append((repo.to_view(row), progress))
        return out
