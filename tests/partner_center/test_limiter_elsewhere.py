"""A new lease holder counts the creates its predecessor made in the current window (issue #10: the limit holds
across replicas, also at a takeover)."""

from __future__ import annotations

from bot.partner_center.limiter import CREATE, Limit, RateLimiter, RateLimits


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_creates_made_elsewhere_fill_the_window_until_they_age_out() -> None:
    t = FakeTime()
    limiter = RateLimiter(RateLimits(create=Limit(3, 300.0)), clock=t.clock, sleep=t.sleep)
    assert limiter.record_elsewhere(CREATE, "p", [10.0, 20.0, 400.0]) == 2  # the 400 s old one is out already
    assert limiter.acquire(CREATE, "p") == 0.0  # one slot left
    waited = limiter.acquire(CREATE, "p")  # the next waits until the oldest (20 s ago) leaves the window
    assert waited == 280.0
