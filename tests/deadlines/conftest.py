"""Deadline tests reuse the workflow wiring: the real client against the sandbox, a settable clock, a recording
notifier."""

from tests.tracking.conftest import tracking_env  # noqa: F401
from tests.workflow.conftest import (  # noqa: F401
    clock,
    make_workflow,
    membership,
    notifier,
    pc_client,
    sandbox,
)
