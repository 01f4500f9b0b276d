"""Signed Slack HTTP requests, built the way Slack builds them: slash commands, ``block_actions`` and
``view_submission`` payloads, signed with the signing secret (``v0`` HMAC-SHA256 over ``v0:{ts}:{body}``) and
POSTed to ``{app_url}/slack/events``. Used by ``ncebot demo`` and the tests; ``response_url``s point at a
:class:`sandbox.slack_api.SlackStandIn`, so nothing here talks to the real Slack.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

from sandbox.slack_api import SlackStandIn

__all__ = ["SlackRequester"]


class SlackRequester:
    """Builds Slack payloads, signs them like Slack does and POSTs them to ``{app_url}/slack/events``.

    ``user_names`` (id → name) only fills the ``user_name``/``username`` fields, as Slack does."""

    def __init__(self, app_url: str, standin: SlackStandIn, signing_secret: str, *,
                 user_names: dict[str, str] | None = None, timeout: float = 30) -> None:
        self.url = app_url.rstrip("/") + "/slack/events"
        self.standin = standin
        self.verifier = SignatureVerifier(signing_secret)
        self.http = httpx.Client(timeout=timeout)
        self.user_names = dict(user_names or {})
        self.sent = 0
        self._n = itertools.count(1)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> SlackRequester:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _name(self, user: str) -> str:
        return self.user_names.get(user, user.lower())

    def post(self, body: str, content_type: str = "application/x-www-form-urlencoded", *,
             timestamp: int | None = None, signature: str | None = None) -> httpx.Response:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        sig = signature if signature is not None else self.verifier.generate_signature(timestamp=ts, body=body) or ""
        headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig}
        self.sent += 1
        return self.http.post(self.url, content=body.encode("utf-8"), headers=headers)

    # --- payload builders ---------------------------------------------------------------------------------
    def command_body(self, text: str, *, user: str, channel: str, channel_name: str = "work",
                     command: str = "/nce") -> str:
        n = next(self._n)
        response_url = self.standin.response_url_for(f"cmd-{n}", channel=channel, user=user)
        return urlencode({
            "token": "legacy-verification-token", "team_id": SlackStandIn.TEAM_ID, "team_domain": "standin",
            "channel_id": channel, "channel_name": channel_name, "user_id": user, "user_name": self._name(user),
            "command": command, "text": text, "api_app_id": "ASTANDIN1", "is_enterprise_install": "false",
            "response_url": response_url, "trigger_id": f"{n}.trigger.{user}",
        })

    def command(self, text: str, *, user: str, channel: str, channel_name: str = "work") -> httpx.Response:
        return self.post(self.command_body(text, user=user, channel=channel, channel_name=channel_name))

    def interactive(self, payload: dict[str, Any]) -> httpx.Response:
        return self.post("payload=" + quote(json.dumps(payload), safe=""))

    def block_action(self, action_id: str, value: str | None = None, *, user: str, channel: str,
                     message_ts: str = "1.000001", block_id: str = "b", view: dict[str, Any] | None = None,
                     selected_option: dict[str, Any] | None = None, button_text: str | None = None,
                     element: dict[str, Any] | None = None) -> httpx.Response:
        """A click or a choice. ``element``: the action's own fields for other elements (``type`` plus
        ``selected_date``, ``selected_options``, ``selected_option``…), used as given."""
        n = next(self._n)
        action: dict[str, Any] = {"action_id": action_id, "block_id": block_id, "action_ts": f"{time.time():.6f}"}
        if element is not None:
            action.update(element)
        elif selected_option is not None:
            action.update(type="static_select", selected_option=selected_option)
        else:
            action.update(type="button", value=value, text={"type": "plain_text", "text": button_text or action_id})
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": user, "username": self._name(user), "team_id": SlackStandIn.TEAM_ID},
            "api_app_id": "ASTANDIN1", "token": "legacy", "team": {"id": SlackStandIn.TEAM_ID, "domain": "standin"},
            "trigger_id": f"{n}.trigger.{user}", "actions": [action],
        }
        if view is not None:
            payload["view"] = view
            payload["container"] = {"type": "view", "view_id": view.get("id")}
        else:
            payload["channel"] = {"id": channel, "name": self.standin.channels.get(channel, channel)}
            payload["container"] = {"type": "message", "message_ts": message_ts, "channel_id": channel}
            payload["message"] = {"type": "message", "ts": message_ts, "text": "", "blocks": []}
            payload["response_url"] = self.standin.response_url_for(f"act-{n}", channel=channel, user=user,
                                                                    message_ts=message_ts)
        return self.interactive(payload)

    def view_submission(self, view: dict[str, Any], values: dict[str, Any], *, user: str) -> httpx.Response:
        """Submit ``view`` (as stored by the stand-in) with ``values`` as its state."""
        submitted = {
            "id": view.get("id", "VSUBMIT"), "type": view.get("type", "modal"), "callback_id": view["callback_id"],
            "private_metadata": view.get("private_metadata", ""), "hash": view.get("hash", "h"),
            "blocks": view.get("blocks", []), "title": view.get("title"), "state": {"values": values},
            "team_id": SlackStandIn.TEAM_ID, "app_id": "ASTANDIN1",
        }
        payload = {
            "type": "view_submission", "team": {"id": SlackStandIn.TEAM_ID}, "api_app_id": "ASTANDIN1",
            "user": {"id": user, "username": self._name(user), "team_id": SlackStandIn.TEAM_ID},
            "trigger_id": f"{next(self._n)}.trigger.{user}", "view": submitted,
        }
        return self.interactive(payload)

    def submit_files(self, view: dict[str, Any], files: Mapping[str, bytes], *, user: str,
                     values: dict[str, Any] | None = None, block_id: str | None = None,
                     action_id: str | None = None) -> httpx.Response:
        """Submit ``view`` with ``files`` (name → bytes) picked in its ``file_input`` element, as Slack does: each
        file is first stored in the stand-in as uploaded by ``user`` (:meth:`SlackStandIn.upload_user_file`), then
        ``state.values[block_id][action_id]`` carries ``{"type": "file_input", "files": [<file object>…]}``.
        ``block_id``/``action_id`` default to the view's first input block holding a ``file_input``; ``values``:
        the other inputs' state."""
        if block_id is None or action_id is None:
            found = next(((b.get("block_id"), b["element"].get("action_id")) for b in view.get("blocks", [])
                          if b.get("type") == "input" and (b.get("element") or {}).get("type") == "file_input"),
                         None)
            if found is None:
                raise ValueError("the view has no input block with a file_input element")
            block_id, action_id = block_id or str(found[0]), action_id or str(found[1])
        file_ids = [self.standin.upload_user_file(name, content, user=user) for name, content in files.items()]
        state = {k: dict(v) for k, v in (values or {}).items()}
        state.setdefault(block_id, {})[action_id] = self.standin.file_input_value(*file_ids)
        return self.view_submission(view, state, user=user)

    def event(self, event: dict[str, Any], *, event_id: str | None = None) -> httpx.Response:
        """An Events API ``event_callback`` (JSON body, signed like any other request) carrying ``event``."""
        n = next(self._n)
        envelope = {
            "token": "legacy-verification-token", "team_id": SlackStandIn.TEAM_ID, "api_app_id": "ASTANDIN1",
            "event": {"event_ts": f"{time.time():.6f}", **event}, "type": "event_callback",
            "event_id": event_id or f"Ev{n:08d}", "event_time": int(time.time()),
            "authorizations": [{"team_id": SlackStandIn.TEAM_ID, "user_id": SlackStandIn.BOT_USER_ID,
                                "is_bot": True, "is_enterprise_install": False}],
            "is_ext_shared_channel": False,
        }
        return self.post(json.dumps(envelope), "application/json")

    def app_home_opened(self, user: str, tab: str = "home", view: dict[str, Any] | None = None) -> httpx.Response:
        """The ``app_home_opened`` event Slack sends when ``user`` opens the app's Home (or Messages) tab."""
        event: dict[str, Any] = {"type": "app_home_opened", "user": user, "channel": "D" + user[1:], "tab": tab}
        if view is not None:
            event["view"] = view
        return self.event(event)

    def url_verification(self, challenge: str) -> httpx.Response:
        """The handshake Slack sends when an Events API request URL is saved."""
        return self.post(json.dumps({"token": "legacy-verification-token", "challenge": challenge,
                                     "type": "url_verification"}), "application/json")

    def block_suggestion(self, action_id: str, block_id: str, value: str, *, user: str,
                         view: dict[str, Any]) -> httpx.Response:
        payload = {
            "type": "block_suggestion", "user": {"id": user}, "team": {"id": SlackStandIn.TEAM_ID},
            "api_app_id": "ASTANDIN1", "action_id": action_id, "block_id": block_id, "value": value,
            "container": {"type": "view", "view_id": view.get("id")}, "view": view,
        }
        return self.interactive(payload)


def stored_view(standin: SlackStandIn, view_id: str) -> dict[str, Any]:
    """A view as the stand-in stored it, with the id and hash a submission carries."""
    stored = standin.views[view_id]
    return {**stored.view, "id": stored.id, "hash": stored.hash}
