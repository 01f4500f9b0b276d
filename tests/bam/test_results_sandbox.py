"""A BAM file's plan sent to the Partner Center sandbox as BAM sends it, and the results file of what came back:
one row per subscription (add-ons included), every NCE subscription id, BatchId = the externalReferenceId."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from bot.bam import BamKind, read_bam
from bot.bam.writer import (
    Outcome,
    migration_outcomes,
    not_sent_outcomes,
    refused_outcomes,
    results_csv,
    schedule_outcomes,
)
from bot.csv_files import read_csv
from bot.partner_center.client import PartnerCenterClient, build_partner_center_client
from bot.partner_center.errors import PartnerCenterError
from bot.partner_center.models import Migration
from bot.settings import load_settings
from sandbox import known
from sandbox.server import SandboxServer
from tests.workflow.conftest import sandbox_env


@pytest.fixture
def client(pc_sandbox: SandboxServer) -> Iterator[PartnerCenterClient]:
    with build_partner_center_client(load_settings(env=sandbox_env(pc_sandbox)), verify=pc_sandbox.ca_path) as pc:
        yield pc


def test_a_migrate_file_end_to_end(pc_sandbox: SandboxServer, client: PartnerCenterClient) -> None:
    plan = read_bam((known.BAM_EXAMPLES / "subscriptions.csv").read_bytes())
    batch = str(uuid.uuid4())
    created: dict[str, Migration] = {}
    outcomes: dict[str, Outcome] = {}
    stop_at = plan.migrations[-1]  # a stopped campaign: the last call is never made
    for migration in plan.migrations:
        if migration is stop_at:
            outcomes.update(not_sent_outcomes(migration))
            continue
        try:
            created[migration.subscription_id] = client.create_migration(
                migration.customer_tenant_id, migration.migration_request(batch))
        except PartnerCenterError as exc:
            outcomes.update(refused_outcomes(migration, exc.code, exc.description))
    pc_sandbox.advance(3_600)  # every migration completes
    for migration in plan.migrations:
        if migration.subscription_id in created:
            done = client.get_migration(migration.customer_tenant_id, created[migration.subscription_id].id or "")
            outcomes.update(migration_outcomes(done))
    rows = {r["LegacySubscriptionId"]: r for r in read_csv(results_csv(plan.migrations, outcomes, batch))}

    assert len(created) == len(plan.migrations) - 1  # Partner Center took every create that was sent
    assert len(rows) == plan.subscriptions and {r["BatchId"] for r in rows.values()} == {batch}
    listed = client.query_migrations(external_reference_id=batch)  # one shared externalReferenceId
    assert {m.id for m in listed} == {m.id for m in created.values()}
    base = rows[known.ELIGIBLE_BASE]
    assert base["MigrationStatus"] == "Completed" and base["MigrationId"] == created[known.ELIGIBLE_BASE].id
    assert (base["NCETermDuration"], base["NCEBillingPlan"], base["StartedNewTermInNce"]) == (
        "P3Y", "Triennial", "True")
    ids = [rows[s]["NCESubscriptionId"] for s in (known.ELIGIBLE_BASE, *known.ELIGIBLE_BASE_ADDONS)]
    assert all(ids) and len(set(ids)) == 3  # every NCE subscription id, add-ons included
    for addon in known.ELIGIBLE_BASE_ADDONS:
        assert rows[addon]["MigrationId"] == base["MigrationId"] and rows[addon]["AddOn"] == "True"
    assert rows[known.ELIGIBLE_SIMPLE]["NCESeatCount"] == "20"
    for sub in (stop_at.subscription_id, *(a.subscription_id for a in stop_at.add_ons)):
        assert rows[sub]["MigrationStatus"] == "NotSent" and rows[sub]["MigrationId"] == ""


def test_a_refused_create_keeps_its_error_on_every_row(client: PartnerCenterClient) -> None:
    plan = read_bam((known.BAM_EXAMPLES / "subscriptions.csv").read_bytes())
    nested = next(m for m in plan.migrations if m.subscription_id == known.NESTED_BASE)
    with pytest.raises(PartnerCenterError) as err:  # its end date (11/30/2026) is not an allowed co-term date
        client.create_migration(nested.customer_tenant_id, nested.migration_request("batch"))
    outcomes = refused_outcomes(nested, err.value.code, err.value.description)
    rows = read_csv(results_csv([nested], outcomes, "batch"))
    assert len(rows) == 4 and all(r["ErrorCode"] == str(err.value.code) and r["ErrorReason"] for r in rows)
    assert all(r["MigrationStatus"] == "" and r["MigrationId"] == "" for r in rows)


def test_a_schedule_file_end_to_end(client: PartnerCenterClient) -> None:
    plan = read_bam((known.BAM_EXAMPLES / "subscriptionsforschedule.csv").read_bytes())
    outcomes: dict[str, Outcome] = {}
    for migration in plan.migrations:
        try:
            made = client.create_schedule(migration.customer_tenant_id, migration.schedule_request("sched-batch"))
            outcomes.update(schedule_outcomes(made))
        except PartnerCenterError as exc:
            outcomes.update(refused_outcomes(migration, exc.code, exc.description))
    rows = {r["LegacySubscriptionId"]: r for r in
            read_csv(results_csv(plan.migrations, outcomes, "sched-batch", kind=BamKind.SCHEDULE))}
    assert len(rows) == 5
    renewal = rows[known.SCHEDULE_RENEWAL_SUB]
    assert renewal["MigrateOnRenewal"] == "True" and renewal["MigrationScheduleStatus"] == "Created"
    assert renewal["MigrationScheduleId"] and renewal["BatchId"] == "sched-batch"
    for addon in known.ELIGIBLE_BASE_ADDONS:  # add-ons ride in addOnMigrationSchedules, under the base's schedule
        assert rows[addon]["MigrationScheduleId"] == rows[known.ELIGIBLE_BASE]["MigrationScheduleId"] != ""
