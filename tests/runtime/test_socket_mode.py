"""``ncebot run`` in Socket Mode, end to end: the real process, Bolt's default ``SocketModeHandler`` (the builtin
slack_sdk client) and the stand-in's Socket Mode server (apps.connections.open + WebSocket on 127.0.0.1)."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.slack import ids
from sandbox import known
from sandbox.slack_api import SlackStandIn
from tests.fixtures.slack import wait_for
from tests.processes import RunningBot

APP_TOKEN = "xapp-1-ASOCKTEST1-4242-socket-mode-test-secret-8c1f"
BOT_TOKEN = "xoxb-socket-mode-test-token-3b7a"
APPROVAL_CHANNEL = "CSMAPPROV1"
WORK_CHANNEL = "CSMWORK001"
REQUESTER = "USMREQ0001"
APPROVER = "USMAPPR001"
ROOT = Path(__file__).resolve().parents[2]
ACK_BOUND = 3.0  # Slack's: an envelope not acked within 3 s counts as failed
_OPS_PORT = re.compile(r"serving HTTP on port (\d+): POST /partner-center/webhooks, GET /healthz, GET /metrics \(Slack "
                       r"events come over Socket Mode\)")


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn(bot_token=BOT_TOKEN, app_token=APP_TOKEN,
                      channels={APPROVAL_CHANNEL: "nce-approvals", WORK_CHANNEL: "cloud-ops"}) as stand_in:
        yield stand_in


def socket_mode_env(standin: SlackStandIn, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PARTNER_CENTER_", "NCEBOT_"))}
    env.update({
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,  # Socket Mode; no signing secret needed
        "SLACK_API_URL": standin.base_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'ncebot.db'}",
        "PARTNER_CENTER_SANDBOX": "true",
        "NCEBOT_APPROVAL_CHANNEL": APPROVAL_CHANNEL,
        "NCEBOT_APPROVERS": APPROVER,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    })
    return env


def command_payload(standin: SlackStandIn, text: str, name: str, *, user: str = REQUESTER,
                    channel: str = WORK_CHANNEL) -> dict[str, Any]:
    """A slash_commands envelope payload as Slack sends it over Socket Mode (the command's fields, as strings)."""
    return {
        "token": "legacy-verification-token", "team_id": SlackStandIn.TEAM_ID, "team_domain": "standin",
        "channel_id": channel, "channel_name": standin.channels.get(channel, channel), "user_id": user,
        "user_name": user.lower(), "command": ids.COMMAND, "text": text, "api_app_id": standin.app_id,
        "is_enterprise_install": "false", "response_url": standin.response_url_for(name, channel=channel, user=user),
        "trigger_id": f"{name}.trigger.{user}",
    }


def approve_payload(standin: SlackStandIn, request_id: str, message_ts: str, *, user: str) -> dict[str, Any]:
    """An interactive (block_actions) envelope payload: ``user`` clicks Approve on the request message."""
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": SlackStandIn.TEAM_ID},
        "api_app_id": standin.app_id, "token": "legacy-verification-token",
        "team": {"id": SlackStandIn.TEAM_ID, "domain": "standin"}, "trigger_id": f"approve.trigger.{user}",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": APPROVAL_CHANNEL,
                      "is_ephemeral": False},
        "channel": {"id": APPROVAL_CHANNEL, "name": "nce-approvals"},
        "message": {"type": "message", "ts": message_ts, "text": "", "blocks": []},
        "response_url": standin.response_url_for("sm-approve", channel=APPROVAL_CHANNEL, user=user,
                                                 message_ts=message_ts),
        "actions": [{"action_id": ids.APPROVE_ACTION, "block_id": ids.DECISION_BLOCK, "type": "button",
                     "value": request_id, "text": {"type": "plain_text", "text": "Approve"},
                     "action_ts": f"{time.time():.6f}"}],
    }


def acked(standin: SlackStandIn, envelope_id: str) -> Any:
    ack = wait_for(lambda: standin.socket_mode_ack(envelope_id))
    assert ack.latency is not None and ack.latency < ACK_BOUND, ack
    return ack


def test_ncebot_run_in_socket_mode_end_to_end(standin: SlackStandIn, tmp_path: Path) -> None:
    bot = RunningBot(socket_mode_env(standin, tmp_path), tmp_path)  # PORT=0
    try:
        ops = bot.wait_until_serving(line=_OPS_PORT, what="start its ops server")
        connection = wait_for(lambda: next((c for c in standin.socket_mode_connections if c.open), None))
        opened = standin.calls_to("apps.connections.open")
        assert [call.response["ok"] for call in opened] == [True], opened
        assert APP_TOKEN not in json.dumps([call.headers for call in opened])  # recorded without the token

        # The ops port: health and metrics only; Slack requests come over the WebSocket, never unsigned HTTP.
        health = wait_for(lambda: (r := httpx.get(ops + "/healthz")).status_code == 200 and r)
        assert all(check["ok"] for check in health.json()["checks"].values()), health.text
        assert "ncebot_requests" in httpx.get(ops + "/metrics").text
        events = httpx.post(ops + "/slack/events", content=b"payload=%7B%7D", timeout=10,
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert events.status_code in (404, 405), events.text

        # /nce help: acked in time, the help text arrives at the response_url.
        help_envelope = standin.socket_mode_send("slash_commands", command_payload(standin, "help", "sm-help"))
        acked(standin, help_envelope)
        helped = wait_for(lambda: [c for c in standin.calls_to("response_url") if c.params["_name"] == "sm-help"])
        assert "/nce migrate" in helped[0].params["text"] and helped[0].params["response_type"] == "ephemeral"

        # /nce migrate → the request message in the approval channel → an approver clicks Approve.
        migrate = standin.socket_mode_send("slash_commands", command_payload(
            standin, f"migrate {known.CONTOSO} {known.ELIGIBLE_SIMPLE}", "sm-migrate"))
        acked(standin, migrate)
        message = wait_for(lambda: [m for m in standin.messages(APPROVAL_CHANNEL, include_ephemeral=False)
                                    if m.thread_ts is None])[-1]
        request_id = next(e["value"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]
                          if e.get("action_id") == ids.APPROVE_ACTION)
        click = standin.socket_mode_send("interactive",
                                         approve_payload(standin, request_id, message.ts, user=APPROVER))
        acked(standin, click)
        wait_for(lambda: "Approved by" in json.dumps(standin.message(APPROVAL_CHANNEL, message.ts).blocks))
        edited = standin.message(APPROVAL_CHANNEL, message.ts)
        assert f"Approved by <@{APPROVER}>" in json.dumps(edited.blocks) and edited.edits >= 1
        assert ids.APPROVE_ACTION not in json.dumps(edited.blocks)  # the buttons are gone

        # one connection the whole time, kept alive by the client's pings (each answered)
        assert [c.id for c in standin.socket_mode_connections] == [connection.id]
        assert standin.socket_mode_connections[0].pings >= 1
        assert {a.envelope_id for a in standin.socket_mode_acks} == {help_envelope, migrate, click}
        assert standin.socket_mode_messages == []
    finally:
        code = bot.stop()
    output = bot.output
    assert code == 0, output
    assert "starting in Socket Mode" in output and "shutting down" in output and "stopped" in output
    assert "Traceback" not in output, output
    for secret in (APP_TOKEN, BOT_TOKEN, "sandbox-secret-do-not-use-in-production"):
        assert secret not in output
    # the process left: its connection is closed
    wait_for(lambda: not any(c.open for c in standin.socket_mode_connections))
