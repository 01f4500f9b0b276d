"""Faults on demand: 5xx, 429 bursts, commit-then-time-out; shown, set and cleared through /_sandbox/faults."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from sandbox import known
from sandbox.server import SandboxServer
from tests.sandbox.helpers import admin, mig, pc_client, rid


def test_fail_next_throttle_next_and_clear(pc_sandbox: SandboxServer) -> None:
    url = f"/v1/customers/{known.CONTOSO}"
    with admin(pc_sandbox) as a, pc_client(pc_sandbox) as pc:
        assert a.post("/_sandbox/faults", json={"fail_next": 2, "error_status": 503}).json()["fail_next"] == 2
        codes = [pc.get(url).status_code for _ in range(3)]
        a.post("/_sandbox/faults", json={"throttle_next": 1, "retry_after": 7, "throttle_path": "/validate"})
        unaffected = pc.get(url)
        throttled = pc.post(mig(known.CONTOSO) + "/validate", json={"currentSubscriptionId": known.ELIGIBLE_SIMPLE})
        a.post("/_sandbox/faults", json={"error_rate": 1.0, "error_seed": 3, "latency": 0.01})
        always = pc.get(url)
        shown = a.get("/_sandbox/faults").json()
        cleared = a.delete("/_sandbox/faults").json()
        fine = pc.get(url)
        unknown = a.post("/_sandbox/faults", json={"explode": True})
    assert codes == [503, 503, 200]
    assert unaffected.status_code == 200
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "7"
    assert throttled.json()["message"] == "Rate limit is exceeded. Try again in 7 seconds."
    assert always.status_code == 503 and always.json()["source"] == "PartnerFD"
    assert shown["error_rate"] == 1.0 and shown["latency"] == 0.01
    assert cleared["error_rate"] == 0 and fine.status_code == 200
    assert unknown.status_code == 400


def test_error_rate_with_seed_is_deterministic(pc_sandbox: SandboxServer) -> None:
    def run() -> list[int]:
        with admin(pc_sandbox) as a, pc_client(pc_sandbox) as pc:
            a.post("/_sandbox/faults", json={"error_rate": 0.5, "error_seed": 42, "error_path": "/customers/"})
            codes = [pc.get(f"/v1/customers/{known.CONTOSO}").status_code for _ in range(12)]
            a.delete("/_sandbox/faults")
            return codes

    first, second = run(), run()
    assert first == second and {200, 503} == set(first)


def test_commit_then_time_out(pc_sandbox: SandboxServer) -> None:
    with admin(pc_sandbox) as a:
        shown = a.post("/_sandbox/faults", json={"commit_then_timeout": 3.0, "commit_then_timeout_next": 1}).json()
    assert shown["commit_then_timeout"] == 3.0 and shown["commit_then_timeout_next"] == 1
    headers = rid()
    body = {"currentSubscriptionId": known.ELIGIBLE_SIMPLE}
    with pc_client(pc_sandbox, timeout=0.5) as pc:
        with pytest.raises(httpx.ReadTimeout):
            pc.post(mig(known.CONTOSO), json=body, headers=headers)
        # Other requests are still served while that answer is held back.
        assert pc.get(f"/v1/customers/{known.CONTOSO}").status_code == 200
        migrations = pc.get("/v1/migrations/newcommerce", params={"CustomerTenantId": known.CONTOSO}).json()
        assert len(migrations) == 1  # it was committed
        retry = pc.post(mig(known.CONTOSO), json=body, headers=headers)
    assert retry.status_code == 201 and retry.json()["id"] == migrations[0]["id"]
    assert pc_sandbox.state.summary()["counts"]["migrations"] == 1
    with admin(pc_sandbox) as a:
        assert a.get("/_sandbox/faults").json()["commit_then_timeout_next"] == 0  # used up


def test_latency_on_one_path(pc_sandbox: SandboxServer) -> None:
    with admin(pc_sandbox) as a, pc_client(pc_sandbox, timeout=0.3) as pc:
        a.post("/_sandbox/faults", json={"latency": 5, "latency_path": "/subscriptions"})
        fast = pc.get(f"/v1/customers/{known.CONTOSO}")
        with pytest.raises(httpx.ReadTimeout):
            pc.get(f"/v1/customers/{known.CONTOSO}/subscriptions")
        a.delete("/_sandbox/faults")
        after = pc.get(f"/v1/customers/{known.CONTOSO}/subscriptions")
    assert fast.status_code == 200 and after.status_code == 200


@pytest.mark.parametrize(
    "bad",
    [
        {"latency": "slow"},
        {"error_rate": 2},
        {"error_rate": True},
        {"error_status": 200},
        {"error_status": "503"},
        {"fail_next": -1},
        {"throttle_next": 1.5},
        {"latency_path": 7},
        {"commit_then_timeout": -1},
        {"error_seed": "x"},
    ],
)
def test_bad_fault_settings_are_refused_and_change_nothing(pc_sandbox: SandboxServer, bad: dict[str, object]) -> None:
    with admin(pc_sandbox) as a, pc_client(pc_sandbox) as pc:
        before = a.get("/_sandbox/faults").json()
        reply = a.post("/_sandbox/faults", json={"fail_next": 1, **bad})
        after = a.get("/_sandbox/faults").json()
        still_fine = pc.get(f"/v1/customers/{known.CONTOSO}")
    assert reply.status_code == 400 and reply.json()["code"] == 800002
    assert next(iter(bad)) in reply.json()["description"]
    assert after == before  # all or nothing: fail_next was not applied either
    assert still_fine.status_code == 200


def test_faults_from_settings_and_reset(pc_sandbox_factory: Callable[..., SandboxServer]) -> None:
    server = pc_sandbox_factory(settings={"faults": {"throttle_next": 1, "retry_after": 9}})
    with admin(server) as a, pc_client(server) as pc:
        first = pc.get(f"/v1/customers/{known.CONTOSO}")
        second = pc.get(f"/v1/customers/{known.CONTOSO}")
        a.post("/_sandbox/reset")  # back to the configured faults
        third = pc.get(f"/v1/customers/{known.CONTOSO}")
    assert (first.status_code, first.headers["Retry-After"]) == (429, "9")
    assert second.status_code == 200 and third.status_code == 429


def test_injected_faults_do_not_commit(pc_sandbox: SandboxServer) -> None:
    with admin(pc_sandbox) as a, pc_client(pc_sandbox) as pc:
        a.post("/_sandbox/faults", json={"fail_next": 1, "error_status": 500, "error_path": "/migrations/"})
        failed = pc.post(mig(known.CONTOSO), json={"currentSubscriptionId": known.ELIGIBLE_SIMPLE}, headers=rid())
        listed = pc.get("/v1/migrations/newcommerce", params={"CustomerTenantId": known.CONTOSO}).json()
    assert failed.status_code == 500
    assert set(failed.json()) == {"code", "description", "data", "source"}
    assert listed == []
