"""The HTTP boundary of ``POST /slack/events`` (issue 9, points 1 and 3).

Unsigned or badly signed requests get 401 and NOTHING else: no Web API call (the Slack stand-in's record), no POST
to the ``response_url`` they name (a canary HTTP server standing in for any URL an attacker picks), no traceback,
one short log line without the body. Signed payloads Slack would never send get 400 with one log line, never a
500. A rejected 1 MB body leaves a small log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest

from bot.slack import ids
from sandbox import known
from tests.fixtures.slack import APPROVAL_CHANNEL, APPROVER, REQUESTER, SIGNING_SECRET, WORK_CHANNEL, wait_for


class Canary:
    """A local HTTP server that records every hit: the ``response_url`` of a forged request."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        canary = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                canary.hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def canary() -> Iterator[Canary]:
    made = Canary()
    yield made
    made.close()


def sign(body: bytes, timestamp: str, secret: str = SIGNING_SECRET) -> str:
    """Slack's v0 signature over the raw bytes (written out here, independent of the code under test)."""
    return "v0=" + hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()


FORM = "application/x-www-form-urlencoded"


def post(url: str, body: bytes, headers: dict[str, str] | dict[str, bytes], content_type: str = FORM,
         ) -> httpx.Response:
    return httpx.post(url + "/slack/events", content=body, headers={"Content-Type": content_type.encode(), **{
        k: v if isinstance(v, bytes) else v.encode() for k, v in headers.items()}}, timeout=30)


def forged_bodies(canary_url: str) -> dict[str, bytes]:
    """A slash command and two clicks, each naming the canary as response_url and real users and channels."""
    command = urlencode({"command": "/nce", "text": f"migrate {known.CONTOSO} {known.ELIGIBLE_SIMPLE}",
                         "user_id": REQUESTER, "channel_id": WORK_CHANNEL, "team_id": "TSTANDIN1",
                         "response_url": canary_url, "trigger_id": "1.trigger"})
    click = {"type": "block_actions", "user": {"id": APPROVER}, "team": {"id": "TSTANDIN1"},
             "channel": {"id": APPROVAL_CHANNEL}, "response_url": canary_url, "trigger_id": "2.trigger",
             "container": {"type": "message", "message_ts": "1.000001", "channel_id": APPROVAL_CHANNEL},
             "actions": [{"action_id": ids.APPROVE_ACTION, "block_id": "b", "value": "0" * 32, "type": "button"}]}
    home_click = {**{k: v for k, v in click.items() if k != "channel"}, "container": {"type": "view", "view_id": "V1"},
                  "view": {"id": "V1", "type": "home"}}
    return {
        "command": command.encode(),
        "click": ("payload=" + quote(json.dumps(click))).encode(),
        "home_click": ("payload=" + quote(json.dumps(home_click))).encode(),
    }


def bad_headers(body: bytes) -> dict[str, dict[str, str]]:
    now = int(time.time())
    good = sign(body, str(now))
    return {
        "none": {},
        "empty": {"X-Slack-Request-Timestamp": "", "X-Slack-Signature": ""},
        "abc": {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": good},
        "signed_number": {"X-Slack-Request-Timestamp": f"+{now}", "X-Slack-Signature": sign(body, f"+{now}")},
        "non_ascii_digits": {"X-Slack-Request-Timestamp": "١٢٣", "X-Slack-Signature": good},
        "v1": {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": "v1=" + good[3:]},
        "bare_hex": {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": good[3:]},
        "old": {"X-Slack-Request-Timestamp": str(now - 360), "X-Slack-Signature": sign(body, str(now - 360))},
        "future": {"X-Slack-Request-Timestamp": str(now + 360), "X-Slack-Signature": sign(body, str(now + 360))},
        "wrong": {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": sign(body, str(now), "other")},
        "truncated": {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": good[:-2]},
        "huge_number": {"X-Slack-Request-Timestamp": "9" * 400, "X-Slack-Signature": good},
    }


def test_unauthenticated_requests_get_401_and_cause_nothing(
    slack_env: Any, canary: Canary, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # before the app exists: Bolt copies the root level into its loggers
    env = slack_env()
    bodies = forged_bodies(canary.url)
    sent = 0
    for kind, body in bodies.items():
        for variant, headers in bad_headers(body).items():
            caplog.clear()
            response = post(env.url, body, {k: v.encode("utf-8") for k, v in headers.items()})
            assert response.status_code == 401, (kind, variant, response.text)
            sent += 1
            lines = [r for r in caplog.records if r.name.startswith(("bot", "slack_bolt", "uvicorn", "starlette"))]
            assert len(lines) == 1, (kind, variant, [r.getMessage() for r in lines])
            [line] = lines
            assert line.name == "bot.http_server" and line.exc_info is None and "refused" in line.getMessage()
            assert len(line.getMessage()) < 200 and b"response_url" not in line.getMessage().encode()
    assert sent == 3 * 12
    time.sleep(0.5)  # give a wrongly accepted request the chance to act after its ack
    assert env.standin.calls == []
    assert canary.hits == []
    assert env.workflow.pending_requests() == []


def test_the_error_handler_does_not_answer_a_request_that_skipped_the_gate(
    slack_standin: Any, canary: Canary, tmp_path: Any
) -> None:
    """Defence in depth: a request handed to Bolt without passing the gate (here straight to ``app.dispatch``),
    whose timestamp makes Bolt's own verifier raise, reaches ``@app.error``, which must not reply to it."""
    from slack_bolt import BoltRequest

    from bot.runtime import build_runtime
    from bot.settings import load_settings
    from tests.fixtures.slack import BOT_TOKEN

    settings = load_settings({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                              "SLACK_API_URL": slack_standin.base_url, "PARTNER_CENTER_SANDBOX": "true",
                              "DATABASE_URL": f"sqlite:///{tmp_path / 'ncebot.db'}",
                              "NCEBOT_APPROVAL_CHANNEL": APPROVAL_CHANNEL, "NCEBOT_APPROVERS": APPROVER},
                             env_file=None, require_run=True)
    runtime = build_runtime(settings)
    try:
        for body in forged_bodies(canary.url).values():
            request = BoltRequest(body=body.decode(), headers={"x-slack-request-timestamp": ["abc"],
                                                               "x-slack-signature": ["v0=" + "0" * 64]})
            assert runtime.app.dispatch(request).status >= 400
        time.sleep(0.5)
    finally:
        runtime.close()
    assert canary.hits == []
    assert slack_standin.calls == []


def test_a_verified_request_still_gets_its_answer(slack_env: Any) -> None:
    """The gate lets Slack's own requests through (the replies still come, through the stand-in)."""
    env = slack_env()
    assert env.requester.command("help").status_code == 200
    assert wait_for(lambda: env.standin.calls_to("response_url"))


def test_payloads_shaped_as_slack_sends_them_pass_the_shape_check(slack_env: Any) -> None:
    """Slack sends ``null`` for absent values (``"enterprise": null``): that is not junk."""
    env = slack_env(required_approvals=2)
    env.requester.command(f"migrate {known.CONTOSO} {known.ELIGIBLE_SIMPLE}")
    message = wait_for(lambda: env.request_messages())[0]
    request_id = next(e["value"] for b in message.blocks if b["type"] == "actions" for e in b["elements"])
    click = {"type": "block_actions", "user": {"id": APPROVER, "username": "abe", "team_id": "TSTANDIN1"},
             "api_app_id": "ASTANDIN1", "token": "legacy", "trigger_id": "5.trigger",
             "team": {"id": "TSTANDIN1", "domain": "standin"}, "enterprise": None, "is_enterprise_install": False,
             "container": {"type": "message", "message_ts": message.ts, "channel_id": message.channel},
             "channel": {"id": message.channel, "name": "nce-approvals"},
             "message": {"type": "message", "ts": message.ts, "text": "", "blocks": []}, "state": {"values": {}},
             "actions": [{"action_id": ids.APPROVE_ACTION, "block_id": "b", "value": request_id, "type": "button",
                          "action_ts": "1.2"}]}
    assert env.requester.interactive(click).status_code == 200
    assert wait_for(lambda: any("recorded" in r for r in env.replies_to(APPROVER)))


def junk_payloads() -> dict[str, tuple[bytes, str]]:
    form, js = "application/x-www-form-urlencoded", "application/json"

    def payload(value: Any) -> bytes:
        return ("payload=" + quote(value if isinstance(value, str) else json.dumps(value))).encode()

    click = {"type": "block_actions", "user": {"id": APPROVER}, "channel": {"id": APPROVAL_CHANNEL},
             "container": {"type": "message", "message_ts": "1.000001", "channel_id": APPROVAL_CHANNEL}}
    return {
        "actions_empty": (payload({**click, "actions": []}), form),
        "actions_not_list": (payload({**click, "actions": "approve"}), form),
        "action_not_object": (payload({**click, "actions": [1]}), form),
        "action_without_id": (payload({**click, "actions": [{"value": "x"}]}), form),
        "payload_not_json": (payload("{not json"), form),
        "payload_list": (payload([1, 2, 3]), form),
        "payload_string": (payload('"hello"'), form),
        "payload_number": (payload("42"), form),
        "payload_empty_object": (payload({}), form),
        "user_without_id": (payload({**click, "user": {}, "actions": [{"action_id": ids.APPROVE_ACTION}]}), form),
        "user_number": (payload({**click, "user": 7, "actions": [{"action_id": ids.APPROVE_ACTION}]}), form),
        "channel_string": (payload({**click, "channel": "C1", "actions": [{"action_id": ids.APPROVE_ACTION}]}),
                           form),
        "view_submission_without_view": (payload({"type": "view_submission", "user": {"id": REQUESTER}}), form),
        "view_not_object": (payload({"type": "view_submission", "user": {"id": REQUESTER}, "view": []}), form),
        "type_not_string": (payload({"type": ["block_actions"], "user": {"id": REQUESTER}}), form),
        "not_utf8": (b"payload=%7B%7D&x=\xff\xfe\xfd", form),
        "not_utf8_json": (b'{"type": "event_callback", "x": "\xff"}', js),
        "json_list": (b"[1, 2]", js),
        "json_broken": (b'{"type": "event_callback",', js),
        "event_not_object": (b'{"type": "event_callback", "event": "app_home_opened"}', js),
        "event_without_type": (b'{"type": "event_callback", "event": {"user": "U1"}}', js),
        "authorizations_not_list": (b'{"type": "event_callback", "event": {"type": "x"}, "authorizations": 1}', js),
    }


def test_signed_junk_is_answered_400_never_500(slack_env: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    env = slack_env()
    for name, (body, content_type) in junk_payloads().items():
        caplog.clear()
        now = str(int(time.time()))
        response = post(env.url, body, {"X-Slack-Request-Timestamp": now, "X-Slack-Signature": sign(body, now)},
                        content_type)
        assert response.status_code == 400, (name, response.status_code, response.text)
        lines = [r for r in caplog.records if r.name.startswith(("bot", "slack_bolt", "uvicorn", "starlette"))]
        assert [r.name for r in lines] == ["bot.http_server"], (name, [r.getMessage() for r in lines])
        assert lines[0].exc_info is None and len(lines[0].getMessage()) < 200
    time.sleep(0.3)
    assert env.standin.calls == []
    assert env.workflow.pending_requests() == []


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed-junk"])
def test_the_log_of_a_rejected_1_mb_body_stays_small(
    slack_env: Any, caplog: pytest.LogCaptureFixture, signed: bool
) -> None:
    caplog.set_level(logging.DEBUG)  # everything anyone logs, Bolt's INFO lines included
    env = slack_env()
    marker = "SECRETPAYLOADMARKER"
    body = ("payload=" + quote(json.dumps({"type": "block_actions", "actions": [], "pad": marker * 50_000})))
    raw = body.encode()[:999_000]
    assert len(raw) > 900_000
    now = str(int(time.time()))
    signature = sign(raw, now) if signed else sign(raw, now, "not-the-secret")
    caplog.clear()
    response = post(env.url, raw, {"X-Slack-Request-Timestamp": now, "X-Slack-Signature": signature})
    assert response.status_code == (400 if signed else 401)
    time.sleep(0.2)
    logged = "\n".join(r.getMessage() + (str(r.exc_info) if r.exc_info else "") for r in caplog.records
                       # the background scheduler's own DEBUG ticks (every 0.25 s here) are not about the request
                       if not r.name.startswith(("httpx", "httpcore", "apscheduler")))
    assert len(logged) < 2000, logged[:500]
    assert marker not in logged
