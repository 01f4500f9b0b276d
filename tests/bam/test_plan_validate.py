"""Campaign plans validated with Partner Center (the sandbox): per-row choices in the validate bodies, the
customer's name read once per customer, refused rows with Partner Center's reasons, cancel files checked against
the customer's schedules, rows already in an open request refused; and the §9 estimate rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.bam import BamKind, read_bam
from bot.bam import formats as bam_formats
from bot.csv_files import write_csv
from bot.domain import ChangeOptions, InvalidInput, RequestKind
from bot.estimates import ValidateLimit, about, validation_estimate
from bot.intake.planning import OPEN_REQUEST, SCHEDULE_NOT_FOUND, Planner, PlanProgress
from bot.partner_center.models import MigrationScheduleRequest
from sandbox import journal, known

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

AW = known.ADVENTURE_WORKS
NO_PRODUCT = known.INELIGIBLE_BY_CODE[5][1]  # code 5: NewCommerceProductUnavailable
AW_ELIGIBLE = known.INELIGIBLE_BY_CODE[11][1]  # eligible as is (see the reports tests)


def bam_rows(*rows: dict[str, Any]) -> str:
    """A subscriptions.csv in today's layout with these cells (the others empty)."""
    header = bam_formats.SUBSCRIPTIONS
    return write_csv(header, ([row.get(name) for name in header] for row in rows))


def row(customer: str, sub: str, **cells: Any) -> dict[str, Any]:
    return {"CustomerTenantId": customer, "LegacySubscriptionId": sub, "MigrationEligible": True,
            "StartNewTermInNce": False, "AddOn": False, **cells}


@pytest.fixture
def planner(sandbox: Any, pc_client: Any, session_factory: Any) -> Planner:
    journal.clear(sandbox.state)
    return Planner(pc_client, session_factory, partner_tenant_id=known.TENANT_ID)


@SQLITE
def test_import_rows_are_validated_with_their_own_choices_and_names_are_read_once(
        planner: Planner, sandbox: Any) -> None:
    text = (known.BAM_EXAMPLES / "subscriptions.csv").read_text(encoding="utf-8-sig")
    extra = bam_rows(row(AW, AW_ELIGIBLE, Term="P1Y", BillingPlan="Monthly", SeatCount=7),
                     row(AW, NO_PRODUCT, Term="P1Y", BillingPlan="Monthly"))
    plan = read_bam(text + extra.split("\r\n", 1)[1].removeprefix("\ufeff"))
    assert len(plan.customers) == 2
    seen: list[PlanProgress] = []
    checked, refused = planner.validate_plan(plan, seen.append)

    bodies = {e.body["currentsubscriptionid"]: e.body for e in journal.entries(sandbox.state, "validate")}
    assert len(bodies) == len(plan.migrations) == len(journal.entries(sandbox.state, "validate"))
    e3 = bodies[known.ELIGIBLE_BASE]  # the file's row: P3Y triennial, 40 seats; its add-ons P1Y monthly 40 and 8
    assert (e3["termduration"], e3["billingcycle"].lower(), e3["quantity"]) == ("P3Y", "triennial", 40)
    assert {(a["currentsubscriptionid"], a["termduration"], a["quantity"]) for a in e3["addonmigrations"]} == {
        (known.ELIGIBLE_BASE_ADDONS[0], "P1Y", 40), (known.ELIGIBLE_BASE_ADDONS[1], "P1Y", 8)}
    nested = bodies[known.NESTED_BASE]  # add-ons of add-ons go flat
    assert {a["currentsubscriptionid"] for a in nested["addonmigrations"]} == set(known.NESTED_BASE_ADDONS)
    assert (bodies[AW_ELIGIBLE]["quantity"], bodies[known.ELIGIBLE_SIMPLE]["billingcycle"].lower()) == (7, "annual")
    # one GET of each customer, whatever the number of its rows
    assert sorted(e.params["customer"] for e in journal.entries(sandbox.state, "get_customer")) == sorted(
        [known.CONTOSO, AW])

    assert {m.subscription_id for m in checked.migrations} | {r.subscription_id for r in refused} >= {
        m.subscription_id for m in plan.migrations}
    no_product = next(r for r in refused if r.subscription_id == NO_PRODUCT)
    assert no_product.reason.startswith("5: ") and no_product.line == 14  # the file's 11 rows, then AW_ELIGIBLE on 13
    kept = next(m for m in checked.migrations if m.subscription_id == AW_ELIGIBLE)
    assert kept.base.catalog_item_id and kept.base.customer_name == "Adventure Works Cycles"
    assert all(r.catalog_item_id for m in checked.migrations for r in m.rows)
    assert (seen[0].done, seen[0].total, sorted(seen[0].per_customer)) == (0, len(plan.migrations), [2, 4])
    assert seen[-1].done == seen[-1].total == len(plan.migrations)


@SQLITE
@pytest.mark.parametrize("example", ["subscriptions-2022.csv", "subscriptions-semicolon.csv",
                                     "subscriptionsforschedule.csv"])
def test_every_layout_becomes_a_validated_plan(planner: Planner, sandbox: Any, example: str) -> None:
    """The 2022 layout, `;` separators with a BOM (and German values), a schedule file: read, then validated row
    by row with the file's own choices (a schedule is validated as the migration it schedules)."""
    plan = read_bam((known.BAM_EXAMPLES / example).read_bytes())
    checked, refused = planner.validate_plan(plan)
    validated = journal.entries(sandbox.state, "validate")
    assert len(validated) == len(plan.migrations) > 0
    for migration in plan.migrations:
        body = next(e.body for e in validated if e.body["currentsubscriptionid"] == migration.subscription_id)
        if migration.base.term is not None:
            assert body["termduration"] == migration.base.term.value
        if migration.base.quantity is not None:
            assert body["quantity"] == migration.base.quantity
    assert checked.kind is plan.kind
    assert len(checked.migrations) + len({r.subscription_id for r in refused}) >= len(plan.migrations)
    assert all(m.target_date or m.on_renewal for m in checked.migrations) or plan.kind is BamKind.MIGRATE


@SQLITE
def test_bulk_of_customers_lists_once_and_refuses_what_partner_center_refuses(planner: Planner, sandbox: Any) -> None:
    stages: list[PlanProgress] = []
    plan, refused = planner.plan_customers([AW, known.CONTOSO], ChangeOptions(term="P1Y"), stages.append)
    assert plan.kind is BamKind.MIGRATE and set(plan.customers) <= {AW, known.CONTOSO}
    assert all(m.base.term is not None and m.base.term.value == "P1Y" for m in plan.migrations)
    validated = journal.entries(sandbox.state, "validate")
    assert all(e.body["termduration"] == "P1Y" for e in validated)
    assert len(validated) == len(plan.migrations) + sum(1 for r in refused if r.reason[0].isdigit()
                                                        and not _is_addon(r, sandbox))
    # one name read per customer; the subscriptions listed once each (one paged list: 25 per page here)
    assert len(journal.entries(sandbox.state, "get_customer")) == 2
    listed = [e.params["customer"] for e in journal.entries(sandbox.state, "list_subscriptions")]
    assert listed.count(AW) == 1 and listed.count(known.CONTOSO) == 1
    # nothing per subscription but its validate (issue #11: 613 sequential calls for a 300-item bulk before)
    assert journal.entries(sandbox.state, "get_subscription") == []
    assert {e.name for e in journal.entries(sandbox.state)} == {
        "get_customer", "list_subscriptions", "validate"}
    reasons = {r.subscription_id: r.reason for r in refused}
    assert reasons[NO_PRODUCT].startswith("5: ")
    assert reasons[known.TRIAL_SUB].startswith("Trial: ")
    assert AW_ELIGIBLE in {m.subscription_id for m in plan.migrations}
    assert [s.stage for s in stages][:1] == ["listing"] and stages[-1].stage == "validating"
    with pytest.raises(InvalidInput) as wrong:
        planner.plan_customers([AW], ChangeOptions(quantity=3))
    assert wrong.value.field == "quantity"


def _is_addon(row: Any, sandbox: Any) -> bool:
    sub = sandbox.state.customers[row.customer_tenant_id].subs.get(row.subscription_id)
    return bool(sub is not None and sub.parent)


def test_rows_in_an_open_request_are_refused(planner: Planner, make_workflow: Any) -> None:
    workflow = make_workflow()
    open_request = workflow.request_change(kind=RequestKind.MIGRATE, requester="UREQ", customer_id=known.CONTOSO,
                                           subscription_id=known.ELIGIBLE_SIMPLE, options=ChangeOptions())
    plan = read_bam(bam_rows(row(known.CONTOSO, known.ELIGIBLE_SIMPLE), row(known.CONTOSO, known.ELIGIBLE_MONTHLY)))
    checked, refused = planner.validate_plan(plan)
    assert [m.subscription_id for m in checked.migrations] == [known.ELIGIBLE_MONTHLY]
    assert [(r.subscription_id, r.reason) for r in refused] == [
        (known.ELIGIBLE_SIMPLE, f"{OPEN_REQUEST}: already in open request {open_request.id} (migrate)")]


@SQLITE
def test_cancel_file_checks_the_schedules_without_validating(planner: Planner, pc_client: Any, sandbox: Any) -> None:
    target = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=20)
    schedule = pc_client.create_schedule(known.FABRIKAM, MigrationScheduleRequest(
        current_subscription_id=known.SCHEDULE_SUB, target_date=target))
    journal.clear(sandbox.state)
    missing = "0b1c2d3e-0000-4000-8000-000000000001"
    text = write_csv(bam_formats.SCHEDULE_MIGRATIONS, [
        [schedule.id, known.SCHEDULE_SUB, "Cancel", known.FABRIKAM] + [None] * 15,
        [missing, known.SCHEDULE_RENEWAL_SUB, "Cancel", known.FABRIKAM] + [None] * 15,
    ])
    plan = read_bam(text)
    checked, refused = planner.validate_plan(plan)
    assert [c.schedule_id for c in checked.cancels] == [schedule.id]
    assert [(r.line, r.reason.split(":")[0]) for r in refused] == [(3, SCHEDULE_NOT_FOUND)]
    assert journal.entries(sandbox.state, "validate") == []
    assert len(journal.entries(sandbox.state, "list_schedules")) == 1


def test_estimate_sentence_for_a_600_subscription_customer() -> None:
    assert validation_estimate([600], ValidateLimit()) == (
        "600 subscriptions; Partner Center allows 450 validations per customer per 5 minutes: about 6 minutes")
    # the limit is the setting's (PARTNER_CENTER_VALIDATE_LIMIT), and small jobs say so
    assert validation_estimate([30], ValidateLimit(100, 60)).endswith(
        "allows 100 validations per customer per minute: under a minute")
    # customers run side by side: 200 customers of 25 take what the pool needs, not 200 windows
    assert "of 200 customers" in validation_estimate([25] * 200, ValidateLimit())
    assert about(3 * 3600 + 61) == "about 3 hours 2 minutes"
