"""Replays (issue 9, point 8): a signed request sent again with the same signature is answered 200 and does nothing,
on any replica (the seen signatures live in the database). Slack's own retries carry a new timestamp and signature
and are handled as before.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from bot.domain import RequestState
from bot.slack import ids
from bot.slack.verification import DatabaseReplayGuard
from sandbox import known
from storage.models import SeenSlackSignature
from tests.fixtures.slack import APPROVER, REQUESTER, SIGNING_SECRET, SlackEnv, wait_for

FORM = "application/x-www-form-urlencoded"
ALL_STATES = tuple(RequestState)


def signed(body: str, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    mac = hmac.new(SIGNING_SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + mac}


def send(env: SlackEnv, body: str, headers: dict[str, str], content_type: str = FORM) -> httpx.Response:
    return httpx.post(env.url + "/slack/events", content=body.encode(), timeout=30,
                      headers={"Content-Type": content_type, **headers})


def settled_calls(env: SlackEnv) -> int:
    """The stand-in's call count once it stops moving (after-ack work lands in the background)."""
    before = -1
    while True:
        time.sleep(0.4)
        now = len(env.standin.calls)
        if now == before:
            return now
        before = now


def test_a_replayed_migrate_cannot_reopen_a_rejected_request(slack_env: Any) -> None:
    env = slack_env()
    body = env.requester.command_body(f"migrate {known.CONTOSO} {known.ELIGIBLE_SIMPLE}")
    headers = signed(body)
    assert send(env, body, headers).status_code == 200
    message = wait_for(lambda: env.request_messages())[0]
    request_id = next(e["value"] for b in message.blocks if b["type"] == "actions" for e in b["elements"])
    env.workflow.reject(request_id, APPROVER, "not this quarter")
    assert env.workflow.get_request(request_id).state is RequestState.REJECTED
    calls = settled_calls(env)

    replay = send(env, body, headers)
    assert replay.status_code == 200 and replay.content == b""
    assert settled_calls(env) == calls  # no reply, no new message
    assert [r.id for r in env.workflow.requests(ALL_STATES)] == [request_id]
    assert env.workflow.get_request(request_id).state is RequestState.REJECTED

    # The same body with another timestamp (so another signature) is not a replay: a new request, as before.
    other = int(headers["X-Slack-Request-Timestamp"]) + 1
    assert send(env, body, signed(body, other)).status_code == 200
    wait_for(lambda: len(env.workflow.requests(ALL_STATES)) == 2)


def test_a_replay_sent_to_another_replica_does_nothing_either(slack_env: Any) -> None:
    first, second = slack_env(), slack_env()  # two app servers on one database
    body = first.requester.command_body(f"migrate {known.CONTOSO} {known.ELIGIBLE_SIMPLE}")
    headers = signed(body)
    assert send(first, body, headers).status_code == 200
    wait_for(lambda: first.request_messages())
    calls = settled_calls(first)
    replay = send(second, body, headers)
    assert replay.status_code == 200 and replay.content == b""
    assert settled_calls(second) == calls
    assert len(second.workflow.requests(ALL_STATES)) == 1


def test_a_replayed_click_is_not_acted_on(slack_env: Any) -> None:
    env = slack_env(required_approvals=2)
    env.requester.command(f"migrate {known.CONTOSO} {known.ELIGIBLE_SIMPLE}")
    message = wait_for(lambda: env.request_messages())[0]
    request_id = next(e["value"] for b in message.blocks if b["type"] == "actions" for e in b["elements"])
    click = {"type": "block_actions", "user": {"id": APPROVER}, "team": {"id": "TSTANDIN1"},
             "channel": {"id": message.channel}, "trigger_id": "9.trigger",
             "container": {"type": "message", "message_ts": message.ts, "channel_id": message.channel},
             "message": {"type": "message", "ts": message.ts, "text": "", "blocks": []},
             "actions": [{"action_id": ids.APPROVE_ACTION, "block_id": "b", "value": request_id, "type": "button"}]}
    body = "payload=" + json.dumps(click)
    headers = signed(body)
    assert send(env, body, headers).status_code == 200
    wait_for(lambda: any("recorded" in r for r in env.replies_to(APPROVER)))
    calls = settled_calls(env)
    replay = send(env, body, headers)
    assert replay.status_code == 200 and replay.content == b""
    assert settled_calls(env) == calls  # not even "you already approved"
    assert env.workflow.get_request(request_id).state is RequestState.PENDING


def test_slack_retries_with_a_new_signature_are_still_handled(slack_env: Any) -> None:
    env = slack_env()
    event = {"type": "event_callback", "team_id": "TSTANDIN1", "api_app_id": "ASTANDIN1", "event_id": "Ev0001",
             "event_time": int(time.time()),
             "event": {"type": "app_home_opened", "user": REQUESTER, "channel": "D1", "tab": "home"}}
    body = json.dumps(event)
    first = signed(body)
    assert send(env, body, first, "application/json").status_code == 200
    wait_for(lambda: env.standin.calls_to("views.publish"))
    later = int(first["X-Slack-Request-Timestamp"]) + 3  # Slack retries later, signing again
    retry = send(env, body, {**signed(body, later), "X-Slack-Retry-Num": "1",
                             "X-Slack-Retry-Reason": "http_timeout"}, "application/json")
    assert retry.status_code == 200
    wait_for(lambda: len(env.standin.calls_to("views.publish")) == 2)  # handled, as before: a Home republish


def test_seen_signatures_are_purged_once_out_of_the_window(session_factory: Any) -> None:
    clock = {"now": 2_000_000_000.0}
    guard = DatabaseReplayGuard(session_factory, now=lambda: clock["now"])
    stamp = int(clock["now"])
    assert guard.first_seen("v0=" + "a" * 64, stamp) is True
    assert guard.first_seen("v0=" + "a" * 64, stamp) is False
    assert guard.first_seen("v0=" + "b" * 64, stamp) is True

    def rows() -> list[tuple[str, datetime]]:
        with session_factory() as session:
            return [tuple(r) for r in session.execute(select(SeenSlackSignature.signature,
                                                             SeenSlackSignature.expires_at))]

    assert {r[1] for r in rows()} == {datetime.fromtimestamp(stamp, UTC) + timedelta(minutes=10)}
    clock["now"] += 11 * 60  # the first two can no longer pass the timestamp check: purged at the next insert
    assert guard.first_seen("v0=" + "c" * 64, int(clock["now"])) is True
    assert [r[0] for r in rows()] == ["v0=" + "c" * 64]
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(SeenSlackSignature)) == 1
