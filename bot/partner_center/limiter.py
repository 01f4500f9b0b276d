"""Client-side rate limiter for the documented Partner Center limits.

A sliding-window log per (bucket, key): a call is admitted only while fewer than ``calls`` admissions lie in the
last ``period`` seconds, so no window of that length (fixed or sliding, as the server may count) ever holds more
than ``calls``. Waiting callers of one (bucket, key) are served strictly in arrival order: each takes a ticket and
only the holder of the lowest ticket may admit itself, so a late caller can never overtake a long waiter.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Limit:
    """At most ``calls`` admissions in any ``period`` seconds."""

    calls: int
    period: float

    def __post_init__(self) -> None:
        if self.calls < 1 or self.period <= 0:
            raise ValueError("a limit needs calls >= 1 and period > 0")


# Bucket names the client uses.
VALIDATE = "validate"
CREATE = "create"
SUBSCRIPTIONS = "subscriptions"


@dataclass(frozen=True)
class RateLimits:
    """Documented limits (Partner Center "API throttling guidance"); ``None`` disables a bucket."""

    # 450 calls per partner-customer pair per 5 minutes.
    validate: Limit | None = Limit(450, 300.0)
    # 100 calls per partner per 5 minutes.
    create: Limit | None = Limit(100, 300.0)
    # Subscription resource: 500 requests per minute per tenant.
    subscriptions: Limit | None = Limit(500, 60.0)
    # Further buckets by name, for limits Microsoft documents later.
    extra: dict[str, Limit] = field(default_factory=dict)

    def for_bucket(self, bucket: str) -> Limit | None:
        known: dict[str, Limit | None] = {
            VALIDATE: self.validate,
            CREATE: self.create,
            SUBSCRIPTIONS: self.subscriptions,
        }
        if bucket in known:
            return known[bucket]
        return self.extra.get(bucket)


class Admission:
    """One admitted call. Its slot counts from admission until ``done()`` restamps it with the completion time.

    Why: the server stamps a call when it *arrives*, somewhere between our send and its answer. Counting the
    window from the answer makes "no more than N in any window" hold at the server too, whatever the latency.
    """

    __slots__ = ("_clock", "at")

    def __init__(self, at: float, clock: Callable[[], float]) -> None:
        self.at = at
        self._clock = clock

    def done(self) -> None:
        self.at = max(self.at, self._clock())


@dataclass
class _Lane:
    """State of one (bucket, key): admitted calls and the FIFO ticket counters."""

    log: deque[Admission] = field(default_factory=deque)
    next_ticket: int = 0
    serving: int = 0


class RateLimiter:
    """Thread-safe sliding-window limiter with FIFO waiting.

    ``clock`` gives seconds (monotonic). ``sleep``: when given, the caller at the head of the queue calls it
    (outside the lock) to wait for the window; when ``None`` it waits on an internal condition with a timeout,
    which is the production behaviour. Tests pass a fake clock and a ``sleep`` that advances it.
    """

    def __init__(
        self,
        limits: RateLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self._limits = limits or RateLimits()
        self._clock = clock
        self._sleep = sleep
        self._cond = threading.Condition()
        self._lanes: dict[tuple[str, str], _Lane] = {}

    def acquire(self, bucket: str, key: str) -> float:
        """Block until a call in ``bucket`` for ``key`` may go; return the seconds waited (by ``clock``).

        The slot counts from admission; use :meth:`admit` to count it from the call's completion instead.
        """
        return self.admit(bucket, key)[1]

    def admit(self, bucket: str, key: str) -> tuple[Admission | None, float]:
        """Like :meth:`acquire`, and also return the admission (``None`` when the bucket is unlimited)."""
        limit = self._limits.for_bucket(bucket)
        if limit is None:
            return None, 0.0
        start = self._clock()
        with self._cond:
            lane = self._lanes.setdefault((bucket, key), _Lane())
            ticket = lane.next_ticket
            lane.next_ticket += 1
            waited = False
            while True:
                if lane.serving != ticket:
                    # Not our turn: wait for the callers ahead of us; woken whenever one is admitted.
                    self._cond.wait()
                    waited = True
                    continue
                now = self._clock()
                self._prune(lane, limit, now)
                if len(lane.log) < limit.calls:
                    admission = Admission(now, self._clock)
                    lane.log.append(admission)
                    lane.serving += 1
                    self._cond.notify_all()
                    # Admitted at once: exactly 0.0, so callers can tell "no wait" without float noise.
                    return admission, (max(0.0, now - start) if waited else 0.0)
                delay = lane.log[0].at + limit.period - now
                waited = True
                if self._sleep is None:
                    self._cond.wait(timeout=delay)
                else:
                    # Sleep without the lock so other lanes (and newcomers taking tickets) are not blocked.
                    self._cond.release()
                    try:
                        self._sleep(delay)
                    finally:
                        self._cond.acquire()

    def record_elsewhere(self, bucket: str, key: str, ages: Iterable[float]) -> int:
        """Calls another process made ``age`` seconds ago (a lease holder that died) count in this window too, so a
        new holder does not send a whole window's worth on top of them. Returns how many were counted."""
        limit = self._limits.for_bucket(bucket)
        if limit is None:
            return 0
        with self._cond:
            lane = self._lanes.setdefault((bucket, key), _Lane())
            now = self._clock()
            added = [Admission(now - age, self._clock) for age in ages if 0 <= age < limit.period]
            if added:
                lane.log = deque(sorted([*lane.log, *added], key=lambda a: a.at))
                self._cond.notify_all()
            return len(added)

    def time_until_available(self, bucket: str, key: str) -> float:
        """Seconds until the window of (bucket, key) has room, ignoring callers already queued."""
        limit = self._limits.for_bucket(bucket)
        if limit is None:
            return 0.0
        with self._cond:
            lane = self._lanes.get((bucket, key))
            if lane is None:
                return 0.0
            now = self._clock()
            self._prune(lane, limit, now)
            if len(lane.log) < limit.calls:
                return 0.0
            return max(0.0, lane.log[0].at + limit.period - now)

    def queue_length(self, bucket: str, key: str) -> int:
        """Callers of (bucket, key) currently waiting (for metrics and tests)."""
        with self._cond:
            lane = self._lanes.get((bucket, key))
            return 0 if lane is None else lane.next_ticket - lane.serving

    @staticmethod
    def _prune(lane: _Lane, limit: Limit, now: float) -> None:
        # An admission at t occupies the half-open window [t, t + period). Completion stamps can make later
        # entries older than the head; pruning from the head only is conservative (never admits too many).
        while lane.log and lane.log[0].at + limit.period <= now:
            lane.log.popleft()
