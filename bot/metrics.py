"""ncebot's Prometheus metrics, on ``prometheus-client``.

Each :class:`Metrics` has its own ``CollectorRegistry`` (one per runtime, so two apps in one process, or two
tests, never share series). The request-state gauge is a custom collector that reads the database at scrape time.
Other modules add their own series through :meth:`Metrics.counter` / :meth:`Metrics.gauge`::

    rejected = metrics.counter("ncebot_webhook_rejections_total", "Webhook calls refused, by reason.", ["reason"])
    rejected.labels(reason="signature").inc()
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, disable_created_metrics, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.domain import RequestState

# The Prometheus text format ncebot has always served (prometheus-client's own constant moved to 1.0.0).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# No ``*_created`` series next to every counter: they were never part of ncebot's metrics.
disable_created_metrics()


def _count(value: Any) -> int:
    """``True``/``False`` → 1/0, an int → itself, anything else → 0."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return max(value, 0)
    return 0


class RequestStateCollector(Collector):
    """``ncebot_requests{state=…}``: change requests by state, read from ``provider()`` at every scrape. Every
    state is shown (0 when none); a failing provider (database down) keeps the last values."""

    NAME = "ncebot_requests"
    HELP = "Change requests by state."

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._provider: Callable[[], Mapping[str, int]] | None = None
        self._last: dict[str, float] = {}

    def set_provider(self, provider: Callable[[], Mapping[str, int]] | None) -> None:
        with self._lock:
            self._provider = provider

    def describe(self) -> Iterable[Metric]:
        return [GaugeMetricFamily(self.NAME, self.HELP, labels=["state"])]

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            provider = self._provider
        if provider is not None:
            try:
                counts: dict[str, float] = {str(state): 0.0 for state in RequestState}
                for state, count in provider().items():
                    counts[str(state)] = float(count)
                with self._lock:
                    self._last = counts
            except Exception:  # the scrape must not fail; keep what was last seen
                pass
        family = GaugeMetricFamily(self.NAME, self.HELP, labels=["state"])
        with self._lock:
            for state, value in self._last.items():
                family.add_metric([state], value)
        return [family]


class Metrics:
    """ncebot's metrics, on a registry of their own. Thread-safe (prometheus-client's metrics are)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self.requests = RequestStateCollector()
        self.registry.register(self.requests)
        self.partner_center_calls = self.counter(
            "ncebot_partner_center_calls_total",
            "Logical Partner Center calls by endpoint and final HTTP status (error: no answer).",
            ["endpoint", "status"],
        )
        self.partner_center_throttled = self.counter(
            "ncebot_partner_center_throttled_total", "Partner Center 429 answers by endpoint.", ["endpoint"]
        )
        self.partner_center_retries = self.counter(
            "ncebot_partner_center_retries_total", "Partner Center retried attempts by endpoint.", ["endpoint"]
        )
        self.poll_lag = self.gauge(
            "ncebot_poll_lag_seconds", "How late the last status poll of in-flight work ran, in seconds."
        )
        self.slack_api_errors = self.counter(
            "ncebot_slack_api_errors_total", "Slack Web API errors by method and error code.", ["method", "error"]
        )
        self.webhook_rejected = self.counter(
            "ncebot_webhook_rejected_total", "Partner Center webhook deliveries refused (401), by reason.", ["reason"]
        )
        self.webhook_accepted = self.counter(
            "ncebot_webhook_accepted_total", "Verified Partner Center webhook deliveries, by event.", ["event"]
        )

    # --- registering series (for any module that has this runtime's Metrics) ----------------------------

    def counter(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> Counter:
        """A counter on this registry; ``name`` ends in ``_total`` (as exposed). ValueError if taken."""
        return Counter(name, help_text, list(labelnames), registry=self.registry)

    def gauge(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> Gauge:
        """A gauge on this registry. ValueError if the name is taken."""
        return Gauge(name, help_text, list(labelnames), registry=self.registry)

    def value(self, name: str, **labels: str) -> float:
        """Current value of one series as exposed (0 when it has none yet)."""
        found = self.registry.get_sample_value(name, {k: str(v) for k, v in labels.items()})
        return 0.0 if found is None else float(found)

    # --- sources ----------------------------------------------------------------------------------------

    def set_request_counts_provider(self, provider: Callable[[], Mapping[str, int]] | None) -> None:
        """``provider()`` → ``{state: count}``, called at every scrape (e.g. a GROUP BY over requests)."""
        self.requests.set_provider(provider)

    # --- observations -----------------------------------------------------------------------------------

    def observe_partner_center_call(self, record: Any) -> None:
        """Count one logical call from the client's ``CallRecord`` (endpoint, status, throttled, retried…).

        ``throttled``/``retried`` may be booleans or counts; with a boolean ``retried`` and an ``attempts``
        field, the retries are ``attempts - 1``.
        """
        endpoint = str(getattr(record, "endpoint", None) or "unknown")
        status = getattr(record, "status", None)
        self.partner_center_calls.labels(endpoint=endpoint, status=str(status) if status is not None else "error").inc()
        throttled = _count(getattr(record, "throttled", 0))
        if throttled:
            self.partner_center_throttled.labels(endpoint=endpoint).inc(throttled)
        retried = getattr(record, "retried", 0)
        retries = _count(retried)
        attempts = getattr(record, "attempts", None)
        if isinstance(retried, bool) and retried and isinstance(attempts, int) and attempts > 1:
            retries = attempts - 1
        if retries:
            self.partner_center_retries.labels(endpoint=endpoint).inc(retries)

    def observe_slack_api_error(self, method: str, error: str) -> None:
        self.slack_api_errors.labels(method=method, error=error or "unknown").inc()

    def observe_webhook_rejected(self, reason: str) -> None:
        self.webhook_rejected.labels(reason=reason).inc()

    def observe_webhook_accepted(self, event: str) -> None:
        self.webhook_accepted.labels(event=event).inc()

    def set_poll_lag(self, seconds: float) -> None:
        self.poll_lag.set(max(float(seconds), 0.0))

    def render(self) -> str:
        """The Prometheus text exposition (``CONTENT_TYPE``) of every series of this registry."""
        return generate_latest(self.registry).decode("utf-8")


_default: Metrics | None = None
_default_lock = threading.Lock()


def default_metrics() -> Metrics:
    """A process-wide :class:`Metrics` for code that has no app object at hand."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Metrics()
        return _default
