"""Sandbox and client, SPEC §10: the 7-day window fields, PATCH with its refusals, coterm end dates and
Microsoft-led migrations at term end + 1 day — through the real PartnerCenterClient over TLS."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.errors import PartnerCenterError
from bot.partner_center.models import MigrationRequest, SubscriptionStatus
from sandbox import known
from sandbox.server import SandboxServer
from sandbox.state import iso
from tests.sandbox.helpers import pc_client as raw_client
from tests.sandbox.test_time_scale import scaled


def _migrate(sandbox: SandboxServer, pc: PartnerCenterClient, sub: str = known.ELIGIBLE_SIMPLE) -> str:
    made = pc.create_migration(known.CONTOSO, MigrationRequest(current_subscription_id=sub))
    sandbox.advance(181)
    done = pc.get_migration(known.CONTOSO, made.id)
    assert done.new_commerce_subscription_id
    return done.new_commerce_subscription_id


def test_new_nce_subscription_carries_its_window(sandbox: SandboxServer, pc_client: PartnerCenterClient) -> None:
    new_id = _migrate(sandbox, pc_client)
    sub = pc_client.get_subscription(known.CONTOSO, new_id)
    assert sub.creation_date is not None and sub.cancellation_allowed_until_date is not None
    assert sub.cancellation_allowed_until_date - sub.creation_date == timedelta(days=7)
    assert [o.type for o in sub.refund_options or []] == ["Full", "Partial"]
    assert sub.change_window_end == sub.cancellation_allowed_until_date
    legacy = pc_client.get_subscription(known.CONTOSO, known.ELIGIBLE_BASE)
    assert legacy.change_window_end is None  # legacy subscriptions have no such window


def test_patch_reduce_within_window_then_refused_after(
    sandbox: SandboxServer, pc_client: PartnerCenterClient
) -> None:
    new_id = _migrate(sandbox, pc_client)
    sub = pc_client.get_subscription(known.CONTOSO, new_id)
    reduced = pc_client.patch_subscription(known.CONTOSO, sub, quantity=20, request_id="0f0f0f0f-0000-4000-8000-1")
    assert reduced.quantity == 20
    again = pc_client.patch_subscription(known.CONTOSO, sub, quantity=20, request_id="0f0f0f0f-0000-4000-8000-1")
    assert again.quantity == 20
    patches = sandbox.state.summary()["subscriptionPatches"]
    assert [(p["subscriptionId"], p["fromQuantity"], p["quantity"]) for p in patches] == [(new_id, 25, 20)]

    with pytest.raises(PartnerCenterError) as bad_status:
        pc_client.patch_subscription(known.CONTOSO, reduced, status=SubscriptionStatus.SUSPENDED)
    assert bad_status.value.status_code == 400 and bad_status.value.code == 800002

    sandbox.advance(7 * 86400 + 60)
    current = pc_client.get_subscription(known.CONTOSO, new_id)
    with pytest.raises(PartnerCenterError) as late:
        pc_client.patch_subscription(known.CONTOSO, current, status=SubscriptionStatus.DELETED)
    assert late.value.code == 900301 and "cancellation window closed" in late.value.description
    more = pc_client.patch_subscription(known.CONTOSO, current, quantity=30)  # increases stay allowed
    assert more.quantity == 30
    assert len(sandbox.state.summary()["subscriptionPatches"]) == 2


def test_patch_needs_the_full_object(sandbox: SandboxServer, pc_client: PartnerCenterClient) -> None:
    new_id = _migrate(sandbox, pc_client)
    sub = pc_client.get_subscription(known.CONTOSO, new_id)
    partial = sub.model_copy(update={"offer_id": None})
    with pytest.raises(PartnerCenterError) as refused:
        pc_client.patch_subscription(known.CONTOSO, partial, quantity=5)
    assert refused.value.code == 800002 and "full subscription resource" in refused.value.description
    with pytest.raises(PartnerCenterError) as too_many:
        pc_client.patch_subscription(known.CONTOSO, sub, quantity=301)
    assert too_many.value.code == 800002 and "1 to 300" in too_many.value.description
    legacy = pc_client.get_subscription(known.CONTOSO, known.ELIGIBLE_BASE)
    with pytest.raises(PartnerCenterError) as not_nce:
        pc_client.patch_subscription(known.CONTOSO, legacy, quantity=1)
    assert not_nce.value.code == 800002
    cancelled = pc_client.patch_subscription(known.CONTOSO, sub, status=SubscriptionStatus.DELETED)
    assert cancelled.status == SubscriptionStatus.DELETED
    with pytest.raises(PartnerCenterError) as gone:
        pc_client.patch_subscription(known.CONTOSO, cancelled, quantity=3)
    assert gone.value.code == 900215


def test_custom_term_end_dates(sandbox: SandboxServer, pc_client: PartnerCenterClient) -> None:
    nce = pc_client.get_subscription(known.CONTOSO, known.NCE_SUB)
    dates = pc_client.custom_term_end_dates(known.CONTOSO, "P1Y")
    kinds = {d.allowed_custom_term_end_date_type for d in dates}
    assert kinds == {"calendarMonthAligned", "subscriptionAligned"}
    aligned = [d for d in dates if d.allowed_custom_term_end_date_type == "subscriptionAligned"]
    assert nce.term_end in {d.allowed_custom_term_end_date.date() for d in aligned}
    assert any(known.NCE_SUB in d.coterm_subscription_ids for d in aligned)
    month = next(d for d in dates if d.allowed_custom_term_end_date_type == "calendarMonthAligned")
    following = month.allowed_custom_term_end_date + timedelta(days=1)
    assert following.day == 1  # a calendar month end
    with pytest.raises(PartnerCenterError) as bad:
        pc_client.custom_term_end_dates(known.CONTOSO, "P2Y")
    assert bad.value.code == 800002


def test_microsoft_led_migration_at_term_end_plus_one_day(
    sandbox: SandboxServer, pc_client: PartnerCenterClient
) -> None:
    sub = pc_client.get_subscription(known.FABRIKAM, known.SCHEDULE_RENEWAL_SUB)  # ends in 25 days, no schedule
    assert sub.commitment_end_date is not None
    until_end = (sub.commitment_end_date - sandbox.state.now()).total_seconds()
    sandbox.advance(until_end + 3600)  # the term ended an hour ago: not yet
    assert not pc_client.query_migrations(current_subscription_id=known.SCHEDULE_RENEWAL_SUB)
    sandbox.advance(86400)
    found = pc_client.query_migrations(current_subscription_id=known.SCHEDULE_RENEWAL_SUB)
    assert len(found) == 1 and found[0].microsoft_led is True
    assert str(found[0].term_duration) == "P1Y" and found[0].quantity == sub.quantity
    assert found[0].started_time is not None
    assert found[0].started_time.date() == (sub.commitment_end_date + timedelta(days=1)).date()


def test_microsoft_led_under_time_scale(pc_sandbox_factory: Callable[..., SandboxServer]) -> None:
    """``--time-scale``: real time runs the sandbox days fast; Microsoft migrates on its own as they pass."""
    server, real = scaled(pc_sandbox_factory, 86400)  # one real second = one sandbox day
    with raw_client(server) as pc:
        before = pc.get("/v1/migrations/newcommerce", params={"CurrentSubscriptionId": known.SCHEDULE_RENEWAL_SUB})
        real.sleep(27)  # 27 sandbox days: its term (25 days) ended and the day after has passed
        after = pc.get("/v1/migrations/newcommerce", params={"CurrentSubscriptionId": known.SCHEDULE_RENEWAL_SUB})
    assert before.json() == []
    [led] = after.json()
    assert led["microsoftLed"] is True and led["termDuration"] == "P1Y" and led["status"] == "Completed"
    legacy = server.state.customers[known.FABRIKAM].subs[known.SCHEDULE_RENEWAL_SUB]
    assert led["startedTime"] == iso(legacy.term_end + timedelta(days=1))
