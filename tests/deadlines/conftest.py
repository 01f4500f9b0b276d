"""Deadline tests reuse the workflow wiring: the real client against the sandbox, a settable clock, a recording
notifier."""

from collections.abc import Iterator

import pytest

from sandbox.server import SandboxServer
from tests.tracking.conftest import tracking_env  # noqa: F401
from tests.workflow.conftest import (  # noqa: F401
    clock,
    make_workflow,
    membership,
    notifier,
    pc_client,
    poster,
    sandbox,
)


@pytest.fixture
def _slack_pc_sandbox() -> Iterator[SandboxServer]:
    """A sandbox of each test's own for ``slack_env``: these tests move its clock by days (the shared one of
    tests/slack must keep its seed data's "ends in N days" true)."""
    with SandboxServer(time_scale=1.0) as server:
        yield server
