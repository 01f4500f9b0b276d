"""Reading BAM files (SPEC §8.1): every example under sandbox/data/bam, tolerant layouts, and refusals that name
every bad line and column."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.bam import BamFileError, BamKind, BamPlan, BamProblem, read_bam
from bot.bam.formats import SUBSCRIPTIONS
from bot.domain import ChangeOptions, InvalidInput
from bot.partner_center.models import BillingCycle, TermDuration
from sandbox import known

EXAMPLES = known.BAM_EXAMPLES
C, FB = known.CONTOSO, known.FABRIKAM


def example(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


def problems_of(data: bytes | str) -> set[tuple[int, str | None]]:
    with pytest.raises(BamFileError) as err:
        read_bam(data)
    return {(p.line, p.column) for p in err.value.problems}


@pytest.mark.parametrize(
    ("name", "kind", "operations", "subscriptions", "skipped"),
    [
        ("subscriptions.csv", BamKind.MIGRATE, 4, 9, 2),
        ("subscriptions-2022.csv", BamKind.MIGRATE, 3, 5, 0),
        ("subscriptions-semicolon.csv", BamKind.MIGRATE, 2, 2, 1),
        ("subscriptionsforschedule.csv", BamKind.SCHEDULE, 3, 5, 1),
        ("schedulemigrations.csv", BamKind.CANCEL, 2, 2, 1),
    ],
)
def test_every_example_is_read(name: str, kind: BamKind, operations: int, subscriptions: int, skipped: int) -> None:
    plan = read_bam(example(name))
    assert (plan.kind, plan.operations, plan.subscriptions, len(plan.skipped)) == (
        kind, operations, subscriptions, skipped)
    assert sorted(p.name for p in EXAMPLES.glob("*.csv")) == sorted(
        ["subscriptions.csv", "subscriptions-2022.csv", "subscriptions-semicolon.csv",
         "subscriptionsforschedule.csv", "schedulemigrations.csv"])


def test_todays_layout_per_row_choices_and_flat_addons() -> None:
    plan = read_bam(example("subscriptions.csv"))
    assert plan.delimiter == "," and plan.customers == (C,) and plan.data_rows == 11
    by_id = {m.subscription_id: m for m in plan.migrations}
    simple = by_id[known.ELIGIBLE_SIMPLE].base
    assert (simple.term, simple.billing, simple.quantity) == (TermDuration.P1Y, BillingCycle.ANNUAL, 20)
    assert (simple.current_billing, simple.current_seats, simple.auto_renew) == ("Monthly", 25, True)
    assert simple.expiration_date is not None and simple.expiration_date.tzinfo is UTC
    assert simple.customer_name == "Contoso Ltd" and simple.partner_tenant_id == known.TENANT_ID

    base = by_id[known.ELIGIBLE_BASE]
    assert base.base.start_new_term and base.base.term is TermDuration.P3Y
    assert [a.subscription_id for a in base.add_ons] == known.ELIGIBLE_BASE_ADDONS
    assert [a.quantity for a in base.add_ons] == [40, 8]
    # An add-on of an add-on travels in the same flat list as BAM sends it.
    nested = by_id[known.NESTED_BASE]
    assert [a.subscription_id for a in nested.add_ons] == known.NESTED_BASE_ADDONS
    assert nested.add_ons[1].base_subscription_id == known.NESTED_PARENT_ADDON
    assert all(r.custom_term_end_date == date(2026, 11, 30) for r in nested.rows)
    # MigrationEligible=False rows are skipped, with BAM's reason.
    assert [(s.line, s.subscription_id) for s in plan.skipped] == [(11, known.INACTIVE_ADDON), (12, known.TRIAL_SUB)]
    assert "not active" in plan.skipped[0].reason
    assert plan.seats == 20 + 12 + 40 + 40 + 8 + 15 + 5 + 3 + 15
    assert plan.terms == {"P1Y": 7, "P1M": 1, "P3Y": 1}


def test_2022_layout_without_autorenew_and_custom_end_date() -> None:
    text = example("subscriptions-2022.csv").decode()
    assert "AutoRenewEnabled" not in text and "CustomTermEndDate" not in text
    plan = read_bam(text)
    assert [m.subscription_id for m in plan.migrations] == [known.ELIGIBLE_SIMPLE, known.ELIGIBLE_BASE,
                                                           known.SCHEDULE_SUB]
    assert all(r.auto_renew is None and r.custom_term_end_date is None for m in plan.migrations for r in m.rows)
    assert plan.customers == (C, FB) and plan.migrations[2].base.term is TermDuration.P1M


def test_semicolons_bom_reordered_columns_and_european_values() -> None:
    data = example("subscriptions-semicolon.csv")
    assert data.startswith(b"\xef\xbb\xbf") and data.count(b";") > data.count(b",")
    plan = read_bam(data)
    assert plan.delimiter == ";" and plan.customers == (FB,)
    first, second = plan.migrations
    assert first.base.quantity == 30 and first.base.customer_name == "Fabrikam, Inc."
    assert first.base.expiration_date == datetime(2027, 2, 1, tzinfo=UTC)  # 01.02.2027 is day first
    assert second.base.custom_term_end_date == date(2026, 12, 31)
    assert plan.skipped[0].subscription_id == known.TRIAL_SUB


def test_schedule_file_target_date_or_on_renewal() -> None:
    plan = read_bam(example("subscriptionsforschedule.csv"))
    when = {m.subscription_id: (m.target_date, m.on_renewal) for m in plan.migrations}
    assert when == {known.SCHEDULE_SUB: (date(2027, 1, 25), False), known.SCHEDULE_RENEWAL_SUB: (None, True),
                    known.ELIGIBLE_BASE: (date(2027, 3, 1), False)}
    base = next(m for m in plan.migrations if m.subscription_id == known.ELIGIBLE_BASE)
    body = base.schedule_request("batch-1").to_api()
    assert body["targetDate"].startswith("2027-03-01") and "migrateOnRenewal" not in body
    assert [a["currentSubscriptionId"] for a in body["addOnMigrationSchedules"]] == known.ELIGIBLE_BASE_ADDONS
    renewal = next(m for m in plan.migrations if m.on_renewal).schedule_request("batch-1").to_api()
    assert renewal["migrateOnRenewal"] is True and "targetDate" not in renewal


def test_cancel_file_cancels_only_status_cancel_rows() -> None:
    plan = read_bam(example("schedulemigrations.csv"))
    assert [(c.line, c.customer_tenant_id, c.subscription_id) for c in plan.cancels] == [
        (2, FB, known.SCHEDULE_SUB), (4, C, known.ELIGIBLE_BASE)]  # "cancel" in any letter case
    assert plan.cancels[0].schedule_id == "5b1e3c7a-2d4f-4e6a-8b0c-1d2e3f4a5b6c"
    assert plan.skipped[0].line == 3 and "Created" in plan.skipped[0].reason


def test_create_body_is_what_bam_sends() -> None:
    plan = read_bam(example("subscriptions.csv"))
    base = next(m for m in plan.migrations if m.subscription_id == known.ELIGIBLE_BASE)
    body = base.migration_request("7f8e9d0c-campaign").to_api()
    assert body["currentSubscriptionId"] == known.ELIGIBLE_BASE and body["externalReferenceId"] == "7f8e9d0c-campaign"
    assert (body["termDuration"], body["billingCycle"], body["quantity"], body["purchaseFullTerm"]) == (
        "P3Y", "triennial", 40, True)
    assert [(a["currentSubscriptionId"], a["quantity"]) for a in body["addOnMigrations"]] == [
        (known.ELIGIBLE_BASE_ADDONS[0], 40), (known.ELIGIBLE_BASE_ADDONS[1], 8)]
    assert base.options() == ChangeOptions(term="P3Y", billing="triennial", quantity=40, full_term=True,
                                           addons=tuple(known.ELIGIBLE_BASE_ADDONS))
    single = next(m for m in plan.migrations if m.subscription_id == known.ELIGIBLE_MONTHLY)
    assert "addOnMigrations" not in single.migration_request("x").to_api() and single.options().addons == "none"


# --- refusals -------------------------------------------------------------------------------------------------


def _rows(text: str) -> list[list[str]]:
    return [line.split(",") for line in text.splitlines()]


def _text(rows: list[list[str]]) -> str:
    return "\r\n".join(",".join(r) for r in rows) + "\r\n"


def test_bad_rows_are_refused_naming_every_line_and_column() -> None:
    rows = _rows(example("subscriptions.csv").decode())
    col = {name: SUBSCRIPTIONS.index(name) for name in SUBSCRIPTIONS}
    rows[1][col["Term"]] = "P2Y"  # line 2
    rows[1][col["SeatCount"]] = "-3"  # line 2 again: both cells named
    rows[2][col["BillingPlan"]] = "Weekly"  # line 3
    rows[3][col["CustomerTenantId"]] = "contoso"  # line 4
    rows[4][col["StartNewTermInNce"]] = "maybe"  # line 5
    rows[6][col["CustomTermEndDate"]] = "31/11/2026"  # line 7: day first
    rows[7][col["BaseSubscriptionId"]] = ""  # line 8: an add-on without its base
    rows[8][col["MigrationEligible"]] = ""  # line 9
    rows[2][col["Term"]] = "P1M"
    rows[2][col["BillingPlan"]] = "Weekly"
    assert problems_of(_text(rows)) == {
        (2, "Term"), (2, "SeatCount"), (3, "BillingPlan"), (4, "CustomerTenantId"), (5, "StartNewTermInNce"),
        (7, "CustomTermEndDate"), (8, "BaseSubscriptionId"), (9, "MigrationEligible"),
    }
    with pytest.raises(InvalidInput) as err:  # a domain error: the Slack error handler shows it as is
        read_bam(_text(rows))
    message = str(err.value)
    assert "line 2, Term: must be P1M, P1Y or P3Y, got 'P2Y'" in message
    assert "line 7, CustomTermEndDate: '31/11/2026' looks like day/month/year" in message
    assert "nothing was stored" in message and err.value.field == "file"


def test_rule_breaking_rows_are_refused() -> None:
    rows = _rows(example("subscriptions.csv").decode())
    col = {name: SUBSCRIPTIONS.index(name) for name in SUBSCRIPTIONS}
    rows[2][col["BillingPlan"]] = "Annual"  # line 3: P1M with annual billing
    rows[3][col["CustomTermEndDate"]] = "2027-01-31"  # line 4: StartNewTermInNce=True and an end date
    rows[4][col["CustomerTenantId"]] = known.FABRIKAM  # line 5: an add-on of another customer's base
    rows[5][col["LegacySubscriptionId"]] = known.ELIGIBLE_SIMPLE  # line 6: listed twice
    rows.append(list(rows[1]))  # line 13: the same subscription again
    assert problems_of(_text(rows)) == {
        (3, "BillingPlan"), (4, "CustomTermEndDate"), (5, "CustomerTenantId"), (6, "LegacySubscriptionId"),
        (13, "LegacySubscriptionId"),
    }


def test_schedule_rows_need_exactly_one_target() -> None:
    text = example("subscriptionsforschedule.csv").decode("utf-8-sig")
    rows = _rows(text)
    header = rows[0]
    target, renewal = header.index("TargetDate"), header.index("MigrateOnRenewal")
    rows[1][renewal] = "True"  # line 2: both
    rows[3][target] = ""  # line 4: neither
    rows[3][renewal] = "False"
    assert problems_of(_text(rows)) == {(2, "TargetDate"), (4, "TargetDate")}


def test_headers_missing_columns_and_other_files() -> None:
    header = [h for h in SUBSCRIPTIONS if h not in ("SeatCount", "Term")]
    assert problems_of(",".join(header) + "\r\n") == {(1, "SeatCount"), (1, "Term")}
    with pytest.raises(BamFileError) as err:
        read_bam("Name,Email\r\nAda,ada@example.com\r\n")
    assert "not a BAM file" in str(err.value) and err.value.lines == (1,)
    with pytest.raises(BamFileError):
        read_bam(b"")
    doubled = ",".join([*SUBSCRIPTIONS, "term"]) + "\r\n"
    assert problems_of(doubled) == {(1, "term")}


def test_extra_cells_blank_lines_sep_line_and_windows_1252() -> None:
    rows = _rows(example("subscriptions-2022.csv").decode())
    rows[1].append("stray")
    assert problems_of(_text(rows)) == {(2, None)}
    rows[1].pop()
    text = "sep=,\r\n" + _text(rows[:2]) + ",,,,\r\n\r\n" + _text(rows[2:3])
    plan = read_bam(text)
    assert [m.base.line for m in plan.migrations] == [3, 6]  # physical lines, the sep line counted
    latin = text.replace("Contoso Ltd", "Contoso Müller GmbH").encode("cp1252")
    assert read_bam(latin).migrations[0].base.customer_name == "Contoso Müller GmbH"


def test_quoted_cells_spanning_lines_keep_line_numbers() -> None:
    rows = _rows(example("subscriptions-2022.csv").decode())
    name = rows[0].index("LegacySubscriptionName")
    rows[1][name] = '"Finance\nsecond line, with a comma"'
    rows[2][rows[0].index("Term")] = "P9Y"
    assert problems_of(_text(rows)) == {(4, "Term")}  # the record after the two-line cell starts on line 4
    rows[2][rows[0].index("Term")] = "P1Y"
    plan: BamPlan = read_bam(_text(rows))
    assert plan.migrations[0].base.subscription_name == "Finance\nsecond line, with a comma"


def test_a_whole_large_partner_in_one_file() -> None:
    """5,000 rows (BAM caps files at 200): every bad row of the large sandbox partner named, then the plan."""
    from bot.csv_files import read_csv, write_csv
    from sandbox import large_seed

    rows: list[list[object]] = []
    triennial_lines: set[int] = set()
    for customer in large_seed.build()["customers"]:
        for sub in customer["subscriptions"]:
            cells = {"CustomerTenantId": customer["id"], "CustomerName": customer["company_name"],
                     "LegacySubscriptionId": sub["id"], "MigrationEligible": True, "Term": sub["term_duration"],
                     "BillingPlan": sub["billing_cycle"].capitalize(), "SeatCount": sub["quantity"],
                     "StartNewTermInNce": False, "AddOn": bool(sub.get("parent")),
                     "BaseSubscriptionId": sub.get("parent")}
            if (sub["term_duration"], sub["billing_cycle"]) == ("P1Y", "triennial"):  # the seed's code 6
                triennial_lines.add(len(rows) + 2)
            rows.append([cells.get(name) for name in SUBSCRIPTIONS])
    assert len(rows) == 5_000 and triennial_lines
    assert problems_of(write_csv(SUBSCRIPTIONS, rows)) == {(line, "BillingPlan") for line in triennial_lines}
    with pytest.raises(BamFileError) as err:
        read_bam(write_csv(SUBSCRIPTIONS, rows))
    assert str(err.value).count("\n• line ") == min(len(triennial_lines), BamFileError.SHOWN)
    many = BamFileError([BamProblem(line=n, column="Term", message="bad") for n in range(2, 122)])
    assert str(many).count("\n• line ") == 50 and "…and 70 more" in str(many) and len(many.problems) == 120
    listed = read_csv(err.value.problems_csv())
    assert {int(r["Line"]) for r in listed} == triennial_lines and listed[0]["Column"] == "BillingPlan"
    for line in triennial_lines:
        rows[line - 2][SUBSCRIPTIONS.index("BillingPlan")] = "Monthly"
    plan = read_bam(write_csv(SUBSCRIPTIONS, rows))
    assert plan.subscriptions == 5_000 and len(plan.customers) == 200 and plan.skipped == ()
    assert 3_500 < plan.operations < 4_500  # one create per base, its add-ons inside


def test_the_plan_at_a_glance() -> None:
    from bot.bam import at_a_glance, headline

    plan = read_bam(example("subscriptions.csv"))
    assert headline(plan) == "Migrate 9 subscriptions of 1 customer"
    assert at_a_glance(plan) == ("4 base subscriptions + 5 add-ons · 158 seats · terms: P1Y 7, P1M 1, P3Y 1 · "
                                 "2 rows skipped")
    schedules = read_bam(example("subscriptionsforschedule.csv"))
    assert headline(schedules) == "Schedule the migration of 5 subscriptions of 2 customers"
    assert at_a_glance(schedules).endswith("1 at renewal, 2 dated 2027-01-25 to 2027-03-01 · 1 row skipped")
    cancels = read_bam(example("schedulemigrations.csv"))
    assert headline(cancels) == "Cancel 2 scheduled migrations of 2 customers"
    assert at_a_glance(cancels) == "2 schedules · 1 row skipped"


def test_addons_naming_each_other_and_addons_of_an_unmigrated_base() -> None:
    rows = _rows(example("subscriptions.csv").decode())  # rows[n] is line n + 1
    col = {name: SUBSCRIPTIONS.index(name) for name in SUBSCRIPTIONS}
    rows[4][col["BaseSubscriptionId"]] = known.ELIGIBLE_BASE_ADDONS[1]  # line 5 → line 6
    rows[5][col["BaseSubscriptionId"]] = known.ELIGIBLE_BASE_ADDONS[0]  # line 6 → line 5
    assert problems_of(_text(rows)) == {(5, "BaseSubscriptionId"), (6, "BaseSubscriptionId")}
    rows = _rows(example("subscriptions.csv").decode())
    rows[6][col["MigrationEligible"]] = "False"  # line 7: NESTED_BASE stays; its add-ons (lines 8-10) cannot go
    plan = read_bam(_text(rows))
    assert known.NESTED_BASE not in {m.subscription_id for m in plan.migrations}
    reasons = {s.line: s.reason for s in plan.skipped}
    assert sorted(reasons) == [7, 8, 9, 10, 11, 12]
    assert reasons[9] == f"its base {known.NESTED_BASE} is not migrated in this file"  # the nested add-on too
