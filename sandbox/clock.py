"""Sandbox clock: real time multiplied by ``time_scale`` plus manual advances.

Everything time-dependent in the sandbox (migration lifecycle, schedules, rate-limit windows) reads this clock,
so tests can ``advance()`` it instead of sleeping, and demos can run it N times faster than real time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class SandboxClock:
    """Monotonic sandbox time. ``now() = start + (real elapsed) * time_scale + advanced``."""

    def __init__(
        self,
        time_scale: float = 1.0,
        start: datetime | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``monotonic`` is the real-time source (tests pass a fake one to let real time pass without sleeping)."""
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        self.time_scale = float(time_scale)
        base = start or datetime.now(UTC).replace(microsecond=0)
        self.start = base if base.tzinfo else base.replace(tzinfo=UTC)
        self._monotonic = monotonic
        self._real0 = monotonic()
        self._advanced = 0.0
        self._lock = threading.Lock()

    def elapsed(self) -> float:
        """Sandbox seconds since start."""
        with self._lock:
            return (self._monotonic() - self._real0) * self.time_scale + self._advanced

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.elapsed())

    def advance(self, seconds: float) -> datetime:
        """Move sandbox time forward (never backward)."""
        if seconds < 0:
            raise ValueError("the sandbox clock cannot go backwards")
        with self._lock:
            self._advanced += float(seconds)
        return self.now()

    def to_real_seconds(self, sandbox_seconds: float) -> float:
        """How many real seconds pass while ``sandbox_seconds`` pass on this clock."""
        return sandbox_seconds / self.time_scale

    def to_sandbox_seconds(self, real_seconds: float) -> float:
        return real_seconds * self.time_scale
