"""A bulk campaign's plan from ``/nce check`` reports: BAM's export → (edit) → import loop without the edit.

The check CSV is BAM's ``subscriptions.csv`` (plus ncebot's columns), so the plan of ``/nce bulk`` is exactly what
``/nce import`` of that CSV gives: the same reader decides which rows go (eligible ones, add-ons with their base).
Its own module (not in ``bot.bam``, which ``bot.reports`` imports) so the two packages never import each other.
Command options then apply as in a single migration: the base takes the term, billing plan and seats asked for;
add-ons keep their own and follow the base's new term start or end date.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.bam.models import BamKind, BamPlan, PlannedMigration, PlannedSubscription
from bot.bam.reader import read_bam
from bot.bam.values import parse_billing, parse_term
from bot.csv_files import write_csv
from bot.domain import ChangeOptions
from bot.reports import CHECK_COLUMNS, CheckReport


def plan_from_check(reports: Iterable[CheckReport], options: ChangeOptions | None = None) -> BamPlan:
    """Every eligible base subscription of the reports, with its eligible add-ons, as one migrate-now plan."""
    rows = [row for report in reports for row in report.csv_rows()]
    plan = read_bam(write_csv(CHECK_COLUMNS, rows))
    return with_options(plan, options) if options is not None else plan


def with_options(plan: BamPlan, options: ChangeOptions) -> BamPlan:
    """The plan with a command's options applied to every base (``addons=none``: bases alone)."""
    if plan.kind is not BamKind.MIGRATE:
        raise ValueError("options apply to a migrate-now plan")
    return plan.model_copy(update={"migrations": tuple(_apply(m, options) for m in plan.migrations)})


def _apply(migration: PlannedMigration, options: ChangeOptions) -> PlannedMigration:
    def timing(row: PlannedSubscription) -> dict[str, object]:
        if options.full_term:
            return {"start_new_term": True, "custom_term_end_date": None}
        if options.end_date is not None:
            return {"start_new_term": False, "custom_term_end_date": options.end_date}
        return {}

    base_update = timing(migration.base)
    if options.term:
        base_update["term"] = parse_term(options.term)
    if options.billing:
        base_update["billing"] = parse_billing(options.billing)
    if options.quantity is not None:
        base_update["quantity"] = options.quantity
    if options.addons == "none":
        add_ons: tuple[PlannedSubscription, ...] = ()
    elif isinstance(options.addons, tuple):
        wanted = {a.lower() for a in options.addons}
        add_ons = tuple(a for a in migration.add_ons if a.subscription_id in wanted)
    else:
        add_ons = migration.add_ons
    return migration.model_copy(update={
        "base": migration.base.model_copy(update=base_update),
        "add_ons": tuple(a.model_copy(update=timing(a)) for a in add_ons),
    })
