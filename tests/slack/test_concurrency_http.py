"""Twenty approve clicks at once over signed HTTP: one decision, one create, one approval edit (SPEC §5.3).

Not restricted to SQLite: with ``NCEBOT_TEST_POSTGRES_URL`` set it also runs on PostgreSQL, where the
conditional update faces real concurrent transactions."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bot.slack import ids
from tests.fixtures.slack import wait_for
from tests.slack.test_approvals_http import creates, request_posted


def test_twenty_concurrent_approvals_decide_once(slack_env: Any) -> None:
    approvers = tuple(f"UAPPR{i:05d}" for i in range(20))
    env = slack_env(approvers=approvers)
    request_id, ts = request_posted(env)
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(
            lambda u: env.requester.block_action(ids.APPROVE_ACTION, request_id, user=u, message_ts=ts).status_code,
            approvers))
    assert statuses == [200] * 20
    wait_for(lambda: creates(env) == 1)
    # the 19 losers are told, privately, who decided
    wait_for(lambda: sum(len(env.standin.ephemeral_to(u)) for u in approvers) >= 19)
    # the winner's own edit runs concurrently with the lease holder's create: wait until it has been made
    wait_for(lambda: any("Submitting to Partner Center" in json.dumps(u.params["blocks"])
                         for u in env.standin.calls_to("chat.update")))
    updates = env.standin.calls_to("chat.update")
    first_approved = [u for u in updates if "Approved by" in json.dumps(u.params["blocks"])]
    deciders = {json.dumps(u.params["blocks"]).split("Approved by ")[1].split(" at ")[0] for u in first_approved}
    assert len(deciders) == 1  # one decider in every edit
    approved_edits = [u for u in first_approved if "Submitting to Partner Center" in json.dumps(u.params["blocks"])]
    assert len(approved_edits) == 1  # exactly one edit shows the approval itself
    assert creates(env) == 1 and len(env.sandbox.state.migrations) == 1
