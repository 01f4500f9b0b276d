"""What a BAM file asks for, as typed, frozen values: the plan a campaign executes.

A :class:`PlannedMigration` is one Partner Center call (a create or a schedule): a base subscription and the flat
list of its add-ons (add-ons of add-ons too, as Partner Center's ``addOnMigrations`` wants them). Each row keeps
its own term, billing plan, seats and end date, as in BAM. Terms and billing cycles are the Partner Center
client's enums; :meth:`PlannedMigration.options` gives the workflow's :class:`~bot.domain.ChangeOptions`.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.csv_files import write_csv
from bot.domain import ChangeOptions, InvalidInput
from bot.partner_center.models import (
    AddOnMigration,
    AddOnMigrationSchedule,
    BillingCycle,
    MigrationRequest,
    MigrationScheduleRequest,
    TermDuration,
)


class BamKind(StrEnum):
    """The three BAM files ncebot reads, named after BAM's own file names."""

    MIGRATE = "subscriptions"  # migrate now (rows with MigrationEligible=True)
    SCHEDULE = "subscriptionsforschedule"  # schedule (TargetDate or MigrateOnRenewal)
    CANCEL = "schedulemigrations"  # cancel the schedules of rows with Status=Cancel

    @property
    def filename(self) -> str:
        return f"{self.value}.csv"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BamProblem(_Frozen):
    """One bad cell (or row, ``column=None``; or the header, ``line=1``) of a refused file."""

    line: int
    column: str | None
    message: str

    def __str__(self) -> str:
        return f"line {self.line}" + (f", {self.column}" if self.column else "") + f": {self.message}"


class BamFileError(InvalidInput):
    """The file is refused as a whole: nothing of it is used. ``problems`` names every bad line and column; the
    message lists the first :attr:`SHOWN` of them (a chat message has a size limit; :meth:`problems_csv` has all)."""

    SHOWN = 50

    def __init__(self, problems: list[BamProblem] | tuple[BamProblem, ...], *, summary: str | None = None) -> None:
        self.problems = tuple(problems)
        lines = sorted({p.line for p in self.problems})
        head = summary or (
            f"The file was not imported: {len(self.problems):,} problem(s) on {len(lines):,} line(s); "
            "nothing was stored. Fix them and upload it again."
        )
        listed = [f"• {p}" for p in self.problems[: self.SHOWN]]
        if len(self.problems) > self.SHOWN:
            listed.append(f"…and {len(self.problems) - self.SHOWN:,} more (every one is in the problems file)")
        super().__init__("\n".join([head, *listed]), field="file")

    def problems_csv(self) -> str:
        """Every problem as a CSV file (Line, Column, Problem), to post beside the short message."""
        return write_csv(("Line", "Column", "Problem"), ((p.line, p.column, p.message) for p in self.problems))

    @property
    def lines(self) -> tuple[int, ...]:
        return tuple(sorted({p.line for p in self.problems}))


class PlannedSubscription(_Frozen):
    """One row of a migrate or schedule file: a base subscription or an add-on, with what it becomes."""

    line: int
    customer_tenant_id: str
    subscription_id: str
    customer_name: str = ""
    partner_tenant_id: str = ""
    indirect_reseller_mpn_id: str = ""
    subscription_name: str = ""
    product_name: str = ""
    expiration_date: datetime | None = None
    auto_renew: bool | None = None
    catalog_item_id: str = ""  # BAM's NcePsa: the NCE product validate named
    current_term: str = ""
    current_billing: str = ""
    current_seats: int | None = None
    is_addon: bool = False
    base_subscription_id: str | None = None  # the row's parent (a base, or an add-on for nested add-ons)
    term: TermDuration | None = None  # None: keep the legacy term (Partner Center's default)
    billing: BillingCycle | None = None
    quantity: int | None = None
    start_new_term: bool = False  # purchaseFullTerm
    custom_term_end_date: date | None = None


class PlannedMigration(_Frozen):
    """One create (``kind`` migrate) or one schedule: a base with its add-ons, flat."""

    kind: BamKind
    base: PlannedSubscription
    add_ons: tuple[PlannedSubscription, ...] = ()
    target_date: date | None = None  # schedules
    on_renewal: bool = False  # schedules

    @property
    def customer_tenant_id(self) -> str:
        return self.base.customer_tenant_id

    @property
    def subscription_id(self) -> str:
        return self.base.subscription_id

    @property
    def rows(self) -> tuple[PlannedSubscription, ...]:
        """The base, then its add-ons: one results row each."""
        return (self.base, *self.add_ons)

    def options(self) -> ChangeOptions:
        """The base's choices in the workflow's terms (add-ons keep theirs in :meth:`migration_request`)."""
        base = self.base
        return ChangeOptions(
            term=base.term.value if base.term else None,
            billing=base.billing.value if base.billing else None,
            quantity=base.quantity,
            full_term=base.start_new_term,
            end_date=base.custom_term_end_date,
            addons=tuple(a.subscription_id for a in self.add_ons) if self.add_ons else "none",
            target_date=self.target_date,
            on_renewal=self.on_renewal,
        )

    def migration_request(self, external_reference_id: str) -> MigrationRequest:
        """The body of ``POST /v1/customers/{c}/migrations/newcommerce`` that BAM would send for these rows."""
        return MigrationRequest(
            **_terms(self.base), external_reference_id=external_reference_id,
            add_on_migrations=[AddOnMigration(**_terms(a)) for a in self.add_ons] or None,
        )

    def schedule_request(self, external_reference_id: str) -> MigrationScheduleRequest:
        """The body of ``POST /v1/customers/{c}/migrations/newcommerce/schedules`` for these rows."""
        return MigrationScheduleRequest(
            **_terms(self.base), **MigrationScheduleRequest.timing(_midnight(self.target_date), self.on_renewal),
            external_reference_id=external_reference_id,
            add_on_migration_schedules=[AddOnMigrationSchedule(**_terms(a)) for a in self.add_ons] or None,
        )


class PlannedCancel(_Frozen):
    """A row of ``schedulemigrations.csv`` with ``Status=Cancel``: cancel that schedule."""

    line: int
    schedule_id: str
    customer_tenant_id: str
    subscription_id: str
    catalog_item_id: str = ""
    quantity: int | None = None
    term: TermDuration | None = None
    billing: BillingCycle | None = None
    target_date: date | None = None
    on_renewal: bool = False
    external_reference_id: str = ""


class SkippedRow(_Frozen):
    """A row the file carries but does not ask to act on (BAM skips it too), with why."""

    line: int
    subscription_id: str
    customer_tenant_id: str
    reason: str


class BamPlan(_Frozen):
    """Everything a BAM file asks for. Exactly one of ``migrations`` / ``cancels`` is used, by ``kind``."""

    kind: BamKind
    migrations: tuple[PlannedMigration, ...] = ()
    cancels: tuple[PlannedCancel, ...] = ()
    skipped: tuple[SkippedRow, ...] = ()
    data_rows: int = 0
    delimiter: str = ","

    @property
    def operations(self) -> int:
        """Partner Center calls the plan makes (creates, schedules or cancels)."""
        return len(self.cancels) if self.kind is BamKind.CANCEL else len(self.migrations)

    @property
    def subscriptions(self) -> int:
        """Subscriptions moved, add-ons included (one results row each)."""
        if self.kind is BamKind.CANCEL:
            return len(self.cancels)
        return sum(len(m.rows) for m in self.migrations)

    @property
    def customers(self) -> tuple[str, ...]:
        ids = (c.customer_tenant_id for c in self.cancels) if self.kind is BamKind.CANCEL else (
            m.customer_tenant_id for m in self.migrations
        )
        return tuple(dict.fromkeys(ids))

    @property
    def seats(self) -> int:
        """Seats of the planned rows (the new quantity, else the current one)."""
        return sum(
            (r.quantity if r.quantity is not None else r.current_seats or 0) for m in self.migrations for r in m.rows
        )

    @property
    def terms(self) -> Counter[str]:
        """Rows per target term (``keep`` when the row keeps its legacy term)."""
        return Counter((r.term.value if r.term else "keep") for m in self.migrations for r in m.rows)


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" + ("" if count == 1 else "s")


def headline(plan: BamPlan) -> str:
    """What approving the plan does, in one line (the request's title and its Approve confirmation):
    ``Migrate 515 subscriptions of 37 customers``."""
    customers = _plural(len(plan.customers), "customer")
    if plan.kind is BamKind.CANCEL:
        return f"Cancel {_plural(len(plan.cancels), 'scheduled migration')} of {customers}"
    verb = "Schedule the migration of" if plan.kind is BamKind.SCHEDULE else "Migrate"
    return f"{verb} {_plural(plan.subscriptions, 'subscription')} of {customers}"


def at_a_glance(plan: BamPlan) -> str:
    """Counts, seats and terms (SPEC §8.2): ``400 base subscriptions + 115 add-ons · 4,210 seats · terms: P1Y 480,
    P1M 35 · 12 rows skipped``."""
    if plan.kind is BamKind.CANCEL:
        parts = [_plural(len(plan.cancels), "schedule")]
    else:
        addons = plan.subscriptions - len(plan.migrations)
        terms = ", ".join(f"{term} {count:,}" for term, count in plan.terms.most_common())
        parts = [f"{_plural(len(plan.migrations), 'base subscription')} + {_plural(addons, 'add-on')}",
                 f"{_plural(plan.seats, 'seat')}", f"terms: {terms or 'none'}"]
        on_renewal = sum(1 for m in plan.migrations if m.on_renewal)
        if plan.kind is BamKind.SCHEDULE:
            dated = [m.target_date for m in plan.migrations if m.target_date]
            when = [f"{on_renewal:,} at renewal"] if on_renewal else []
            if dated:
                when.append(f"{len(dated):,} dated {min(dated).isoformat()} to {max(dated).isoformat()}")
            parts.append(", ".join(when))
    if plan.skipped:
        parts.append(f"{_plural(len(plan.skipped), 'row')} skipped")
    return " · ".join(parts)


def _midnight(day: date | None) -> datetime | None:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) if day else None


def _terms(row: PlannedSubscription) -> dict[str, Any]:
    """One row's subscription and NCE terms as body fields (the base's and each add-on's alike, as BAM sends them)."""
    return {"current_subscription_id": row.subscription_id, "term_duration": row.term, "billing_cycle": row.billing,
            "quantity": row.quantity, "purchase_full_term": True if row.start_new_term else None,
            "custom_term_end_date": _midnight(row.custom_term_end_date)}
