"""Catalogue reads and validation (``/nce customers``, ``/nce subscriptions``, ``/nce validate``, schedules,
migration status), and what planning reuses: the customer-name cache, the subscription context, add-on selection,
option checks and the migration/schedule bodies. Moved verbatim from ``bot.workflow.Workflow``.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time
from typing import Any

from cachetools import TTLCache

from bot.deadlines import end_dates
from bot.domain import (
    ChangeOptions,
    Clock,
    EligibilityReason,
    InvalidInput,
    NotFound,
    ValidationOutcome,
)
from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.models import (
    AddOnMigration,
    AddOnMigrationSchedule,
    Customer,
    MigrationRequest,
    MigrationSchedule,
    MigrationScheduleRequest,
    MigrationValidation,
    Subscription,
    SubscriptionStatus,
)
from bot.rules import check_end_choice, check_end_date, check_quantity, parse_billing, parse_term, require_guid
from bot.services.errors import PartnerCenterProblem
from bot.services.models import MigrationStatusView, SubscriptionNode
from bot.services.plumbing import ServicePlumbing
from bot.texts import refusals

BILLING_TO_API = {"monthly": "Monthly", "annual": "Annual", "triennial": "Triennial"}


def subscription_term_end(sub: Subscription) -> date | None:
    """The subscription's current term end (``commitmentEndDate``), the last day a schedule may target."""
    end = sub.commitment_end_date or sub.commitment_end_date_time
    return end.date() if end else None


def date_to_api(value: date | None) -> datetime | None:
    return datetime.combine(value, time(0), tzinfo=UTC) if value else None


def by_name(sub: Subscription) -> tuple[str, str]:
    """The order subscriptions are listed, reported and validated in."""
    return (sub.name.lower(), sub.id)


def legacy_tree(
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


class Catalogue(ServicePlumbing):
    """Partner Center reads for people, validation, and the bodies a request will send."""

    CUSTOMER_NAME_TTL = 600.0  # seconds a customer's display name is reused

    def __init__(self, *, partner_center: PartnerCenterClient, clock: Clock) -> None:
        self._pc = partner_center
        self._clock = clock
        self._names_lock = threading.Lock()
        self._customer_names: TTLCache[str, str] = TTLCache(maxsize=1024, ttl=self.CUSTOMER_NAME_TTL)

    def list_customers(self) -> list[Customer]:
        customers = self._read_pc("listing customers", self._pc.list_customers)
        return sorted(customers, key=lambda c: c.display_name.lower())

    def legacy_subscriptions(self, customer_id: str) -> list[SubscriptionNode]:
        """Legacy (GUID offerId) subscriptions, add-ons nested under their base by parentSubscriptionId,
        recursively. Trials and inactive ones are included; ``SubscriptionNode.flags`` marks them."""
        customer_id = self._guid(customer_id, "customer")
        subs = self._read_pc("listing subscriptions", lambda: self._pc.list_subscriptions(customer_id))
        _, children, roots = legacy_tree(subs)

        def build(sub: Subscription, seen: frozenset[str]) -> SubscriptionNode:
            seen = seen | {sub.id.lower()}
            kids = [c for c in sorted(children[sub.id.lower()], key=by_name) if c.id.lower() not in seen]
            return SubscriptionNode(sub, tuple(build(c, seen) for c in kids))

        return [build(s, frozenset()) for s in sorted(roots, key=by_name)]

    def custom_term_end_dates(self, customer_id: str, term: str | None) -> list[date]:
        """The valid customTermEndDate values for a new term of this customer (SPEC §10)."""
        customer_id = self._guid(customer_id, "customer")
        return self._read_pc(refusals.READING_END_DATES, lambda: end_dates.valid_end_dates(self._pc, customer_id,
                                                                                                term))

    def subscription_context(self, customer_id: str, subscription_id: str) -> tuple[Subscription, list[Subscription]]:
        subs = self._read_pc("listing subscriptions", lambda: self._pc.list_subscriptions(customer_id))
        base = next((s for s in subs if s.id.lower() == subscription_id.lower()), None)
        if base is None:
            raise NotFound(refusals.subscription_missing(subscription_id, customer_id))
        self.require_legacy(base, subscription_id)
        return base, subs

    @staticmethod
    def require_legacy(base: Subscription, subscription_id: str) -> None:
        if base.is_nce or not base.is_legacy:
            raise InvalidInput(refusals.not_legacy(subscription_id), field="subscription")

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

    def select_addons(self, base: Subscription, subs: Sequence[Subscription], options: ChangeOptions) -> list[str]:
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
                raise InvalidInput(refusals.not_an_addon(addon_id, base.id), field="addons")
            if found.id not in chosen:
                chosen.append(found.id)
        return chosen

    def check_options(self, options: ChangeOptions) -> ChangeOptions:
        """The same rules as the command parser and the modals (``bot.rules``), for callers that skip both."""
        term = parse_term(options.term) if options.term else None
        billing = parse_billing(options.billing) if options.billing else None
        if options.quantity is not None:
            check_quantity(options.quantity)
        check_end_choice(options.full_term, options.end_date)
        check_end_date(options.end_date, self._now().date())
        return replace(options, term=term, billing=billing)

    @staticmethod
    def migration_body(subscription_id: str, options: ChangeOptions, addon_ids: Sequence[str]) -> MigrationRequest:
        base, addon = Catalogue._terms(options)
        return MigrationRequest(current_subscription_id=subscription_id, **base,
                                add_on_migrations=[AddOnMigration(current_subscription_id=a, **addon)
                                                   for a in addon_ids])

    @staticmethod
    def schedule_body(
        subscription_id: str,
        options: ChangeOptions,
        addon_ids: Sequence[str],
        *,
        target_date: datetime | None,
        on_renewal: bool,
        schedule_id: str | None = None,
    ) -> MigrationScheduleRequest:
        base, addon = Catalogue._terms(options)
        return MigrationScheduleRequest(
            id=schedule_id, current_subscription_id=subscription_id, **base,
            **MigrationScheduleRequest.timing(target_date, on_renewal),
            add_on_migration_schedules=[AddOnMigrationSchedule(current_subscription_id=a, **addon)
                                        for a in addon_ids],
        )

    @staticmethod
    def _terms(options: ChangeOptions) -> tuple[dict[str, Any], dict[str, Any]]:
        """The request options as body fields: the base's, and each add-on's. Add-ons keep their own term and
        billing (their NCE products support fewer plans than the base's); they follow the base's new term start
        and end date."""
        full_term = True if options.full_term else None
        end = date_to_api(options.end_date)
        addon: dict[str, Any] = {"purchase_full_term": full_term, "custom_term_end_date": end}
        return {"term_duration": options.term, "quantity": options.quantity,
                "billing_cycle": BILLING_TO_API.get(options.billing) if options.billing else None, **addon}, addon

    def customer_name(self, customer_id: str) -> str | None:
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

    def validate_bundle(
        self, customer_id: str, base: Subscription, subs: Sequence[Subscription], options: ChangeOptions
    ) -> tuple[ValidationOutcome, list[str]]:
        addon_ids = self.select_addons(base, subs, options)
        body = self.migration_body(base.id, options, addon_ids)
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
            customer_name=self.customer_name(customer_id),
        )

    def validate(self, customer_id: str, subscription_id: str, options: ChangeOptions) -> ValidationOutcome:
        """``/nce validate``: two Partner Center calls (the customer's name aside, which is cached): GET the
        subscription, then validate it. With ``addons=all`` the body lists no add-ons and Partner Center answers
        for every active add-on (nested ones too) in ``addOnMigrations``, as it does for BAM; an explicit list is
        sent as given and Partner Center checks it (900262: not an add-on of this subscription, or inactive)."""
        customer_id = self._guid(customer_id, "customer")
        subscription_id = self._guid(subscription_id, "subscription")
        options = self.check_options(options)
        try:
            base = self._read_pc("reading the subscription",
                                 lambda: self._pc.get_subscription(customer_id, subscription_id))
        except NotFound as exc:
            raise NotFound(refusals.subscription_missing(subscription_id, customer_id)) from exc
        self.require_legacy(base, subscription_id)
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
        body = self.migration_body(base.id, options, addon_ids or [])
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
