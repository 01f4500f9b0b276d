"""Reduce seats… / Cancel subscription… over signed HTTP into the real Bolt app (SPEC §10): the button opens a
modal, the modal makes an approval request, the approval sends exactly one PATCH; after the window the request is
refused with the reason and nothing is sent."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.slack import ids
from sandbox import known
from tests.fixtures.slack import APPROVER, REQUESTER, stored_view, wait_for
from tests.workflow.conftest import SettableClock

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _nce_subscription(env: Any) -> str:
    state = env.sandbox.state
    with state.lock:
        made = state.create_migration(known.CONTOSO, {"currentsubscriptionid": known.ELIGIBLE_SIMPLE}, None)[1]
    env.sandbox.advance(181)
    with state.lock:
        return str(state.migrations[made["id"]].items[0].new_sub_id)


def _open_and_submit(env: Any, action: str, sub: str, values: dict[str, Any]) -> None:
    before = len(env.standin.calls_to("views.open"))
    assert env.requester.block_action(action, f"{known.CONTOSO}|{sub}", user=REQUESTER).status_code == 200
    opened = wait_for(lambda: env.standin.calls_to("views.open")[before:])[0]
    view = stored_view(env.standin, opened.response["view"]["id"])
    assert view["callback_id"] == ids.WINDOW_MODAL
    assert env.requester.view_submission(view, values, user=REQUESTER).status_code == 200


def test_reduce_seats_button_modal_approval_one_patch(slack_env: Any) -> None:
    env = slack_env(clock=SettableClock(datetime.now(UTC)))
    sub = _nce_subscription(env)
    bad = {ids.QUANTITY_BLOCK: {ids.QUANTITY_INPUT: {"type": "number_input", "value": "0"}}}
    before = len(env.standin.calls_to("views.open"))
    env.requester.block_action(ids.REDUCE_SEATS_ACTION, f"{known.CONTOSO}|{sub}", user=REQUESTER)
    opened = wait_for(lambda: env.standin.calls_to("views.open")[before:])[0]
    view = stored_view(env.standin, opened.response["view"]["id"])
    refused = env.requester.view_submission(view, bad, user=REQUESTER).json()
    assert refused["response_action"] == "errors" and ids.QUANTITY_BLOCK in refused["errors"]

    _open_and_submit(env, ids.REDUCE_SEATS_ACTION, sub,
                     {ids.QUANTITY_BLOCK: {ids.QUANTITY_INPUT: {"type": "number_input", "value": "20"}}})
    message = wait_for(lambda: env.request_messages())[0]
    shown = json.dumps(message.blocks)
    assert "Reduce seats (7-day window) · Waiting for approval" in message.blocks[0]["text"]["text"]
    assert "new total: 20 seat(s)" in shown
    assert sub in shown and "keep current term" not in shown
    request_id = next(e["value"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]
                      if e["action_id"] == ids.APPROVE_ACTION)
    assert env.sandbox.state.subscription_patches == []
    env.requester.block_action(ids.APPROVE_ACTION, request_id, user=APPROVER)
    env.requester.block_action(ids.APPROVE_ACTION, request_id, user=APPROVER)  # a late second click
    wait_for(lambda: env.sandbox.state.subscription_patches)
    wait_for(lambda: env.workflow.get_request(request_id).state.value == "completed")
    patches = env.sandbox.state.summary()["subscriptionPatches"]
    assert [(p["subscriptionId"], p["quantity"]) for p in patches] == [(sub, 20)]


def test_cancel_after_the_window_is_refused_with_the_reason(slack_env: Any) -> None:
    clock = SettableClock(datetime.now(UTC))
    env = slack_env(clock=clock)
    sub = _nce_subscription(env)
    env.sandbox.advance(8 * 86400)
    clock.advance(timedelta(days=8))
    _open_and_submit(env, ids.CANCEL_SUBSCRIPTION_ACTION, sub, {})
    refusal = wait_for(lambda: [r for r in env.replies_to(REQUESTER) if "window closed" in r])[0]
    assert "can no longer be cancelled: its 7-day window closed at" in refusal
    assert env.request_messages() == [] and env.sandbox.state.subscription_patches == []
