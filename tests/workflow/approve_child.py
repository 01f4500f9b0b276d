"""Child process of the crash-recovery test: approve one request (and so submit it), then get killed."""

from __future__ import annotations

import json
import sys

from bot.domain import SystemClock
from bot.partner_center.client import build_partner_center_client
from bot.settings import load_settings
from bot.workflow import Workflow, WorkflowPolicy
from storage.db import make_session_factory
from tests.workflow.conftest import RecordingNotifier, StaticMembership


def main() -> None:
    config = json.loads(sys.argv[1])
    client = build_partner_center_client(load_settings(env=config["env"]), verify=config["ca_path"])
    workflow = Workflow(
        session_factory=make_session_factory(config["database_url"]),
        partner_center=client,
        notifier=RecordingNotifier(),
        membership=StaticMembership({}),
        policy=WorkflowPolicy(approval_channel="CAPPROVALS", approvers=(config["approver"],)),
        clock=SystemClock(),
    )
    print("approving", flush=True)
    workflow.approve(config["request_id"], config["approver"])
    print("returned", flush=True)


if __name__ == "__main__":
    main()
