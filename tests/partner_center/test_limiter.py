"""Client-side limiter: sliding-window arithmetic with a fake clock, keys, FIFO fairness across threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.partner_center import Limit, PartnerCenterClient, RateLimiter, RateLimits
from bot.partner_center.models import MigrationRequest
from tests.partner_center.conftest import FakeTime
from tests.partner_center.stub_server import Reply, StubServer


class SteppingClock:
    """Single-thread fake time: ``sleep`` advances it."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_defaults_are_the_documented_limits() -> None:
    limits = RateLimits()
    assert limits.for_bucket("validate") == Limit(450, 300.0)
    assert limits.for_bucket("create") == Limit(100, 300.0)
    assert limits.for_bucket("subscriptions") == Limit(500, 60.0)
    assert limits.for_bucket("other") is None
    with pytest.raises(ValueError):
        Limit(0, 10)


def test_451st_validate_waits_until_the_first_leaves_the_window() -> None:
    clock = SteppingClock()
    limiter = RateLimiter(RateLimits(), clock=clock, sleep=clock.sleep)
    for _ in range(450):
        assert limiter.acquire("validate", "customer-A") == 0.0
        clock.now += 0.1
    assert clock.now == pytest.approx(45.0)
    assert limiter.time_until_available("validate", "customer-A") == pytest.approx(255.0)

    # Another customer of the same partner has its own window.
    assert limiter.acquire("validate", "customer-B") == 0.0
    assert limiter.time_until_available("validate", "customer-B") == 0.0

    waited = limiter.acquire("validate", "customer-A")
    assert waited == pytest.approx(255.0)
    assert clock.now == pytest.approx(300.0)  # the first call (t=0) has just left its 300 s window
    # The 452nd must wait for the second call (t=0.1) to leave.
    assert limiter.time_until_available("validate", "customer-A") == pytest.approx(0.1)


def test_create_is_keyed_per_partner_and_subscriptions_per_minute() -> None:
    clock = SteppingClock()
    limiter = RateLimiter(RateLimits(), clock=clock, sleep=clock.sleep)
    for _ in range(100):
        limiter.acquire("create", "partner-1")
    assert limiter.time_until_available("create", "partner-1") == pytest.approx(300.0)
    assert limiter.acquire("create", "partner-2") == 0.0
    for _ in range(500):
        limiter.acquire("subscriptions", "partner-1")
    clock.now += 59.0
    assert limiter.acquire("subscriptions", "partner-1") == pytest.approx(1.0)
    assert clock.sleeps == [pytest.approx(1.0)]


def test_disabled_and_unknown_buckets_never_wait() -> None:
    clock = SteppingClock()
    limiter = RateLimiter(RateLimits(validate=None), clock=clock, sleep=clock.sleep)
    for _ in range(1000):
        assert limiter.acquire("validate", "c") == 0.0
        assert limiter.acquire("schedules", "c") == 0.0
    assert clock.sleeps == []


@settings(max_examples=60, deadline=None)
@given(
    calls=st.integers(min_value=1, max_value=4),
    gaps=st.lists(st.floats(min_value=0.0, max_value=8.0, allow_nan=False), min_size=1, max_size=25),
)
def test_sliding_window_is_never_exceeded_and_never_over_waits(calls: int, gaps: list[float]) -> None:
    period = 10.0
    clock = SteppingClock()
    limiter = RateLimiter(RateLimits(extra={"b": Limit(calls, period)}), clock=clock, sleep=clock.sleep)
    admitted: list[float] = []
    arrival = 0.0
    for gap in gaps:
        arrival += gap
        clock.now = max(clock.now, arrival)
        limiter.acquire("b", "k")
        admitted.append(clock.now)
    for i in range(len(admitted) - calls):
        # Any window [t, t + period) holds at most `calls` admissions.
        assert admitted[i + calls] - admitted[i] >= period - 1e-9
    arrival = 0.0
    for i, gap in enumerate(gaps):
        arrival += gap
        # Tight: admitted as soon as the arrival and the window allow, no later.
        earliest = max(arrival, admitted[i - 1] if i else 0.0)
        if i >= calls:
            earliest = max(earliest, admitted[i - calls] + period)
        assert admitted[i] == pytest.approx(earliest)


class ThreadedClock:
    """Fake time for several threads: sleepers block on a condition until the test advances the clock."""

    def __init__(self) -> None:
        self._now = 0.0
        self._cond = threading.Condition()
        self.wakeups: list[float] = []

    def __call__(self) -> float:
        with self._cond:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._cond:
            target = self._now + seconds
            self.wakeups.append(target)
            self._cond.notify_all()
            ok = self._cond.wait_for(lambda: self._now >= target, timeout=5.0)
            self.wakeups.remove(target)
            assert ok, "fake clock never advanced"

    def advance_to(self, moment: float) -> None:
        with self._cond:
            self._now = moment
            self._cond.notify_all()

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, "condition not reached"
            with self._cond:
                self._cond.wait(timeout=0.005)

    def pending_wakeup(self) -> float | None:
        with self._cond:
            future = [t for t in self.wakeups if t > self._now]
            return min(future) if future else None


def test_waiters_are_served_in_arrival_order() -> None:
    clock = ThreadedClock()
    limiter = RateLimiter(RateLimits(validate=Limit(1, 10.0)), clock=clock, sleep=clock.sleep)
    limiter.acquire("validate", "c")  # fills the window at t=0
    order: list[tuple[int, float]] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        waited = limiter.acquire("validate", "c")
        with lock:
            order.append((n, waited))

    threads = []
    for n in range(6):
        thread = threading.Thread(target=worker, args=(n,), daemon=True)
        thread.start()
        threads.append(thread)
        # Make arrival order certain: the next thread starts only once this one holds its ticket.
        queued = n + 1
        clock.wait_until(lambda: limiter.queue_length("validate", "c") == queued)  # noqa: B023 (used at once)

    for served in range(1, 7):
        clock.wait_until(lambda: clock.pending_wakeup() is not None)
        wakeup = clock.pending_wakeup()
        assert wakeup is not None
        clock.advance_to(wakeup)
        clock.wait_until(lambda: len(order) == served)  # noqa: B023 (used at once)
        # Exactly one per window: nobody else slipped through on this tick.
        assert len(order) == served

    for thread in threads:
        thread.join(timeout=5.0)
    assert [n for n, _ in order] == [0, 1, 2, 3, 4, 5]
    assert [waited for _, waited in order] == pytest.approx([10.0, 20.0, 30.0, 40.0, 50.0, 60.0])
    assert limiter.queue_length("validate", "c") == 0


def test_real_clock_path_waits_on_condition() -> None:
    # Production mode (no injected sleep): a tiny window so the real wait stays a few milliseconds.
    limiter = RateLimiter(RateLimits(extra={"tiny": Limit(2, 0.02)}))
    assert limiter.acquire("tiny", "k") == 0.0
    assert limiter.acquire("tiny", "k") == 0.0
    assert limiter.acquire("tiny", "k") > 0.0


def test_client_applies_limits_per_customer_and_partner(
    stub: StubServer, make_client: Callable[..., PartnerCenterClient], fake_time: FakeTime
) -> None:
    limiter = RateLimiter(
        RateLimits(validate=Limit(2, 300.0), create=Limit(1, 300.0), subscriptions=Limit(1, 60.0)),
        clock=fake_time.monotonic,
        sleep=fake_time.sleep,
    )
    client = make_client(limiter=limiter, partner_key="partner-tenant")
    for customer in ("a", "b"):
        stub.route("POST", f"/v1/customers/{customer}/migrations/newcommerce/validate", lambda _: Reply(json={}))
        stub.route("POST", f"/v1/customers/{customer}/migrations/newcommerce", lambda _: Reply(201, json={"id": "m"}))
        stub.route("GET", f"/v1/customers/{customer}/subscriptions", lambda _: Reply(json={"items": []}))
    body = MigrationRequest(current_subscription_id="s")

    client.validate_migration("a", body)
    client.validate_migration("a", body)
    client.validate_migration("b", body)  # other customer: own window
    assert fake_time.sleeps == []
    stub.route("POST", "/v1/customers/A/migrations/newcommerce/validate", lambda _: Reply(json={}))
    client.validate_migration("A", body)  # third for customer a in 300 s: the id's letter case is no new customer
    assert fake_time.sleeps == [pytest.approx(300.0)]

    client.create_migration("a", body)
    client.create_migration("b", body)  # create is per partner, not per customer
    assert fake_time.sleeps[1:] == [pytest.approx(300.0)]

    client.list_subscriptions("a")
    client.list_subscriptions("b")  # subscriptions keyed by the partner tenant too
    assert fake_time.sleeps[2:] == [pytest.approx(60.0)]


def test_window_counts_from_the_answer_when_the_call_reports_done() -> None:
    """A slow call occupies its slot until answered: the server may have stamped it as late as that."""
    clock = SteppingClock()
    limiter = RateLimiter(RateLimits(validate=Limit(2, 10.0)), clock=clock, sleep=clock.sleep)
    first, waited = limiter.admit("validate", "c1")
    assert first is not None and waited == 0.0
    clock.now = 4.0
    first.done()  # answered 4 s after it was sent
    second, _ = limiter.admit("validate", "c1")
    assert second is not None
    second.done()
    # The third must wait until the first's *answer* (t=4) leaves the window, not its send (t=0).
    _, waited = limiter.admit("validate", "c1")
    assert waited == pytest.approx(10.0)
    assert clock.now == pytest.approx(14.0)
