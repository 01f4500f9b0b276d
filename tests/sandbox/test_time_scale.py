"""``time_scale``: real time (a fake monotonic source here, never slept) runs the sandbox clock N times faster, for
the migration lifecycle delays, schedules and rate-limit windows alike."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sandbox import known
from sandbox.clock import SandboxClock
from sandbox.server import SandboxServer
from sandbox.state import iso
from tests.sandbox.helpers import mig, pc_client, rid


class RealTime:
    """A stand-in for ``time.monotonic`` that only moves when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def scaled(factory: Callable[..., SandboxServer], scale: float, **kwargs: object) -> tuple[SandboxServer, RealTime]:
    real = RealTime()
    server = factory(clock=SandboxClock(time_scale=scale, monotonic=real), **kwargs)
    return server, real


def test_lifecycle_delays_scale(pc_sandbox_factory: Callable[..., SandboxServer]) -> None:
    server, real = scaled(pc_sandbox_factory, 60)  # one real second = one sandbox minute
    with pc_client(server) as pc:
        mid = pc.post(mig(known.CONTOSO), json={"currentSubscriptionId": known.ELIGIBLE_SIMPLE}, headers=rid()).json()[
            "id"
        ]
        real.sleep(1.5)  # 90 sandbox seconds: past "created" (60), before "provisioned" (120)
        mid_way = pc.get(f"{mig(known.CONTOSO)}/{mid}").json()
        names = [e["eventName"] for e in pc.get(mig(known.CONTOSO) + "/events", params={"migration_id": mid}).json()]
        real.sleep(1.5)  # 180 sandbox seconds: completed
        done = pc.get(f"{mig(known.CONTOSO)}/{mid}").json()
    assert mid_way["status"] == "Processing"
    assert names == ["MigrationStarted", "NewCommerceSubscriptionCreated"]
    assert done["status"] == "Completed" and done["newCommerceSubscriptionId"]


def test_unscaled_clock_does_not_move_that_fast(pc_sandbox_factory: Callable[..., SandboxServer]) -> None:
    server, real = scaled(pc_sandbox_factory, 1)
    with pc_client(server) as pc:
        mid = pc.post(mig(known.CONTOSO), json={"currentSubscriptionId": known.ELIGIBLE_SIMPLE}, headers=rid()).json()[
            "id"
        ]
        real.sleep(3)
        status = pc.get(f"{mig(known.CONTOSO)}/{mid}").json()["status"]
    assert status == "Processing"


def test_schedules_run_on_the_scaled_clock(pc_sandbox_factory: Callable[..., SandboxServer]) -> None:
    server, real = scaled(pc_sandbox_factory, 3600)  # one real second = one sandbox hour
    target = server.state.now() + timedelta(days=1)
    with pc_client(server) as pc:
        sid = pc.post(
            mig(known.FABRIKAM) + "/schedules",
            json={"currentSubscriptionId": known.SCHEDULE_SUB, "targetDate": iso(target)},
            headers=rid(),
        ).json()["id"]
        real.sleep(23)
        before = pc.get(f"{mig(known.FABRIKAM)}/schedules/{sid}").json()
        real.sleep(2)
        after = pc.get(f"{mig(known.FABRIKAM)}/schedules/{sid}").json()
    assert before["status"] == "Created" and "newCommerceMigrationId" not in before
    assert after["status"] == "Completed" and after["newCommerceMigrationId"]


def test_rate_limit_windows_scale(pc_sandbox_factory: Callable[..., SandboxServer]) -> None:
    server, real = scaled(
        pc_sandbox_factory, 100, settings={"rate_limits": {"create": {"limit": 2, "window_seconds": 300}}}
    )
    body = {"currentSubscriptionId": known.UNKNOWN_SUB}
    with pc_client(server) as pc:
        codes = [pc.post(mig(known.CONTOSO), json=body).status_code for _ in range(3)]
        throttled = pc.post(mig(known.CONTOSO), json=body)
        real.sleep(int(throttled.headers["Retry-After"]))  # 300 sandbox seconds are 3 real seconds
        again = pc.post(mig(known.CONTOSO), json=body)
    assert codes == [404, 404, 429]
    assert int(throttled.headers["Retry-After"]) == 3
    assert again.status_code == 404
