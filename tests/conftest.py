"""Shared pytest wiring. Each area keeps its fixtures in its own plugin module under tests/fixtures/."""

pytest_plugins = [
    "tests.fixtures.db",
    "tests.fixtures.pc_sandbox",
    "tests.fixtures.slack",
]
