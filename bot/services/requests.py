"""Change requests and their planning (``/nce migrate|schedule|reschedule|cancel|bulk`` and the window kinds):
checks, the plan of exactly what will be sent once approved, the open-request guards, storing the pending request
and posting its approval message (or ending it at once when the message cannot be posted). Moved verbatim from
``bot.workflow.Workflow``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, NoReturn

from sqlalchemy.orm import Session, sessionmaker

from bot.access import Access, WorkflowPolicy
from bot.campaigns.open_items import undecided_targets
from bot.deadlines import end_dates, window
from bot.domain import (
    ChangeOptions,
    Clock,
    Ineligible,
    InvalidInput,
    NotifyFailed,
    RequestKind,
    RequestState,
    RequestView,
    ValidationOutcome,
)
from bot.outbox import Notifier
from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.models import ScheduleStatus
from bot.rules import TERMS, check_timing
from bot.services.catalogue import BILLING_TO_API, Catalogue, date_to_api, subscription_term_end
from bot.services.errors import NotPosted, PartnerCenterProblem
from bot.services.plumbing import SYSTEM_ACTOR, ServicePlumbing, logger
from bot.services.reads import RequestReads
from bot.texts import refusals
from storage import repositories as repo


@dataclass(frozen=True)
class Plan:
    subscription_id: str | None
    schedule_id: str | None
    validation: ValidationOutcome | None
    customer_name: str | None
    subscription_name: str | None
    items: list[Any]  # [{"target", "body"}]: exactly what will be sent once approved


class ChangeRequests(ServicePlumbing):
    """Asks for a change: checks it, plans it, stores it pending and posts it for approval."""

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        partner_center: PartnerCenterClient,
        notifier: Notifier,
        access: Access,
        policy: WorkflowPolicy,
        clock: Clock,
        catalogue: Catalogue,
        reads: RequestReads,
    ) -> None:
        self._sessions = session_factory
        self._pc = partner_center
        self._notifier = notifier
        self._access = access
        self._policy = policy
        self._clock = clock
        self._catalogue = catalogue
        self._reads = reads

    def request_change(
        self,
        *,
        kind: RequestKind,
        requester: str,
        customer_id: str,
        subscription_id: str | None = None,
        schedule_id: str | None = None,
        options: ChangeOptions = ChangeOptions(),
    ) -> RequestView:
        if kind is RequestKind.BULK:  # one campaign engine (SPEC §8): bot.campaigns.service.CampaignService
            raise InvalidInput(refusals.BULK_IS_A_CAMPAIGN, field="kind")
        self._access.authorize_requester(requester)
        customer_id = self._guid(customer_id, "customer")
        options = self._catalogue.check_options(options)
        self._access.check_approvable(requester)
        now = self._now()
        plan = self._prepare(kind, customer_id, subscription_id, schedule_id, options, now)

        with self._tx() as session:
            if plan.subscription_id:
                for other in repo.open_requests_for_subscription(session, customer_id, plan.subscription_id):
                    # Undecided or not yet submitted: a second request would race it at Partner Center.
                    if other.state in (RequestState.PENDING.value, RequestState.APPROVED.value):
                        raise InvalidInput(
                            refusals.already_open(other.id, other.kind, plan.subscription_id, other.state),
                            field="subscription",
                        )
            # The same race with the subscriptions of an undecided campaign.
            targets: list[str] = []
            if kind in (RequestKind.MIGRATE, RequestKind.SCHEDULE) and plan.subscription_id:
                targets = [plan.subscription_id]
            busy = self._undecided_targets(session, customer_id)
            for target in targets:
                if target and target.lower() in busy:
                    other_id, other_kind = busy[target.lower()]
                    raise InvalidInput(refusals.already_open(other_id, other_kind, target), field="subscription")
            row = repo.add_request(
                session,
                kind=kind,
                requester=requester,
                customer_id=customer_id,
                created_at=now,
                expires_at=now + self._policy.approval_ttl,
                required_approvals=self._policy.required_approvals,
                subscription_id=plan.subscription_id,
                schedule_id=plan.schedule_id,
                options=options,
                validation=plan.validation,
                customer_name=plan.customer_name,
                subscription_name=plan.subscription_name,
                items=plan.items,
            )
            view = repo.to_view(row)

        try:
            ref = self._notifier.post_request(view)
        except Exception as exc:
            self.end_unposted(view, exc)
        with self._tx() as session:
            repo.save_message(session, view.id, ref, self._now())
            repo.append_audit(
                session,
                request_id=view.id,
                customer_id=customer_id,
                actor=SYSTEM_ACTOR,
                action="posted",
                at=self._now(),
                detail={"channel": ref.channel, "ts": ref.ts},
            )
        return replace(view, message=ref)

    def end_unposted(self, view: RequestView, exc: Exception) -> NoReturn:
        """No pending request without a message: one whose approval message could not be posted ends at once
        (``pending → expired``, audited as ``post_failed`` with Slack's reason), so asking again works."""
        reason = exc.reason if isinstance(exc, NotifyFailed) else type(exc).__name__
        channel = self._policy.approval_channel
        logger.warning("posting request %s to %s failed: %s; the request is ended", view.id, channel, reason)
        now = self._now()
        with self._tx() as session:
            repo.transition(
                session,
                view.id,
                from_state=RequestState.PENDING,
                to_state=RequestState.EXPIRED,
                actor=SYSTEM_ACTOR,
                action="post_failed",
                at=now,
                detail={"reason": "post_failed", "error": reason, "channel": channel},
                values={"decided_at": now, "error_code": "post_failed", "error_description": reason},
            )
        raise NotPosted(self._reads.get_request(view.id), channel, reason) from exc

    def _prepare(
        self,
        kind: RequestKind,
        customer_id: str,
        subscription_id: str | None,
        schedule_id: str | None,
        options: ChangeOptions,
        now: datetime,
    ) -> Plan:
        today = now.date()
        if kind in window.WINDOW_KINDS:  # SPEC §10: the rules live in bot/deadlines/window.py
            nce_id = self._guid(subscription_id, "subscription")
            change = self._read_pc("reading the subscription",
                                   lambda: window.plan_change(self._pc, kind, customer_id, nce_id, options, now))
            return Plan(subscription_id=change.subscription.id, schedule_id=None, validation=None,
                                  customer_name=self._catalogue.customer_name(customer_id),
                                  subscription_name=change.subscription.name,
                                  items=[{"target": change.subscription.id, "body": change.body}])
        if kind in (RequestKind.MIGRATE, RequestKind.SCHEDULE):
            subscription_id = self._guid(subscription_id, "subscription")
            if kind is RequestKind.MIGRATE and (options.target_date or options.on_renewal):
                raise InvalidInput(refusals.DATE_ONLY_FOR_SCHEDULES, field="date")
            if kind is RequestKind.SCHEDULE:
                self._check_timing(options, today, required=True)
            base, subs = self._catalogue.subscription_context(customer_id, subscription_id)
            if options.end_date is not None:  # SPEC §10: only Partner Center's aligned dates
                term = options.term or (str(getattr(base.term_duration, "value", base.term_duration) or "") or None)
                self._read_pc(refusals.READING_END_DATES, lambda: end_dates.check_end_date(
                    self._pc, customer_id, term, options.end_date or today))
            if kind is RequestKind.SCHEDULE:
                self._check_timing(options, today, required=True, term_end=subscription_term_end(base))
                existing = self._read_pc(
                    "listing schedules",
                    lambda: self._pc.list_schedules(customer_id=customer_id, current_subscription_id=base.id),
                )
                active = [s for s in existing if s.status == ScheduleStatus.CREATED]
                if active:
                    raise InvalidInput(refusals.has_schedule(base.id, active[0].id), field="subscription")
            outcome, addon_ids = self._catalogue.validate_bundle(customer_id, base, subs, options)
            if not outcome.eligible:
                raise Ineligible(outcome)
            if kind is RequestKind.MIGRATE:
                body = self._catalogue.migration_body(base.id, options, addon_ids).to_api()
            else:
                body = self._catalogue.schedule_body(
                    base.id, options, addon_ids, target_date=date_to_api(options.target_date),
                    on_renewal=options.on_renewal,
                ).to_api()
            return Plan(
                subscription_id=base.id,
                schedule_id=None,
                validation=outcome,
                customer_name=outcome.customer_name,
                subscription_name=base.name,
                items=[{"target": base.id, "body": body}],
            )
        if kind in (RequestKind.RESCHEDULE, RequestKind.CANCEL):
            schedule_id = self._guid(schedule_id, "schedule")
            schedule = self._read_pc(
                "reading the schedule", lambda: self._pc.get_schedule(customer_id, schedule_id)
            )
            if schedule.status != ScheduleStatus.CREATED:
                raise InvalidInput(refusals.schedule_not_created(
                    schedule_id, schedule.status or "unknown", reschedule=kind is RequestKind.RESCHEDULE),
                    field="schedule")
            if schedule.target_date is not None and schedule.target_date.date() <= today:
                raise InvalidInput(refusals.schedule_too_late(
                    schedule_id, schedule.target_date.date(), reschedule=kind is RequestKind.RESCHEDULE),
                    field="schedule")
            sub_id = schedule.current_subscription_id
            sub_name: str | None = None
            if kind is RequestKind.CANCEL:
                if options != ChangeOptions():
                    raise InvalidInput(refusals.CANCEL_TAKES_NO_OPTIONS, field="options")
                return Plan(
                    subscription_id=sub_id,
                    schedule_id=schedule.id or schedule_id,
                    validation=None,
                    customer_name=self._catalogue.customer_name(customer_id),
                    subscription_name=None,
                    items=[{"target": schedule.id or schedule_id, "body": None}],
                )
            self._check_timing(options, today, required=False)
            if not sub_id:
                raise PartnerCenterProblem(refusals.schedule_without_subscription(schedule_id))
            checked: ValidationOutcome | None = None
            base, subs = self._catalogue.subscription_context(customer_id, sub_id)
            self._check_timing(options, today, required=False, term_end=subscription_term_end(base))
            sub_name = base.name
            addon_ids = self._catalogue.select_addons(base, subs, options)
            if any((options.term, options.billing, options.quantity, options.full_term, options.end_date)):
                # The NCE target changes: make sure it still passes validation with the new options.
                checked, addon_ids = self._catalogue.validate_bundle(customer_id, base, subs, options)
                if not checked.eligible:
                    raise Ineligible(checked)
            merged = ChangeOptions(
                term=options.term or (str(schedule.term_duration) if schedule.term_duration else None),
                billing=options.billing
                or (str(getattr(schedule.billing_cycle, "value", schedule.billing_cycle)).lower()
                    if schedule.billing_cycle else None),
                quantity=options.quantity if options.quantity is not None else schedule.quantity,
                full_term=options.full_term or bool(schedule.purchase_full_term),
                end_date=options.end_date
                or (schedule.custom_term_end_date.date() if schedule.custom_term_end_date else None),
            )
            if merged.billing not in (None, *BILLING_TO_API):
                merged = replace(merged, billing=None)
            if merged.term is not None and merged.term.upper() not in TERMS:
                merged = replace(merged, term=None)
            if options.target_date or options.on_renewal:
                target, on_renewal = date_to_api(options.target_date), options.on_renewal
            else:
                target, on_renewal = schedule.target_date, bool(schedule.migrate_on_renewal)
            body = self._catalogue.schedule_body(
                sub_id, merged, addon_ids, target_date=target, on_renewal=on_renewal, schedule_id=schedule.id
            ).to_api()
            return Plan(
                subscription_id=sub_id,
                schedule_id=schedule.id or schedule_id,
                validation=checked,
                customer_name=checked.customer_name if checked else self._catalogue.customer_name(customer_id),
                subscription_name=sub_name,
                items=[{"target": schedule.id or schedule_id, "body": body}],
            )
        raise InvalidInput(f"unknown request kind {kind!r}", field="kind")  # pragma: no cover

    @staticmethod
    def _undecided_targets(session: Session, customer_id: str) -> dict[str, tuple[str, str]]:
        """Subscriptions (lower-case id) of this customer's pending or approved requests → (request id, kind)."""
        return undecided_targets(session, [customer_id])

    @staticmethod
    def _check_timing(options: ChangeOptions, today: date, *, required: bool, term_end: date | None = None) -> None:
        check_timing(options.target_date, options.on_renewal, today, required=required, term_end=term_end)
