"""Report and bulk tests reuse the workflow wiring: the real client against the sandbox, recording stand-ins."""

from tests.workflow.conftest import (  # noqa: F401  (pytest fixtures)
    clock,
    make_workflow,
    membership,
    notifier,
    pc_client,
    poster,
    sandbox,
)
