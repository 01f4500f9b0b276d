"""BAM's files out: a campaign's plan (BAM's input layouts) and its results (``output/migrations`` and
``output/schedulemigrations``), byte-compatible headers, written by the one CSV writer (SPEC §8.5, §8.6).

Results: one row per subscription including add-ons; ``BatchId`` is the campaign's ``externalReferenceId``;
an add-on's row carries its base's ``MigrationId`` and its own ``NCESubscriptionId`` (as BAM's status export does).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.bam import formats
from bot.bam.models import BamKind, BamPlan, PlannedMigration, PlannedSubscription
from bot.bam.values import BILLING_NAMES
from bot.csv_files import write_csv
from bot.partner_center.models import BillingCycle, Migration, MigrationSchedule, TermDuration


class Outcome(BaseModel):
    """What became of one subscription of a campaign; empty fields are written as empty cells.

    ``status``: BAM's ``MigrationStatus`` / ``MigrationScheduleStatus`` (``Processing``, ``Completed``, ``Failed``,
    ``Created``, ``Cancelled``, ``NotSent``…). ``term``/``billing``/``quantity`` override the planned values with
    what Partner Center reported."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: str = ""
    migration_id: str = ""
    schedule_id: str = ""
    nce_subscription_id: str = ""
    error_code: int | str | None = None
    error_reason: str = ""
    term: TermDuration | None = None
    billing: BillingCycle | None = None
    quantity: int | None = None


def _enum(value: object, kind: type[TermDuration] | type[BillingCycle]) -> Any:
    """A tolerant model value (enum member or unknown text) as the enum, else ``None``."""
    return value if isinstance(value, kind) else None


def migration_outcomes(migration: Migration) -> dict[str, Outcome]:
    """What one Partner Center migration says of its subscriptions, by lower-case id: as BAM's status export, an
    add-on carries its base's status and ``MigrationId`` and its own ``NCESubscriptionId``."""
    status = str(getattr(migration.status, "value", migration.status) or "")

    def outcome(item: Migration) -> Outcome:
        return Outcome(
            status=status, migration_id=migration.id or "", nce_subscription_id=item.new_commerce_subscription_id or "",
            error_code=migration.error_code, error_reason=migration.error_description or "",
            term=_enum(item.term_duration, TermDuration), billing=_enum(item.billing_cycle, BillingCycle),
            quantity=item.quantity,
        )

    items = [migration, *migration.add_on_migrations]
    return {item.current_subscription_id.lower(): outcome(item) for item in items if item.current_subscription_id}


def schedule_outcomes(schedule: MigrationSchedule) -> dict[str, Outcome]:
    """The same for a migration schedule (``MigrationScheduleStatus``, ``MigrationScheduleId``)."""
    status = str(getattr(schedule.status, "value", schedule.status) or "")
    items = [schedule, *schedule.add_on_migration_schedules]
    return {
        item.current_subscription_id.lower(): Outcome(
            status=status, schedule_id=schedule.id or "", error_code=schedule.error_code,
            error_reason=schedule.error_description or "", term=_enum(item.term_duration, TermDuration),
            billing=_enum(item.billing_cycle, BillingCycle), quantity=item.quantity,
        )
        for item in items
        if item.current_subscription_id
    }


def refused_outcomes(migration: PlannedMigration, code: int | str | None, description: str) -> dict[str, Outcome]:
    """A call Partner Center refused: every row of it keeps ``ErrorCode``/``ErrorReason`` and no status (BAM)."""
    return {r.subscription_id: Outcome(error_code=code, error_reason=description) for r in migration.rows}


def not_sent_outcomes(migration: PlannedMigration) -> dict[str, Outcome]:
    """A stopped campaign's unsent call: ``MigrationStatus`` ``NotSent`` on every row (SPEC §8.4)."""
    return {r.subscription_id: Outcome(status=formats.NOT_SENT) for r in migration.rows}


def _billing(cycle: BillingCycle | None, fallback: str = "") -> str:
    return BILLING_NAMES.get(cycle, cycle.value) if cycle is not None else fallback


def _nce(row: PlannedSubscription, outcome: Outcome) -> tuple[str, str, int | None]:
    """Term, billing plan and seats of the NCE subscription: reported, else planned, else kept from legacy."""
    term = outcome.term or row.term
    billing = outcome.billing or row.billing
    seats = outcome.quantity if outcome.quantity is not None else row.quantity
    return (
        term.value if term else row.current_term,
        _billing(billing, row.current_billing),
        seats if seats is not None else row.current_seats,
    )


def _migration_row(row: PlannedSubscription, outcome: Outcome, batch_id: str) -> list[Any]:
    term, billing, seats = _nce(row, outcome)
    return [
        row.partner_tenant_id, row.indirect_reseller_mpn_id, row.customer_name, row.customer_tenant_id,
        row.subscription_id, row.subscription_name, row.product_name, row.expiration_date, row.is_addon,
        row.base_subscription_id, outcome.status, row.start_new_term, term, billing, seats,
        row.custom_term_end_date, outcome.error_code, outcome.error_reason, outcome.nce_subscription_id,
        batch_id, outcome.migration_id,
    ]


def _schedule_row(migration: PlannedMigration, row: PlannedSubscription, outcome: Outcome, batch_id: str) -> list[Any]:
    term, billing, seats = _nce(row, outcome)
    return [
        row.partner_tenant_id, row.indirect_reseller_mpn_id, row.customer_name, row.customer_tenant_id,
        row.subscription_id, row.subscription_name, row.product_name, row.expiration_date, row.is_addon,
        row.start_new_term, term, billing, seats, row.custom_term_end_date,
        migration.target_date, migration.on_renewal, outcome.status, outcome.schedule_id, batch_id,
        outcome.error_code, outcome.error_reason,
    ]


def results_csv(
    migrations: Iterable[PlannedMigration], outcomes: Mapping[str, Outcome], batch_id: str, *,
    kind: BamKind = BamKind.MIGRATE,
) -> str:
    """BAM's ``output/migrations`` file (``kind`` schedule: ``output/schedulemigrations``), one row per
    subscription in plan order; ``outcomes`` by lower-case subscription id (missing: empty status)."""
    empty = Outcome()
    if kind is BamKind.SCHEDULE:
        return write_csv(formats.OUTPUT_SCHEDULE_MIGRATIONS, (
            _schedule_row(m, r, outcomes.get(r.subscription_id, empty), batch_id) for m in migrations for r in m.rows
        ))
    if kind is BamKind.MIGRATE:
        return write_csv(formats.OUTPUT_MIGRATIONS, (
            _migration_row(r, outcomes.get(r.subscription_id, empty), batch_id) for m in migrations for r in m.rows
        ))
    raise ValueError("cancels have no results layout of their own: use plan_csv with their outcomes")


def plan_csv(plan: BamPlan) -> str:
    """The plan in the layout of the BAM file it came from (the full plan attached to the request, SPEC §8.2);
    reading it back gives the same plan. Skipped rows are left out: the file says what will be done."""
    if plan.kind is BamKind.CANCEL:
        return write_csv(formats.SCHEDULE_MIGRATIONS, (
            [c.schedule_id, c.subscription_id, "Cancel", c.customer_tenant_id, c.catalog_item_id, None, c.quantity,
             c.term.value if c.term else "", _billing(c.billing), None, None, c.target_date, c.on_renewal, None, None,
             c.external_reference_id, None, None, None]
            for c in plan.cancels
        ))
    schedule = plan.kind is BamKind.SCHEDULE
    header = formats.SUBSCRIPTIONS_FOR_SCHEDULE if schedule else formats.SUBSCRIPTIONS
    rows: list[list[Any]] = []
    for migration in plan.migrations:
        for row in migration.rows:
            values: dict[str, Any] = {
                "PartnerTenantId": row.partner_tenant_id, "IndirectResellerMpnId": row.indirect_reseller_mpn_id,
                "CustomerName": row.customer_name, "CustomerTenantId": row.customer_tenant_id,
                "LegacySubscriptionId": row.subscription_id, "LegacySubscriptionName": row.subscription_name,
                "LegacyProductName": row.product_name, "ExpirationDate": row.expiration_date,
                "AutoRenewEnabled": row.auto_renew, "MigrationEligible": True, "NcePsa": row.catalog_item_id,
                "CurrentTerm": row.current_term, "CurrentBillingPlan": row.current_billing,
                "CurrentSeatCount": row.current_seats, "StartNewTermInNce": row.start_new_term,
                "Term": row.term.value if row.term else "", "BillingPlan": _billing(row.billing),
                "SeatCount": row.quantity, "CustomTermEndDate": row.custom_term_end_date, "AddOn": row.is_addon,
                "BaseSubscriptionId": row.base_subscription_id, "MigrationIneligibilityReason": "",
                "TargetDate": None if row.is_addon else migration.target_date,
                "MigrateOnRenewal": None if row.is_addon else migration.on_renewal,
            }
            rows.append([values[name] for name in header])
    return write_csv(header, rows)
