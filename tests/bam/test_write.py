"""Files ncebot writes: BAM's results layouts byte for byte, the plan as a BAM file that reads back the same, and
the CSV conventions of SPEC §8.6 shared by every file (check, plan, results, audit)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.bam import BamFileError, BamKind, BamPlan, PlannedCancel, PlannedMigration, read_bam
from bot.bam.formats import NOT_SENT
from bot.bam.writer import Outcome, plan_csv, results_csv
from bot.csv_files import BOM, read_csv, to_bytes, write_csv
from bot.partner_center.models import BillingCycle, TermDuration
from sandbox import known

EXAMPLES = known.BAM_EXAMPLES

# Typed from partner-center-part2.md §3 (BAM's Models.cs), not from bot.bam.formats: the test must be able to fail.
BAM_OUTPUT_MIGRATIONS = (
    b"PartnerTenantId,IndirectResellerMpnId,CustomerName,CustomerTenantId,LegacySubscriptionId,"
    b"LegacySubscriptionName,LegacyProductName,ExpirationDate,AddOn,BaseSubscriptionId,MigrationStatus,"
    b"StartedNewTermInNce,NCETermDuration,NCEBillingPlan,NCESeatCount,CustomTermEndDate,ErrorCode,ErrorReason,"
    b"NCESubscriptionId,BatchId,MigrationId\r\n"
)
BAM_OUTPUT_SCHEDULE_MIGRATIONS = (
    b"PartnerTenantId,IndirectResellerMpnId,CustomerName,CustomerTenantId,LegacySubscriptionId,"
    b"LegacySubscriptionName,LegacyProductName,ExpirationDate,AddOn,StartedNewTermInNce,NCETermDuration,"
    b"NCEBillingPlan,NCESeatCount,CustomTermEndDate,TargetDate,MigrateOnRenewal,MigrationScheduleStatus,"
    b"MigrationScheduleId,BatchId,ErrorCode,ErrorReason\r\n"
)
BATCH = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"


def plan_of(name: str) -> BamPlan:
    return read_bam((EXAMPLES / name).read_bytes())


def test_results_header_is_byte_equal_to_bams() -> None:
    plan = plan_of("subscriptions.csv")
    data = to_bytes(results_csv(plan.migrations, {}, BATCH))
    assert data.startswith(b"\xef\xbb\xbf" + BAM_OUTPUT_MIGRATIONS)
    schedules = plan_of("subscriptionsforschedule.csv")
    data = to_bytes(results_csv(schedules.migrations, {}, BATCH, kind=BamKind.SCHEDULE))
    assert data.startswith(b"\xef\xbb\xbf" + BAM_OUTPUT_SCHEDULE_MIGRATIONS)
    empty = to_bytes(results_csv((), {}, BATCH))
    assert empty == b"\xef\xbb\xbf" + BAM_OUTPUT_MIGRATIONS
    for written in (data, empty):  # a results file brought back in is refused, saying what it is
        with pytest.raises(BamFileError, match="This is a BAM results file"):
            read_bam(written)


def test_results_have_a_row_per_subscription_with_addons_and_every_nce_id() -> None:
    plan = plan_of("subscriptions.csv")
    base = next(m for m in plan.migrations if m.subscription_id == known.ELIGIBLE_BASE)
    outcomes = {
        known.ELIGIBLE_SIMPLE: Outcome(status="Failed", error_code=900222, error_reason="term, billing: =bad"),
        known.ELIGIBLE_BASE: Outcome(status="Completed", migration_id="mig-1", nce_subscription_id="nce-base",
                                     quantity=38),
        known.ELIGIBLE_BASE_ADDONS[0]: Outcome(status="Completed", migration_id="mig-1",
                                               nce_subscription_id="nce-addon-1"),
        known.ELIGIBLE_BASE_ADDONS[1]: Outcome(status="Completed", migration_id="mig-1",
                                               nce_subscription_id="nce-addon-2"),
        known.NESTED_BASE: Outcome(status=NOT_SENT),
    }
    text = results_csv(plan.migrations, outcomes, BATCH)
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    rows = {r["LegacySubscriptionId"]: r for r in read_csv(text)}
    assert len(rows) == plan.subscriptions == 9  # add-ons and nested add-ons included
    assert all(r["BatchId"] == BATCH for r in rows.values())
    assert [rows[s]["NCESubscriptionId"] for s in (base.subscription_id, *known.ELIGIBLE_BASE_ADDONS)] == [
        "nce-base", "nce-addon-1", "nce-addon-2"]
    head = rows[known.ELIGIBLE_BASE]
    assert (head["MigrationStatus"], head["MigrationId"], head["StartedNewTermInNce"], head["AddOn"]) == (
        "Completed", "mig-1", "True", "False")
    assert (head["NCETermDuration"], head["NCEBillingPlan"], head["NCESeatCount"]) == ("P3Y", "Triennial", "38")
    addon = rows[known.ELIGIBLE_BASE_ADDONS[1]]
    assert (addon["AddOn"], addon["BaseSubscriptionId"], addon["NCESeatCount"]) == ("True", known.ELIGIBLE_BASE, "8")
    failed = rows[known.ELIGIBLE_SIMPLE]
    assert (failed["ErrorCode"], failed["ErrorReason"], failed["MigrationId"]) == ("900222", "term, billing: =bad", "")
    assert rows[known.NESTED_BASE]["MigrationStatus"] == "NotSent"
    assert rows[known.NESTED_BASE]["CustomTermEndDate"] == "11/30/2026 00:00:00"
    assert rows[known.ELIGIBLE_MONTHLY]["MigrationStatus"] == ""  # not reported yet
    assert rows[known.ELIGIBLE_MONTHLY]["ExpirationDate"].endswith(" 00:00:00")


def test_schedule_results() -> None:
    plan = plan_of("subscriptionsforschedule.csv")
    outcomes = {known.SCHEDULE_SUB: Outcome(status="Created", schedule_id="sched-1")}
    rows = read_csv(results_csv(plan.migrations, outcomes, BATCH, kind=BamKind.SCHEDULE))
    assert len(rows) == 5
    first = rows[0]
    assert (first["TargetDate"], first["MigrateOnRenewal"], first["MigrationScheduleStatus"]) == (
        "01/25/2027 00:00:00", "False", "Created")
    assert first["MigrationScheduleId"] == "sched-1" and rows[1]["MigrateOnRenewal"] == "True"
    with pytest.raises(ValueError):
        results_csv((), {}, BATCH, kind=BamKind.CANCEL)


def _unlined(plan: BamPlan) -> list[PlannedMigration] | list[PlannedCancel]:
    if plan.kind is BamKind.CANCEL:
        return [c.model_copy(update={"line": 0}) for c in plan.cancels]
    return [
        m.model_copy(update={"base": m.base.model_copy(update={"line": 0}),
                             "add_ons": tuple(a.model_copy(update={"line": 0}) for a in m.add_ons)})
        for m in plan.migrations
    ]


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.csv")))
def test_plan_round_trip(name: str) -> None:
    plan = plan_of(name)
    written = plan_csv(plan)
    again = read_bam(to_bytes(written))
    assert again.kind is plan.kind and again.skipped == ()
    assert _unlined(again) == _unlined(plan)
    assert plan_csv(again) == written


def test_csv_conventions_of_every_file() -> None:
    text = write_csv(
        ("Text", "Flag", "When", "Day", "Number", "Term"),
        [
            ["=1+2", True, datetime(2026, 12, 3, 14, 5, 9, tzinfo=UTC), date(2027, 1, 31), -4, TermDuration.P1Y],
            ["+x", False, None, None, 0, BillingCycle.MONTHLY],
            ["-y", None, datetime(2026, 12, 3, 15, 5, 9), None, 3.5, "@SUM(A1)"],
            ["\tz", "a,b", "quote \"q\"", "line\nbreak", "ok", "\rr"],
        ],
    )
    data = to_bytes(text)
    assert data.startswith(BOM.encode()) and data.count(b"\r\n") == 5  # records end in CRLF; a cell keeps its own LF
    lines = text.removeprefix(BOM).split("\r\n")
    assert lines[0] == "Text,Flag,When,Day,Number,Term"
    assert lines[1] == "'=1+2,True,12/03/2026 14:05:09,01/31/2027 00:00:00,-4,P1Y"
    assert lines[2] == "'+x,False,,,0,monthly"
    assert lines[3] == "'-y,,12/03/2026 15:05:09,,3.5,'@SUM(A1)"
    assert lines[4].startswith("'\tz,\"a,b\",\"quote \"\"q\"\"\",\"line")
    assert read_csv(text)[3]["Term"] == "'\rr"
