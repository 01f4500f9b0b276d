"""A campaign's plan, checked with Partner Center before anyone is asked to approve it (SPEC §8, issue #11).

``/nce bulk <customer>`` and ``/nce bulk all`` build their plan from the customers' subscriptions
(:meth:`Planner.plan_customers`); ``/nce import`` reads it from a BAM file. Either way every migration is validated
(:meth:`Planner.validate_plan`) with its own term, billing plan, seats and add-ons, and comes back split in two: the
plan of what is to be sent (each row with the NCE catalog item Partner Center named and the customer's name) and
the rows Partner Center refused, with ``<code>: <description>``.

Cost, per customer: one read of its name, one paged list of its subscriptions (bulk) or of its schedules (cancel
files), one validate per migration. Validations run on a small thread pool, customers interleaved; the client's
FIFO limiter keeps each customer within ``PARTNER_CENTER_VALIDATE_LIMIT`` (so a 600-subscription customer waits
for its next window while the pool goes on with the others). Slack-free.
"""

from __future__ import annotations

import itertools
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from bot.bam.models import BamKind, BamPlan, PlannedCancel, PlannedMigration, PlannedSubscription, SkippedRow
from bot.bulk_plan import with_options
from bot.campaigns.open_items import undecided_targets
from bot.domain import ChangeOptions, InvalidInput
from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.errors import PartnerCenterAuthError, PartnerCenterError, PartnerCenterUnavailable
from bot.partner_center.models import MigrationValidation, ScheduleStatus, Subscription, SubscriptionStatus
from bot.services.catalogue import legacy_tree
from bot.texts import eligibility, refusals
from bot.workflow import PartnerCenterProblem

#: Validations (and list calls) in flight at once. Small: the limit is per customer, and Partner Center's own
#: latency (~0.3 to 1.5 s a call) is what the pool hides.
POOL: Final = 4

# Reason codes of rows refused before or beside validate (Partner Center's own codes are numbers).
OPEN_REQUEST: Final = "OpenRequest"
NOT_ACTIVE: Final = "NotActive"
TRIAL: Final = "Trial"
PROMOTION: Final = "PromotionPresent"
CUSTOMER_UNREADABLE: Final = "CustomerNotFound"
SCHEDULE_NOT_FOUND: Final = "ScheduleNotFound"
SCHEDULE_NOT_OPEN: Final = "ScheduleNotCancellable"

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class PlanProgress:
    """Where planning is: ``stage`` ``listing`` (customers listed of ``total``) or ``validating`` (migrations
    validated of ``total``); ``subscriptions``: rows found so far."""

    stage: str
    done: int
    total: int
    subscriptions: int = 0
    per_customer: tuple[int, ...] = ()  # migrations to validate per customer (for the estimate)


Progress = Callable[[PlanProgress], None]


def _reason(code: object, description: str) -> str:
    return f"{code}: {description}" if code is not None and str(code) != "" else description


def _skip(row: PlannedSubscription, reason: str) -> SkippedRow:
    return SkippedRow(line=row.line, subscription_id=row.subscription_id,
                      customer_tenant_id=row.customer_tenant_id, reason=reason)


def _value(item: object) -> str:
    return str(getattr(item, "value", item) or "")


class Planner:
    """Builds and validates campaign plans against Partner Center. Thread-safe; one per process is enough."""

    def __init__(self, partner_center: PartnerCenterClient, session_factory: sessionmaker[Session], *,
                 pool: int = POOL, partner_tenant_id: str = "") -> None:
        self._pc = partner_center
        self._sessions = session_factory
        self._pool = max(1, pool)
        self._partner_tenant_id = partner_tenant_id

    # --- the pool ------------------------------------------------------------------------------------------
    def _map(self, fn: Callable[[T], R], items: Sequence[T], done: Callable[[int], None] | None = None) -> list[R]:
        """``fn`` over ``items`` on the pool, results in order; ``done(n)`` after each (n so far)."""
        count = itertools.count(1)
        lock = threading.Lock()

        def run(item: T) -> R:
            result = fn(item)
            if done is not None:
                with lock:
                    n = next(count)
                done(n)
            return result

        if len(items) <= 1 or self._pool == 1:
            return [run(item) for item in items]
        with ThreadPoolExecutor(max_workers=min(self._pool, len(items)), thread_name_prefix="ncebot-plan") as pool:
            return list(pool.map(run, items))

    @staticmethod
    def _read(what: str, call: Callable[[], T]) -> T:
        """A read whose failure stops the whole plan (Partner Center down, or ncebot not signed in)."""
        try:
            return call()
        except PartnerCenterUnavailable as exc:
            raise PartnerCenterProblem(refusals.pc_not_answering(what)) from exc
        except PartnerCenterAuthError as exc:
            raise PartnerCenterProblem(refusals.pc_sign_in_failed(what, exc)) from exc

    def customer_names(self, customer_ids: Iterable[str], known: Mapping[str, str] | None = None) -> dict[str, str]:
        """Each customer's name, read ONCE per customer (those in ``known`` not at all); ``""`` when it cannot be
        read (refused: 403/404)."""
        known = {k.lower(): v for k, v in (known or {}).items()}
        wanted = [c for c in dict.fromkeys(c.lower() for c in customer_ids) if not known.get(c)]

        def name(customer_id: str) -> str:
            try:
                return self._read("reading a customer", lambda: self._pc.get_customer(customer_id).display_name)
            except PartnerCenterError:
                return ""

        return {**known, **dict(zip(wanted, self._map(name, wanted), strict=True))}

    # --- /nce bulk <customer> and /nce bulk all -----------------------------------------------------------------
    @staticmethod
    def check_bulk_options(options: ChangeOptions) -> None:
        if options.target_date or options.on_renewal:
            raise InvalidInput(refusals.BULK_MIGRATES_NOW, field="date")
        if options.addons not in ("all", "none"):
            raise InvalidInput(refusals.BULK_ADDONS, field="addons")
        if options.quantity is not None:
            # One seat count for every subscription of a customer is never what was meant.
            raise InvalidInput(refusals.BULK_KEEPS_SEATS, field="quantity")

    def plan_customers(self, customer_ids: Sequence[str], options: ChangeOptions, progress: Progress | None = None,
                       *, names: Mapping[str, str] | None = None) -> tuple[BamPlan, list[SkippedRow]]:
        """Every active legacy base subscription of the customers (add-ons with their base, per ``addons``), with
        the command's options, validated. ``names``: customer names already known (``/nce bulk all`` has them
        from the customer list), so only the others are read."""
        self.check_bulk_options(options)
        customers = list(dict.fromkeys(c.strip().lower() for c in customer_ids))
        found_names = self.customer_names(customers, names)
        rows_so_far = itertools.count(1)
        listed_rows = [0]

        def listed(n: int) -> None:
            if progress is not None:
                progress(PlanProgress("listing", n, len(customers), listed_rows[0]))

        def collect(customer_id: str) -> tuple[list[PlannedMigration], list[SkippedRow]]:
            try:
                subs = self._read("listing subscriptions", lambda: self._pc.list_subscriptions(customer_id))
            except PartnerCenterError as exc:
                if len(customers) == 1:
                    raise
                # One customer Partner Center will not list must not sink a campaign of every customer.
                return [], [SkippedRow(line=0, subscription_id="", customer_tenant_id=customer_id,
                                       reason=_reason(exc.code, eligibility.plan_not_listed(exc.description)))]
            made = self._migrations_of(customer_id, found_names.get(customer_id, ""), subs)
            listed_rows[0] += sum(len(m.rows) for m in made[0]) + len(made[1])
            return made

        migrations: list[PlannedMigration] = []
        skipped: list[SkippedRow] = []
        for made, refused in self._map(collect, customers, listed):
            migrations.extend(made)
            skipped.extend(refused)
        numbered: list[PlannedMigration] = []
        for m in migrations:  # a bulk has no file: rows are numbered as in its plan CSV (header = line 1)
            base = m.base.model_copy(update={"line": next(rows_so_far) + 1})
            add_ons = tuple(a.model_copy(update={"line": next(rows_so_far) + 1}) for a in m.add_ons)
            numbered.append(m.model_copy(update={"base": base, "add_ons": add_ons}))
        plan = with_options(BamPlan(kind=BamKind.MIGRATE, migrations=tuple(numbered),
                                    data_rows=sum(len(m.rows) for m in numbered)), options)
        checked, ineligible = self.validate_plan(plan, progress, names=found_names)
        return checked, skipped + ineligible

    def _migrations_of(self, customer_id: str, customer_name: str, subs: Sequence[Subscription],
                       ) -> tuple[list[PlannedMigration], list[SkippedRow]]:
        _legacy, children, roots = legacy_tree(subs)
        roots = [r for r in roots if not r.parent_subscription_id]  # an orphan add-on (base gone or NCE): left out

        def row(sub: Subscription, base: Subscription | None) -> PlannedSubscription:
            return PlannedSubscription(
                line=0, customer_tenant_id=customer_id, subscription_id=sub.id.lower(), customer_name=customer_name,
                partner_tenant_id=self._partner_tenant_id, indirect_reseller_mpn_id=sub.partner_id or "",
                subscription_name=sub.name, product_name=sub.offer_name or "",
                expiration_date=None, auto_renew=sub.auto_renew_enabled, current_term=_value(sub.term_duration),
                current_billing=_value(sub.billing_cycle), current_seats=sub.quantity, is_addon=base is not None,
                base_subscription_id=base.id.lower() if base is not None else None,
            )

        def why_not(sub: Subscription) -> str | None:
            if sub.status is not None and sub.status != SubscriptionStatus.ACTIVE:
                return _reason(NOT_ACTIVE, eligibility.plan_not_active(_value(sub.status)))
            if sub.is_trial:
                return _reason(TRIAL, eligibility.PLAN_TRIAL)
            if sub.promotion_id:
                return _reason(PROMOTION, eligibility.plan_promotion(sub.promotion_id))
            return None

        migrations: list[PlannedMigration] = []
        skipped: list[SkippedRow] = []
        for base in sorted(roots, key=lambda s: (s.name.lower(), s.id)):
            reason = why_not(base)
            if reason is not None:
                skipped.append(_skip(row(base, None), reason))
                continue
            add_ons: list[PlannedSubscription] = []
            stack = [base]
            while stack:
                above = stack.pop()
                for child in sorted(children[above.id.lower()], key=lambda s: (s.name.lower(), s.id)):
                    if child.status in (None, SubscriptionStatus.ACTIVE):
                        add_ons.append(row(child, above))
                        stack.append(child)
            migrations.append(PlannedMigration(kind=BamKind.MIGRATE, base=row(base, None), add_ons=tuple(add_ons)))
        return migrations, skipped

    # --- every plan (imports too) -----------------------------------------------------------------------------
    def validate_plan(self, plan: BamPlan, progress: Progress | None = None, *,
                      names: Mapping[str, str] | None = None) -> tuple[BamPlan, list[SkippedRow]]:
        """The plan with only what Partner Center accepts, and the rows it (or an open request) refuses."""
        if plan.kind is BamKind.CANCEL:
            return self._check_cancels(plan, progress)
        found_names = self.customer_names(plan.customers, names)
        busy = self._open_requests(plan.customers)
        ineligible: list[SkippedRow] = []
        todo: list[PlannedMigration] = []
        for migration in plan.migrations:
            other = busy.get(migration.subscription_id.lower())
            if other is not None:
                reason = _reason(OPEN_REQUEST, eligibility.plan_in_open_request(other[0], other[1]))
                ineligible.extend(_skip(r, reason) for r in migration.rows)
            else:
                todo.append(migration)
        # Customers interleaved: the pool never waits on one customer's window while others could go on.
        by_customer: dict[str, list[PlannedMigration]] = defaultdict(list)
        for migration in todo:
            by_customer[migration.customer_tenant_id.lower()].append(migration)
        order = [m for group in itertools.zip_longest(*by_customer.values()) for m in group if m is not None]

        def done(n: int) -> None:
            if progress is not None:
                progress(PlanProgress("validating", n, len(order), plan.subscriptions))

        if progress is not None:
            progress(PlanProgress("validating", 0, len(order), plan.subscriptions,
                                  tuple(len(group) for group in by_customer.values())))
        answers = self._map(lambda m: self._validate_one(m, found_names), order, done)
        accepted: dict[int, PlannedMigration] = {}
        for migration, (kept, refused) in zip(order, answers, strict=True):
            if kept is not None:
                accepted[id(migration)] = kept
            ineligible.extend(refused)
        migrations = tuple(accepted[id(m)] for m in todo if id(m) in accepted)  # the plan's own order
        return (plan.model_copy(update={"migrations": migrations}),
                sorted(ineligible, key=lambda s: (s.line, s.subscription_id)))

    def _open_requests(self, customers: Sequence[str]) -> dict[str, tuple[str, str]]:
        """Subscriptions already in a pending or approved request (storage's one rule for it)."""
        with self._sessions() as session:
            return undecided_targets(session, customers)

    def _validate_one(self, migration: PlannedMigration, names: Mapping[str, str],
                      ) -> tuple[PlannedMigration | None, list[SkippedRow]]:
        customer_id = migration.customer_tenant_id
        name = names.get(customer_id.lower(), "")
        body = migration.migration_request("").model_copy(update={"external_reference_id": None})
        try:
            answer = self._read("validation", lambda: self._pc.validate_migration(customer_id, body))
        except PartnerCenterError as exc:  # refused (4xx): this migration's rows, with Partner Center's words
            reason = _reason(exc.code, exc.description)
            return None, [_skip(r, reason) for r in migration.rows]
        flat = answer.flat_add_ons()
        base_errors = [_reason(e.code, e.description) for e in answer.errors]
        ok = answer.is_eligible and not base_errors and all(
            a.is_eligible and not a.errors for a in flat.values())
        if not ok:
            refused: list[SkippedRow] = []
            for r in migration.rows:
                own = flat.get(r.subscription_id.lower()) if r.is_addon else answer
                reasons = [_reason(e.code, e.description) for e in (own.errors if own is not None else [])]
                if not reasons:
                    reasons = base_errors or [eligibility.PLAN_BUNDLE_NOT_ELIGIBLE]
                refused.append(_skip(r, "; ".join(reasons)))
            return None, refused

        def filled(r: PlannedSubscription, item: MigrationValidation | None) -> PlannedSubscription:
            update: dict[str, object] = {"customer_name": r.customer_name or name}
            if item is not None and item.catalog_item_id:
                update["catalog_item_id"] = item.catalog_item_id
            return r.model_copy(update=update)

        return migration.model_copy(update={
            "base": filled(migration.base, answer),
            "add_ons": tuple(filled(a, flat.get(a.subscription_id.lower())) for a in migration.add_ons),
        }), []

    def _check_cancels(self, plan: BamPlan, progress: Progress | None) -> tuple[BamPlan, list[SkippedRow]]:
        """A cancel file: each schedule must exist, for that customer, and still be open (one paged list of the
        customer's schedules; nothing to validate)."""
        by_customer: dict[str, list[PlannedCancel]] = defaultdict(list)
        for cancel in plan.cancels:
            by_customer[cancel.customer_tenant_id.lower()].append(cancel)
        customers = list(by_customer)

        def done(n: int) -> None:
            if progress is not None:
                progress(PlanProgress("validating", n, len(customers), len(plan.cancels)))

        def schedules(customer_id: str) -> dict[str, str] | str:
            try:
                found = self._read("listing schedules", lambda: self._pc.list_schedules(customer_id=customer_id))
            except PartnerCenterError as exc:
                return _reason(exc.code, exc.description)
            return {(s.id or "").lower(): _value(s.status) for s in found if s.id}

        listed = dict(zip(customers, self._map(schedules, customers, done), strict=True))
        kept: list[PlannedCancel] = []
        refused: list[SkippedRow] = []
        for cancel in plan.cancels:
            known = listed[cancel.customer_tenant_id.lower()]
            status = known.get(cancel.schedule_id.lower()) if isinstance(known, dict) else None

            def refuse(reason: str, cancel: PlannedCancel = cancel) -> None:
                refused.append(SkippedRow(line=cancel.line, subscription_id=cancel.subscription_id,
                                          customer_tenant_id=cancel.customer_tenant_id, reason=reason))

            if isinstance(known, str):
                refuse(known)
            elif status is None:
                refuse(_reason(SCHEDULE_NOT_FOUND, eligibility.plan_no_schedule(cancel.customer_tenant_id,
                                                                                cancel.schedule_id)))
            elif status.lower() != ScheduleStatus.CREATED.value.lower():
                refuse(_reason(SCHEDULE_NOT_OPEN, eligibility.plan_schedule_not_open(cancel.schedule_id, status)))
            else:
                kept.append(cancel)
        return plan.model_copy(update={"cancels": tuple(kept)}), refused
