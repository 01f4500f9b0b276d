"""Prometheus text exposition of ncebot's metrics (prometheus-client, one registry per Metrics)."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

import pytest

from bot.metrics import CONTENT_TYPE, Metrics


@dataclass(frozen=True)
class _Record:
    endpoint: str
    method: str
    status: int | None
    attempts: int
    throttled: int
    retried: int


_SAMPLE = re.compile(r'^[a-z_:][a-z0-9_:]*(\{([a-z_]+="(\\.|[^"\\])*",?)*\})? (-?[0-9.e+]+|NaN|[+-]Inf)$')


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line]


def test_render_is_valid_exposition_with_help_and_type() -> None:
    metrics = Metrics()
    text = metrics.render()
    for name, kind in [
        ("ncebot_requests", "gauge"),
        ("ncebot_partner_center_calls_total", "counter"),
        ("ncebot_partner_center_throttled_total", "counter"),
        ("ncebot_partner_center_retries_total", "counter"),
        ("ncebot_poll_lag_seconds", "gauge"),
        ("ncebot_slack_api_errors_total", "counter"),
    ]:
        assert f"# TYPE {name} {kind}\n" in text
        assert f"# HELP {name} " in text
    for line in _lines(text):
        assert line.startswith("# ") or _SAMPLE.match(line), line
    assert "ncebot_poll_lag_seconds 0.0\n" in text
    assert CONTENT_TYPE.startswith("text/plain; version=0.0.4")


def test_partner_center_calls_throttles_and_retries() -> None:
    metrics = Metrics()
    metrics.observe_partner_center_call(_Record("list_customers", "GET", 200, 1, 0, 0))
    metrics.observe_partner_center_call(_Record("validate_migration", "POST", 200, 3, 2, 2))
    metrics.observe_partner_center_call(_Record("validate_migration", "POST", 429, 4, 4, 3))
    metrics.observe_partner_center_call(_Record("create_migration", "POST", None, 2, 0, 1))
    text = metrics.render()
    assert 'ncebot_partner_center_calls_total{endpoint="list_customers",status="200"} 1.0\n' in text
    assert 'ncebot_partner_center_calls_total{endpoint="validate_migration",status="200"} 1.0\n' in text
    assert 'ncebot_partner_center_calls_total{endpoint="validate_migration",status="429"} 1.0\n' in text
    assert 'ncebot_partner_center_calls_total{endpoint="create_migration",status="error"} 1.0\n' in text
    assert 'ncebot_partner_center_throttled_total{endpoint="validate_migration"} 6.0\n' in text
    assert 'ncebot_partner_center_retries_total{endpoint="validate_migration"} 5.0\n' in text
    assert 'ncebot_partner_center_retries_total{endpoint="create_migration"} 1.0\n' in text
    assert 'throttled_total{endpoint="list_customers"}' not in text


def test_boolean_call_record_fields() -> None:
    @dataclass
    class Flags:
        endpoint: str = "get_migration"
        status: int = 200
        throttled: bool = True
        retried: bool = True
        attempts: int = 3

    metrics = Metrics()
    metrics.observe_partner_center_call(Flags())
    assert metrics.value("ncebot_partner_center_throttled_total", endpoint="get_migration") == 1
    assert metrics.value("ncebot_partner_center_retries_total", endpoint="get_migration") == 2


def test_request_gauge_from_provider_at_scrape_time() -> None:
    metrics = Metrics()
    counts = {"pending": 3, "completed": 7}
    metrics.set_request_counts_provider(lambda: dict(counts))
    text = metrics.render()
    assert 'ncebot_requests{state="pending"} 3.0\n' in text
    assert 'ncebot_requests{state="completed"} 7.0\n' in text
    assert 'ncebot_requests{state="expired"} 0.0\n' in text
    counts["pending"] = 1
    assert 'ncebot_requests{state="pending"} 1.0\n' in metrics.render()


def test_failing_provider_keeps_last_values() -> None:
    metrics = Metrics()
    state = {"fail": False}

    def provider() -> dict[str, int]:
        if state["fail"]:
            raise RuntimeError("database down")
        return {"pending": 2}

    metrics.set_request_counts_provider(provider)
    metrics.render()
    state["fail"] = True
    assert 'ncebot_requests{state="pending"} 2.0\n' in metrics.render()


def test_slack_errors_poll_lag_and_label_escaping() -> None:
    metrics = Metrics()
    metrics.observe_slack_api_error("chat.postMessage", 'rate"limited\\\nx')
    metrics.observe_slack_api_error("chat.postMessage", 'rate"limited\\\nx')
    metrics.set_poll_lag(12.25)
    text = metrics.render()
    assert 'ncebot_slack_api_errors_total{error="rate\\"limited\\\\\\nx",method="chat.postMessage"} 2.0\n' in text
    assert "ncebot_poll_lag_seconds 12.25\n" in text


def test_no_created_series_and_one_registry_per_metrics() -> None:
    first, second = Metrics(), Metrics()  # two runtimes in one process: no "Duplicated timeseries"
    first.observe_slack_api_error("chat.update", "ratelimited")
    assert 'ncebot_slack_api_errors_total{error="ratelimited",method="chat.update"} 1.0' in first.render()
    assert "ratelimited" not in second.render()
    assert "_created" not in first.render()


def test_other_modules_register_their_own_series() -> None:
    metrics = Metrics()
    rejected = metrics.counter("ncebot_webhook_rejections_total", "Webhook calls refused, by reason.", ["reason"])
    rejected.labels(reason="signature").inc()
    rejected.labels(reason="signature").inc()
    text = metrics.render()
    assert "# TYPE ncebot_webhook_rejections_total counter\n" in text
    assert 'ncebot_webhook_rejections_total{reason="signature"} 2.0\n' in text
    assert metrics.value("ncebot_webhook_rejections_total", reason="signature") == 2
    assert metrics.value("ncebot_webhook_rejections_total", reason="other") == 0


def test_counter_is_thread_safe() -> None:
    metrics = Metrics()
    counter = metrics.counter("x_total", "x", ["k"])

    def work() -> None:
        for _ in range(2000):
            counter.labels(k="a").inc()

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 'x_total{k="a"} 16000.0\n' in metrics.render()


def test_wrong_labels_negative_counter_and_taken_names_are_refused() -> None:
    metrics = Metrics()
    counter = metrics.counter("y_total", "y", ["a"])
    with pytest.raises(ValueError):
        counter.labels(b="1")
    with pytest.raises(ValueError):
        counter.labels(a="1").inc(-1)
    with pytest.raises(ValueError):
        metrics.counter("y_total", "again")
    with pytest.raises(ValueError):
        metrics.gauge("ncebot_requests", "taken by the request-state collector")
