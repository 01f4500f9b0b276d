"""Retry policy of the Partner Center client: what is retried, how long to wait, when to give up.

The loop itself is tenacity's (:func:`retrying`); this module says what it does: jittered exponential backoff,
``Retry-After`` on 429, a bounded number of attempts and a total time budget, and one immediate extra attempt
with a fresh token after a 401. Time (sleep, elapsed) is injected so tests run on a fake clock.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
import tenacity

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


class Transient(Exception):
    """One failed attempt worth another: a retryable answer (``response``), a transport ``error``, or a 401 to
    answer with a fresh token (``reauth``). Raised inside the retry loop only; the client turns the last one into
    :class:`~bot.partner_center.errors.PartnerCenterUnavailable` when the loop gives up."""

    def __init__(self, response: httpx.Response | None, error: Exception | None = None, *,
                 reauth: bool = False) -> None:
        super().__init__(f"HTTP {response.status_code}" if response is not None else type(error).__name__)
        self.response = response
        self.error = error
        self.reauth = reauth

    @property
    def retry_after(self) -> float | None:
        """The 429 answer's ``Retry-After``, in seconds."""
        if self.response is None or self.response.status_code != 429:
            return None
        return parse_retry_after(self.response.headers.get("Retry-After"))


def _failure(state: tenacity.RetryCallState) -> Transient:
    outcome = state.outcome
    error = outcome.exception() if outcome is not None else None
    assert isinstance(error, Transient)  # only Transient is retried
    return error


def retrying(policy: RetryPolicy, *, sleep: Callable[[float], None], elapsed: Callable[[], float],
             on_retry: Callable[[], None]) -> tenacity.Retrying:
    """The retry loop of one logical call (``for attempt in retrying(…): with attempt: …``). ``Transient``
    failures are retried: after ``Retry-After`` on a 429 that has one, else ``policy.backoff(attempt)``; the loop
    stops (re-raising the last ``Transient``) after ``policy.max_attempts`` or when the next wait would overrun
    ``policy.total_budget`` (seconds since the call began: ``elapsed()``). A 401's fresh-token attempt follows at
    once and is never the reason to stop. ``on_retry()`` runs before each further attempt."""

    def wait(state: tenacity.RetryCallState) -> float:
        failure = _failure(state)
        if failure.reauth:
            return 0.0
        retry_after = failure.retry_after
        return retry_after if retry_after is not None else policy.backoff(state.attempt_number)

    def stop(state: tenacity.RetryCallState) -> bool:
        if _failure(state).reauth:
            return False
        remaining = policy.total_budget - elapsed()
        return state.attempt_number >= policy.max_attempts or state.upcoming_sleep > remaining

    return tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(Transient),
        wait=wait,
        stop=stop,
        sleep=lambda seconds: sleep(seconds) if seconds > 0 else None,
        before_sleep=lambda _state: on_retry(),
        reraise=True,
    )
