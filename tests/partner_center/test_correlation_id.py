"""A caller-supplied MS-CorrelationId (persisted by the workflow before the call) is sent on every attempt."""

from __future__ import annotations

from bot.partner_center import CallRecord, PartnerCenterClient
from bot.partner_center.models import MigrationRequest
from tests.partner_center.conftest import FakeTime
from tests.partner_center.stub_server import Reply, StubServer

CUSTOMER = "75c5e79e-7e9f-429f-b772-ed3d38768f7c"
SUB = "2e56c7f5-e120-4ca4-bff3-7da763b4d777"
CREATE = f"/v1/customers/{CUSTOMER}/migrations/newcommerce"
CANCEL = f"/v1/customers/{CUSTOMER}/migrations/newcommerce/schedules/s-1/cancel"


def test_callers_correlation_id_is_sent_on_every_retry(
    stub: StubServer, client: PartnerCenterClient, fake_time: FakeTime, calls: list[CallRecord]
) -> None:
    stub.script(
        "POST", CREATE, Reply(503), Reply(429, headers={"Retry-After": "2"}), Reply(201, json={"id": "m-1"})
    )
    migration = client.create_migration(
        CUSTOMER, MigrationRequest(current_subscription_id=SUB), request_id="req-1", correlation_id="corr-1"
    )
    assert migration.id == "m-1"
    sent = [(r.headers["ms-requestid"], r.headers["ms-correlationid"]) for r in stub.api_requests()]
    assert sent == [("req-1", "corr-1")] * 3
    (record,) = calls
    assert (record.request_id, record.correlation_id, record.attempts) == ("req-1", "corr-1", 3)

    # Without one, the client still makes one up per logical call (and keeps it across attempts).
    stub.script("POST", CANCEL, Reply(500), Reply(200, json={"id": "s-1", "status": "Cancelled"}))
    client.cancel_schedule(CUSTOMER, "s-1", request_id="req-2")
    second = [r.headers["ms-correlationid"] for r in stub.api_requests()[3:]]
    assert len(second) == 2 and len(set(second)) == 1 and second[0] != "corr-1"
