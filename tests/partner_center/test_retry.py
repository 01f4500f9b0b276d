"""Retries, error parsing, headers across attempts, the per-attempt log line and CallRecord."""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from bot.partner_center import (
    CallRecord,
    PartnerCenterClient,
    PartnerCenterError,
    PartnerCenterUnavailable,
    RetryPolicy,
    parse_retry_after,
)
from bot.partner_center.models import MigrationRequest
from tests.partner_center.conftest import FakeTime
from tests.partner_center.stub_server import Reply, StubServer

CUSTOMER = "75c5e79e-7e9f-429f-b772-ed3d38768f7c"
SUB = "2e56c7f5-e120-4ca4-bff3-7da763b4d777"
CREATE = f"/v1/customers/{CUSTOMER}/migrations/newcommerce"
GET_CUSTOMER = f"/v1/customers/{CUSTOMER}"
BODY = MigrationRequest(current_subscription_id=SUB)
CREATED = Reply(201, json={"id": "m-1", "status": "Processing"})


class StaticTokens:
    def token(self) -> str:
        return "static-token"


def request_ids(stub: StubServer) -> list[tuple[str, str]]:
    return [(r.headers["ms-requestid"], r.headers["ms-correlationid"]) for r in stub.api_requests()]


def test_429_waits_retry_after_and_keeps_callers_request_id(
    stub: StubServer, client: PartnerCenterClient, fake_time: FakeTime, calls: list[CallRecord]
) -> None:
    throttle = Reply(
        429,
        json={"statusCode": 429, "message": "Rate limit is exceeded. Try again in 7 seconds."},
        headers={"Retry-After": "7"},
    )
    stub.script("POST", CREATE, throttle, CREATED)

    migration = client.create_migration(CUSTOMER, BODY, request_id="persisted-request-id")

    assert migration.id == "m-1"
    assert fake_time.sleeps == [7.0]
    ids = request_ids(stub)
    assert len(ids) == 2 and len(set(ids)) == 1
    assert ids[0][0] == "persisted-request-id"
    assert [r.body for r in stub.api_requests()] == [{"currentSubscriptionId": SUB}] * 2
    (record,) = calls
    assert (record.endpoint, record.method, record.status) == ("create_migration", "POST", 201)
    assert (record.attempts, record.throttled, record.retried) == (2, 1, 1)
    assert record.request_id == "persisted-request-id" and record.correlation_id == ids[0][1]
    assert record.duration == pytest.approx(7.0)


def test_429_without_retry_after_backs_off(stub: StubServer, client: PartnerCenterClient, fake_time: FakeTime) -> None:
    stub.script("GET", GET_CUSTOMER, Reply(429), Reply(429), Reply(json={"id": CUSTOMER}))
    client.get_customer(CUSTOMER)
    assert fake_time.sleeps == [0.5, 1.0]


def test_429_retry_after_beyond_budget_gives_up_at_once(
    stub: StubServer, client: PartnerCenterClient, fake_time: FakeTime, calls: list[CallRecord]
) -> None:
    stub.script(
        "POST",
        CREATE,
        Reply(
            429,
            json={"statusCode": 429, "message": "Rate limit is exceeded. Try again in 300 seconds."},
            headers={"Retry-After": "300"},
        ),
    )
    with pytest.raises(PartnerCenterUnavailable) as caught:
        client.create_migration(CUSTOMER, BODY, request_id="rid-1")
    error = caught.value
    assert error.status_code == 429
    assert "Rate limit is exceeded. Try again in 300 seconds." in error.description
    assert error.request_id == "rid-1"
    assert fake_time.sleeps == []
    assert len(stub.api_requests()) == 1
    assert calls[0].throttled == 1 and calls[0].status == 429


def test_500_then_success_same_request_id(
    stub: StubServer, client: PartnerCenterClient, fake_time: FakeTime, calls: list[CallRecord]
) -> None:
    stub.script("POST", CREATE, Reply(500, json={"code": 500, "description": "boom"}), CREATED)
    assert client.create_migration(CUSTOMER, BODY).id == "m-1"
    ids = request_ids(stub)
    assert len(ids) == 2 and ids[0] == ids[1]
    assert fake_time.sleeps == [0.5]
    assert (calls[0].attempts, calls[0].throttled, calls[0].retried, calls[0].status) == (2, 0, 1, 201)


def test_408_is_retried(stub: StubServer, client: PartnerCenterClient) -> None:
    stub.script("GET", GET_CUSTOMER, Reply(408, json={"code": 900225, "description": "retry"}), Reply(json={"id": "c"}))
    assert client.get_customer(CUSTOMER).id == "c"


def test_timeout_then_success_same_request_id(
    stub: StubServer,
    ca_pem: str,
    make_client: Callable[..., PartnerCenterClient],
    fake_time: FakeTime,
    calls: list[CallRecord],
) -> None:
    stub.script("POST", CREATE, Reply(201, json={"id": "late"}, delay=0.6), CREATED)
    context = ssl.create_default_context(cafile=ca_pem)
    with httpx.Client(verify=context, timeout=httpx.Timeout(0.2, connect=2.0)) as short:
        client = make_client(http=short, token_provider=StaticTokens())
        migration = client.create_migration(CUSTOMER, BODY, request_id="rid-timeout")
    assert migration.id == "m-1"
    ids = request_ids(stub)
    assert [i[0] for i in ids] == ["rid-timeout", "rid-timeout"] and ids[0][1] == ids[1][1]
    assert fake_time.sleeps == [0.5]
    assert calls[0].attempts == 2 and calls[0].retried == 1


def test_dropped_connection_then_success(
    stub: StubServer, client: PartnerCenterClient, fake_time: FakeTime, calls: list[CallRecord]
) -> None:
    stub.script("POST", CREATE, Reply(drop=True), CREATED)
    assert client.create_migration(CUSTOMER, BODY, request_id="rid-drop").id == "m-1"
    assert [i[0] for i in request_ids(stub)] == ["rid-drop", "rid-drop"]
    assert fake_time.sleeps == [0.5]
    assert calls[0].attempts == 2


def test_400_surfaces_code_and_description_without_retry(
    stub: StubServer, client: PartnerCenterClient, fake_time: FakeTime, calls: list[CallRecord]
) -> None:
    stub.script(
        "POST",
        CREATE,
        Reply(
            400,
            json={
                "code": 900221,
                "description": "Subscription cannot be migrated for one or more reasons",
                "data": ["detail"],
                "source": "PartnerFD",
            },
        ),
    )
    with pytest.raises(PartnerCenterError) as caught:
        client.create_migration(CUSTOMER, BODY, request_id="rid-400")
    error = caught.value
    assert not isinstance(error, PartnerCenterUnavailable)
    assert (error.status_code, error.code) == (400, 900221)
    assert error.description == "Subscription cannot be migrated for one or more reasons"
    assert (error.data, error.source, error.request_id) == (["detail"], "PartnerFD", "rid-400")
    assert error.correlation_id == stub.api_requests()[0].headers["ms-correlationid"]
    assert "900221" in str(error) and "HTTP 400" in str(error)
    assert len(stub.api_requests()) == 1 and fake_time.sleeps == []
    assert calls[0].status == 400 and calls[0].attempts == 1


@pytest.mark.parametrize(
    ("reply", "code", "description"),
    [
        (Reply(409, json={"code": "800082", "description": "busy"}), 800082, "busy"),
        (Reply(403, json={"code": "AuthorizationFailed", "description": "no"}), "AuthorizationFailed", "no"),
        (Reply(404), None, "Not Found"),
        (
            Reply(403, body=b"<html>Forbidden by proxy</html>", headers={"Content-Type": "text/html"}),
            None,
            "<html>Forbidden by proxy</html>",
        ),
        (Reply(400, body=b"{not json", headers={"Content-Type": "application/json"}), None, "{not json"),
        (Reply(400, json=["odd"]), None, '["odd"]'),
    ],
)
def test_error_body_variants(
    stub: StubServer, client: PartnerCenterClient, reply: Reply, code: int | str | None, description: str
) -> None:
    stub.script("GET", GET_CUSTOMER, reply)
    with pytest.raises(PartnerCenterError) as caught:
        client.get_customer(CUSTOMER)
    assert (caught.value.status_code, caught.value.code, caught.value.description) == (
        reply.status,
        code,
        description,
    )


def test_exhausted_retries_raise_unavailable_with_last_status(
    stub: StubServer, client: PartnerCenterClient, fake_time: FakeTime, calls: list[CallRecord]
) -> None:
    stub.script(
        "GET",
        GET_CUSTOMER,
        *[Reply(500)] * 5,
        Reply(503, json={"code": 503, "description": "Service unavailable"}),
    )
    with pytest.raises(PartnerCenterUnavailable) as caught:
        client.get_customer(CUSTOMER)
    assert caught.value.status_code == 503
    assert "Service unavailable" in caught.value.description
    assert len(stub.api_requests()) == 6
    assert len(set(request_ids(stub))) == 1
    assert fake_time.sleeps == [0.5, 1.0, 2.0, 4.0, 8.0]
    assert (calls[0].attempts, calls[0].retried, calls[0].status) == (6, 5, 503)


def test_total_budget_bounds_retries(
    stub: StubServer, make_client: Callable[..., PartnerCenterClient], fake_time: FakeTime
) -> None:
    stub.route("GET", GET_CUSTOMER, lambda _: Reply(502))
    client = make_client(retry=RetryPolicy(jitter=False, total_budget=3.0))
    with pytest.raises(PartnerCenterUnavailable):
        client.get_customer(CUSTOMER)
    # 0.5 + 1.0 spent; the next 2.0 s wait would overrun the 3 s budget.
    assert fake_time.sleeps == [0.5, 1.0]
    assert len(stub.api_requests()) == 3


def test_connection_refused_exhausts_to_unavailable(
    make_client: Callable[..., PartnerCenterClient], fake_time: FakeTime, calls: list[CallRecord]
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = make_client(
        base_url=f"https://127.0.0.1:{port}",
        token_provider=StaticTokens(),
        retry=RetryPolicy(jitter=False, max_attempts=3),
    )
    with pytest.raises(PartnerCenterUnavailable) as caught:
        client.get_customer(CUSTOMER)
    assert caught.value.status_code is None
    assert "ConnectError" in caught.value.description
    assert fake_time.sleeps == [0.5, 1.0]
    assert (calls[0].status, calls[0].attempts) == (None, 3)


def test_one_log_line_per_attempt_with_fields(
    stub: StubServer, client: PartnerCenterClient, caplog: pytest.LogCaptureFixture
) -> None:
    stub.script("GET", GET_CUSTOMER, Reply(500), Reply(json={"id": CUSTOMER}))
    with caplog.at_level(logging.INFO, logger="ncebot.partner_center"):
        client.get_customer(CUSTOMER)
    lines = [r for r in caplog.records if r.name == "ncebot.partner_center"]
    assert len(lines) == 2
    sent = stub.api_requests()[0].headers
    for attempt, (record, status) in enumerate(zip(lines, (500, 200), strict=True), start=1):
        fields = record.__dict__
        assert record.levelno == logging.INFO
        assert (fields["method"], fields["endpoint"], fields["path"]) == ("GET", "get_customer", GET_CUSTOMER)
        assert (fields["status"], fields["attempt"]) == (status, attempt)
        assert fields["request_id"] == sent["ms-requestid"]
        assert fields["correlation_id"] == sent["ms-correlationid"]
        assert isinstance(fields["duration_ms"], float)
        assert "Bearer" not in record.getMessage()


def test_on_call_failure_does_not_break_call(stub: StubServer, make_client: Callable[..., PartnerCenterClient]) -> None:
    def broken(_: CallRecord) -> None:
        raise RuntimeError("metrics down")

    stub.script("GET", GET_CUSTOMER, Reply(json={"id": CUSTOMER}))
    assert make_client(on_call=broken).get_customer(CUSTOMER).id == CUSTOMER


def test_new_request_id_per_logical_call(stub: StubServer, client: PartnerCenterClient) -> None:
    stub.route("GET", GET_CUSTOMER, lambda _: Reply(json={"id": CUSTOMER}))
    client.get_customer(CUSTOMER)
    client.get_customer(CUSTOMER)
    first, second = request_ids(stub)
    assert first[0] != second[0] and first[1] != second[1]


def test_parse_retry_after_forms() -> None:
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("57") == 57.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("Wed, 01 May 2024 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Wed, 01 May 2024 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-3") == 0.0


def test_backoff_growth_cap_and_jitter() -> None:
    plain = RetryPolicy(jitter=False, base_delay=0.5, max_delay=3.0)
    assert [plain.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    low = RetryPolicy(random=lambda: 0.0)
    high = RetryPolicy(random=lambda: 1.0)
    assert (low.backoff(3), high.backoff(3)) == (1.0, 2.0)
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
