"""Faults on demand: 5xx, 429 bursts, commit-then-time-out; shown, set and cleared through /_sandbox/faults."""

from __future__ import annotations

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
    pc_sandbox.state.set_faults({"commit_then_timeout": 3.0, "commit_then_timeout_next": 1})
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
