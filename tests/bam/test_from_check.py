"""``/nce bulk``'s plan from ``/nce check`` reports is what ``/nce import`` of the check CSV gives."""

from __future__ import annotations

from bot.bam import BamKind, read_bam
from bot.bulk_plan import plan_from_check, with_options
from bot.csv_files import to_bytes
from bot.domain import ChangeOptions
from bot.partner_center.models import BillingCycle, TermDuration
from sandbox import known
from tests.workflow.conftest import WorkflowFactory


def _unlined(plan: object) -> list[object]:
    return [m.model_copy(update={"base": m.base.model_copy(update={"line": 0}),
                                 "add_ons": tuple(a.model_copy(update={"line": 0}) for a in m.add_ons)})
            for m in plan.migrations]  # type: ignore[attr-defined]


def test_check_reports_make_the_bulk_plan(make_workflow: WorkflowFactory) -> None:
    wf = make_workflow()
    contoso = wf.check_customer(known.CONTOSO, partner_tenant_id=known.TENANT_ID)
    northwind = wf.check_customer(known.NORTHWIND, partner_tenant_id=known.TENANT_ID)
    plan = plan_from_check([contoso, northwind])
    assert plan.kind is BamKind.MIGRATE and plan.customers == (known.CONTOSO, known.NORTHWIND)
    eligible = {r.subscription_id for report in (contoso, northwind) for r in report.rows if r.eligible}
    assert {r.subscription_id for m in plan.migrations for r in m.rows} == eligible
    assert plan.subscriptions == contoso.eligible + northwind.eligible == 10 + 32
    nested = next(m for m in plan.migrations if m.subscription_id == known.NESTED_BASE)
    assert {a.subscription_id for a in nested.add_ons} == set(known.NESTED_BASE_ADDONS)  # not the suspended one
    assert {s.subscription_id for s in plan.skipped} >= {known.TRIAL_SUB, known.NCE_SUB, known.INACTIVE_ADDON}
    simple = next(m for m in plan.migrations if m.subscription_id == known.ELIGIBLE_SIMPLE).base
    assert (simple.term, simple.billing, simple.quantity, simple.customer_name) == (
        TermDuration.P1Y, BillingCycle.MONTHLY, 25, "Contoso Ltd")
    assert simple.catalog_item_id and simple.partner_tenant_id == known.TENANT_ID
    # BAM's loop: the check CSV, brought in as a file, gives the same plan.
    assert _unlined(read_bam(to_bytes(contoso.to_csv()))) == _unlined(plan_from_check([contoso]))


def test_command_options_apply_to_every_base(make_workflow: WorkflowFactory) -> None:
    report = make_workflow().check_customer(known.CONTOSO)
    plan = plan_from_check([report], ChangeOptions(term="p3y", billing="Annual", quantity=5, full_term=True))
    base = next(m for m in plan.migrations if m.subscription_id == known.ELIGIBLE_BASE)
    assert (base.base.term, base.base.billing, base.base.quantity, base.base.start_new_term) == (
        TermDuration.P3Y, BillingCycle.ANNUAL, 5, True)
    assert all(a.start_new_term and a.term is TermDuration.P1Y for a in base.add_ons)  # add-ons keep their term
    alone = with_options(plan_from_check([report]), ChangeOptions(addons="none", end_date=None))
    assert all(m.add_ons == () for m in alone.migrations)
    body = next(m for m in alone.migrations if m.subscription_id == known.ELIGIBLE_BASE).migration_request("x")
    assert body.add_on_migrations is None
    one = with_options(plan_from_check([report]), ChangeOptions(addons=(known.ELIGIBLE_BASE_ADDONS[1].upper(),)))
    picked = next(m for m in one.migrations if m.subscription_id == known.ELIGIBLE_BASE)
    assert [a.subscription_id for a in picked.add_ons] == [known.ELIGIBLE_BASE_ADDONS[1]]
