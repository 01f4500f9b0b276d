"""A tiny thread-safe Prometheus registry (text exposition format 0.0.4) and ncebot's own metrics.

No dependency: counters and gauges with labels, rendered with ``# HELP`` / ``# TYPE`` lines and escaped label
values. ``Metrics`` holds ncebot's series; create one per app (``default_metrics()`` is a process-wide one).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bot.domain import RequestState

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

LabelValues = tuple[str, ...]


def escape_label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


class _Metric:
    kind = "untyped"

    def __init__(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> None:
        self.name = name
        self.help = help_text
        self.labelnames = tuple(labelnames)
        self._values: dict[LabelValues, float] = {}
        self._lock = threading.Lock()

    def _key(self, labels: Mapping[str, Any]) -> LabelValues:
        if set(labels) != set(self.labelnames):
            raise ValueError(f"{self.name} takes labels {list(self.labelnames)}, got {sorted(labels)}")
        return tuple(str(labels[name]) for name in self.labelnames)

    def value(self, **labels: Any) -> float:
        """Current value of one series (0 when never touched)."""
        with self._lock:
            return self._values.get(self._key(labels), 0.0)

    def samples(self) -> list[tuple[LabelValues, float]]:
        with self._lock:
            items = sorted(self._values.items())
        if not items and not self.labelnames:
            items = [((), 0.0)]
        return items

    def render(self) -> str:
        lines = [f"# HELP {self.name} {escape_help(self.help)}", f"# TYPE {self.name} {self.kind}"]
        for key, value in self.samples():
            if self.labelnames:
                pairs = ",".join(
                    f'{name}="{escape_label_value(v)}"' for name, v in zip(self.labelnames, key, strict=True)
                )
                lines.append(f"{self.name}{{{pairs}}} {format_value(value)}")
            else:
                lines.append(f"{self.name} {format_value(value)}")
        return "\n".join(lines) + "\n"


class Counter(_Metric):
    kind = "counter"

    def inc(self, amount: float = 1.0, **labels: Any) -> None:
        if amount < 0:
            raise ValueError("a counter only goes up")
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount


class Gauge(_Metric):
    kind = "gauge"

    def set(self, value: float, **labels: Any) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = float(value)

    def inc(self, amount: float = 1.0, **labels: Any) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def dec(self, amount: float = 1.0, **labels: Any) -> None:
        self.inc(-amount, **labels)

    def replace_all(self, values: Mapping[LabelValues, float]) -> None:
        """Swap every series at once (values computed at scrape time)."""
        with self._lock:
            self._values = {tuple(str(v) for v in k): float(x) for k, x in values.items()}


class Registry:
    """Metrics in registration order; ``render()`` runs the collect hooks first."""

    def __init__(self) -> None:
        self._metrics: dict[str, _Metric] = {}
        self._collectors: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def register(self, metric: _Metric) -> _Metric:
        with self._lock:
            if metric.name in self._metrics:
                raise ValueError(f"metric {metric.name} is already registered")
            self._metrics[metric.name] = metric
        return metric

    def counter(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> Counter:
        metric = Counter(name, help_text, labelnames)
        self.register(metric)
        return metric

    def gauge(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> Gauge:
        metric = Gauge(name, help_text, labelnames)
        self.register(metric)
        return metric

    def add_collector(self, hook: Callable[[], None]) -> None:
        """``hook()`` runs before each render (to refresh gauges from their source)."""
        with self._lock:
            self._collectors.append(hook)

    def get(self, name: str) -> _Metric:
        return self._metrics[name]

    def render(self) -> str:
        with self._lock:
            collectors = list(self._collectors)
            metrics = list(self._metrics.values())
        for hook in collectors:
            hook()
        return "".join(metric.render() for metric in metrics)


def _count(value: Any) -> int:
    """``True``/``False`` → 1/0, an int → itself, anything else → 0."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return max(value, 0)
    return 0


class Metrics:
    """ncebot's metrics. Thread-safe; one per app."""

    def __init__(self, registry: Registry | None = None) -> None:
        self.registry = registry or Registry()
        r = self.registry
        self.requests = r.gauge("ncebot_requests", "Change requests by state.", ["state"])
        self.partner_center_calls = r.counter(
            "ncebot_partner_center_calls_total",
            "Logical Partner Center calls by endpoint and final HTTP status (error: no answer).",
            ["endpoint", "status"],
        )
        self.partner_center_throttled = r.counter(
            "ncebot_partner_center_throttled_total", "Partner Center 429 answers by endpoint.", ["endpoint"]
        )
        self.partner_center_retries = r.counter(
            "ncebot_partner_center_retries_total", "Partner Center retried attempts by endpoint.", ["endpoint"]
        )
        self.poll_lag = r.gauge(
            "ncebot_poll_lag_seconds", "How late the last status poll of in-flight work ran, in seconds."
        )
        self.slack_api_errors = r.counter(
            "ncebot_slack_api_errors_total", "Slack Web API errors by method and error code.", ["method", "error"]
        )
        self.webhook_rejected = r.counter(
            "ncebot_webhook_rejected_total", "Partner Center webhook deliveries refused (401), by reason.", ["reason"]
        )
        self.webhook_accepted = r.counter(
            "ncebot_webhook_accepted_total", "Verified Partner Center webhook deliveries, by event.", ["event"]
        )
        self._request_counts: Callable[[], Mapping[str, int]] | None = None
        self._lock = threading.Lock()
        r.add_collector(self._collect_requests)

    # --- sources ----------------------------------------------------------------------------------------

    def set_request_counts_provider(self, provider: Callable[[], Mapping[str, int]] | None) -> None:
        """``provider()`` → ``{state: count}``, called at every scrape (e.g. a GROUP BY over requests)."""
        with self._lock:
            self._request_counts = provider

    def _collect_requests(self) -> None:
        with self._lock:
            provider = self._request_counts
        if provider is None:
            return
        counts: dict[str, float] = {str(state): 0.0 for state in RequestState}
        try:
            for state, count in provider().items():
                counts[str(state)] = float(count)
        except Exception:
            # A failing source (database down) must not break the scrape; keep the last values.
            return
        self.requests.replace_all({(state,): count for state, count in counts.items()})

    # --- observations -----------------------------------------------------------------------------------

    def observe_partner_center_call(self, record: Any) -> None:
        """Count one logical call from the client's ``CallRecord`` (endpoint, status, throttled, retried…).

        ``throttled``/``retried`` may be booleans or counts; with a boolean ``retried`` and an ``attempts``
        field, the retries are ``attempts - 1``.
        """
        endpoint = str(getattr(record, "endpoint", None) or "unknown")
        status = getattr(record, "status", None)
        self.partner_center_calls.inc(endpoint=endpoint, status=str(status) if status is not None else "error")
        throttled = _count(getattr(record, "throttled", 0))
        if throttled:
            self.partner_center_throttled.inc(throttled, endpoint=endpoint)
        retried = getattr(record, "retried", 0)
        retries = _count(retried)
        attempts = getattr(record, "attempts", None)
        if isinstance(retried, bool) and retried and isinstance(attempts, int) and attempts > 1:
            retries = attempts - 1
        if retries:
            self.partner_center_retries.inc(retries, endpoint=endpoint)

    def observe_slack_api_error(self, method: str, error: str) -> None:
        self.slack_api_errors.inc(method=method, error=error or "unknown")

    def observe_webhook_rejected(self, reason: str) -> None:
        self.webhook_rejected.inc(reason=reason)

    def observe_webhook_accepted(self, event: str) -> None:
        self.webhook_accepted.inc(event=event)

    def set_poll_lag(self, seconds: float) -> None:
        self.poll_lag.set(max(float(seconds), 0.0))

    def render(self) -> str:
        return self.registry.render()


_default: Metrics | None = None
_default_lock = threading.Lock()


def default_metrics() -> Metrics:
    """A process-wide :class:`Metrics` for code that has no app object at hand."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Metrics()
        return _default
