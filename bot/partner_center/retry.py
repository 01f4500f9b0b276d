"""Retry policy of the Partner Center client: what is retried, how long to wait, when to give up."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

# Transport failures worth another attempt. The same MS-RequestId is reused, so Partner Center treats a
# retried create as the same logical call even if the first attempt reached it.
RETRYABLE_EXCEPTIONS: tuple[type[Exception], ...] = (
    httpx.NetworkError,  # ConnectError, ReadError (reset mid-answer), WriteError, CloseError
    httpx.TimeoutException,
    httpx.RemoteProtocolError,
)


def is_retryable_status(status: int) -> bool:
    """408, 429 and 5xx are transient; every other 4xx is the caller's problem."""
    return status in (408, 429) or 500 <= status <= 599


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP-date. ``None`` when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


@dataclass(frozen=True)
class RetryPolicy:
    """Jittered exponential backoff bounded by attempts and by a total time budget (seconds).

    ``random`` is injectable so tests can pin the jitter.
    """

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    total_budget: float = 120.0
    jitter: bool = True
    random: Callable[[], float] = field(default=random.random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.total_budget < 0:
            raise ValueError("delays and budget must not be negative")

    def backoff(self, attempt: int) -> float:
        """Delay after failed attempt number ``attempt`` (1-based)."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** max(0, attempt - 1)))
        if not self.jitter:
            return ceiling
        # "Equal jitter": never less than half the step, so retries still spread out but do not hammer.
        return ceiling / 2 + self.random() * ceiling / 2
