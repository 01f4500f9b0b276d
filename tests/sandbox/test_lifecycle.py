"""Migrations, schedules and Microsoft-led migrations move with the sandbox clock (advanced, never slept)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sandbox import known
from sandbox.clock import SandboxClock
from sandbox.server import SandboxServer
from sandbox.state import iso
from tests.sandbox.helpers import admin, mig, pc_client, rid


def events(pc: object, customer: str, migration_id: str) -> list[str]:
    reply = pc.get(mig(customer) + "/events", params={"migration_id": migration_id})  # type: ignore[attr-defined]
    assert reply.status_code == 200
    return [e["eventName"] for e in reply.json()]


def test_migration_completes(pc_sandbox: SandboxServer) -> None:
    with pc_client(pc_sandbox) as pc:
        created = pc.post(mig(known.CONTOSO), json={"currentSubscriptionId": known.ELIGIBLE_BASE}, headers=rid()).json()
        mid = created["id"]
        assert created["status"] == "Processing"
        legacy = pc.get(f"/v1/customers/{known.CONTOSO}/subscriptions/{known.ELIGIBLE_BASE}").json()
        assert legacy["status"] == "suspended"
        assert events(pc, known.CONTOSO, mid) == ["MigrationStarted"]
        pc_sandbox.advance(60)
        assert events(pc, known.CONTOSO, mid) == ["MigrationStarted", "NewCommerceSubscriptionCreated"]
        assert pc.get(f"{mig(known.CONTOSO)}/{mid}").json()["status"] == "Processing"
        pc_sandbox.advance(120)
        done = pc.get(f"{mig(known.CONTOSO)}/{mid}").json()
        names = events(pc, known.CONTOSO, mid)
        by_sub = pc.get(mig(known.CONTOSO) + "/events", params={"current_subscription_id": known.ELIGIBLE_BASE}).json()
        subs = pc.get(f"/v1/customers/{known.CONTOSO}/subscriptions").json()["items"]
    assert names == [
        "MigrationStarted",
        "NewCommerceSubscriptionCreated",
        "NewCommerceSubscriptionProvisioned",
        "MigrationCompleted",
    ]
    assert [e["eventName"] for e in by_sub] == names and by_sub[0]["newCommerceMigrationId"] == mid
    assert done["status"] == "Completed" and done["completedTime"] and done["newCommerceOrderId"]
    new_id = done["newCommerceSubscriptionId"]
    new = next(s for s in subs if s["id"] == new_id)
    assert new["migratedFromSubscriptionId"] == known.ELIGIBLE_BASE
    assert new["offerId"].count(":") == 2 and new["productType"]["displayName"] == "OnlineServicesNCE"
    assert new["orderId"] == done["newCommerceOrderId"]
    migrated_addons = {s["migratedFromSubscriptionId"] for s in subs if "migratedFromSubscriptionId" in s}
    assert migrated_addons == {known.ELIGIBLE_BASE, *known.ELIGIBLE_BASE_ADDONS}
    assert all(a["newCommerceSubscriptionId"] for a in done["addOnMigrations"])
    assert next(s for s in subs if s["id"] == known.ELIGIBLE_BASE)["status"] == "suspended"


def test_failing_migration(pc_sandbox: SandboxServer) -> None:
    with pc_client(pc_sandbox) as pc:
        mid = pc.post(mig(known.CONTOSO), json={"currentSubscriptionId": known.FAILING_SUB}, headers=rid()).json()["id"]
        pc_sandbox.advance(180)
        failed = pc.get(f"{mig(known.CONTOSO)}/{mid}").json()
        names = events(pc, known.CONTOSO, mid)
        legacy = pc.get(f"/v1/customers/{known.CONTOSO}/subscriptions/{known.FAILING_SUB}").json()
    assert failed["status"] == "Failed"
    assert failed["errorCode"] == known.FAILING_ERROR_CODE and "300-seat" in failed["errorDescription"]
    assert names == ["MigrationStarted", "MigrationFailed"]
    assert legacy["status"] == "active"  # reverted


def test_schedule_runs_at_target_date(pc_sandbox: SandboxServer) -> None:
    target = pc_sandbox.state.now() + timedelta(days=2)
    with pc_client(pc_sandbox) as pc:
        schedule = pc.post(
            mig(known.FABRIKAM) + "/schedules",
            json={"currentSubscriptionId": known.SCHEDULE_SUB, "targetDate": iso(target), "quantity": 20},
            headers=rid(),
        )
        assert schedule.status_code == 201 and schedule.json()["status"] == "Created"
        sid = schedule.json()["id"]
        listed = pc.get("/v1/migrations/newcommerce/schedules", params={"currentsubscriptionid": known.SCHEDULE_SUB})
        assert [s["id"] for s in listed.json()] == [sid]
        pc_sandbox.advance(2 * 86400 + 1)
        ran = pc.get(f"{mig(known.FABRIKAM)}/schedules/{sid}").json()
        migration = pc.get(f"{mig(known.FABRIKAM)}/{ran['newCommerceMigrationId']}").json()
        late = pc.put(
            f"{mig(known.FABRIKAM)}/schedules/{sid}",
            json={"currentSubscriptionId": known.SCHEDULE_SUB, "targetDate": iso(target + timedelta(days=5))},
        )
    assert ran["status"] == "Completed"
    assert migration["quantity"] == 20 and migration["status"] in ("Processing", "Completed")
    assert migration["startedTime"] == iso(target)
    assert late.status_code == 400 and late.json()["code"] == 800002


def test_schedule_update_cancel_and_rules(pc_sandbox: SandboxServer) -> None:
    now = pc_sandbox.state.now()
    base = mig(known.FABRIKAM) + "/schedules"
    with pc_client(pc_sandbox) as pc:
        both = pc.post(
            base,
            json={
                "currentSubscriptionId": known.SCHEDULE_SUB,
                "targetDate": iso(now + timedelta(days=1)),
                "migrateOnRenewal": True,
            },
        )
        neither = pc.post(base, json={"currentSubscriptionId": known.SCHEDULE_SUB})
        past = pc.post(
            base, json={"currentSubscriptionId": known.SCHEDULE_SUB, "targetDate": iso(now - timedelta(days=1))}
        )
        sid = pc.post(
            base,
            json={"currentSubscriptionId": known.SCHEDULE_SUB, "targetDate": iso(now + timedelta(days=3))},
            headers=rid(),
        ).json()["id"]
        pc_sandbox.advance(3600)
        moved = pc.put(
            f"{base}/{sid}",
            json={
                "currentSubscriptionId": known.SCHEDULE_SUB,
                "migrateOnRenewal": True,
                "termDuration": "P3Y",
                "billingCycle": "Triennial",
            },
        )
        other_sub = pc.put(
            f"{base}/{sid}", json={"currentSubscriptionId": known.SCHEDULE_RENEWAL_SUB, "migrateOnRenewal": True}
        )
        cancelled = pc.post(f"{base}/{sid}/cancel")
        after_cancel = pc.get("/v1/migrations/newcommerce/schedules", params={"CustomerTenantId": known.FABRIKAM})
        missing = pc.get(f"{base}/{known.UNKNOWN_SUB}")
    for reply in (both, neither, past):
        assert (reply.status_code, reply.json()["code"]) == (400, 800002), reply.text
    assert moved.status_code == 201, moved.text
    assert moved.json()["migrateOnRenewal"] is True and "targetDate" not in moved.json()
    assert moved.json()["termDuration"] == "P3Y" and moved.json()["lastModifiedTime"] != moved.json()["createdTime"]
    assert (other_sub.status_code, other_sub.json()["code"]) == (400, 800002)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "Cancelled"
    assert [s["status"] for s in after_cancel.json()] == ["Cancelled"]
    assert missing.status_code == 400 and missing.json()["code"] == 900224


def test_schedule_on_renewal_and_failing_schedule(pc_sandbox: SandboxServer) -> None:
    base = mig(known.FABRIKAM) + "/schedules"
    with pc_client(pc_sandbox) as pc:
        renewal = pc.post(
            base, json={"currentSubscriptionId": known.SCHEDULE_RENEWAL_SUB, "migrateOnRenewal": True}
        ).json()
        failing = pc.post(
            base,
            json={
                "currentSubscriptionId": known.SCHEDULE_FAILING_SUB,
                "targetDate": iso(pc_sandbox.state.now() + timedelta(days=1)),
            },
        ).json()
        pc_sandbox.advance(24 * 86400)
        assert pc.get(f"{base}/{renewal['id']}").json()["status"] == "Created"  # term ends in 25 days
        pc_sandbox.advance(2 * 86400)
        ran = pc.get(f"{base}/{renewal['id']}").json()
        failed = pc.get(f"{base}/{failing['id']}").json()
    assert ran["status"] == "Completed" and ran["newCommerceMigrationId"]
    assert failed["status"] == "Failed" and failed["errorCode"] == 900225 and failed["errorDescription"]
    assert failed["newCommerceMigrationId"]


def test_microsoft_led_migration_and_query(pc_sandbox: SandboxServer) -> None:
    with admin(pc_sandbox) as a:
        made = a.post(
            "/_sandbox/external-migration",
            json={"customerId": known.WIDE_WORLD, "subscriptionId": known.EXTERNAL_SUB, "microsoftLed": True},
        )
        portal = a.post(
            "/_sandbox/external-migration",
            json={"customerId": known.WIDE_WORLD, "subscriptionId": known.WIDE_WORLD_MONTHLY, "microsoftLed": False},
        )
    assert made.status_code == 201 and made.json()["microsoftLed"] is True and made.json()["termDuration"] == "P1Y"
    with pc_client(pc_sandbox) as pc:
        led = pc.get(
            "/v1/migrations/newcommerce", params={"customerTenantId": known.WIDE_WORLD, "ISMICROSOFTLED": "true"}
        )
        everything = pc.get("/v1/migrations/newcommerce", params={"CustomerTenantId": known.WIDE_WORLD, "PageSize": 1})
        token = everything.headers["MS-ContinuationToken"]
        page2 = pc.get(
            "/v1/migrations/newcommerce",
            params={"CustomerTenantId": known.WIDE_WORLD, "PageSize": 1},
            headers={"MS-ContinuationToken": token},
        )
    assert [m["id"] for m in led.json()] == [made.json()["id"]]
    assert [m["id"] for m in everything.json() + page2.json()] == [made.json()["id"], portal.json()["id"]]
    assert "MS-ContinuationToken" not in page2.headers


def test_customer_paging_and_subscriptions(pc_sandbox: SandboxServer) -> None:
    seen: list[str] = []
    with pc_client(pc_sandbox) as pc:
        page = pc.get("/v1/customers", params={"size": 2}).json()
        seen += [c["id"] for c in page["items"]]
        while page.get("continuationToken"):
            page = pc.get(
                "/v1/customers",
                params={"size": 2, "seekOperation": "next"},
                headers={"MS-ContinuationToken": page["continuationToken"]},
            ).json()
            seen += [c["id"] for c in page["items"]]
        first = pc.get(f"/v1/customers/{known.NORTHWIND}/subscriptions").json()
        second = pc.get(
            f"/v1/customers/{known.NORTHWIND}/subscriptions",
            params={"seekOperation": "next"},
            headers={"MS-ContinuationToken": first["continuationToken"]},
        ).json()
        foreign = pc.get(  # a token of another customer's list is refused, not silently reused
            f"/v1/customers/{known.CONTOSO}/subscriptions",
            params={"seekOperation": "next"},
            headers={"MS-ContinuationToken": first["continuationToken"]},
        )
        addons = pc.get(f"/v1/customers/{known.CONTOSO}/subscriptions/{known.NESTED_PARENT_ADDON}/addons").json()
    assert seen == known.LISTED_CUSTOMERS
    # Northwind has more subscriptions than a page (25): the list is seek-paged like /customers.
    assert first["totalCount"] == len(first["items"]) == 25
    assert first["links"]["next"]["headers"] == [{"key": "MS-ContinuationToken", "value": first["continuationToken"]}]
    assert "continuationToken" not in second and len(second["items"]) == 7
    northwind = first["items"] + second["items"]
    assert [s["id"] for s in northwind] == known.NORTHWIND_SUBS
    assert all(s["status"] == "active" and "parentSubscriptionId" not in s for s in northwind)
    assert foreign.status_code == 400 and foreign.json()["code"] == 800002
    assert [s["id"] for s in addons["items"]] == [known.NESTED_ADDON]
    assert addons["items"][0]["parentSubscriptionId"] == known.NESTED_PARENT_ADDON


def test_clock_arithmetic() -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    clock = SandboxClock(time_scale=60, start=start)
    assert clock.to_real_seconds(180) == 3.0  # the 180 s lifecycle passes in 3 real seconds
    assert clock.to_sandbox_seconds(2) == 120
    before = clock.elapsed()
    clock.advance(600)
    assert clock.elapsed() - before >= 600
    assert clock.now() >= start + timedelta(seconds=600)


def test_admin_clock_route(pc_sandbox: SandboxServer) -> None:
    with admin(pc_sandbox) as a:
        before = datetime.fromisoformat(a.get("/_sandbox/clock").json()["now"])
        after = datetime.fromisoformat(a.post("/_sandbox/clock", json={"advance": 86400}).json()["now"])
        refused = a.post("/_sandbox/clock", json={"advance": "soon"})
    assert after - before >= timedelta(days=1)
    assert refused.status_code == 400
