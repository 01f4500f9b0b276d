"""The App Home tab through signed Events API and interactivity requests to the real app (HTTP mode)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from bot.slack import ids
from sandbox import known
from tests.fixtures.slack import APPROVER, APPROVER2, REQUESTER, STRANGER, SlackEnv, stored_view, wait_for

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def request_posted(env: SlackEnv, sub: str = known.ELIGIBLE_SIMPLE) -> str:
    before = len(env.request_messages())
    assert env.requester.command(f"migrate {known.CONTOSO} {sub}").status_code == 200
    message = wait_for(lambda: env.request_messages()[before:])[0]
    return str(next(e["value"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]))


def open_home(env: SlackEnv, user: str) -> dict[str, Any]:
    """Open the Home tab as ``user`` and return the view published for it (a fresh one, if one existed)."""
    published = len(env.standin.home_views[user].history) if user in env.standin.home_views else 0
    assert env.requester.app_home_opened(user).status_code == 200
    wait_for(lambda: user in env.standin.home_views and len(env.standin.home_views[user].history) > published)
    view = env.standin.home_view(user)
    assert view is not None
    return view


def republished(env: SlackEnv, user: str, after: int) -> dict[str, Any]:
    wait_for(lambda: len(env.standin.home_views[user].history) > after)
    view = env.standin.home_view(user)
    assert view is not None
    return view


def buttons(view: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["action_id"], e["value"]) for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]


def creates(env: SlackEnv) -> int:
    return int(env.sandbox.state.counts.get("create_migration", 0))


def test_home_tab_lists_the_pending_request_with_buttons_for_an_approver(slack_env: Any) -> None:
    env = slack_env()
    request_id = request_posted(env)
    view = open_home(env, APPROVER)
    [call] = env.standin.calls_to("views.publish")
    assert call.params["user_id"] == APPROVER and view["type"] == "home"
    text = json.dumps(view["blocks"])
    assert request_id in text and known.CONTOSO in text and known.ELIGIBLE_SIMPLE in text
    assert f"<@{REQUESTER}>" in text and "expires" in text and "Migrate now" in text
    assert buttons(view) == [(ids.APPROVE_ACTION, request_id), (ids.REJECT_ACTION, request_id)]
    # the requester (not an approver) sees it too, without buttons, and under "Your recent requests"
    mine = open_home(env, REQUESTER)
    assert buttons(mine) == [] and json.dumps(mine["blocks"]).count(request_id) == 2
    assert "Your recent requests" in json.dumps(mine["blocks"])


def test_approver_approves_from_the_home_tab(slack_env: Any) -> None:
    env = slack_env()
    request_id = request_posted(env)
    [message] = env.request_messages()
    view = open_home(env, APPROVER)
    published = len(env.standin.home_views[APPROVER].history)
    click = env.requester.block_action(ids.APPROVE_ACTION, request_id, user=APPROVER, view=view,
                                       block_id=f"{ids.DECISION_BLOCK}:{request_id}")
    assert click.status_code == 200
    update = wait_for(lambda: env.standin.calls_to("chat.update"))[0]
    assert update.params["channel"] == message.channel and update.params["ts"] == message.ts
    edited = json.dumps(env.standin.message(message.channel, message.ts).blocks)
    assert f"Approved by <@{APPROVER}> at" in edited and ids.APPROVE_ACTION not in edited
    wait_for(lambda: creates(env) == 1)
    # the clicker's feedback: the refreshed tab says so, and the request left "Waiting for a decision"
    refreshed = republished(env, APPROVER, published)
    assert f"You approved request `{request_id}`" in json.dumps(refreshed["blocks"]) and buttons(refreshed) == []
    assert env.standin.calls_to("views.update") == [] and env.standin.ephemeral_to(APPROVER) == []
    time.sleep(0.3)
    assert creates(env) == 1


def test_non_approver_sees_no_buttons_and_a_forged_click_is_refused_by_dm(slack_env: Any) -> None:
    env = slack_env()
    request_id = request_posted(env)
    view = open_home(env, STRANGER)
    assert request_id in json.dumps(view["blocks"]) and buttons(view) == []
    published = len(env.standin.home_views[STRANGER].history)
    env.requester.block_action(ids.APPROVE_ACTION, request_id, user=STRANGER, view=view)
    refusal = wait_for(lambda: env.standin.messages(STRANGER))[0].text  # a DM: there is no channel to answer in
    assert refusal.startswith(":lock:") and "approver" in refusal.lower()
    republished(env, STRANGER, published)
    assert env.standin.calls_to("chat.update") == [] and env.standin.calls_to("views.update") == []
    assert creates(env) == 0


def test_reject_from_the_home_tab(slack_env: Any) -> None:
    env = slack_env()
    request_id = request_posted(env)
    view = open_home(env, APPROVER2)
    published = len(env.standin.home_views[APPROVER2].history)
    env.requester.block_action(ids.REJECT_ACTION, request_id, user=APPROVER2, view=view)
    opened = wait_for(lambda: env.standin.calls_to("views.open"))[0]
    modal = stored_view(env.standin, opened.response["view"]["id"])
    values = {ids.REASON_BLOCK: {ids.REASON_INPUT: {"type": "plain_text_input", "value": "wrong tenant"}}}
    assert env.requester.view_submission(modal, values, user=APPROVER2).status_code == 200
    update = wait_for(lambda: env.standin.calls_to("chat.update"))[0]
    assert f"Rejected by <@{APPROVER2}>" in json.dumps(update.params["blocks"])
    refreshed = republished(env, APPROVER2, published)
    assert f"You rejected request `{request_id}`" in json.dumps(refreshed["blocks"]) and buttons(refreshed) == []
    assert creates(env) == 0


def test_messages_tab_publishes_nothing(slack_env: Any) -> None:
    env = slack_env()
    assert env.requester.app_home_opened(APPROVER, tab="messages").status_code == 200
    open_home(env, APPROVER2)
    time.sleep(0.2)
    assert [c.params["user_id"] for c in env.standin.calls_to("views.publish")] == [APPROVER2]


def test_url_verification_is_answered(slack_env: Any) -> None:
    env = slack_env()
    answer = env.requester.url_verification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")
    assert answer.status_code == 200
    assert answer.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


def test_requests_by_lists_the_users_newest_requests_first(slack_env: Any) -> None:
    env = slack_env()
    first = request_posted(env, known.ELIGIBLE_SIMPLE)
    second = request_posted(env, known.ELIGIBLE_MONTHLY)
    assert [r.id for r in env.workflow.requests_by(REQUESTER)] == [second, first]
    assert [r.id for r in env.workflow.requests_by(REQUESTER, 1)] == [second]
    assert env.workflow.requests_by(STRANGER) == []


def test_an_approver_sees_no_decision_buttons_on_her_own_request(slack_env: Any) -> None:
    env = slack_env()
    others = request_posted(env)  # by REQUESTER
    assert env.requester.command(f"migrate {known.CONTOSO} {known.ELIGIBLE_BASE}", user=APPROVER).status_code == 200
    mine = str(wait_for(lambda: [e["value"] for m in env.request_messages() for b in m.blocks
                                 if b["type"] == "actions" for e in b["elements"] if e["value"] != others])[0])
    view = open_home(env, APPROVER)
    assert buttons(view) == [(ids.APPROVE_ACTION, others), (ids.REJECT_ACTION, others)]
    text = json.dumps(view["blocks"])
    assert mine in text and "another approver decides" in text and "NCEBOT_" not in text
    # another approver still gets both requests with buttons
    assert {value for _, value in buttons(open_home(env, APPROVER2))} == {others, mine}
