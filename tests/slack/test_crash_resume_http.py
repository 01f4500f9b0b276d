"""A crash between "approved" and Partner Center's answer, at the level people see (issue 4).

The real ``ncebot run`` process serves signed Slack requests; the approve click makes it send the create, which
the sandbox commits and then never answers (its commit-then-timeout fault). The process is killed at that moment.
A new app on the same database finishes the submission: Partner Center still holds exactly one migration, and the
request's Slack message (and ``/nce status``) show that migration's id.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.domain import RequestState, SystemClock
from bot.slack import ids
from bot.workflow import Workflow
from sandbox import known
from tests.fixtures.slack import (
    APPROVAL_CHANNEL,
    APPROVER,
    BOT_TOKEN,
    REQUESTER,
    SIGNING_SECRET,
    SlackRequester,
    wait_for,
)
from tests.processes import start_bot

ROOT = Path(__file__).resolve().parents[2]


class ShiftedClock:
    """Real time moved forward: the restarted app runs after the crashed process's submission lease ran out."""

    def __init__(self, shift: timedelta) -> None:
        self.shift = shift

    def now(self) -> datetime:
        return SystemClock().now() + self.shift


@pytest.fixture
def ncebot_process(slack_env: Any, database_url: str, session_factory: Any, tmp_path: Path,
                   ) -> Iterator[tuple[subprocess.Popen[str], str, Any]]:
    """``ncebot run`` (HTTP) on the test's database, Slack stand-in and Partner Center sandbox."""
    first = slack_env(lease_holder=False)  # resets the shared sandbox; gives the stand-in and sandbox
    sandbox = first.sandbox
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PARTNER_CENTER_", "NCEBOT_"))}
    env.update(sandbox.client_env())  # PARTNER_CENTER_* and the sandbox CA (SSL_CERT_FILE, REQUESTS_CA_BUNDLE)
    env.update({
        "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": first.standin.base_url,
        "DATABASE_URL": database_url, "NCEBOT_APPROVAL_CHANNEL": APPROVAL_CHANNEL, "NCEBOT_APPROVERS": APPROVER,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    })
    bot, url = start_bot(env, tmp_path)
    try:
        yield bot.proc, url, first
    finally:
        bot.kill()


def test_crash_after_the_create_is_sent_is_finished_after_restart_with_one_migration(
    slack_env: Any, ncebot_process: tuple[subprocess.Popen[str], str, Any]
) -> None:
    proc, url, first = ncebot_process
    standin, sandbox = first.standin, first.sandbox

    with SlackRequester(url, standin) as slack:
        assert slack.command(f"migrate {known.CONTOSO} {known.ELIGIBLE_SIMPLE}", user=REQUESTER).status_code == 200
        message = wait_for(lambda: standin.messages(APPROVAL_CHANNEL, include_ephemeral=False))[0]
        request_id = next(e["value"] for b in message.blocks if b["type"] == "actions" for e in b["elements"])

        # Partner Center commits the create, then does not answer for two minutes; the app dies meanwhile.
        sandbox.state.set_faults({"commit_then_timeout": 120.0, "commit_then_timeout_next": 1})
        assert slack.block_action(ids.APPROVE_ACTION, request_id, user=APPROVER,
                                  message_ts=message.ts).status_code == 200
        wait_for(lambda: sandbox.state.summary()["migrations"], timeout=30)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    sandbox.state.clear_faults()

    [created] = sandbox.state.summary()["migrations"]
    before = json.dumps(standin.message(APPROVAL_CHANNEL, message.ts).blocks)
    assert f"Approved by <@{APPROVER}>" in before and created["id"] not in before  # the crash hid the answer
    assert first.workflow.get_request(request_id).state is RequestState.APPROVED

    # The restart: a new app on the same database, after the dead process's submission lease ran out. Its
    # lease-holder submission job (run every 50 ms by the fixture) finishes what the dead process started.
    env = slack_env(clock=ShiftedClock(Workflow.SUBMIT_LEASE + timedelta(minutes=1)), approvers=(APPROVER,))
    resumed = wait_for(lambda: (view := env.workflow.get_request(request_id)).migration_id and view, timeout=30)
    assert resumed.migration_id == created["id"] and resumed.state is RequestState.PROCESSING
    assert len(sandbox.state.summary()["migrations"]) == 1
    assert sandbox.state.counts.get("create_migration", 0) == 1  # found by externalReferenceId, not re-created
    # The parent's edit is an outbox row of the submission's transaction: the drainer sends it.
    after = wait_for(lambda: (t := json.dumps(standin.message(APPROVAL_CHANNEL, message.ts).blocks))
                     and f"Migration `{created['id']}`" in t and t)
    assert f"Approved by <@{APPROVER}>" in after
    assert env.workflow.resume_interrupted_submissions() == []

    # ...and people asking the new app see the same migration.
    env.requester.command(f"status {known.CONTOSO} {created['id']}", user=REQUESTER)
    assert wait_for(lambda: next((r for r in env.replies_to(REQUESTER) if created["id"] in r), None))
