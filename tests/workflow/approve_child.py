"""Child process of the crash-recovery test: one ncebot process (``build_runtime``, as ``ncebot run`` builds it)
approves a request, then its lease-holder submission job sends it; the test kills the process meanwhile."""

from __future__ import annotations

import json
import sys

from bot.partner_center.client import build_partner_center_client
from bot.runtime import RuntimeOverrides, build_runtime
from bot.settings import load_settings
from storage.db import make_session_factory
from tests.workflow.conftest import RecordingPoster, StaticMembership


def main() -> None:
    config = json.loads(sys.argv[1])
    settings = load_settings(env={**config["env"], "DATABASE_URL": config["database_url"],
                                  "NCEBOT_APPROVAL_CHANNEL": "CAPPROVALS", "NCEBOT_APPROVERS": config["approver"],
                                  "SLACK_BOT_TOKEN": "xoxb-child-never-calls-slack"})
    runtime = build_runtime(settings, RuntimeOverrides(
        session_factory=make_session_factory(config["database_url"]),
        partner_center=build_partner_center_client(settings, verify=config["ca_path"]),
        membership=StaticMembership({}), poster=RecordingPoster(), deadline_jobs=False,
    ))
    assert runtime.tracking is not None
    print("approving", flush=True)
    runtime.deps.workflow.approve(config["request_id"], config["approver"])
    runtime.tracking.submissions.run_due(wait_for_all=True)  # the lease holder's job, as its tick would run it
    print("returned", flush=True)


if __name__ == "__main__":
    main()
