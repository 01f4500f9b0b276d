"""Paging: customers by body continuationToken + seekOperation=next, queries by MS-ContinuationToken header."""

from __future__ import annotations

import pytest

from bot.partner_center import PartnerCenterClient, PartnerCenterError
from tests.partner_center.stub_server import Recorded, Reply, StubServer

CUSTOMER = "75c5e79e-7e9f-429f-b772-ed3d38768f7c"


def customer(n: int) -> dict[str, object]:
    return {
        "id": f"00000000-0000-0000-0000-{n:012d}",
        "companyProfile": {"tenantId": f"00000000-0000-0000-0000-{n:012d}", "domain": f"c{n}.example"},
        "relationshipToPartner": "reseller",
    }


def test_list_customers_follows_three_pages(stub: StubServer, client: PartnerCenterClient) -> None:
    stub.script(
        "GET",
        "/v1/customers",
        Reply(json={"totalCount": 2, "items": [customer(1), customer(2)], "continuationToken": "tok-A"}),
        Reply(json={"totalCount": 2, "items": [customer(3), customer(4)], "continuationToken": "tok-B"}),
        Reply(json={"totalCount": 1, "items": [customer(5)], "continuationToken": ""}),
    )
    result = client.list_customers(page_size=2)

    assert [c.company_profile.domain for c in result if c.company_profile] == [f"c{n}.example" for n in range(1, 6)]
    first, second, third = stub.api_requests()
    assert {(r.method, r.path) for r in (first, second, third)} == {("GET", "/v1/customers")}
    assert first.query == {"size": ["2"]}
    assert "ms-continuationtoken" not in first.headers
    assert second.query == {"size": ["2"], "seekOperation": ["next"]}
    assert second.headers["ms-continuationtoken"] == "tok-A"
    assert third.query == {"size": ["2"], "seekOperation": ["next"]}
    assert third.headers["ms-continuationtoken"] == "tok-B"
    # Each page is its own logical call.
    assert len({r.headers["ms-requestid"] for r in (first, second, third)}) == 3


def test_query_migrations_follows_response_header_three_pages(stub: StubServer, client: PartnerCenterClient) -> None:
    stub.script(
        "GET",
        "/v1/migrations/newcommerce",
        Reply(json=[{"id": "m1"}, {"id": "m2"}], headers={"MS-ContinuationToken": "page-2"}),
        Reply(json=[{"id": "m3"}], headers={"MS-ContinuationToken": "page-3"}),
        Reply(json=[{"id": "m4"}]),
    )
    result = client.query_migrations(customer_id=CUSTOMER, page_size=2)

    assert [m.id for m in result] == ["m1", "m2", "m3", "m4"]
    requests = stub.api_requests()
    assert [(r.method, r.path) for r in requests] == [("GET", "/v1/migrations/newcommerce")] * 3
    assert [r.headers.get("ms-continuationtoken") for r in requests] == [None, "page-2", "page-3"]
    # The filters go along on every page.
    assert all(r.query == {"CustomerTenantId": [CUSTOMER], "PageSize": ["2"]} for r in requests)


def test_list_schedules_follows_response_header_three_pages(stub: StubServer, client: PartnerCenterClient) -> None:
    stub.script(
        "GET",
        "/v1/migrations/newcommerce/schedules",
        Reply(json=[{"id": "s1"}, {"id": "s2"}], headers={"MS-ContinuationToken": "n2"}),
        Reply(json=[{"id": "s3"}, {"id": "s4"}], headers={"MS-ContinuationToken": "n3"}),
        Reply(json=[{"id": "s5"}], headers={"MS-ContinuationToken": ""}),
    )
    found = client.list_schedules(customer_id=CUSTOMER, current_subscription_id="sub-1", page_size=2)
    assert [s.id for s in found] == ["s1", "s2", "s3", "s4", "s5"]
    requests = stub.api_requests()
    assert [(r.method, r.path) for r in requests] == [("GET", "/v1/migrations/newcommerce/schedules")] * 3
    assert [r.headers.get("ms-continuationtoken") for r in requests] == [None, "n2", "n3"]
    assert all(
        r.query == {"CustomerTenantId": [CUSTOMER], "CurrentSubscriptionId": ["sub-1"], "PageSize": ["2"]}
        for r in requests
    )
    # Each page is its own logical call with its own request id.
    assert len({r.headers["ms-requestid"] for r in requests}) == 3


def test_subscriptions_follow_a_continuation_token_when_present(stub: StubServer, client: PartnerCenterClient) -> None:
    path = f"/v1/customers/{CUSTOMER}/subscriptions"
    stub.script(
        "GET",
        path,
        Reply(json={"totalCount": 1, "items": [{"id": "s-1"}], "continuationToken": "more"}),
        Reply(json={"totalCount": 1, "items": [{"id": "s-2"}]}),
    )
    assert [s.id for s in client.list_subscriptions(CUSTOMER)] == ["s-1", "s-2"]
    second = stub.api_requests()[1]
    assert second.query == {"seekOperation": ["next"]}
    assert second.headers["ms-continuationtoken"] == "more"


def test_repeated_token_stops_with_an_error(stub: StubServer, client: PartnerCenterClient) -> None:
    def always_same(_: Recorded) -> Reply:
        return Reply(json=[{"id": "m"}], headers={"MS-ContinuationToken": "stuck"})

    stub.route("GET", "/v1/migrations/newcommerce", always_same)
    with pytest.raises(PartnerCenterError, match="paging did not advance"):
        client.query_migrations(customer_id=CUSTOMER)
    assert len(stub.api_requests()) == 2
