"""The real client against the sandbox app in-process (tests/fixtures/pc_inprocess.py), and the typed Protocol
the services are to depend on (bot/partner_center/api.py)."""

from __future__ import annotations

import inspect
import threading
import uuid
from datetime import UTC, timedelta
from typing import get_type_hints

import pytest

from bot.partner_center import api
from bot.partner_center.client import CallRecord, PartnerCenterClient
from bot.partner_center.errors import PartnerCenterError
from bot.partner_center.models import MigrationRequest, MigrationScheduleRequest, MigrationStatus, ScheduleStatus
from sandbox import known
from tests.fixtures.pc_inprocess import InProcessSandbox


def test_validate_and_create_migration_in_process(pc_inprocess: InProcessSandbox) -> None:
    threads = set(threading.enumerate())
    calls: list[CallRecord] = []
    pc = pc_inprocess.client(on_call=calls.append)
    body = MigrationRequest(current_subscription_id=known.ELIGIBLE_SIMPLE, external_reference_id=str(uuid.uuid4()))

    validation = pc.validate_migration(known.CONTOSO, body)
    assert validation.is_eligible and validation.catalog_item_id
    request_id = str(uuid.uuid4())
    made = pc.create_migration(known.CONTOSO, body, request_id=request_id)
    assert made.id and made.current_subscription_id == known.ELIGIBLE_SIMPLE
    assert made.status == MigrationStatus.PROCESSING

    # The sandbox holds it: read back by id and found by the externalReferenceId the bot stores.
    assert pc.get_migration(known.CONTOSO, made.id).id == made.id
    found = pc.query_migrations(external_reference_id=body.external_reference_id)
    assert [m.id for m in found] == [made.id]
    # A replay of the same MS-RequestId is the same migration (Partner Center's idempotency), not a second one.
    assert pc.create_migration(known.CONTOSO, body, request_id=request_id).id == made.id

    counts = pc_inprocess.state.counts
    assert counts["validate"] == 1 and counts["create_migration"] == 2
    assert [(c.endpoint, c.status, c.attempts) for c in calls[:2]] == [
        ("validate_migration", 201, 1), ("create_migration", 201, 1)]
    # The bearer token came from the sandbox's Entra ID token endpoint, through the same transport.
    assert pc_inprocess.state.tokens
    # Every request ran in this thread: no server, portal or event-loop thread was started.
    assert set(threading.enumerate()) == threads


def test_schedule_life_in_process(pc_inprocess: InProcessSandbox) -> None:
    pc = pc_inprocess.client()
    now = pc_inprocess.state.now().astimezone(UTC)
    first, second = ((now + timedelta(days=d)).replace(hour=0, minute=0, second=0, microsecond=0) for d in (10, 20))
    made = pc.create_schedule(known.FABRIKAM, MigrationScheduleRequest(
        current_subscription_id=known.SCHEDULE_SUB, target_date=first))
    assert made.id and made.status == ScheduleStatus.CREATED and made.target_date == first
    assert [s.id for s in pc.list_schedules(customer_id=known.FABRIKAM)] == [made.id]
    moved = pc.update_schedule(known.FABRIKAM, made.id, MigrationScheduleRequest(
        current_subscription_id=known.SCHEDULE_SUB, target_date=second))
    assert moved.id == made.id and pc.get_schedule(known.FABRIKAM, made.id).target_date == second
    assert pc.cancel_schedule(known.FABRIKAM, made.id).status == ScheduleStatus.CANCELLED


def test_in_process_errors_are_partner_center_errors(pc_inprocess: InProcessSandbox) -> None:
    pc = pc_inprocess.client()
    with pytest.raises(PartnerCenterError) as caught:
        pc.get_subscription(known.CONTOSO, known.UNKNOWN_SUB)
    assert caught.value.status_code == 404 and caught.value.code == 20003


def test_in_process_wrong_secret_is_refused_by_the_token_endpoint(pc_inprocess: InProcessSandbox) -> None:
    pc = pc_inprocess.client(PARTNER_CENTER_CLIENT_SECRET="not-the-secret")
    with pytest.raises(PartnerCenterError) as caught:
        pc.get_customer(known.CONTOSO)
    assert "not-the-secret" not in str(caught.value)
    assert pc_inprocess.state.counts.get("get_customer", 0) == 0


def _members(protocol: type) -> list[str]:
    return sorted(
        name for klass in protocol.__mro__ if klass.__module__ == api.__name__
        for name, value in vars(klass).items() if callable(value) and not name.startswith("_")
    )


@pytest.mark.parametrize("name", _members(api.PartnerCenterApi))
def test_client_satisfies_protocol(name: str) -> None:
    """Same parameters (names, kinds, defaults) and the same annotations as the Protocol's: mypy checks the same in
    bot/partner_center/client.py (``_satisfies_api``); this keeps it true when mypy is not run."""
    expected = getattr(api.PartnerCenterApi, name)
    actual = getattr(PartnerCenterClient, name)
    wanted, got = inspect.signature(expected), inspect.signature(actual)
    assert [(p.name, p.kind, p.default) for p in got.parameters.values()] == [
        (p.name, p.kind, p.default) for p in wanted.parameters.values()]
    assert get_type_hints(actual) == get_type_hints(expected)


def test_protocol_names_every_call_the_services_make() -> None:
    assert set(_members(api.PartnerCenterApi)) >= {
        "validate_migration", "create_migration", "get_migration", "query_migrations", "get_migration_events",
        "create_schedule", "get_schedule", "list_schedules", "update_schedule", "cancel_schedule",
        "list_customers", "get_customer", "list_subscriptions", "get_subscription", "list_addons",
        "patch_subscription", "custom_term_end_dates", "get_webhook_registration", "save_webhook_registration",
        "send_webhook_validation", "webhook_validation_status",
    }
