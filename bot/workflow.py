"""The request → approval → submission workflow of SPEC §5. Slack-free: never imports slack_bolt.

CONTRACT (written first so the Slack layer, the scheduler and the core can be built side by side).
Handlers call only these methods; each raises a ``bot.domain.DomainError`` subclass for anything the user
should be told, and never returns partially-applied state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from bot.domain import (
    ChangeOptions,
    Clock,
    MembershipResolver,
    Notifier,
    RequestKind,
    RequestView,
    ValidationOutcome,
)
from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.models import Customer, Migration, MigrationEvent, MigrationSchedule, Subscription


@dataclass(frozen=True)
class WorkflowPolicy:
    """The approval rules, from settings (SPEC §3)."""

    approval_channel: str
    approvers: tuple[str, ...]  # U… and S… ids
    requesters: tuple[str, ...] = ()  # empty: everyone
    required_approvals: int = 1
    allow_self_approval: bool = False
    approval_ttl: timedelta = timedelta(hours=24)
    notify_channel: str | None = None


@dataclass(frozen=True)
class SubscriptionNode:
    """A legacy subscription with its add-ons nested under it (``/nce subscriptions``)."""

    subscription: Subscription
    addons: tuple[SubscriptionNode, ...] = ()


@dataclass(frozen=True)
class DecisionResult:
    """What a click did. ``outcome``: ``approved`` (threshold reached, now submitted), ``vote_recorded``
    (more approvals needed; ``votes_missing`` says how many) or ``rejected``."""

    request: RequestView
    outcome: Literal["approved", "vote_recorded", "rejected"]
    votes_missing: int = 0


@dataclass(frozen=True)
class MigrationStatusView:
    migration: Migration
    events: tuple[MigrationEvent, ...]


class Workflow:
    """All business rules. Dependencies are passed in so tests build it with stand-ins."""

    def __init__(
        self,
        *,
        session_factory: object,  # storage.db.SessionFactory
        partner_center: PartnerCenterClient,
        notifier: Notifier,
        membership: MembershipResolver,
        policy: WorkflowPolicy,
        clock: Clock,
    ) -> None:
        raise NotImplementedError

    # --- reads ----------------------------------------------------------------------------------------
    def list_customers(self) -> list[Customer]: ...
    def legacy_subscriptions(self, customer_id: str) -> list[SubscriptionNode]: ...
    def validate(self, customer_id: str, subscription_id: str, options: ChangeOptions) -> ValidationOutcome: ...
    def list_schedules(self, customer_id: str, subscription_id: str | None = None) -> list[MigrationSchedule]: ...
    def migration_status(self, customer_id: str, migration_id: str) -> MigrationStatusView: ...
    def pending_requests(self) -> list[RequestView]: ...
    def get_request(self, request_id: str) -> RequestView: ...

    # --- change requests ------------------------------------------------------------------------------
    def request_change(
        self,
        *,
        kind: RequestKind,
        requester: str,
        customer_id: str,
        subscription_id: str | None = None,
        schedule_id: str | None = None,
        options: ChangeOptions = ChangeOptions(),
    ) -> RequestView: ...

    def approve(self, request_id: str, approver: str) -> DecisionResult: ...
    def reject(self, request_id: str, approver: str, reason: str) -> DecisionResult: ...
    def can_decide(self, request_id: str, user: str) -> None: ...

    # --- background -----------------------------------------------------------------------------------
    def submit(self, request_id: str) -> RequestView: ...
    def resume_interrupted_submissions(self) -> list[RequestView]: ...
    def expire_pending(self) -> list[RequestView]: ...

    # --- watch list -----------------------------------------------------------------------------------
    def watch(self, customer_id: str, user: str) -> None: ...
    def unwatch(self, customer_id: str, user: str) -> None: ...
    def watched_customers(self) -> list[str]: ...
