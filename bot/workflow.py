"""The request → approval → submission workflow of SPEC §5. Slack-free: never imports slack_bolt.

CONTRACT (written first so the Slack layer, the scheduler and the core can be built side by side).
Handlers call only these methods; each raises a ``bot.domain.DomainError`` subclass for anything the user
should be told, and never returns partially-applied state.

Guarantees:
- a request is decided exactly once: every state change is a conditional ``UPDATE … WHERE state = ?`` and
  voters of one request are serialised on its row (``touch_if_state``), on SQLite and PostgreSQL alike;
- a request is submitted to Partner Center exactly once: the operation (with its ``MS-RequestId`` and
  ``externalReferenceId``) is committed BEFORE the call; an interrupted call is resumed with the same ids
  after looking the result up by ``externalReferenceId``; a lease (``claimed_until``) keeps replicas apart, and a
  claim whose process is known dead (``claimed_by``, ``bot.liveness``) is taken over at once;
- every transition appends an audit event in the same transaction.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, NoReturn, TypeVar

from cachetools import TTLCache
from sqlalchemy.orm import Session, sessionmaker

from bot.access import Access
from bot.access import Unapprovable as Unapprovable  # re-exported: raised by request_change
from bot.access import WorkflowPolicy as WorkflowPolicy  # re-exported: defined beside the rules that read it
from bot.campaigns.model import batch_reference
from bot.campaigns.open_items import undecided_targets
from bot.deadlines import end_dates, window
from bot.domain import (
    AlreadyDecided,
    ChangeOptions,
    Clock,
    DomainError,
    EligibilityReason,
    Ineligible,
    InvalidInput,
    MembershipResolver,
    MembershipUnconfirmed,
    NotAuthorized,
    NotFound,
    Notifier,
    NotifyFailed,
    RequestKind,
    RequestState,
    RequestView,
    UserDirectory,
    ValidationOutcome,
    utc_now,
)
from bot.mrkdwn import esc  # the one escape of people's and Partner Center's text
from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.errors import PartnerCenterAuthError, PartnerCenterError, PartnerCenterUnavailable
from bot.partner_center.models import (
    AddOnMigration,
    AddOnMigrationSchedule,
    Customer,
    Migration,
    MigrationEvent,
    MigrationRequest,
    MigrationSchedule,
    MigrationScheduleRequest,
    MigrationStatus,
    MigrationValidation,
    ScheduleStatus,
    Subscription,
    SubscriptionStatus,
)
from bot.reports import (
    REASON_BASE,
    REASON_BASE_SKIPPED,
    REASON_ERROR,
    REASON_NCE,
    REASON_TRIAL,
    CheckReason,
    CheckReport,
    CheckResult,
    CheckRow,
    audit_csv,
)
from bot.rules import (
    TERMS,
    check_end_choice,
    check_end_date,
    check_quantity,
    check_reason,
    check_timing,
    is_request_id,
    parse_billing,
    parse_term,
    require_guid,
)
from storage import campaigns as campaign_store
from storage import repositories as repo
from storage.repositories import OperationView

logger = logging.getLogger("ncebot.workflow")

T = TypeVar("T")

SYSTEM_ACTOR = "ncebot"
BILLING_TO_API = {"monthly": "Monthly", "annual": "Annual", "triennial": "Triennial"}

# Partner Center operation kinds (pc_operations.kind)
from bot.operations import (  # noqa: E402  (one home for operation kinds: bot.operations)
    OP_CANCEL_SCHEDULE,
    OP_CREATE_MIGRATION,
    OP_CREATE_SCHEDULE,
    OP_UPDATE_SCHEDULE,
)

_OP_FOR_KIND = {
    RequestKind.MIGRATE: OP_CREATE_MIGRATION,
    RequestKind.BULK: OP_CREATE_MIGRATION,
    RequestKind.SCHEDULE: OP_CREATE_SCHEDULE,
    RequestKind.RESCHEDULE: OP_UPDATE_SCHEDULE,
    RequestKind.CANCEL: OP_CANCEL_SCHEDULE,
    RequestKind.REDUCE_SEATS: window.OP_PATCH_SUBSCRIPTION,
    RequestKind.CANCEL_SUBSCRIPTION: window.OP_PATCH_SUBSCRIPTION,
}


@dataclass(frozen=True)
class SubscriptionNode:
    """A legacy subscription with its add-ons nested under it (``/nce subscriptions``)."""

    subscription: Subscription
    addons: tuple[SubscriptionNode, ...] = ()

    @property
    def flags(self) -> tuple[str, ...]:
        """Why this one probably cannot migrate as is: ``trial`` and/or its status when not active."""
        found: list[str] = []
        if self.subscription.is_trial:
            found.append("trial")
        status = self.subscription.status
        if status is not None and status != SubscriptionStatus.ACTIVE:
            found.append(str(status.value if isinstance(status, SubscriptionStatus) else status))
        return tuple(found)

    @property
    def is_candidate(self) -> bool:
        """Active and not a trial: worth validating."""
        return not self.flags


@dataclass(frozen=True)
class DecisionResult:
    """What a click did. ``outcome``: ``approved`` (threshold reached, now submitted), ``vote_recorded``
    (more approvals needed; ``votes_missing`` says how many) or ``rejected``."""

    request: RequestView
    outcome: Literal["approved", "vote_recorded", "rejected"]
    votes_missing: int = 0


@dataclass(frozen=True)
class AuditExport:
    """The audit trail as a CSV file: ``events`` rows for ``customer_id`` (``None``: every customer)."""

    csv: str
    events: int
    customer_id: str | None
    filename: str


@dataclass(frozen=True)
class MigrationStatusView:
    migration: Migration
    events: tuple[MigrationEvent, ...]


class AlreadyVoted(DomainError):
    """The same approver clicked Approve again: each approver counts once."""

    def __init__(self, request: RequestView, missing: int) -> None:
        more = f" It still needs {missing} approval(s) from other approvers." if missing > 0 else ""
        super().__init__(f"You already approved request {request.id}.{more}")
        self.request = request
        self.votes_missing = missing


class PartnerCenterProblem(DomainError):
    """Partner Center refused a read or could not be reached; the text is safe to show."""

    def __init__(self, message: str, *, code: int | str | None = None, description: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.description = description


class NothingEligible(Ineligible):
    """A bulk request found no subscription that can migrate now; nothing is stored."""

    def __init__(self, outcome: ValidationOutcome, checked: int) -> None:
        super().__init__(outcome)
        who = outcome.customer_name or outcome.customer_id
        if checked == 0:
            text = f"{who} has no active legacy base subscription to migrate."
        else:
            shown = "; ".join(f"{r.subscription_id}: {r.code}: {r.description}" for r in outcome.reasons[:10])
            more = f" (and {len(outcome.reasons) - 10} more)" if len(outcome.reasons) > 10 else ""
            text = (
                f"None of the {checked} active legacy base subscription(s) of {who} can be migrated now: "
                f"{shown}{more}. Run /nce check for the full report."
            )
        self.args = (text,)
        self.checked = checked


class NotPosted(DomainError):
    """The approval message could not be posted; the request was ended at once (``expired``, ``post_failed``), so
    nothing waits without a message and asking again works."""

    _FIXES = {
        "not_in_channel": " Invite ncebot to the channel (`/invite @ncebot`).",
        "channel_not_found": " An administrator should check ncebot's approval channel setting (and invite ncebot "
                             "if the channel is private).",
        "is_archived": " Unarchive the channel, or ask an administrator to choose another approval channel.",
    }

    def __init__(self, request: RequestView, channel: str, reason: str) -> None:
        super().__init__(
            f"ncebot could not post the request to <#{channel}>: {reason}; nothing was stored as pending, "
            "ask again once fixed." + self._FIXES.get(reason, "")
        )
        self.request = request
        self.reason = reason
        self.mentions = (f"<#{channel}>",)  # the bot's own markup in the message: kept live when it is escaped


def _term_end(sub: Subscription) -> date | None:
    """The subscription's current term end (``commitmentEndDate``), the last day a schedule may target."""
    end = sub.commitment_end_date or sub.commitment_end_date_time
    return end.date() if end else None


def _date_to_api(value: date | None) -> datetime | None:
    return datetime.combine(value, time(0), tzinfo=UTC) if value else None


def _by_name(sub: Subscription) -> tuple[str, str]:
    """The order subscriptions are listed, reported and validated in."""
    return (sub.name.lower(), sub.id)


def _legacy_tree(
    subs: Sequence[Subscription],
) -> tuple[list[Subscription], dict[str, list[Subscription]], list[Subscription]]:
    """The legacy (not NCE) subscriptions, their add-ons by parent (lower-case id), and the roots: those without a
    legacy parent in ``subs`` (bases, and orphan add-ons)."""
    legacy = [s for s in subs if s.is_legacy and not s.is_nce]
    ids = {s.id.lower() for s in legacy}
    children: dict[str, list[Subscription]] = defaultdict(list)
    roots: list[Subscription] = []
    for sub in legacy:
        parent = (sub.parent_subscription_id or "").lower()
        if parent and parent in ids and parent != sub.id.lower():
            children[parent].append(sub)
        else:
            roots.append(sub)
    return legacy, children, roots


class Workflow:
    """All business rules. Dependencies are passed in so tests build it with stand-ins."""

    SUBMIT_LEASE = timedelta(minutes=10)
    # A bulk request sends its creates one after another through the client limiter (100 per 5 minutes), so
    # its claim must outlast them all, or another replica's resume would pick up operations still queued here.
    SUBMIT_LEASE_PER_OPERATION = timedelta(seconds=3)
    CUSTOMER_NAME_TTL = 600.0  # seconds a customer's display name is reused

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
        self._pc = partner_center
        self._notifier = notifier
        self._membership = membership
        self._access = Access(membership, policy)
        self._policy = policy
        self._clock = clock
        self._directory = directory
        self._instance_id = instance_id
        self._names_lock = threading.Lock()
        # Set by the tracking service: an approved request is then submitted by the lease holder's job.
        self.on_approved: Callable[[str], None] | None = None
        self._customer_names: TTLCache[str, str] = TTLCache(maxsize=1024, ttl=self.CUSTOMER_NAME_TTL)

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

    # --- plumbing -------------------------------------------------------------------------------------------
    @contextmanager
    def _tx(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    def _now(self) -> datetime:
        return utc_now(self._clock)

    def _read_pc(self, what: str, call: Callable[[], T]) -> T:
        """A Partner Center read, its failures turned into messages for the user."""
        try:
            return call()
        except PartnerCenterUnavailable as exc:
            raise PartnerCenterProblem(
                f"Partner Center is not answering right now ({what}); try again in a few minutes."
            ) from exc
        except PartnerCenterAuthError as exc:
            raise PartnerCenterProblem(f"ncebot could not sign in to Partner Center ({what}): {exc}") from exc
        except PartnerCenterError as exc:
            if exc.status_code == 404:
                raise NotFound(f"Not found in Partner Center ({what}): {exc.description}") from exc
            raise PartnerCenterProblem(
                f"Partner Center refused {what}: {exc.code}: {exc.description}" if exc.code is not None
                else f"Partner Center refused {what}: {exc.description}",
                code=exc.code,
                description=exc.description,
            ) from exc

    @staticmethod
    def _guid(value: str | None, field: str) -> str:
        return require_guid(value, field)

    def _is_member(self, user: str, principals: Sequence[str]) -> bool:
        return self._access.is_member(user, principals)

    def _post_in_thread(self, view: RequestView, key: str, text: str) -> None:
        self._notify("post_in_thread", lambda: self._notifier.post_in_thread(view, key, text))

    def _notify(self, what: str, call: Callable[[], object]) -> None:
        """Slack is best effort once state is committed: log, never undo the decision."""
        try:
            call()
        except Exception:
            logger.warning("notifier %s failed", what, exc_info=True)

    # --- reads ----------------------------------------------------------------------------------------
    def list_customers(self) -> list[Customer]:
        customers = self._read_pc("listing customers", self._pc.list_customers)
        return sorted(customers, key=lambda c: c.display_name.lower())

    def legacy_subscriptions(self, customer_id: str) -> list[SubscriptionNode]:
        """Legacy (GUID offerId) subscriptions, add-ons nested under their base by parentSubscriptionId,
        recursively. Trials and inactive ones are included; ``SubscriptionNode.flags`` marks them."""
        customer_id = self._guid(customer_id, "customer")
        subs = self._read_pc("listing subscriptions", lambda: self._pc.list_subscriptions(customer_id))
        _, children, roots = _legacy_tree(subs)

        def build(sub: Subscription, seen: frozenset[str]) -> SubscriptionNode:
            seen = seen | {sub.id.lower()}
            kids = [c for c in sorted(children[sub.id.lower()], key=_by_name) if c.id.lower() not in seen]
            return SubscriptionNode(sub, tuple(build(c, seen) for c in kids))

        return [build(s, frozenset()) for s in sorted(roots, key=_by_name)]

    def custom_term_end_dates(self, customer_id: str, term: str | None) -> list[date]:
        """The valid customTermEndDate values for a new term of this customer (SPEC §10)."""
        customer_id = self._guid(customer_id, "customer")
        return self._read_pc("reading the valid end dates", lambda: end_dates.valid_end_dates(self._pc, customer_id,
                                                                                                term))

    def _subscription_context(self, customer_id: str, subscription_id: str) -> tuple[Subscription, list[Subscription]]:
        subs = self._read_pc("listing subscriptions", lambda: self._pc.list_subscriptions(customer_id))
        base = next((s for s in subs if s.id.lower() == subscription_id.lower()), None)
        if base is None:
            raise NotFound(f"Subscription {subscription_id} was not found for customer {customer_id}.")
        self._require_legacy(base, subscription_id)
        return base, subs

    @staticmethod
    def _require_legacy(base: Subscription, subscription_id: str) -> None:
        if base.is_nce or not base.is_legacy:
            raise InvalidInput(
                f"Subscription {subscription_id} is not a legacy subscription (it is already New Commerce).",
                field="subscription",
            )

    @staticmethod
    def _descendants(base: Subscription, subs: Sequence[Subscription]) -> list[Subscription]:
        children: dict[str, list[Subscription]] = defaultdict(list)
        for sub in subs:
            if sub.parent_subscription_id:
                children[sub.parent_subscription_id.lower()].append(sub)
        found: list[Subscription] = []
        seen = {base.id.lower()}
        stack = [base.id.lower()]
        while stack:
            for child in children[stack.pop()]:
                if child.id.lower() not in seen:
                    seen.add(child.id.lower())
                    found.append(child)
                    stack.append(child.id.lower())
        return found

    def _select_addons(self, base: Subscription, subs: Sequence[Subscription], options: ChangeOptions) -> list[str]:
        """The flat add-on list: ``all`` = every active add-on of the base, nested ones included."""
        descendants = self._descendants(base, subs)
        if options.addons == "none":
            return []
        if options.addons == "all":
            return [d.id for d in descendants if d.status in (None, SubscriptionStatus.ACTIVE)]
        by_id = {d.id.lower(): d for d in descendants}
        chosen: list[str] = []
        for raw in options.addons:
            addon_id = require_guid(raw, "addons")
            found = by_id.get(addon_id)
            if found is None:
                raise InvalidInput(f"{addon_id} is not an add-on of subscription {base.id}", field="addons")
            if found.id not in chosen:
                chosen.append(found.id)
        return chosen

    def _check_options(self, options: ChangeOptions) -> ChangeOptions:
        """The same rules as the command parser and the modals (``bot.rules``), for callers that skip both."""
        term = parse_term(options.term) if options.term else None
        billing = parse_billing(options.billing) if options.billing else None
        if options.quantity is not None:
            check_quantity(options.quantity)
        check_end_choice(options.full_term, options.end_date)
        check_end_date(options.end_date, self._now().date())
        return replace(options, term=term, billing=billing)

    @staticmethod
    def _migration_body(subscription_id: str, options: ChangeOptions, addon_ids: Sequence[str]) -> MigrationRequest:
        billing = BILLING_TO_API.get(options.billing) if options.billing else None
        full_term = True if options.full_term else None
        end = _date_to_api(options.end_date)
        return MigrationRequest(
            current_subscription_id=subscription_id,
            term_duration=options.term,
            billing_cycle=billing,
            purchase_full_term=full_term,
            quantity=options.quantity,
            custom_term_end_date=end,
            add_on_migrations=[
                # Add-ons keep their own term and billing (their NCE products support fewer plans than the
                # base's); they follow the base's new term start and end date.
                AddOnMigration(
                    current_subscription_id=a,
                    purchase_full_term=full_term,
                    custom_term_end_date=end,
                )
                for a in addon_ids
            ],
        )

    @staticmethod
    def _schedule_body(
        subscription_id: str,
        options: ChangeOptions,
        addon_ids: Sequence[str],
        *,
        target_date: datetime | None,
        on_renewal: bool,
        schedule_id: str | None = None,
    ) -> MigrationScheduleRequest:
        billing = BILLING_TO_API.get(options.billing) if options.billing else None
        full_term = True if options.full_term else None
        end = _date_to_api(options.end_date)
        return MigrationScheduleRequest(
            id=schedule_id,
            current_subscription_id=subscription_id,
            term_duration=options.term,
            billing_cycle=billing,
            purchase_full_term=full_term,
            quantity=options.quantity,
            custom_term_end_date=end,
            target_date=None if on_renewal else target_date,
            migrate_on_renewal=True if on_renewal else None,
            add_on_migration_schedules=[
                AddOnMigrationSchedule(
                    current_subscription_id=a,
                    purchase_full_term=full_term,
                    custom_term_end_date=end,
                )
                for a in addon_ids
            ],
        )

    def _customer_name(self, customer_id: str) -> str | None:
        """The customer's display name, from a short-lived cache (names rarely change; every validate, request
        and report shows one, and ``GET /customers/{id}`` is throttled). A failed read is not cached."""
        key = customer_id.strip().lower()
        with self._names_lock:
            name = self._customer_names.get(key)
        if name is not None:
            return name
        try:
            name = self._pc.get_customer(customer_id).display_name
        except Exception:
            return None
        with self._names_lock:
            self._customer_names[key] = name
        return name

    def _validate(
        self, customer_id: str, base: Subscription, subs: Sequence[Subscription], options: ChangeOptions
    ) -> tuple[ValidationOutcome, list[str]]:
        addon_ids = self._select_addons(base, subs, options)
        body = self._migration_body(base.id, options, addon_ids)
        answer = self._read_pc("validation", lambda: self._pc.validate_migration(customer_id, body))
        return self._outcome(customer_id, base, answer, addon_ids), addon_ids

    def _outcome(self, customer_id: str, base: Subscription, answer: MigrationValidation,
                 addon_ids: Sequence[str]) -> ValidationOutcome:
        addons_ok = all(a.is_eligible for a in answer.add_on_migrations)
        reasons = tuple(
            EligibilityReason(subscription_id=sid, code=err.code, description=err.description)
            for sid, err in answer.all_errors
        )
        end = answer.custom_term_end_date
        return ValidationOutcome(
            customer_id=customer_id,
            subscription_id=base.id,
            eligible=bool(answer.is_eligible and addons_ok),
            catalog_item_id=answer.catalog_item_id,
            term=str(answer.term_duration.value if hasattr(answer.term_duration, "value") else answer.term_duration)
            if answer.term_duration
            else None,
            billing=str(answer.billing_cycle.value if hasattr(answer.billing_cycle, "value") else answer.billing_cycle)
            if answer.billing_cycle
            else None,
            end_date=end.date() if end else None,
            addon_ids=tuple(addon_ids),
            reasons=reasons,
            subscription_name=base.name,
            customer_name=self._customer_name(customer_id),
        )

    def validate(self, customer_id: str, subscription_id: str, options: ChangeOptions) -> ValidationOutcome:
        """``/nce validate``: two Partner Center calls (the customer's name aside, which is cached): GET the
        subscription, then validate it. With ``addons=all`` the body lists no add-ons and Partner Center answers
        for every active add-on (nested ones too) in ``addOnMigrations``, as it does for BAM; an explicit list is
        sent as given and Partner Center checks it (900262: not an add-on of this subscription, or inactive)."""
        customer_id = self._guid(customer_id, "customer")
        subscription_id = self._guid(subscription_id, "subscription")
        options = self._check_options(options)
        try:
            base = self._read_pc("reading the subscription",
                                 lambda: self._pc.get_subscription(customer_id, subscription_id))
        except NotFound as exc:
            raise NotFound(f"Subscription {subscription_id} was not found for customer {customer_id}.") from exc
        self._require_legacy(base, subscription_id)
        if options.addons == "all":
            addon_ids: list[str] | None = None
        elif options.addons == "none":
            addon_ids = []
        else:
            addon_ids = []
            for raw in options.addons:
                addon_id = self._guid(raw, "addons")
                if addon_id.lower() not in {a.lower() for a in addon_ids}:
                    addon_ids.append(addon_id)
        body = self._migration_body(base.id, options, addon_ids or [])
        if addon_ids is None:
            body = body.model_copy(update={"add_on_migrations": None})  # Partner Center answers for all of them
        try:
            answer = self._read_pc("validation", lambda: self._pc.validate_migration(customer_id, body))
        except PartnerCenterProblem as exc:
            if str(exc.code) == "900262":  # an explicit add-on that is not one of this subscription's
                raise InvalidInput(exc.description or str(exc), field="addons") from exc
            raise
        chosen = addon_ids if addon_ids is not None else [
            a.current_subscription_id for a in answer.add_on_migrations if a.current_subscription_id]
        return self._outcome(customer_id, base, answer, chosen)

    # --- /nce check -----------------------------------------------------------------------------------
    def check_customer(self, customer_id: str, *, partner_tenant_id: str | None = None,
                       progress: Callable[[int, int], None] | None = None) -> CheckReport:
        """Eligibility of every legacy subscription of a customer (``/nce check``), as BAM's export does.

        Candidate bases (legacy, active, not a trial, no promotion) are validated one after another (the
        client's limiter paces them) with all their active add-ons; each add-on's eligibility is read from the
        answer's ``addOnMigrations``. Everything else is listed as ``skipped`` with its reason. A refusal of one
        validate (4xx) becomes an ``error`` row; an unknown customer or an unreachable Partner Center raises.
        ``progress(done, total)``: validations made of those to make (first ``(0, total)`` once listed; SPEC §9).
        """
        customer_id = self._guid(customer_id, "customer")
        subs = self._read_pc("listing subscriptions", lambda: self._pc.list_subscriptions(customer_id))
        customer_name = self._customer_name(customer_id) or ""
        legacy, children, roots = _legacy_tree(subs)
        by_id = {s.id.lower(): s for s in legacy}

        def order(items: Sequence[Subscription]) -> list[Subscription]:
            return sorted(items, key=_by_name)

        def skip_reasons(sub: Subscription) -> list[CheckReason]:
            found: list[CheckReason] = []
            status = sub.status
            if status is not None and status != SubscriptionStatus.ACTIVE:
                text = str(getattr(status, "value", status))
                found.append(CheckReason(0, f"Subscription is {text}, not active.", sub.id))
            if sub.is_trial:
                found.append(
                    CheckReason(REASON_TRIAL, "Trial subscription: convert it to paid before migrating.", sub.id)
                )
            if sub.promotion_id:
                found.append(
                    CheckReason(3, f"Subscription has an active promotion ({sub.promotion_id}).", sub.id)
                )
            return found

        def base_row(sub: Subscription, base: Subscription | None, **values: Any) -> CheckRow:
            status = sub.status
            return CheckRow(
                customer_tenant_id=customer_id,
                subscription_id=sub.id,
                subscription_name=sub.name,
                partner_tenant_id=partner_tenant_id or "",
                indirect_reseller_mpn_id=sub.partner_id or "",
                customer_name=customer_name,
                product_name=sub.offer_name or "",
                offer_id=sub.offer_id or "",
                status=str(getattr(status, "value", status)) if status is not None else "",
                expiration_date=sub.term_end,
                auto_renew=sub.auto_renew_enabled,
                current_term=str(getattr(sub.term_duration, "value", sub.term_duration) or ""),
                current_billing=str(getattr(sub.billing_cycle, "value", sub.billing_cycle) or ""),
                seat_count=sub.quantity,
                is_addon=base is not None,
                base_subscription_id=base.id if base is not None else "",
                is_trial=bool(sub.is_trial),
                promotion_id=sub.promotion_id or "",
                **values,
            )

        def answered(sub: Subscription, base: Subscription | None, answer: MigrationValidation,
                     bundle_ok: bool) -> CheckRow:
            reasons = [
                CheckReason(err.code, err.description, answer.current_subscription_id or sub.id)
                for err in answer.errors
            ]
            own_ok = answer.is_eligible and not reasons
            if own_ok and not bundle_ok:
                reasons.append(
                    CheckReason(REASON_BASE, "Migrates only together with its base subscription and add-ons, "
                                "and that bundle is not eligible.", sub.id)
                )
            end = answer.custom_term_end_date
            return base_row(
                sub,
                base,
                result=CheckResult.ELIGIBLE if own_ok and bundle_ok else CheckResult.INELIGIBLE,
                catalog_item_id=answer.catalog_item_id,
                target_term=str(getattr(answer.term_duration, "value", answer.term_duration) or ""),
                target_billing=str(getattr(answer.billing_cycle, "value", answer.billing_cycle) or "").lower(),
                target_end_date=end.date() if end else None,
                reasons=tuple(reasons),
            )

        rows: list[CheckRow] = []
        calls = 0

        def walk_skipped(parent: Subscription, why: str) -> None:
            for child in order(children[parent.id.lower()]):
                own = skip_reasons(child)
                rows.append(base_row(child, parent, result=CheckResult.SKIPPED,
                                     reasons=tuple(own) or (CheckReason(REASON_BASE_SKIPPED, why, child.id),)))
                walk_skipped(child, why)

        def walk_validated(parent: Subscription, flat: dict[str, MigrationValidation], bundle_ok: bool) -> None:
            for child in order(children[parent.id.lower()]):
                found = flat.get(child.id.lower())
                if found is not None:
                    rows.append(answered(child, parent, found, bundle_ok))
                else:
                    own = skip_reasons(child) or [
                        CheckReason(REASON_BASE_SKIPPED, "Not part of the validated bundle.", child.id)
                    ]
                    rows.append(base_row(child, parent, result=CheckResult.SKIPPED, reasons=tuple(own)))
                walk_validated(child, flat, bundle_ok)

        to_validate = sum(1 for root in roots if not skip_reasons(root))
        if progress is not None:
            progress(0, to_validate)
        for root in order(roots):
            root_base = by_id.get((root.parent_subscription_id or "").lower())  # an orphan add-on: sent on its own
            skipped = skip_reasons(root)
            if skipped:
                rows.append(base_row(root, root_base, result=CheckResult.SKIPPED, reasons=tuple(skipped)))
                walk_skipped(root, f"Its base subscription {root.id} was not validated.")
                continue
            addon_ids = self._select_addons(root, legacy, ChangeOptions())
            body = self._migration_body(root.id, ChangeOptions(), addon_ids)
            calls += 1
            if progress is not None and calls > 1:
                progress(calls - 1, to_validate)
            try:
                answer = self._pc.validate_migration(customer_id, body)
            except PartnerCenterUnavailable as exc:
                # A report full of "unavailable" rows would mislead: stop and say so.
                raise PartnerCenterProblem(
                    f"Partner Center is not answering right now (validating {root.id}); try again in a few minutes."
                ) from exc
            except PartnerCenterAuthError as exc:
                raise PartnerCenterProblem(f"ncebot could not sign in to Partner Center (validation): {exc}") from exc
            except PartnerCenterError as exc:
                reason = CheckReason(exc.code if exc.code is not None else REASON_ERROR,
                                     f"Validation refused: {exc.description}", root.id)
                rows.append(base_row(root, root_base, result=CheckResult.ERROR, reasons=(reason,)))
                walk_skipped(root, f"Its base subscription {root.id} could not be validated.")
                continue
            flat: dict[str, MigrationValidation] = {}
            stack = list(answer.add_on_migrations)
            while stack:
                item = stack.pop()
                if item.current_subscription_id:
                    flat[item.current_subscription_id.lower()] = item
                stack.extend(item.add_on_migrations)
            bundle_ok = bool(answer.is_eligible and not answer.errors and all(
                a.is_eligible and not a.errors for a in flat.values()
            ))
            rows.append(answered(root, root_base, answer, bundle_ok))

            walk_validated(root, flat, bundle_ok)

        for sub in order([s for s in subs if s.is_nce]):
            rows.append(
                base_row(
                    sub,
                    None,
                    result=CheckResult.SKIPPED,
                    reasons=(CheckReason(REASON_NCE, "Already a New Commerce subscription"
                                         + (f" (migrated from {sub.migrated_from_subscription_id})."
                                            if sub.migrated_from_subscription_id else "."), sub.id),),
                )
            )
        return CheckReport(
            customer_id=customer_id,
            customer_name=customer_name,
            generated_at=self._now(),
            rows=tuple(rows),
            partner_tenant_id=partner_tenant_id or "",
            validate_calls=calls,
        )

    def list_schedules(self, customer_id: str, subscription_id: str | None = None) -> list[MigrationSchedule]:
        customer_id = self._guid(customer_id, "customer")
        if subscription_id is not None:
            subscription_id = self._guid(subscription_id, "subscription")
        return self._read_pc(
            "listing schedules",
            lambda: self._pc.list_schedules(customer_id=customer_id, current_subscription_id=subscription_id),
        )

    def migration_status(self, customer_id: str, migration_id: str) -> MigrationStatusView:
        customer_id = self._guid(customer_id, "customer")
        migration_id = self._guid(migration_id, "migration")
        migration = self._read_pc("reading the migration", lambda: self._pc.get_migration(customer_id, migration_id))
        events = self._read_pc(
            "reading migration events",
            lambda: self._pc.get_migration_events(customer_id, migration_id=migration_id),
        )
        ordered = sorted(events, key=lambda e: e.created_time or datetime.min.replace(tzinfo=UTC))
        return MigrationStatusView(migration=migration, events=tuple(ordered))

    def pending_requests(self) -> list[RequestView]:
        return self.requests([RequestState.PENDING])

    def requests(self, states: Sequence[RequestState]) -> list[RequestView]:
        """Requests in any of ``states``, oldest first (status tracker, /nce pending)."""
        with self._tx() as session:
            return [repo.to_view(r) for r in repo.requests_in_states(session, states)]

    def requests_by(self, user: str, limit: int = 10) -> list[RequestView]:
        """The newest ``limit`` requests ``user`` made, in any state, newest first (App Home tab)."""
        with self._tx() as session:
            return [repo.to_view(r) for r in repo.requests_by_requester(session, user, limit=limit)]

    def get_request(self, request_id: str) -> RequestView:
        request_id = (request_id or "").strip().lower()
        if not is_request_id(request_id):
            raise NotFound(f"Request {request_id or '?'} does not exist.")
        with self._tx() as session:
            row = repo.get_request(session, request_id)
            if row is None:
                raise NotFound(f"Request {request_id} does not exist.")
            return repo.to_view(row)

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
    ) -> RequestView:
        self._access.authorize_requester(requester)
        customer_id = self._guid(customer_id, "customer")
        options = self._check_options(options)
        self._access.check_approvable(requester)
        now = self._now()
        plan = self._prepare(kind, customer_id, subscription_id, schedule_id, options, now)

        with self._tx() as session:
            if plan.subscription_id and kind is not RequestKind.BULK:
                for other in repo.open_requests_for_subscription(session, customer_id, plan.subscription_id):
                    # Undecided or not yet submitted: a second request would race it at Partner Center.
                    if other.state in (RequestState.PENDING.value, RequestState.APPROVED.value):
                        raise InvalidInput(
                            f"Request {other.id} ({other.kind}, {other.state}) is already open for subscription "
                            f"{plan.subscription_id}.",
                            field="subscription",
                        )
            # The same race with the subscriptions of an undecided bulk request (and, for a bulk request, with
            # whatever was asked for while it was being validated).
            targets: list[str] = []
            if kind is RequestKind.BULK:
                targets = [str(item["target"]) for item in plan.items]
            elif kind in (RequestKind.MIGRATE, RequestKind.SCHEDULE) and plan.subscription_id:
                targets = [plan.subscription_id]
            busy = self._undecided_targets(session, customer_id)
            for target in targets:
                if target and target.lower() in busy:
                    other_id, other_kind = busy[target.lower()]
                    raise InvalidInput(
                        f"Request {other_id} ({other_kind}) is already open for subscription {target}.",
                        field="subscription" if kind is not RequestKind.BULK else "customer",
                    )
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
        raise NotPosted(self.get_request(view.id), channel, reason) from exc

    @dataclass(frozen=True)
    class _Plan:
        subscription_id: str | None
        schedule_id: str | None
        validation: ValidationOutcome | None
        customer_name: str | None
        subscription_name: str | None
        items: list[Any]  # [{"target", "body"}]: exactly what will be sent once approved

    def _prepare(
        self,
        kind: RequestKind,
        customer_id: str,
        subscription_id: str | None,
        schedule_id: str | None,
        options: ChangeOptions,
        now: datetime,
    ) -> Workflow._Plan:
        today = now.date()
        if kind in window.WINDOW_KINDS:  # SPEC §10: the rules live in bot/deadlines/window.py
            nce_id = self._guid(subscription_id, "subscription")
            change = self._read_pc("reading the subscription",
                                   lambda: window.plan_change(self._pc, kind, customer_id, nce_id, options, now))
            return Workflow._Plan(subscription_id=change.subscription.id, schedule_id=None, validation=None,
                                  customer_name=self._customer_name(customer_id),
                                  subscription_name=change.subscription.name,
                                  items=[{"target": change.subscription.id, "body": change.body}])
        if kind in (RequestKind.MIGRATE, RequestKind.SCHEDULE):
            subscription_id = self._guid(subscription_id, "subscription")
            if kind is RequestKind.MIGRATE and (options.target_date or options.on_renewal):
                raise InvalidInput("date and on-renewal apply to schedules only; use /nce schedule", field="date")
            if kind is RequestKind.SCHEDULE:
                self._check_timing(options, today, required=True)
            base, subs = self._subscription_context(customer_id, subscription_id)
            if options.end_date is not None:  # SPEC §10: only Partner Center's aligned dates
                term = options.term or (str(getattr(base.term_duration, "value", base.term_duration) or "") or None)
                self._read_pc("reading the valid end dates", lambda: end_dates.check_end_date(
                    self._pc, customer_id, term, options.end_date or today))
            if kind is RequestKind.SCHEDULE:
                self._check_timing(options, today, required=True, term_end=_term_end(base))
                existing = self._read_pc(
                    "listing schedules",
                    lambda: self._pc.list_schedules(customer_id=customer_id, current_subscription_id=base.id),
                )
                active = [s for s in existing if s.status == ScheduleStatus.CREATED]
                if active:
                    raise InvalidInput(
                        f"Subscription {base.id} already has schedule {active[0].id}; "
                        "use /nce reschedule to change it.",
                        field="subscription",
                    )
            outcome, addon_ids = self._validate(customer_id, base, subs, options)
            if not outcome.eligible:
                raise Ineligible(outcome)
            if kind is RequestKind.MIGRATE:
                body = self._migration_body(base.id, options, addon_ids).to_api()
            else:
                body = self._schedule_body(
                    base.id, options, addon_ids, target_date=_date_to_api(options.target_date),
                    on_renewal=options.on_renewal,
                ).to_api()
            return Workflow._Plan(
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
                raise InvalidInput(
                    f"Schedule {schedule_id} is {schedule.status or 'unknown'}; only a Created schedule can be "
                    + ("changed." if kind is RequestKind.RESCHEDULE else "cancelled."),
                    field="schedule",
                )
            if schedule.target_date is not None and schedule.target_date.date() <= today:
                raise InvalidInput(
                    f"Schedule {schedule_id} runs on {schedule.target_date.date().isoformat()}; it can no longer be "
                    + ("changed." if kind is RequestKind.RESCHEDULE else "cancelled."),
                    field="schedule",
                )
            sub_id = schedule.current_subscription_id
            sub_name: str | None = None
            if kind is RequestKind.CANCEL:
                if options != ChangeOptions():
                    raise InvalidInput("cancel takes no options", field="options")
                return Workflow._Plan(
                    subscription_id=sub_id,
                    schedule_id=schedule.id or schedule_id,
                    validation=None,
                    customer_name=self._customer_name(customer_id),
                    subscription_name=None,
                    items=[{"target": schedule.id or schedule_id, "body": None}],
                )
            self._check_timing(options, today, required=False)
            if not sub_id:
                raise PartnerCenterProblem(f"Schedule {schedule_id} has no currentSubscriptionId.")
            checked: ValidationOutcome | None = None
            base, subs = self._subscription_context(customer_id, sub_id)
            self._check_timing(options, today, required=False, term_end=_term_end(base))
            sub_name = base.name
            addon_ids = self._select_addons(base, subs, options)
            if any((options.term, options.billing, options.quantity, options.full_term, options.end_date)):
                # The NCE target changes: make sure it still passes validation with the new options.
                checked, addon_ids = self._validate(customer_id, base, subs, options)
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
                target, on_renewal = _date_to_api(options.target_date), options.on_renewal
            else:
                target, on_renewal = schedule.target_date, bool(schedule.migrate_on_renewal)
            body = self._schedule_body(
                sub_id, merged, addon_ids, target_date=target, on_renewal=on_renewal, schedule_id=schedule.id
            ).to_api()
            return Workflow._Plan(
                subscription_id=sub_id,
                schedule_id=schedule.id or schedule_id,
                validation=checked,
                customer_name=checked.customer_name if checked else self._customer_name(customer_id),
                subscription_name=sub_name,
                items=[{"target": schedule.id or schedule_id, "body": body}],
            )
        if kind is RequestKind.BULK:
            return self._prepare_bulk(customer_id, options)
        raise InvalidInput(f"unknown request kind {kind!r}", field="kind")  # pragma: no cover

    @staticmethod
    def _undecided_targets(session: Session, customer_id: str) -> dict[str, tuple[str, str]]:
        """Subscriptions (lower-case id) of this customer's pending or approved requests → (request id, kind)."""
        return undecided_targets(session, [customer_id])

    def _prepare_bulk(self, customer_id: str, options: ChangeOptions) -> Workflow._Plan:
        if options.target_date or options.on_renewal:
            raise InvalidInput("bulk migrates now; date and on-renewal are not supported", field="date")
        if options.addons not in ("all", "none"):
            raise InvalidInput("bulk takes addons=all or addons=none", field="addons")
        if options.quantity is not None:
            # One seat count for every subscription of a customer is never what was meant.
            raise InvalidInput("bulk keeps each subscription's seat count; quantity is not supported", field="quantity")
        subs = self._read_pc("listing subscriptions", lambda: self._pc.list_subscriptions(customer_id))
        bases = [
            s for s in subs
            if s.is_legacy and not s.is_nce and not s.parent_subscription_id
            and s.status in (None, SubscriptionStatus.ACTIVE) and not s.is_trial and not s.promotion_id
        ]
        with self._tx() as session:
            busy = self._undecided_targets(session, customer_id)
        items: list[Any] = []
        refused: list[ValidationOutcome] = []
        for base in sorted(bases, key=_by_name):
            if base.id.lower() in busy:
                other_id, other_kind = busy[base.id.lower()]
                refused.append(
                    ValidationOutcome(
                        customer_id=customer_id,
                        subscription_id=base.id,
                        eligible=False,
                        reasons=(
                            EligibilityReason(
                                base.id, "OpenRequest", f"already in open request {other_id} ({other_kind})"
                            ),
                        ),
                        subscription_name=base.name,
                    )
                )
                continue
            outcome, addon_ids = self._validate(customer_id, base, subs, options)
            if outcome.eligible:
                items.append(
                    {
                        "target": base.id,
                        "name": base.name,
                        "catalog_item_id": outcome.catalog_item_id,
                        "body": self._migration_body(base.id, options, addon_ids).to_api(),
                    }
                )
            else:
                refused.append(outcome)
        customer_name = self._customer_name(customer_id)
        summary = ValidationOutcome(
            customer_id=customer_id,
            subscription_id="",
            eligible=bool(items),
            addon_ids=(),
            reasons=tuple(r for o in refused for r in o.reasons),
            subscription_name=f"{len(items)} eligible subscription(s)",
            customer_name=customer_name,
        )
        if not items:
            raise NothingEligible(summary, checked=len(bases))
        return Workflow._Plan(
            subscription_id=None,
            schedule_id=None,
            validation=summary,
            customer_name=customer_name,
            subscription_name=f"{len(items)} subscription(s)",
            items=items,
        )

    @staticmethod
    def _check_timing(options: ChangeOptions, today: date, *, required: bool, term_end: date | None = None) -> None:
        check_timing(options.target_date, options.on_renewal, today, required=required, term_end=term_end)

    # --- decisions ------------------------------------------------------------------------------------
    def _authorize_decider(self, view: RequestView, user: str) -> None:
        if not self._is_member(user, self._policy.approvers):
            raise NotAuthorized("Only approvers can approve or reject requests.")
        if user == view.requester and not self._policy.allow_self_approval:
            raise NotAuthorized("You asked for this change, so another approver has to decide on it.")

    def _check_open(self, view: RequestView, actor: str) -> None:
        """AlreadyDecided for anything not pending; a pending request past its TTL expires now."""
        if view.state is not RequestState.PENDING:
            raise AlreadyDecided(view)
        if self._now() > view.expires_at:
            self._expire(view.id, actor)
            raise AlreadyDecided(self.get_request(view.id))

    def can_decide(self, request_id: str, user: str) -> None:
        view = self.get_request(request_id)
        self._check_open(view, user)
        self._authorize_decider(view, user)

    def approve(self, request_id: str, approver: str) -> DecisionResult:
        view = self.get_request(request_id)
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
        current = self.get_request(view.id)
        if decided:
            raise AlreadyDecided(current)
        if current.state is RequestState.APPROVED and count >= view.required_approvals:
            self._notify("update_request", lambda: self._notifier.update_request(current))
            if self.on_approved is not None:
                # Production: the lease holder's submission job sends it (bot.campaigns.jobs); the click is
                # answered as soon as the decision is committed.
                self._notify("on_approved", lambda: self.on_approved and self.on_approved(view.id))
            elif not self._is_campaign(view.id):
                # Wired without background jobs (unit tests): submit here, as before the jobs existed.
                try:
                    current = self.submit(view.id)
                except Exception:
                    logger.exception("submitting request %s failed; it will be resumed", view.id)
                    current = self.get_request(view.id)
            return DecisionResult(request=current, outcome="approved", votes_missing=0)
        self._notify("update_request", lambda: self._notifier.update_request(current))
        return DecisionResult(
            request=current, outcome="vote_recorded", votes_missing=max(view.required_approvals - count, 0)
        )

    def _is_campaign(self, request_id: str) -> bool:
        """A campaign is only ever sent by the lease holder's job (bot.campaigns.runner)."""
        with self._tx() as session:
            return campaign_store.is_campaign(session, request_id)

    def reject(self, request_id: str, approver: str, reason: str) -> DecisionResult:
        reason = check_reason(reason)
        view = self.get_request(request_id)
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
        current = self.get_request(view.id)
        if not won:
            raise AlreadyDecided(current)
        self._notify("update_request", lambda: self._notifier.update_request(current))
        self._post_in_thread(
            current, f"{current.id}:rejected", f"<@{current.requester}> rejected by <@{approver}>: {esc(reason)}"
        )
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
        if not won:
            return None
        view = self.get_request(request_id)
        self._notify("update_request", lambda: self._notifier.update_request(view))
        return view

    def expire_pending(self) -> list[RequestView]:
        with self._tx() as session:
            ids = repo.expired_pending_ids(session, self._now())
        expired: list[RequestView] = []
        for request_id in ids:
            view = self._expire(request_id, SYSTEM_ACTOR)
            if view is not None:
                expired.append(view)
        return expired

    def _plan_items(self, view: RequestView, items: list[Any] | None) -> list[tuple[str, str, dict[str, Any] | None]]:
        op_kind = _OP_FOR_KIND[view.kind]
        return [(op_kind, str(item["target"]), item.get("body")) for item in items or []]

    def submit(self, request_id: str) -> RequestView:
        """Send an approved request to Partner Center, exactly once (see the module docstring)."""
        now = self._now()
        claimed: list[tuple[OperationView, dict[str, Any] | None]] = []
        with self._tx() as session:
            row = repo.get_request(session, request_id)
            if row is None:
                raise NotFound(f"Request {request_id} does not exist.")
            if row.state != RequestState.APPROVED.value:
                return repo.to_view(row)
            view = repo.to_view(row)
            existing = {(o.kind, o.target): o for o in repo.operations_for(session, request_id)}
            plan = self._plan_items(view, row.items)
            lease = self.SUBMIT_LEASE + self.SUBMIT_LEASE_PER_OPERATION * len(plan)
            for op_kind, target, body in plan:
                found = existing.get((op_kind, target))
                op: OperationView | None
                if found is None:
                    op = repo.create_operation(
                        session,
                        request_id=request_id,
                        kind=op_kind,
                        target=target,
                        customer_id=view.customer_id,
                        now=now,
                        lease=lease,
                        holder=self._instance_id,
                    )
                elif found.status == "sending":
                    op = repo.claim_operation(session, found.id, now=now, lease=lease, holder=self._instance_id)
                else:
                    op = None
                if op is not None:
                    op = self._stamp_operation(session, view, op, fresh=found is None)
                    claimed.append((op, body))
        # Committed: the MS-RequestId and externalReferenceId exist before any call is made.
        for op, body in claimed:
            self._send(view, op, body)
        return self._settle(request_id)

    batch_reference = staticmethod(batch_reference)  # bot.campaigns.model owns the rule

    @staticmethod
    def _stamp_operation(session: Session, view: RequestView, op: OperationView, *, fresh: bool) -> OperationView:
        """Before any call: give the operation its own MS-CorrelationId (kept for every retry and resume, and
        written to the audit trail on success as on failure) and, for a bulk request, the batch's shared
        externalReferenceId. Only a fresh operation gets the batch id: one that may have reached Partner
        Center keeps the id it was looked up by."""
        values: dict[str, Any] = {}
        if not op.correlation_id:
            values["correlation_id"] = str(uuid.uuid4())
        if fresh and view.kind is RequestKind.BULK:
            batch = Workflow.batch_reference(view.id)
            if op.external_reference_id != batch:
                values["external_reference_id"] = batch
        if not values:
            return op
        repo.update_operation_fields(session, op.id, **values)
        return replace(op, **values)

    def _find_existing(self, op: OperationView) -> Migration | MigrationSchedule | None:
        """After an interruption: did the earlier attempt land? Looked up by our externalReferenceId."""
        ref = op.external_reference_id
        found: Sequence[Migration | MigrationSchedule]
        if op.kind == OP_CREATE_MIGRATION:
            found = self._pc.query_migrations(customer_id=op.customer_id, external_reference_id=ref)
        elif op.kind == OP_CREATE_SCHEDULE:
            found = self._pc.list_schedules(customer_id=op.customer_id, external_reference_id=ref)
        else:
            return None
        for item in found:
            if (item.external_reference_id or "").lower() == ref.lower() and (
                (item.current_subscription_id or "").lower() == op.target.lower()
            ):
                return item
        return None

    def _call_partner_center(
        self, op: OperationView, body: dict[str, Any] | None
    ) -> Migration | MigrationSchedule | Subscription:
        if op.kind == window.OP_PATCH_SUBSCRIPTION:
            return window.send_change(self._pc, op.customer_id, op.target, body or {}, self._now(),
                                      request_id=op.ms_request_id, correlation_id=op.correlation_id)
        if op.kind == OP_CREATE_MIGRATION:
            assert body is not None
            request = MigrationRequest.model_validate(body).model_copy(
                update={"external_reference_id": op.external_reference_id}
            )
            return self._pc.create_migration(
                op.customer_id, request, request_id=op.ms_request_id, correlation_id=op.correlation_id
            )
        if op.kind == OP_CREATE_SCHEDULE:
            assert body is not None
            schedule = MigrationScheduleRequest.model_validate(body).model_copy(
                update={"external_reference_id": op.external_reference_id}
            )
            return self._pc.create_schedule(
                op.customer_id, schedule, request_id=op.ms_request_id, correlation_id=op.correlation_id
            )
        if op.kind == OP_UPDATE_SCHEDULE:
            assert body is not None
            schedule = MigrationScheduleRequest.model_validate(body)
            return self._pc.update_schedule(
                op.customer_id, op.target, schedule, request_id=op.ms_request_id, correlation_id=op.correlation_id
            )
        if op.kind == OP_CANCEL_SCHEDULE:
            return self._pc.cancel_schedule(
                op.customer_id, op.target, request_id=op.ms_request_id, correlation_id=op.correlation_id
            )
        raise ValueError(f"unknown operation kind {op.kind}")  # pragma: no cover

    def _send(self, view: RequestView, op: OperationView, body: dict[str, Any] | None) -> None:
        result: Migration | MigrationSchedule | Subscription | None
        try:
            result = self._find_existing(op) if op.attempts > 1 else None
            if result is None:
                result = self._call_partner_center(op, body)
            else:
                logger.info("request %s: found the earlier %s by externalReferenceId", view.id, op.kind)
        except PartnerCenterError as exc:
            transient = isinstance(exc, PartnerCenterUnavailable | PartnerCenterAuthError) or (
                exc.status_code is None or exc.status_code in (408, 429) or exc.status_code >= 500
            )
            now = self._now()
            with self._tx() as session:
                if transient:
                    repo.release_operation(session, op.id, now, error=exc.description[:500])
                    repo.append_audit(
                        session,
                        request_id=view.id,
                        customer_id=view.customer_id,
                        actor=SYSTEM_ACTOR,
                        action="submit_deferred",
                        at=now,
                        detail={"operation": op.kind, "target": op.target, "attempt": op.attempts,
                                "error": str(exc)[:500]},
                        ms_request_id=op.ms_request_id,
                        correlation_id=exc.correlation_id,
                    )
                else:
                    repo.finish_operation(
                        session,
                        op.id,
                        status="refused",
                        now=now,
                        correlation_id=exc.correlation_id,
                        error_code=str(exc.code) if exc.code is not None else str(exc.status_code),
                        error_description=exc.description,
                    )
            if transient:
                self._post_in_thread(
                    view,
                    f"{view.id}:deferred:{op.id}:{op.attempts}",
                    "Partner Center is not answering right now; ncebot will retry with the same MS-RequestId.",
                )
            return
        except Exception:
            logger.exception("request %s: %s failed unexpectedly; left for resume", view.id, op.kind)
            with self._tx() as session:
                repo.release_operation(session, op.id, self._now(), error="unexpected error")
            return
        now = self._now()
        migration_id = (result.id if isinstance(result, Migration)
                        else getattr(result, "new_commerce_migration_id", None))
        schedule_id = result.id if isinstance(result, MigrationSchedule) else None
        with self._tx() as session:
            if repo.finish_operation(
                session,
                op.id,
                status="sent",
                now=now,
                migration_id=migration_id,
                schedule_id=schedule_id,
                response=result.model_dump(mode="json", by_alias=True, exclude_none=True),
                correlation_id=op.correlation_id,
            ):
                # One event per Partner Center call that changed something (a bulk request makes several).
                repo.append_audit(
                    session,
                    request_id=view.id,
                    customer_id=view.customer_id,
                    actor=SYSTEM_ACTOR,
                    action="sent",
                    at=now,
                    detail={"operation": op.kind, "target": op.target, "attempt": op.attempts,
                            "migration_id": migration_id, "schedule_id": schedule_id,
                            "external_reference_id": op.external_reference_id},
                    ms_request_id=op.ms_request_id,
                    correlation_id=op.correlation_id,
                )

    def _settle(self, request_id: str) -> RequestView:
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
                        (
                            f"{request_id}:failed",
                            f"<@{view.requester}> Partner Center refused the request: "
                            f"{esc(first.error_code)}: {esc(first.error_description)}",
                        )
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
                        extra = {"error_code": "MigrationFailed", "error_description": "Partner Center reported Failed"}
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
        for key, text in notes:
            self._post_in_thread(current, key, text)
        if notes:
            self._notify("update_request", lambda: self._notifier.update_request(current))
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
            text = (f"Submitted to Partner Center: schedule `{first.schedule_id}` created; the migration runs "
                    f"{view.options.migrates_when()}.")
        elif view.kind is RequestKind.RESCHEDULE:
            moved = view.options.on_renewal or view.options.target_date
            text = f"Submitted to Partner Center: schedule `{first.target}` updated" + (
                f"; the migration runs {view.options.migrates_when()}." if moved else ".")
        elif view.kind is RequestKind.CANCEL:
            text = f"Submitted to Partner Center: schedule `{first.target}` cancelled."
        elif view.kind is RequestKind.BULK:
            text = f"Submitted {len(sent)} migration(s) to Partner Center."
        elif view.kind in window.WINDOW_KINDS:
            text = window.submitted_text(view.kind, first.target, {"quantity": view.options.quantity})
        else:
            text = f"Submitted to Partner Center: migration id `{first.migration_id}`."
        text += f" MS-RequestId `{first.ms_request_id}`."
        if refused:
            text += " Refused: " + "; ".join(
                f"`{o.target}`: {esc(o.error_code)}: {esc(o.error_description)}" for o in refused
            )
        return text

    def resume_interrupted_submissions(self) -> list[RequestView]:
        """Approved requests whose submission was interrupted (crash, Partner Center unavailable) or never
        started. Each operation is claimed with a lease first, looked up by externalReferenceId, and only then
        re-sent with its SAME MS-RequestId: never a second migration."""
        with self._tx() as session:
            ids = repo.approved_request_ids(session)
        resumed: list[RequestView] = []
        for request_id in ids:
            try:
                resumed.append(self.submit(request_id))
            except Exception:
                logger.exception("resuming request %s failed", request_id)
        return resumed

    # --- watch list -----------------------------------------------------------------------------------
    def watch(self, customer_id: str, user: str) -> None:
        self._access.authorize_requester(user, "watch customers")
        customer_id = self._guid(customer_id, "customer").lower()
        now = self._now()
        with self._tx() as session:
            if repo.add_watch(session, customer_id, user, now):
                repo.append_audit(session, customer_id=customer_id, actor=user, action="watch", at=now)

    def unwatch(self, customer_id: str, user: str) -> None:
        self._access.authorize_requester(user, "stop watching customers")
        customer_id = self._guid(customer_id, "customer").lower()
        now = self._now()
        with self._tx() as session:
            if repo.remove_watch(session, customer_id):
                repo.append_audit(session, customer_id=customer_id, actor=user, action="unwatch", at=now)

    def watched_customers(self) -> list[str]:
        with self._tx() as session:
            return repo.watched_customer_ids(session)

    # --- audit ------------------------------------------------------------------------------------------------
    def is_approver(self, user: str) -> bool:
        """Listed in NCEBOT_APPROVERS, directly or through an ``S…`` user group resolved now (fails closed: a group
        that cannot be read counts as "no" here, for display; rights are checked with :meth:`_is_member`)."""
        try:
            return self._is_member(user, self._policy.approvers)
        except MembershipUnconfirmed:
            return False

    def audit_export(self, user: str, customer_id: str | None = None) -> AuditExport:
        """``/nce audit``: the append-only trail as CSV, for approvers only (it names people and decisions)."""
        if not self._is_member(user, self._policy.approvers):
            raise NotAuthorized("Only approvers can export the audit trail.")
        names = self._directory.display_name if self._directory is not None else None
        text = audit_csv(self._sessions, customer_id, names)
        stamp = self._now().strftime("%Y%m%d-%H%M")
        scope = customer_id.strip().lower() if customer_id else None
        return AuditExport(
            csv=text,
            events=max(text.count("\r\n") - 1, 0),
            customer_id=scope,
            filename=f"nce-audit-{scope or 'all'}-{stamp}.csv",
        )
