"""Each endpoint: exact method, path, query names, JSON names, headers; seed examples parsed verbatim."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.partner_center import PartnerCenterClient, PartnerCenterError
from bot.partner_center.models import (
    AddOnMigration,
    AddOnMigrationSchedule,
    BillingCycle,
    MigrationEventName,
    MigrationRequest,
    MigrationScheduleRequest,
    MigrationStatus,
    ScheduleStatus,
    SubscriptionStatus,
    TermDuration,
)
from tests.partner_center.conftest import load
from tests.partner_center.stub_server import Recorded, Reply, StubServer

CUSTOMER = "75c5e79e-7e9f-429f-b772-ed3d38768f7c"
SUB = "2e56c7f5-e120-4ca4-bff3-7da763b4d777"
MIGRATION = "7123c075-fc05-42d6-a21e-1d2036fa490b"
SCHEDULE = "f016c025-a873-47af-8b52-2516fbef4c65"
BASE = f"/v1/customers/{CUSTOMER}/migrations/newcommerce"


def only_api_request(stub: StubServer) -> Recorded:
    api = stub.api_requests()
    assert len(api) == 1, [(r.method, r.path) for r in api]
    return api[0]


def assert_standard_headers(req: Recorded, *, body: bool) -> None:
    assert req.headers["authorization"].startswith("Bearer at-")
    assert req.headers["accept"] == "application/json"
    assert req.headers["ms-partnercenter-application"] == "ncebot"
    assert uuid.UUID(req.headers["ms-requestid"])
    assert uuid.UUID(req.headers["ms-correlationid"])
    assert req.headers["ms-requestid"] != req.headers["ms-correlationid"]
    if body:
        assert req.headers["content-type"] == "application/json"
    else:
        assert "content-type" not in req.headers


def test_validate_sends_camel_case_body_and_parses_ineligible_seed(
    stub: StubServer, client: PartnerCenterClient
) -> None:
    stub.script("POST", f"{BASE}/validate", Reply(201, json=load("validate_response_1.json")))
    body = MigrationRequest(
        current_subscription_id="9beb6319-6889-4d28-a155-68ca9c783842",
        term_duration=TermDuration.P1Y,
        billing_cycle=BillingCycle.MONTHLY,
        purchase_full_term=False,
        quantity=3,
        add_on_migrations=[AddOnMigration(current_subscription_id="359011dc-b5b0-4660-850b-a8fa9b2e3309", quantity=1)],
    )
    result = client.validate_migration(CUSTOMER, body)

    req = only_api_request(stub)
    assert (req.method, req.path, req.query) == ("POST", f"{BASE}/validate", {})
    assert_standard_headers(req, body=True)
    assert req.body == {
        "currentSubscriptionId": "9beb6319-6889-4d28-a155-68ca9c783842",
        "termDuration": "P1Y",
        "billingCycle": "monthly",
        "purchaseFullTerm": False,
        "quantity": 3,
        "addOnMigrations": [{"currentSubscriptionId": "359011dc-b5b0-4660-850b-a8fa9b2e3309", "quantity": 1}],
    }
    assert result.is_eligible is False
    assert result.current_subscription_id == "9beb6319-6889-4d28-a155-68ca9c783842"
    assert [(e.code, e.description) for e in result.errors] == [
        (
            5,
            "Subscription cannot be migrated to New Commerce because the equivalent offer is not yet available "
            "in New Commerce",
        )
    ]


def test_validate_parses_eligible_seed(stub: StubServer, client: PartnerCenterClient) -> None:
    stub.script("POST", f"{BASE}/validate", Reply(200, json=load("validate_response_2.json")))
    result = client.validate_migration(CUSTOMER, MigrationRequest(current_subscription_id=SUB))
    assert result.is_eligible is True
    assert result.catalog_item_id == "CFQ7TTC0LF8S:0002:CFQ7TTC0KSVV"
    assert result.errors == []


def test_create_migration_sends_seed_request_and_parses_seed_response(
    stub: StubServer, client: PartnerCenterClient
) -> None:
    seed_request = load("create_request_4.json")
    stub.script("POST", BASE, Reply(201, json=load("create_response.json")))

    migration = client.create_migration(CUSTOMER, MigrationRequest.model_validate(seed_request), request_id="req-42")

    req = only_api_request(stub)
    assert (req.method, req.path) == ("POST", BASE)
    assert_standard_headers_with_request_id(req, "req-42")
    # The seed's add-on example round-trips: same names, flat addOnMigrations list; only enum case normalises.
    assert req.body["currentSubscriptionId"] == "66E738D6-E0BC-4FFB-8818-BDE99BC7008B"
    assert [a["currentSubscriptionId"] for a in req.body["addOnMigrations"]] == [
        "359011DC-B5B0-4660-850B-A8FA9B2E3309",
        "159D9F87-CE39-4EBD-B9C2-ECF0892A85A1",
    ]
    assert set(req.body) == set(seed_request)
    assert set(req.body["addOnMigrations"][0]) == set(seed_request["addOnMigrations"][0])

    assert migration.id == MIGRATION
    assert migration.status == MigrationStatus.PROCESSING
    assert migration.started_time == datetime(2022, 2, 23, 13, 0, 48, 448983, tzinfo=UTC)
    assert migration.catalog_item_id == "CFQ7TTC0LF8Q:0001:CFQ7TTC0KQDF"
    assert migration.term_duration == TermDuration.P1Y and migration.billing_cycle == BillingCycle.MONTHLY
    assert [a.catalog_item_id for a in migration.add_on_migrations] == [
        "CFQ7TTC0LH0T:0001:CFQ7TTC0K4KQ",
        "CFQ7TTC0LH0R:0001:CFQ7TTC0K0SK",
        "CFQ7TTC0LHXJ:0001:CFQ7TTC0KHTR",
    ]
    assert not migration.is_final


def assert_standard_headers_with_request_id(req: Recorded, request_id: str) -> None:
    # Like assert_standard_headers, but the caller's request id need not be a GUID.
    assert req.headers["authorization"].startswith("Bearer at-")
    assert req.headers["ms-requestid"] == request_id
    assert req.headers["content-type"] == "application/json"
    assert uuid.UUID(req.headers["ms-correlationid"])


@pytest.mark.parametrize("name", ["create_request_1.json", "create_request_2.json", "create_request_3.json"])
def test_other_create_seed_requests_round_trip(name: str, stub: StubServer, client: PartnerCenterClient) -> None:
    seed = load(name)
    stub.script("POST", BASE, Reply(201, json={"id": MIGRATION, "status": "Processing"}))
    client.create_migration(CUSTOMER, MigrationRequest.model_validate(seed))
    sent = only_api_request(stub).body
    assert {k: str(v).lower() for k, v in sent.items()} == {k: str(v).lower() for k, v in seed.items()}


def test_get_migration_completed_with_unknown_fields(stub: StubServer, client: PartnerCenterClient) -> None:
    stub.script(
        "GET",
        f"{BASE}/{MIGRATION}",
        Reply(
            201,  # REST ref labels GETs 201: any 2xx is success
            json={
                "id": MIGRATION,
                "status": "completed",
                "completedTime": "2022-02-23T15:00:00Z",
                "newCommerceSubscriptionId": "9a1b2c3d-0000-0000-0000-000000000001",
                "brandNewField": {"x": 1},
            },
        ),
    )
    migration = client.get_migration(CUSTOMER, MIGRATION)
    req = only_api_request(stub)
    assert (req.method, req.path, req.raw) == ("GET", f"{BASE}/{MIGRATION}", b"")
    assert_standard_headers(req, body=False)
    assert migration.status == MigrationStatus.COMPLETED and migration.is_final
    assert migration.new_commerce_subscription_id == "9a1b2c3d-0000-0000-0000-000000000001"


def test_query_migrations_uses_pascal_case_filters(stub: StubServer, client: PartnerCenterClient) -> None:
    stub.script("GET", "/v1/migrations/newcommerce", Reply(json=[load("create_response.json")]))
    found = client.query_migrations(
        customer_id=CUSTOMER,
        current_subscription_id=SUB,
        external_reference_id="batch-1",
        microsoft_led=False,
        page_size=50,
    )
    req = only_api_request(stub)
    assert (req.method, req.path) == ("GET", "/v1/migrations/newcommerce")
    assert req.query == {
        "CustomerTenantId": [CUSTOMER],
        "CurrentSubscriptionId": [SUB],
        "ExternalReferenceId": ["batch-1"],
        "IsMicrosoftLed": ["false"],
        "PageSize": ["50"],
    }
    assert "ms-continuationtoken" not in req.headers
    assert [m.id for m in found] == [MIGRATION]


def test_query_filters_are_required(client: PartnerCenterClient, stub: StubServer) -> None:
    with pytest.raises(ValueError):
        client.query_migrations(microsoft_led=True)
    with pytest.raises(ValueError):
        client.list_schedules(page_size=10)
    with pytest.raises(ValueError):
        client.query_migrations(customer_id=CUSTOMER, page_size=301)
    assert stub.api_requests() == []


def test_migration_events_use_snake_case_query(stub: StubServer, client: PartnerCenterClient) -> None:
    events = [
        {
            "id": "e1",
            "newCommerceMigrationId": MIGRATION,
            "currentSubscriptionId": SUB,
            "customerTenantId": CUSTOMER,
            "createdTime": "2022-06-23T10:00:00",
            "eventName": "MigrationStarted",
        },
        {"id": "e2", "newCommerceMigrationId": MIGRATION, "eventName": "SomethingNew"},
    ]
    stub.script("GET", f"{BASE}/events", Reply(json=events))
    result = client.get_migration_events(CUSTOMER, migration_id=MIGRATION, current_subscription_id=SUB)
    req = only_api_request(stub)
    assert req.query == {"migration_id": [MIGRATION], "current_subscription_id": [SUB]}
    assert result[0].event_name == MigrationEventName.MIGRATION_STARTED
    assert result[0].created_time == datetime(2022, 6, 23, 10, tzinfo=UTC)
    assert result[1].event_name == "SomethingNew"
    with pytest.raises(ValueError):
        client.get_migration_events(CUSTOMER)


def test_create_schedule_body_and_local_refusal(stub: StubServer, client: PartnerCenterClient) -> None:
    stub.script("POST", f"{BASE}/schedules", Reply(201, json=load("update_schedule_response.json")))
    body = MigrationScheduleRequest(
        current_subscription_id=SUB,
        migrate_on_renewal=True,
        external_reference_id="batch-9",
        add_on_migration_schedules=[
            AddOnMigrationSchedule(current_subscription_id="a0000000-0000-0000-0000-00000000000a")
        ],
    )
    schedule = client.create_schedule(CUSTOMER, body)
    req = only_api_request(stub)
    assert (req.method, req.path) == ("POST", f"{BASE}/schedules")
    assert req.body == {
        "currentSubscriptionId": SUB,
        "migrateOnRenewal": True,
        "externalReferenceId": "batch-9",
        "addOnMigrationSchedules": [{"currentSubscriptionId": "a0000000-0000-0000-0000-00000000000a"}],
    }
    assert schedule.status == ScheduleStatus.CREATED

    for bad in (
        MigrationScheduleRequest(current_subscription_id=SUB),
        MigrationScheduleRequest(current_subscription_id=SUB, migrate_on_renewal=False),
        MigrationScheduleRequest(
            current_subscription_id=SUB, target_date=datetime(2030, 1, 1, tzinfo=UTC), migrate_on_renewal=True
        ),
    ):
        with pytest.raises(ValueError):
            client.create_schedule(CUSTOMER, bad)
    assert len(stub.api_requests()) == 1


def test_update_schedule_sends_seed_body_with_id_and_parses_seed_response(
    stub: StubServer, client: PartnerCenterClient
) -> None:
    seed = load("update_schedule_request.json")
    stub.script(
        "PUT",
        f"/v1/customers/{CUSTOMER}/migrations/newcommerce/schedules/{SCHEDULE}",
        Reply(201, json=load("update_schedule_response.json")),
    )
    body = MigrationScheduleRequest.model_validate({k: v for k, v in seed.items() if k != "id"})
    schedule = client.update_schedule(CUSTOMER, SCHEDULE, body, request_id="rid-upd")

    req = only_api_request(stub)
    assert (req.method, req.path) == ("PUT", f"{BASE}/schedules/{SCHEDULE}")
    assert req.headers["ms-requestid"] == "rid-upd"
    assert req.body["id"] == SCHEDULE
    assert req.body["currentSubscriptionId"] == "c6105a9c-36cb-4f88-92ea-9573040725c4"
    assert req.body["quantity"] == 25 and req.body["termDuration"] == "P1Y"
    assert req.body["targetDate"].startswith("2022-10-30T00:00:00")
    # Unknown-to-the-model fields of the seed (status, customerTenantId) are kept, not dropped.
    assert req.body["status"] == "Created" and req.body["customerTenantId"] == seed["customerTenantId"]

    assert schedule.id == SCHEDULE
    assert schedule.status == ScheduleStatus.CREATED
    assert schedule.target_date == datetime(2022, 10, 30, tzinfo=UTC)
    assert schedule.subscription_end_date == datetime(2023, 7, 19, tzinfo=UTC)
    assert schedule.last_modified_time is not None and schedule.last_modified_time.minute == 29
    assert schedule.quantity == 25

    with pytest.raises(ValueError):
        client.update_schedule(CUSTOMER, SCHEDULE, body.model_copy(update={"id": "other"}))


def test_get_and_cancel_schedule(stub: StubServer, client: PartnerCenterClient) -> None:
    path = f"{BASE}/schedules/{SCHEDULE}"
    stub.script("GET", path, Reply(json=load("update_schedule_response.json")))
    stub.script("POST", f"{path}/cancel", Reply(json={**load("update_schedule_response.json"), "status": "Cancelled"}))
    assert client.get_schedule(CUSTOMER, SCHEDULE).quantity == 25
    cancelled = client.cancel_schedule(CUSTOMER, SCHEDULE, request_id="rid-cancel")
    get_req, cancel_req = stub.api_requests()
    assert (get_req.method, get_req.path) == ("GET", path)
    assert (cancel_req.method, cancel_req.path, cancel_req.raw) == ("POST", f"{path}/cancel", b"")
    assert cancel_req.headers["ms-requestid"] == "rid-cancel"
    assert cancelled.status == ScheduleStatus.CANCELLED


def test_list_schedules_query_names(stub: StubServer, client: PartnerCenterClient) -> None:
    stub.script("GET", "/v1/migrations/newcommerce/schedules", Reply(json=[load("update_schedule_response.json")]))
    result = client.list_schedules(current_subscription_id=SUB, microsoft_led=True)
    req = only_api_request(stub)
    assert req.query == {"CurrentSubscriptionId": [SUB], "IsMicrosoftLed": ["true"]}
    assert [s.id for s in result] == [SCHEDULE]


def test_customer_and_subscription_reads(stub: StubServer, client: PartnerCenterClient) -> None:
    legacy = {
        "id": SUB,
        "offerId": "031C9E47-4802-4248-838E-778FB1D2CC05",
        "offerName": "Office 365 Business Premium",
        "quantity": 10,
        "status": "active",
        "termDuration": "P1Y",
        "billingCycle": "Annual",
        "commitmentEndDate": "2023-02-22T00:00:00Z",
        "isTrial": False,
        "productType": {"id": "OnlineServices", "displayName": "OnlineServices"},
    }
    addon = {**legacy, "id": "a0000000-0000-0000-0000-00000000000a", "parentSubscriptionId": SUB}
    stub.script(
        "GET", f"/v1/customers/{CUSTOMER}", Reply(json={"id": CUSTOMER, "companyProfile": {"companyName": "Contoso"}})
    )
    stub.script("GET", f"/v1/customers/{CUSTOMER}/subscriptions", Reply(json={"totalCount": 1, "items": [legacy]}))
    stub.script("GET", f"/v1/customers/{CUSTOMER}/subscriptions/{SUB}", Reply(json=legacy))
    stub.script(
        "GET", f"/v1/customers/{CUSTOMER}/subscriptions/{SUB}/addons", Reply(json={"totalCount": 1, "items": [addon]})
    )

    assert client.get_customer(CUSTOMER).display_name == "Contoso"
    subs = client.list_subscriptions(CUSTOMER)
    single = client.get_subscription(CUSTOMER, SUB)
    addons = client.list_addons(CUSTOMER, SUB)

    assert [r.path for r in stub.api_requests()] == [
        f"/v1/customers/{CUSTOMER}",
        f"/v1/customers/{CUSTOMER}/subscriptions",
        f"/v1/customers/{CUSTOMER}/subscriptions/{SUB}",
        f"/v1/customers/{CUSTOMER}/subscriptions/{SUB}/addons",
    ]
    assert all(r.method == "GET" and r.query == {} for r in stub.api_requests())
    assert [s.id for s in subs] == [SUB] and subs[0].is_legacy and subs[0].status == SubscriptionStatus.ACTIVE
    assert single.billing_cycle == BillingCycle.ANNUAL
    assert [a.id for a in addons] == [addon["id"]] and addons[0].is_addon


def test_ids_cannot_change_the_route(stub: StubServer, client: PartnerCenterClient) -> None:
    stub.script("GET", f"/v1/customers/{CUSTOMER}%2F..%2Fx", Reply(json={"id": "x"}))
    client.get_customer(f"{CUSTOMER}/../x")
    assert only_api_request(stub).path == f"/v1/customers/{CUSTOMER}%2F..%2Fx"


def test_unexpected_shapes_raise_partner_center_errors(stub: StubServer, client: PartnerCenterClient) -> None:
    stub.script("GET", f"/v1/customers/{CUSTOMER}", Reply(json={"companyProfile": {}}))  # no id
    stub.script("GET", f"/v1/customers/{CUSTOMER}/subscriptions", Reply(json={"items": [{"offerId": "x"}]}))
    stub.script("GET", f"{BASE}/{MIGRATION}", Reply(json=["not", "an", "object"]))
    with pytest.raises(PartnerCenterError, match=r"unexpected Customer.*id"):
        client.get_customer(CUSTOMER)
    with pytest.raises(PartnerCenterError, match="unexpected Subscription"):
        client.list_subscriptions(CUSTOMER)
    with pytest.raises(PartnerCenterError, match="expected a JSON object"):
        client.get_migration(CUSTOMER, MIGRATION)


SCHEDULE_ENTITY = {"id": SCHEDULE, "currentSubscriptionId": SUB, "status": "Created"}
ADDON = "a0000000-0000-0000-0000-00000000000a"
NESTED = "b0000000-0000-0000-0000-00000000000b"

# (name, call, method, path, query, sent JSON body or None, scripted answer)
ENDPOINTS = [
    (
        "validate",
        lambda c: c.validate_migration(
            CUSTOMER,
            MigrationRequest.model_validate(
                {
                    "currentSubscriptionId": SUB,
                    "addOnMigrations": [{"currentSubscriptionId": ADDON, "addOnMigrations": [
                        {"currentSubscriptionId": NESTED, "quantity": 2}]}],
                }
            ),
        ),
        "POST",
        f"{BASE}/validate",
        {},
        {
            "currentSubscriptionId": SUB,
            # A nested add-on goes up into the one flat list, never nested.
            "addOnMigrations": [{"currentSubscriptionId": ADDON}, {"currentSubscriptionId": NESTED, "quantity": 2}],
        },
        Reply(201, json={"currentSubscriptionId": SUB, "isEligible": True}),
    ),
    (
        "create",
        lambda c: c.create_migration(
            CUSTOMER,
            MigrationRequest(
                current_subscription_id=SUB,
                term_duration=TermDuration.P3Y,
                billing_cycle=BillingCycle.TRIENNIAL,
                purchase_full_term=True,
                quantity=7,
                custom_term_end_date=datetime(2025, 1, 31, tzinfo=UTC),
                external_reference_id="batch-1",
                add_on_migrations=[AddOnMigration(current_subscription_id=ADDON, billing_cycle="Monthly")],
            ),
        ),
        "POST",
        BASE,
        {},
        {
            "currentSubscriptionId": SUB,
            "termDuration": "P3Y",
            "billingCycle": "triennial",
            "purchaseFullTerm": True,
            "quantity": 7,
            "customTermEndDate": "2025-01-31T00:00:00Z",
            "externalReferenceId": "batch-1",
            "addOnMigrations": [{"currentSubscriptionId": ADDON, "billingCycle": "monthly"}],
        },
        Reply(201, json={"id": MIGRATION, "status": "Processing"}),
    ),
    ("get migration", lambda c: c.get_migration(CUSTOMER, MIGRATION), "GET", f"{BASE}/{MIGRATION}", {}, None,
     Reply(json={"id": MIGRATION})),
    (
        "query migrations",
        lambda c: c.query_migrations(external_reference_id="batch-1"),
        "GET",
        "/v1/migrations/newcommerce",
        {"ExternalReferenceId": ["batch-1"]},
        None,
        Reply(json=[]),
    ),
    (
        "migration events",
        lambda c: c.get_migration_events(CUSTOMER, migration_id=MIGRATION),
        "GET",
        f"{BASE}/events",
        {"migration_id": [MIGRATION]},
        None,
        Reply(json=[]),
    ),
    (
        "create schedule",
        lambda c: c.create_schedule(
            CUSTOMER,
            MigrationScheduleRequest.model_validate(
                {
                    "currentSubscriptionId": SUB,
                    "targetDate": "2030-03-01T00:00:00Z",
                    "termDuration": "p1y",
                    # The docs' example name for the add-on list of a schedule; nested add-on inside it.
                    "addOnMigrations": [{"currentSubscriptionId": ADDON, "addOnMigrationSchedules": [
                        {"currentSubscriptionId": NESTED}]}],
                }
            ),
        ),
        "POST",
        f"{BASE}/schedules",
        {},
        {
            "currentSubscriptionId": SUB,
            "targetDate": "2030-03-01T00:00:00Z",
            "termDuration": "P1Y",
            "addOnMigrationSchedules": [{"currentSubscriptionId": ADDON}, {"currentSubscriptionId": NESTED}],
        },
        Reply(201, json=SCHEDULE_ENTITY),
    ),
    ("get schedule", lambda c: c.get_schedule(CUSTOMER, SCHEDULE), "GET", f"{BASE}/schedules/{SCHEDULE}", {}, None,
     Reply(json=SCHEDULE_ENTITY)),
    (
        "list schedules",
        lambda c: c.list_schedules(customer_id=CUSTOMER, page_size=300),
        "GET",
        "/v1/migrations/newcommerce/schedules",
        {"CustomerTenantId": [CUSTOMER], "PageSize": ["300"]},
        None,
        Reply(json=[SCHEDULE_ENTITY]),
    ),
    (
        "update schedule",
        lambda c: c.update_schedule(
            CUSTOMER,
            SCHEDULE,
            MigrationScheduleRequest(current_subscription_id=SUB, migrate_on_renewal=True, quantity=3),
        ),
        "PUT",
        f"{BASE}/schedules/{SCHEDULE}",
        {},
        {"id": SCHEDULE, "currentSubscriptionId": SUB, "migrateOnRenewal": True, "quantity": 3},
        Reply(201, json=SCHEDULE_ENTITY),
    ),
    ("cancel schedule", lambda c: c.cancel_schedule(CUSTOMER, SCHEDULE), "POST",
     f"{BASE}/schedules/{SCHEDULE}/cancel", {}, None, Reply(json={**SCHEDULE_ENTITY, "status": "Cancelled"})),
    ("list customers", lambda c: c.list_customers(), "GET", "/v1/customers", {"size": ["500"]}, None,
     Reply(json={"totalCount": 0, "items": []})),
    ("get customer", lambda c: c.get_customer(CUSTOMER), "GET", f"/v1/customers/{CUSTOMER}", {}, None,
     Reply(json={"id": CUSTOMER})),
    ("list subscriptions", lambda c: c.list_subscriptions(CUSTOMER), "GET", f"/v1/customers/{CUSTOMER}/subscriptions",
     {}, None, Reply(json={"totalCount": 0, "items": []})),
    ("get subscription", lambda c: c.get_subscription(CUSTOMER, SUB), "GET",
     f"/v1/customers/{CUSTOMER}/subscriptions/{SUB}", {}, None, Reply(json={"id": SUB})),
    ("list add-ons", lambda c: c.list_addons(CUSTOMER, SUB), "GET",
     f"/v1/customers/{CUSTOMER}/subscriptions/{SUB}/addons", {}, None, Reply(json={"totalCount": 0, "items": []})),
]


@pytest.mark.parametrize(
    ("call", "method", "path", "query", "body", "answer"),
    [pytest.param(*row[1:], id=row[0]) for row in ENDPOINTS],
)
def test_every_endpoint_sends_exact_method_path_query_body_and_headers(
    stub: StubServer,
    client: PartnerCenterClient,
    call: Any,
    method: str,
    path: str,
    query: dict[str, list[str]],
    body: dict[str, Any] | None,
    answer: Reply,
) -> None:
    stub.script(method, path, answer)
    call(client)
    req = only_api_request(stub)
    assert (req.method, req.path, req.query) == (method, path, query)
    assert_standard_headers(req, body=body is not None)
    assert req.headers["authorization"] == "Bearer at-1"
    if body is None:
        assert req.raw == b""
    else:
        assert req.body == body
