"""Shared pytest wiring. Each area keeps its fixtures in its own plugin module under tests/fixtures/."""

from pathlib import Path

import pytest

pytest_plugins = [
    "tests.fixtures.db",
    "tests.fixtures.pc_inprocess",
    "tests.fixtures.pc_sandbox",
    "tests.fixtures.slack",
]


# --- tiers: `make test-fast` runs what is not marked slow (unit tests of rules, blocks, listeners, the Partner
# Center client, storage, settings, metrics and the workflow on SQLite); `make test` runs everything. Slow: whole
# files that drive the app over real HTTP, exercise the sandbox or the tracking service against it, or start
# processes (below), and single tests marked @pytest.mark.slow where they spawn one.
SLOW_FILES = (
    "tests/demo/",
    "tests/runtime/",
    "tests/reports/",
    "tests/sandbox/",
    "tests/tracking/",
    "tests/webhooks/test_receiver.py",  # signed deliveries over HTTP
    "tests/webhooks/test_reconcile.py",  # reconciliation against the sandbox
    "tests/slack/test_",  # the signed-HTTP tests; the files in FAST_FILES are fast
    "tests/ops/test_doctor.py",
    "tests/ops/test_health.py",
    "tests/ops/test_dockerfile.py",
    "tests/ops/test_import_contracts.py",
    "tests/playground/",  # the playground's HTTP server and a browser
    "tests/deadlines/test_end_dates_http.py",  # SPEC §10 over signed HTTP and the sandbox
    "tests/deadlines/test_microsoft_led_http.py",
    "tests/deadlines/test_renewals_http.py",
    "tests/deadlines/test_window_http.py",
    "tests/deadlines/test_sandbox_deadlines.py",
    "tests/bam/test_results_sandbox.py",
)
FAST_FILES = ("tests/slack/test_pure.py", "tests/slack/test_listeners.py")


def pytest_collection_modifyitems(config: object, items: list[pytest.Item]) -> None:
    root = Path(__file__).resolve().parent.parent
    for item in items:
        where = item.path.resolve().relative_to(root).as_posix()
        if where.startswith(SLOW_FILES) and not where.startswith(FAST_FILES):
            item.add_marker(pytest.mark.slow)
