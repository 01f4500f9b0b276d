"""Faults on demand and the rate limits: everything that makes the sandbox answer other than with success.

:class:`Faults` holds the settings (``POST /_sandbox/faults``, or ``settings.faults`` in the data file);
:class:`FaultInjection` is the part of :class:`sandbox.state.SandboxState` that consumes them;
:class:`RateLimiter` keeps Partner Center's sliding windows on the sandbox clock."""

from __future__ import annotations

import random
import threading
from collections import deque
from dataclasses import asdict, dataclass, fields
from typing import Any

from sandbox.errors import bad_request


@dataclass
class Faults:
    """Faults on demand. Path filters are substrings of the request path (None = every Partner Center route)."""

    latency: float = 0.0  # real seconds added before answering
    latency_path: str | None = None
    create_latency: float = 0.0  # real seconds every create (POST …/migrations/newcommerce) waits; others stay fast
    error_rate: float = 0.0  # share of requests answered with error_status
    error_status: int = 503
    error_seed: int | None = None
    error_path: str | None = None
    fail_next: int = 0  # the next N requests answer error_status
    throttle_next: int = 0  # the next N requests answer 429
    retry_after: int = 5  # real seconds, for throttle_next
    throttle_path: str | None = None
    commit_then_timeout: float = 0.0  # create commits, then the answer is delayed this many real seconds
    commit_then_timeout_next: int | None = None  # only the next N creates (None = every create)
    webhook_bad_signature: int = 0  # the next N webhook deliveries carry a signature of other bytes
    webhook_wrong_cert_host: int = 0  # … name a certificate URL on another host (localhost)
    webhook_drop: int = 0  # … are not sent at all

    def update(self, values: dict[str, Any]) -> None:
        known = {f.name for f in fields(self)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise bad_request(f"Unknown fault settings: {', '.join(unknown)}. Known: {', '.join(sorted(known))}.")
        checked = {name: self._check(name, value) for name, value in values.items()}
        for name, value in checked.items():
            setattr(self, name, value)

    @staticmethod
    def _check(name: str, value: Any) -> Any:
        """Refuse a setting of the wrong type or range (a bad value must not break every later request)."""
        if name.endswith("_path"):
            if value is not None and not isinstance(value, str):
                raise bad_request(f"Fault setting {name} must be a path substring or null.")
            return value or None
        if name == "error_seed":
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise bad_request("Fault setting error_seed must be an integer or null.")
            return value
        if name == "commit_then_timeout_next" and value is None:
            return None
        if name in ("latency", "create_latency", "error_rate", "commit_then_timeout"):
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise bad_request(f"Fault setting {name} must be a number >= 0.")
            if name == "error_rate" and value > 1:
                raise bad_request("Fault setting error_rate is a share of requests: a number from 0 to 1.")
            return float(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise bad_request(f"Fault setting {name} must be an integer >= 0.")
        if name == "error_status" and not (400 <= value <= 599 and value != 429):
            raise bad_request("Fault setting error_status must be an HTTP error status 400-599 (429: throttle_next).")
        return value

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RateLimit:
    limit: int
    window_seconds: float


class RateLimiter:
    """Sliding windows measured on the sandbox clock (elapsed sandbox seconds)."""

    def __init__(self) -> None:
        self.hits: dict[str, deque[float]] = {}

    def hit(self, key: str, rule: RateLimit, now: float) -> float | None:
        """Count one call; answer None, or the sandbox seconds until a slot frees up when over the limit."""
        window = self.hits.setdefault(key, deque())
        while window and window[0] <= now - rule.window_seconds:
            window.popleft()
        if len(window) >= rule.limit:
            return window[0] + rule.window_seconds - now
        window.append(now)
        return None


class FaultInjection:
    """The fault side of the state: consume "next N" counts, draw seeded errors, hold commits. Thread-safe."""

    lock: threading.RLock
    faults: Faults
    _rng: random.Random

    def take_fault(self, name: str) -> bool:
        """Consume one count of a "next N" fault (``webhook_drop``…); True when it applies now."""
        with self.lock:
            left = getattr(self.faults, name)
            if left > 0:
                setattr(self.faults, name, left - 1)
                return True
            return False

    def set_faults(self, values: dict[str, Any]) -> None:
        with self.lock:
            self.faults.update(values)
            if "error_seed" in values:
                self._rng = random.Random(values["error_seed"])

    def clear_faults(self) -> None:
        with self.lock:
            self.faults = Faults()
            self._rng = random.Random()

    def injected_error(self, path: str) -> int | None:
        """HTTP status to inject for this request (5xx), or None."""
        with self.lock:
            f = self.faults
            if f.error_path and f.error_path not in path:
                return None
            if f.fail_next > 0:
                f.fail_next -= 1
                return f.error_status
            if f.error_rate > 0 and self._rng.random() < f.error_rate:
                return f.error_status
            return None

    def injected_throttle(self, path: str) -> int | None:
        with self.lock:
            f = self.faults
            if f.throttle_next > 0 and (not f.throttle_path or f.throttle_path in path):
                f.throttle_next -= 1
                return max(1, int(f.retry_after))
            return None

    def take_commit_timeout(self) -> float:
        with self.lock:
            f = self.faults
            if f.commit_then_timeout <= 0:
                return 0.0
            if f.commit_then_timeout_next is not None:
                if f.commit_then_timeout_next <= 0:
                    return 0.0
                f.commit_then_timeout_next -= 1
            return float(f.commit_then_timeout)
