"""``/nce check``: Workflow.check_customer against the sandbox seed, and the CSV it produces."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from bot.csv_files import BOM
from bot.domain import DomainError, InvalidInput
from bot.reports import BAM_COLUMNS, CHECK_COLUMNS, CheckReason, CheckReport, CheckResult, CheckRow
from sandbox import known
from sandbox.server import SandboxServer
from tests.workflow.conftest import WorkflowFactory

AW = known.ADVENTURE_WORKS


def _parse(report: CheckReport) -> list[dict[str, str]]:
    text = report.to_csv()
    assert text.startswith(BOM) and "\r\n" in text  # SPEC §8.6
    reader = csv.DictReader(io.StringIO(text.removeprefix(BOM), newline=""))
    assert tuple(reader.fieldnames or ()) == CHECK_COLUMNS
    return list(reader)


def test_every_eligibility_code_and_skip_reason_is_reported(
    make_workflow: WorkflowFactory, sandbox: SandboxServer
) -> None:
    report = make_workflow().check_customer(AW, partner_tenant_id=known.TENANT_ID)
    assert report.customer_name == "Adventure Works Cycles"
    assert len(report.rows) == 14
    assert report.counts == {"eligible": 2, "ineligible": 10, "skipped": 2, "error": 0}
    # Only the 11 active, non-trial, promotion-free bases were sent to validate.
    assert report.validate_calls == 11 and sandbox.state.counts.get("validate") == 11

    for code in range(11):
        row = report.row(known.INELIGIBLE_BY_CODE[code][1])
        assert str(code) in row.reason_codes, (code, row)
        assert all(r.description for r in row.reasons)
        assert not row.eligible
    # Inactive and promotion were never validated (validate cannot tell promotions): skipped, with the same codes.
    assert report.row(known.INELIGIBLE_BY_CODE[0][1]).result is CheckResult.SKIPPED
    assert "suspended" in report.row(known.INELIGIBLE_BY_CODE[0][1]).reasons[0].description
    assert report.row(known.INELIGIBLE_BY_CODE[3][1]).result is CheckResult.SKIPPED
    for code in (11, 12):  # those need a customTermEndDate in the request: eligible as is
        assert report.row(known.INELIGIBLE_BY_CODE[code][1]).eligible
    addon = report.row(known.RECENT_ADDON)
    assert addon.is_addon and addon.base_subscription_id == known.INELIGIBLE_BY_CODE[4][1]
    assert addon.reason_codes == ("7",) and addon.result is CheckResult.INELIGIBLE

    rows = {r["LegacySubscriptionId"]: r for r in _parse(report)}
    assert len(rows) == 14
    promo = rows[known.INELIGIBLE_BY_CODE[3][1]]
    assert promo["ReasonNames"] == "SubscriptionPromotionsPresent" and promo["PromotionId"]
    no_offer = rows[known.INELIGIBLE_BY_CODE[5][1]]
    assert no_offer["MigrationEligible"] == "False" and no_offer["ReasonCodes"] == "5"
    assert "not yet available" in no_offer["MigrationIneligibilityReason"]
    assert no_offer["ReasonNames"] == "NewCommerceProductUnavailable" and no_offer["CheckResult"] == "ineligible"
    ok = rows[known.INELIGIBLE_BY_CODE[11][1]]
    assert ok["MigrationEligible"] == "True" and ok["MigrationIneligibilityReason"] == ""
    assert ok["NcePsa"] == "CFQ7TTC0LF8Q:0001:CFQ7TTC0KQDF" and ok["PartnerTenantId"] == known.TENANT_ID
    assert ok["CustomerName"] == "Adventure Works Cycles" and ok["CustomerTenantId"] == AW
    assert ok["CurrentTerm"] == "P1Y" and ok["CurrentBillingPlan"] == "Monthly" and ok["CurrentSeatCount"] == "10"
    assert ok["Term"] == "P1Y" and ok["BillingPlan"] == "Monthly" and ok["SeatCount"] == "10"
    assert ok["AddOn"] == "False" and ok["IndirectResellerMpnId"] == "4812345"
    assert datetime.strptime(ok["ExpirationDate"], "%m/%d/%Y %H:%M:%S").date() > datetime.now(UTC).date()
    assert rows[known.RECENT_ADDON]["AddOn"] == "True"
    assert rows[known.RECENT_ADDON]["BaseSubscriptionId"] == known.INELIGIBLE_BY_CODE[4][1]
    assert "Adventure Works Cycles: 2 eligible, 10 ineligible, 2 skipped" in report.summary()


def test_addons_trials_and_nce_subscriptions(make_workflow: WorkflowFactory) -> None:
    report = make_workflow().check_customer(known.CONTOSO)
    ids = [r.subscription_id for r in report.rows]
    # Add-ons follow their base (depth first), as in BAM's export.
    base_at = ids.index(known.NESTED_BASE)
    assert set(ids[base_at + 1: base_at + 5]) == {*known.NESTED_BASE_ADDONS, known.INACTIVE_ADDON}
    for addon in known.ELIGIBLE_BASE_ADDONS:
        row = report.row(addon)
        assert row.eligible and row.is_addon and row.base_subscription_id == known.ELIGIBLE_BASE
        assert row.catalog_item_id  # the add-on's own NCE product, from addOnMigrations
    assert report.row(known.NESTED_ADDON).base_subscription_id == known.NESTED_PARENT_ADDON
    inactive = report.row(known.INACTIVE_ADDON)
    assert inactive.result is CheckResult.SKIPPED and inactive.reason_codes == ("0",)
    assert report.row(known.NESTED_BASE).eligible  # a suspended add-on does not block its base
    assert report.row(known.TRIAL_SUB).reason_codes == ("Trial",)
    assert report.row(known.NCE_SUB).reason_codes == ("AlreadyNewCommerce",)
    assert report.counts == {"eligible": 10, "ineligible": 0, "skipped": 3, "error": 0}
    assert report.validate_calls == 5
    assert report.filename.startswith(f"nce-check-{known.CONTOSO}-") and report.filename.endswith(".csv")


def test_thirty_two_subscriptions(make_workflow: WorkflowFactory) -> None:
    report = make_workflow().check_customer(known.NORTHWIND)
    assert sorted(r.subscription_id for r in report.rows) == sorted(known.NORTHWIND_SUBS)
    assert report.eligible == 32 and report.validate_calls == 32
    parsed = _parse(report)
    assert len(parsed) == 32 and all(r["MigrationEligible"] == "True" for r in parsed)


def test_no_subscriptions_and_unknown_customer(make_workflow: WorkflowFactory) -> None:
    wf = make_workflow()
    empty = wf.check_customer(known.WOODGROVE)
    assert empty.rows == () and empty.to_csv() == BOM + ",".join(CHECK_COLUMNS) + "\r\n"
    with pytest.raises(DomainError):
        wf.check_customer(known.UNKNOWN_CUSTOMER)
    with pytest.raises(DomainError):
        wf.check_customer(known.LITWARE)
    with pytest.raises(InvalidInput) as err:
        wf.check_customer("contoso")
    assert err.value.field == "customer"


def test_csv_columns_quoting_and_formula_guard() -> None:
    row = CheckRow(
        customer_tenant_id=known.CONTOSO,
        subscription_id=known.ELIGIBLE_SIMPLE,
        subscription_name='=HYPERLINK("http://evil","x"), "quoted"\nsecond line',
        result=CheckResult.INELIGIBLE,
        reasons=(CheckReason(6, "term, billing"), CheckReason(6, "again"), CheckReason("Trial", "trial")),
    )
    report = CheckReport(customer_id=known.CONTOSO, customer_name="-Contoso", rows=(row,),
                         generated_at=datetime(2025, 1, 2, 3, 4, tzinfo=UTC))
    assert CHECK_COLUMNS[: len(BAM_COLUMNS)] == BAM_COLUMNS and "MigrationIneligibilityReason" in BAM_COLUMNS
    [parsed] = _parse(report)
    assert parsed["LegacySubscriptionName"] == "'" + row.subscription_name
    assert parsed["MigrationIneligibilityReason"] == "term, billing; again; trial"
    assert parsed["ReasonCodes"] == "6;Trial"
    assert parsed["ReasonNames"] == "TermDurationBillingCycleCombinationNotSupported;Trial"
    assert parsed["MigrationEligible"] == "False" and parsed["CheckResult"] == "ineligible"
