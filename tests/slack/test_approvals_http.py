"""The approval matrix through real button clicks and the reject modal (SPEC §5)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from bot.slack import ids
from sandbox import known
from tests.fixtures.slack import (
    APPROVER,
    APPROVER2,
    GROUP_MEMBERS,
    REQUESTER,
    STRANGER,
    SlackEnv,
    stored_view,
    wait_for,
)

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def request_posted(env: SlackEnv, sub: str = known.ELIGIBLE_SIMPLE) -> tuple[str, str]:
    env.requester.command(f"migrate {known.CONTOSO} {sub}")
    message = wait_for(lambda: env.approval_messages())[-1]
    request_id = next(e["value"] for b in message.blocks if b["type"] == "actions" for e in b["elements"])
    return request_id, message.ts


def click(env: SlackEnv, action: str, request_id: str, ts: str, user: str) -> None:
    assert env.requester.block_action(action, request_id, user=user, message_ts=ts).status_code == 200


def private_to(env: SlackEnv, user: str, words: str) -> str:
    return str(wait_for(lambda: next((r for r in env.replies_to(user) if words in r), None)))


def creates(env: SlackEnv) -> int:
    return int(env.sandbox.state.counts.get("create_migration", 0))


def test_non_approver_is_refused(slack_env: Any) -> None:
    env = slack_env()
    request_id, ts = request_posted(env)
    click(env, ids.APPROVE_ACTION, request_id, ts, STRANGER)
    assert "approver" in private_to(env, STRANGER, ":lock:").lower()
    assert env.standin.calls_to("chat.update") == [] and creates(env) == 0


def test_requester_cannot_approve_own_request(slack_env: Any) -> None:
    env = slack_env(approvers=(REQUESTER, APPROVER))
    request_id, ts = request_posted(env)
    click(env, ids.APPROVE_ACTION, request_id, ts, REQUESTER)
    # The requester's confirmation and the refusal travel separately: find the refusal, whatever the order.
    refusal = private_to(env, REQUESTER, "another approver")
    assert refusal.startswith(":lock:")
    assert creates(env) == 0


def test_user_group_member_approves(slack_env: Any) -> None:
    env = slack_env()
    request_id, ts = request_posted(env)
    click(env, ids.APPROVE_ACTION, request_id, ts, GROUP_MEMBERS[1])
    update = wait_for(lambda: env.standin.calls_to("chat.update"))[0]
    text = json.dumps(update.params["blocks"])
    assert f"Approved by <@{GROUP_MEMBERS[1]}> at" in text and ids.APPROVE_ACTION not in text
    assert env.standin.calls_to("usergroups.users.list")
    wait_for(lambda: creates(env) == 1)
    # progress goes into the request's thread
    assert wait_for(lambda: env.standin.thread(env.approval_messages()[0].channel, ts))


def test_two_of_two(slack_env: Any) -> None:
    env = slack_env(required_approvals=2)
    request_id, ts = request_posted(env)
    click(env, ids.APPROVE_ACTION, request_id, ts, APPROVER)
    assert "1 more approval" in private_to(env, APPROVER, "recorded")
    assert creates(env) == 0
    click(env, ids.APPROVE_ACTION, request_id, ts, APPROVER)  # the same approver counts once
    private_to(env, APPROVER, "already approved")
    click(env, ids.APPROVE_ACTION, request_id, ts, APPROVER2)
    wait_for(lambda: creates(env) == 1)
    # The click's own edit and the lease holder's create run concurrently (the job does not wait for Slack):
    # wait for the edit that drops the buttons, then read what it says.
    channel = env.approval_messages()[0].channel
    final = wait_for(lambda: (m := env.standin.message(channel, ts))
                     and not any(b["type"] == "actions" for b in m.blocks) and m)
    assert f"<@{APPROVER}>" in json.dumps(final.blocks) and f"<@{APPROVER2}>" in json.dumps(final.blocks)


def test_reject_with_reason_through_the_modal(slack_env: Any) -> None:
    env = slack_env()
    request_id, ts = request_posted(env)
    click(env, ids.REJECT_ACTION, request_id, ts, APPROVER)
    opened = wait_for(lambda: env.standin.calls_to("views.open"))[0]
    view = stored_view(env.standin, opened.response["view"]["id"])
    assert view["callback_id"] == ids.REJECT_MODAL and request_id in view["private_metadata"]
    empty = env.requester.view_submission(view, {}, user=APPROVER).json()
    assert empty["response_action"] == "errors" and set(empty["errors"]) == {ids.REASON_BLOCK}
    values = {ids.REASON_BLOCK: {ids.REASON_INPUT: {"type": "plain_text_input", "value": "seat count is wrong"}}}
    assert env.requester.view_submission(view, values, user=APPROVER).status_code == 200
    update = wait_for(lambda: env.standin.calls_to("chat.update"))[0]
    text = json.dumps(update.params["blocks"])
    assert f"Rejected by <@{APPROVER}>" in text and "seat count is wrong" in text and ids.APPROVE_ACTION not in text
    click(env, ids.APPROVE_ACTION, request_id, ts, APPROVER2)  # late click
    assert "already rejected" in private_to(env, APPROVER2, "already")
    assert creates(env) == 0


def test_stranger_cannot_open_the_reject_modal(slack_env: Any) -> None:
    env = slack_env()
    request_id, ts = request_posted(env)
    click(env, ids.REJECT_ACTION, request_id, ts, STRANGER)
    private_to(env, STRANGER, ":lock:")
    assert env.standin.calls_to("views.open") == []


def test_expired_request_cannot_be_approved(slack_env: Any) -> None:
    env = slack_env(approval_ttl=timedelta(milliseconds=300))
    request_id, ts = request_posted(env)
    wait_for(lambda: env.workflow.expire_pending())
    update = wait_for(lambda: env.standin.calls_to("chat.update"))[0]
    assert "Expired" in json.dumps(update.params["blocks"]) and ids.APPROVE_ACTION not in json.dumps(
        update.params["blocks"])
    click(env, ids.APPROVE_ACTION, request_id, ts, APPROVER)
    assert "expired" in private_to(env, APPROVER, "expired")
    assert creates(env) == 0
