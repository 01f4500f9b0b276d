"""The example BAM files under sandbox/data/bam (sandbox/README.md) against the default seed: every customer and
subscription they name exists, the rows BAM marks eligible validate as the file says in the sandbox, schedules are
accepted, and the variants (Excel's BOM + CRLF, bad rows) read or are refused as documented.

The files carry absolute dates (BAM writes them so) while the seed's dates are relative to the sandbox clock's
start: the clock here starts on the day the files were written for, so the answers do not drift with real time."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.bam import BamFileError, BamKind, BamPlan, read_bam
from sandbox import known
from sandbox.clock import SandboxClock
from sandbox.errors import ApiError
from sandbox.server import SandboxServer
from sandbox.state import SandboxState, ci
from tests.sandbox.helpers import admin, mig, pc_client

WRITTEN_FOR = datetime(2026, 12, 3, 12, tzinfo=UTC)
EXAMPLES = known.BAM_EXAMPLES
ID_COLUMNS = ("CustomerTenantId", "LegacySubscriptionId", "CurrentSubscriptionId", "BaseSubscriptionId")
#: (file, subscription) -> eligibility codes validate answers for the base (add-ons' codes included).
INELIGIBLE = {
    # Branch offices: CustomTermEndDate 11/30/2026 lies before the day the files were written for (code 11).
    ("subscriptions.csv", known.NESTED_BASE): {4, 11},
    # Contractors: CustomTermEndDate 31.12.2026 is after its term end (code 11, 900291).
    ("subscriptions-semicolon.csv", known.SCHEDULE_RENEWAL_SUB): {11},
}


@pytest.fixture
def state() -> SandboxState:
    return SandboxState(clock=SandboxClock(start=WRITTEN_FOR))


def all_examples() -> list[Path]:
    return sorted(EXAMPLES.rglob("*.csv"))


def cells(path: Path) -> Iterator[dict[str, str]]:
    text = path.read_bytes().decode("utf-8-sig")
    delimiter = ";" if text.split("\n", 1)[0].count(";") > text.split("\n", 1)[0].count(",") else ","
    yield from csv.DictReader(io.StringIO(text), delimiter=delimiter)


@pytest.mark.parametrize("path", all_examples(), ids=lambda p: p.name)
def test_every_id_in_the_examples_exists_in_the_default_seed(state: SandboxState, path: Path) -> None:
    named = 0
    for row in cells(path):
        customer = state.customers.get(row["CustomerTenantId"].lower())
        if customer is None:  # only the refusal file names a customer the seed lacks, on purpose ("contoso")
            assert path.name == "subscriptions-bad-rows.csv" and row["CustomerTenantId"] == "contoso"
            continue
        for column in ID_COLUMNS[1:]:
            if row.get(column):
                assert row[column].lower() in customer.subs, (path.name, column, row[column])
                named += 1
    assert named >= 3


@pytest.mark.parametrize("name", ["subscriptions.csv", "subscriptions-2022.csv", "subscriptions-semicolon.csv",
                                  "variants/subscriptions-excel.csv"])
def test_migrate_files_validate_in_the_sandbox_as_documented(state: SandboxState, name: str) -> None:
    plan = read_bam((EXAMPLES / name).read_bytes())
    assert plan.kind is BamKind.MIGRATE
    for migration in plan.migrations:
        body = ci(migration.migration_request("batch").to_api())
        with state.lock:
            answer = state.validate(migration.customer_tenant_id, body)
        codes = {e["code"] for e in answer.get("errors", [])}
        codes |= {e["code"] for a in answer.get("addOnMigrations", []) for e in a.get("errors", [])}
        assert codes == INELIGIBLE.get((Path(name).name, migration.subscription_id), set()), migration.subscription_id
        assert len(answer.get("addOnMigrations", [])) == len(migration.add_ons)
    _skipped_rows_are_ineligible(state, plan)


def _skipped_rows_are_ineligible(state: SandboxState, plan: BamPlan) -> None:
    """Rows BAM marked MigrationEligible=False are ineligible in the sandbox too (for the reason BAM gives)."""
    for skipped in plan.skipped:
        customer = next(c for c in state.customers.values() if skipped.subscription_id in c.subs)
        sub = customer.subs[skipped.subscription_id]
        item = state.make_item(sub, {})
        if sub.id == known.SCHEDULE_FAILING_SUB:  # 305 seats: BAM's own cap, not a Partner Center rule
            continue
        assert state.eligibility(customer, sub, item, state.now()), skipped.subscription_id


def test_the_schedule_file_is_accepted_by_the_sandbox(state: SandboxState) -> None:
    plan = read_bam((EXAMPLES / "subscriptionsforschedule.csv").read_bytes())
    made = []
    for migration in plan.migrations:
        with state.lock:
            status, body = state.create_schedule(
                migration.customer_tenant_id, ci(migration.schedule_request("batch").to_api()), None)
        made.append((status, body["currentSubscriptionId"], len(body["addOnMigrationSchedules"])))
    assert made == [(201, known.SCHEDULE_SUB, 0), (201, known.SCHEDULE_RENEWAL_SUB, 0), (201, known.ELIGIBLE_BASE, 2)]
    _skipped_rows_are_ineligible(state, plan)


def cancel_rows_as_schedules() -> list[dict[str, Any]]:
    """The schedules ``schedulemigrations.csv`` names (every row, Status=Cancel or not), as
    ``POST /_sandbox/schedules`` bodies: Partner Center's schedule body plus ``customerTenantId`` and ``id``."""
    bodies = []
    for row in cells(EXAMPLES / "schedulemigrations.csv"):
        target = datetime.strptime(row["TargetDate"], "%m/%d/%Y %H:%M:%S") if row["TargetDate"] else None
        body: dict[str, Any] = {"id": row["Id"], "customerTenantId": row["CustomerTenantId"],
                                "currentSubscriptionId": row["CurrentSubscriptionId"],
                                "termDuration": row["TermDuration"], "billingCycle": row["BillingCycle"],
                                "quantity": int(row["Quantity"])}
        if target is not None:
            body["targetDate"] = target.strftime("%Y-%m-%dT%H:%M:%SZ")
        else:
            body["migrateOnRenewal"] = True
        bodies.append(body)
    return bodies


def test_the_cancel_file_names_schedules_a_test_can_make_with_those_ids(state: SandboxState) -> None:
    """BAM's schedulemigrations.csv names schedules by the ids Partner Center gave them; the sandbox gives new ids
    to what clients create, so these are unknown (900224) until made with their ids (``POST /_sandbox/schedules``)."""
    plan = read_bam((EXAMPLES / "schedulemigrations.csv").read_bytes())
    assert plan.kind is BamKind.CANCEL and len(plan.cancels) == 2
    for cancel in plan.cancels:
        assert cancel.subscription_id in state.customers[cancel.customer_tenant_id].subs
        with pytest.raises(ApiError) as err:
            state.get_schedule(cancel.customer_tenant_id, cancel.schedule_id)
        assert err.value.code == 900224
    for body in cancel_rows_as_schedules():
        with state.lock:
            status, made = state.create_schedule(body["customerTenantId"], ci(body), None, schedule_id=body["id"])
        assert status == 201 and made["id"] == body["id"] and made["status"] == "Created"
    for cancel in plan.cancels:
        assert state.cancel_schedule(cancel.customer_tenant_id, cancel.schedule_id)["status"] == "Cancelled"


def test_sandbox_schedules_route_keeps_the_given_id(pc_sandbox: SandboxServer) -> None:
    first, *_ = cancel_rows_as_schedules()
    base = mig(first["customerTenantId"]) + "/schedules"
    with admin(pc_sandbox) as a, pc_client(pc_sandbox) as pc:
        made = a.post("/_sandbox/schedules", json=first)
        again = a.post("/_sandbox/schedules", json=first)
        no_id = a.post("/_sandbox/schedules", json={**first, "id": "schedule-1"})
        busy = a.post("/_sandbox/schedules", json={**first, "id": "0a1b2c3d-1111-4222-8333-444455556666"})
        read = pc.get(f"{base}/{first['id']}")
        cancelled = pc.post(f"{base}/{first['id']}/cancel")
    assert made.status_code == 201 and made.json()["id"] == first["id"] and read.json()["status"] == "Created"
    assert again.status_code == 400 and "already exists" in again.json()["description"]
    assert no_id.status_code == 400 and "GUID" in no_id.json()["description"]
    assert busy.status_code == 409 and busy.json()["code"] == 900278  # same rules as Partner Center's route
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "Cancelled"


def test_excel_variant_reads_like_the_original_with_its_edit() -> None:
    raw = (EXAMPLES / "variants" / "subscriptions-excel.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfPartnerTenantId,") and b"\r\n" in raw
    excel, original = read_bam(raw), read_bam((EXAMPLES / "subscriptions.csv").read_bytes())
    assert (excel.kind, excel.operations, excel.subscriptions, len(excel.skipped)) == (BamKind.MIGRATE, 4, 9, 2)
    assert [m.subscription_id for m in excel.migrations] == [m.subscription_id for m in original.migrations]
    assert excel.migrations[0].base.quantity == 22 and original.migrations[0].base.quantity == 20
    nested = next(m for m in excel.migrations if m.subscription_id == known.NESTED_BASE)
    assert {r.custom_term_end_date for r in nested.rows} == {datetime(2027, 1, 31).date()}


def test_bad_rows_variant_is_refused_naming_every_line_and_column() -> None:
    with pytest.raises(BamFileError) as err:
        read_bam((EXAMPLES / "variants" / "subscriptions-bad-rows.csv").read_bytes())
    assert sorted((p.line, p.column) for p in err.value.problems) == [
        (2, "SeatCount"), (2, "Term"), (3, "BillingPlan"), (4, "CustomerTenantId"), (5, "StartNewTermInNce"),
        (7, "CustomTermEndDate"), (8, "BaseSubscriptionId"), (9, "MigrationEligible")]
    assert "nothing was stored" in str(err.value)
