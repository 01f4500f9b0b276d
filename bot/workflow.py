"""The request → approval → submission workflow of SPEC §5. Slack-free: never imports slack_bolt.

A FACADE: ``Workflow`` keeps the constructor and the methods handlers, the tracker, campaigns and tests call, and
delegates each in one line to the services in ``bot/services/``, which own the code:

- ``catalogue``   (``Catalogue``): customers, legacy subscriptions, valid end dates, validate, schedules, migration
  status; the customer-name cache, add-on selection, option checks and the bodies planning reuses;
- ``checks``      (``CustomerChecks``): the ``/nce check`` report;
- ``reads``       (``RequestReads``): stored requests by id, state or requester;
- ``change_requests`` (``ChangeRequests``): change requests, their planning, the open-request guards, ``end_unposted``;
- ``approvals``   (``Approvals``): who may decide, votes, approve, reject, expiry;
- ``submission``  (``Submission``): sending approved requests exactly once, resume; ``settlement``
  (``RequestSettlement``) then moves the request (submitted, processing, completed, failed);
- ``audit``       (``AuditAndWatch``): the audit export, the watch list, ``is_approver``.
Domain errors live in ``bot.services.errors``, returned values in ``bot.services.models``; both are re-exported.

CONTRACT. Handlers call only these methods; each raises a ``bot.domain.DomainError`` subclass for anything the user
should be told, and never returns partially-applied state. A request is decided exactly once (``approvals``) and
submitted exactly once (``submission``): their docstrings give the guarantees; every transition appends an audit
event in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import NoReturn

from sqlalchemy.orm import Session, sessionmaker

from bot.access import Access, Unapprovable, WorkflowPolicy
from bot.campaigns.model import batch_reference
from bot.domain import (
    ChangeOptions,
    Clock,
    MembershipResolver,
    RequestKind,
    RequestState,
    RequestView,
    UserDirectory,
    ValidationOutcome,
)
from bot.operations import OP_CANCEL_SCHEDULE, OP_CREATE_MIGRATION, OP_CREATE_SCHEDULE, OP_UPDATE_SCHEDULE
from bot.outbox import Notifier
from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.models import Customer, MigrationSchedule
from bot.reports import CheckReport
from bot.services.approvals import Approvals
from bot.services.audit import AuditAndWatch
from bot.services.catalogue import BILLING_TO_API, Catalogue
from bot.services.checks import CustomerChecks
from bot.services.errors import AlreadyVoted, NotPosted, PartnerCenterProblem
from bot.services.models import AuditExport, DecisionResult, MigrationStatusView, SubscriptionNode
from bot.services.plumbing import SYSTEM_ACTOR
from bot.services.reads import RequestReads
from bot.services.requests import ChangeRequests
from bot.services.settlement import RequestSettlement
from bot.services.submission import Submission

# Re-exported: the names other modules have imported from here (Unapprovable is raised by request_change;
# WorkflowPolicy is defined beside the rules that read it, in bot.access).
__all__ = [
    "BILLING_TO_API", "OP_CANCEL_SCHEDULE", "OP_CREATE_MIGRATION", "OP_CREATE_SCHEDULE", "OP_UPDATE_SCHEDULE",
    "SYSTEM_ACTOR", "AlreadyVoted", "AuditExport", "DecisionResult", "MigrationStatusView", "NotPosted",
    "PartnerCenterProblem", "SubscriptionNode", "Unapprovable", "Workflow", "WorkflowPolicy",
]

class Workflow:
    """All business rules, through the services. Dependencies are passed in so tests build it with stand-ins."""

    SUBMIT_LEASE = Submission.SUBMIT_LEASE
    SUBMIT_LEASE_PER_OPERATION = Submission.SUBMIT_LEASE_PER_OPERATION
    CUSTOMER_NAME_TTL = Catalogue.CUSTOMER_NAME_TTL

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],  # storage.db.SessionFactory
        partner_center: PartnerCenterClient,
        notifier: Notifier,
        membership: MembershipResolver,
        policy: WorkflowPolicy,
        clock: Clock,
        directory: UserDirectory | None = None,
        instance_id: str | None = None,
    ) -> None:
        """``instance_id``: this process's heartbeat id (``bot.liveness``), written on every claim so that another
        process can take the claim over as soon as this one is known dead."""
        if policy.required_approvals < 1:
            raise ValueError("required_approvals must be at least 1")
        self._sessions = session_factory
        self._access = Access(membership, policy)
        self._policy = policy
        sessions, pc = session_factory, partner_center
        self.catalogue = Catalogue(partner_center=pc, clock=clock)
        self.checks = CustomerChecks(partner_center=pc, catalogue=self.catalogue, clock=clock)
        self.reads = RequestReads(session_factory=sessions)
        self.change_requests = ChangeRequests(session_factory=sessions, partner_center=pc, notifier=notifier,
                                               access=self._access, policy=policy, clock=clock,
                                               catalogue=self.catalogue, reads=self.reads)
        self.settlement = RequestSettlement(session_factory=sessions, notifier=notifier, clock=clock)
        self.submission = Submission(session_factory=sessions, partner_center=pc, notifier=notifier, clock=clock,
                                     settlement=self.settlement, instance_id=instance_id)
        self.approvals = Approvals(session_factory=sessions, notifier=notifier, access=self._access, policy=policy,
                                   clock=clock, reads=self.reads)
        self.audit = AuditAndWatch(session_factory=sessions, access=self._access, policy=policy, clock=clock,
                                   directory=directory)

    @property
    def access(self) -> Access:
        return self._access

    @property
    def policy(self) -> WorkflowPolicy:
        return self._policy

    @property
    def session_factory(self) -> sessionmaker[Session]:
        """The database the workflow keeps its state in (the Slack gate remembers request signatures there)."""
        return self._sessions

    @property
    def on_approved(self) -> Callable[[str], None] | None:
        """Set by the tracking service: an approved request is then submitted by the lease holder's job."""
        return self.approvals.on_approved

    @on_approved.setter
    def on_approved(self, callback: Callable[[str], None] | None) -> None:
        self.approvals.on_approved = callback

    batch_reference = staticmethod(batch_reference)  # bot.campaigns.model owns the rule

    # --- catalogue and checks ---------------------------------------------------------------------------
    def list_customers(self) -> list[Customer]:
        return self.catalogue.list_customers()

    def legacy_subscriptions(self, customer_id: str) -> list[SubscriptionNode]:
        return self.catalogue.legacy_subscriptions(customer_id)

    def custom_term_end_dates(self, customer_id: str, term: str | None) -> list[date]:
        return self.catalogue.custom_term_end_dates(customer_id, term)

    def _customer_name(self, customer_id: str) -> str | None:  # bot.deadlines.renewals reads the cached name
        return self.catalogue.customer_name(customer_id)

    def validate(self, customer_id: str, subscription_id: str, options: ChangeOptions) -> ValidationOutcome:
        return self.catalogue.validate(customer_id, subscription_id, options)

    def list_schedules(self, customer_id: str, subscription_id: str | None = None) -> list[MigrationSchedule]:
        return self.catalogue.list_schedules(customer_id, subscription_id)

    def migration_status(self, customer_id: str, migration_id: str) -> MigrationStatusView:
        return self.catalogue.migration_status(customer_id, migration_id)

    def check_customer(self, customer_id: str, *, partner_tenant_id: str | None = None,
                       progress: Callable[[int, int], None] | None = None) -> CheckReport:
        return self.checks.check_customer(customer_id, partner_tenant_id=partner_tenant_id, progress=progress)

    # --- reads ----------------------------------------------------------------------------------------------
    def pending_requests(self) -> list[RequestView]:
        return self.reads.pending_requests()

    def requests(self, states: Sequence[RequestState]) -> list[RequestView]:
        return self.reads.requests(states)

    def requests_by(self, user: str, limit: int = 10) -> list[RequestView]:
        return self.reads.requests_by(user, limit)

    def get_request(self, request_id: str) -> RequestView:
        return self.reads.get_request(request_id)

    # --- change requests, decisions, submission -------------------------------------------------------------
    def request_change(self, *, kind: RequestKind, requester: str, customer_id: str, subscription_id: str | None = None,
                       schedule_id: str | None = None, options: ChangeOptions = ChangeOptions()) -> RequestView:
        return self.change_requests.request_change(kind=kind, requester=requester, customer_id=customer_id,
                                                    subscription_id=subscription_id, schedule_id=schedule_id,
                                                    options=options)

    def end_unposted(self, view: RequestView, exc: Exception) -> NoReturn:
        self.change_requests.end_unposted(view, exc)

    def can_decide(self, request_id: str, user: str) -> None:
        self.approvals.can_decide(request_id, user)

    def approve(self, request_id: str, approver: str) -> DecisionResult:
        return self.approvals.approve(request_id, approver)

    def reject(self, request_id: str, approver: str, reason: str) -> DecisionResult:
        return self.approvals.reject(request_id, approver, reason)

    def expire_pending(self) -> list[RequestView]:
        return self.approvals.expire_pending()

    def submit(self, request_id: str) -> RequestView:
        return self.submission.submit(request_id)

    def resume_interrupted_submissions(self) -> list[RequestView]:
        return self.submission.resume_interrupted_submissions()

    # --- watch list and audit -------------------------------------------------------------------------------
    def watch(self, customer_id: str, user: str) -> None:
        self.audit.watch(customer_id, user)

    def unwatch(self, customer_id: str, user: str) -> None:
        self.audit.unwatch(customer_id, user)

    def watched_customers(self) -> list[str]:
        return self.audit.watched_customers()

    def is_approver(self, user: str) -> bool:
        return self.audit.is_approver(user)

    def audit_export(self, user: str, customer_id: str | None = None) -> AuditExport:
        return self.audit.audit_export(user, customer_id)
