"""Documented rate limits on the sandbox clock, 429 answers, and MS-RequestId idempotency."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sandbox import known
from sandbox.server import SandboxServer
from tests.sandbox.helpers import admin, mig, pc_client, rid


def test_101st_create_in_a_window_is_throttled(pc_sandbox: SandboxServer) -> None:
    statuses = []
    with pc_client(pc_sandbox) as pc:
        statuses.append(pc.post(mig(known.CONTOSO), json={"currentSubscriptionId": known.ELIGIBLE_SIMPLE}).status_code)
        for _ in range(99):  # bad ids: answered 404, and they count too
            statuses.append(pc.post(mig(known.CONTOSO), json={"currentSubscriptionId": known.UNKNOWN_SUB}).status_code)
        throttled = pc.post(mig(known.CONTOSO), json={"currentSubscriptionId": known.ELIGIBLE_MONTHLY})
        validate = pc.post(mig(known.CONTOSO) + "/validate", json={"currentSubscriptionId": known.ELIGIBLE_MONTHLY})
        pc_sandbox.advance(301)
        after = pc.post(mig(known.CONTOSO), json={"currentSubscriptionId": known.ELIGIBLE_MONTHLY})
    assert statuses == [201] + [404] * 99
    assert throttled.status_code == 429
    retry_after = int(throttled.headers["Retry-After"])
    assert 1 <= retry_after <= 300
    assert throttled.json() == {
        "statusCode": 429,
        "message": f"Rate limit is exceeded. Try again in {retry_after} seconds.",
    }
    assert validate.status_code == 201  # other limits are separate
    assert after.status_code == 201
    assert pc_sandbox.state.summary()["counts"]["migrations"] == 2


def test_retry_after_scales_with_time_scale(pc_sandbox_factory: Callable[..., SandboxServer]) -> None:
    server = pc_sandbox_factory(
        time_scale=100, settings={"rate_limits": {"validate": {"limit": 2, "window_seconds": 300}}}
    )
    with pc_client(server) as pc:
        body = {"currentSubscriptionId": known.ELIGIBLE_SIMPLE}
        codes = [pc.post(mig(known.CONTOSO) + "/validate", json=body).status_code for _ in range(3)]
        other_customer = pc.post(
            mig(known.FABRIKAM) + "/validate", json={"currentSubscriptionId": known.SCHEDULE_SUB}
        ).status_code
        throttled = pc.post(mig(known.CONTOSO) + "/validate", json=body)
    assert codes == [201, 201, 429]
    assert other_customer == 201  # per partner-customer
    assert 1 <= int(throttled.headers["Retry-After"]) <= 3  # 300 sandbox seconds = 3 real seconds


def test_subscription_resource_limit(pc_sandbox_factory: Callable[..., SandboxServer]) -> None:
    server = pc_sandbox_factory(settings={"rate_limits": {"subscriptions": {"limit": 3, "window_seconds": 60}}})
    with pc_client(server) as pc:
        codes = [pc.get(f"/v1/customers/{known.CONTOSO}/subscriptions").status_code for _ in range(4)]
        server.advance(60)
        again = pc.get(f"/v1/customers/{known.CONTOSO}/subscriptions/{known.ELIGIBLE_SIMPLE}").status_code
    assert codes == [200, 200, 200, 429] and again == 200


def test_same_request_id_creates_once(pc_sandbox: SandboxServer) -> None:
    headers = rid()
    body = {"currentSubscriptionId": known.ELIGIBLE_BASE}
    with pc_client(pc_sandbox) as pc:
        first = pc.post(mig(known.CONTOSO), json=body, headers=headers)
        again = pc.post(mig(known.CONTOSO), json=body, headers=headers)
        schedule_headers = rid()
        target = {"currentSubscriptionId": known.SCHEDULE_SUB, "migrateOnRenewal": True}
        s1 = pc.post(mig(known.FABRIKAM) + "/schedules", json=target, headers=schedule_headers)
        s2 = pc.post(mig(known.FABRIKAM) + "/schedules", json=target, headers=schedule_headers)
        s3 = pc.post(mig(known.FABRIKAM) + "/schedules", json=target, headers=rid())
        bad_headers = {"MS-RequestId": str(uuid.uuid4())}
        bad1 = pc.post(mig(known.CONTOSO), json={"currentSubscriptionId": known.UNKNOWN_SUB}, headers=bad_headers)
        bad2 = pc.post(mig(known.CONTOSO), json={"currentSubscriptionId": known.UNKNOWN_SUB}, headers=bad_headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["id"] == again.json()["id"]
    assert (s1.status_code, s2.status_code) == (201, 201) and s1.json()["id"] == s2.json()["id"]
    assert s3.status_code == 409 and s3.json()["code"] == 900278  # one active schedule per subscription
    assert bad1.status_code == bad2.status_code == 404 and bad1.json() == bad2.json()
    with admin(pc_sandbox) as a:
        summary = a.get("/_sandbox/state").json()
    assert summary["counts"]["migrations"] == 1 and summary["counts"]["schedules"] == 1
    assert summary["migrations"][0]["requestId"] == headers["MS-RequestId"]
