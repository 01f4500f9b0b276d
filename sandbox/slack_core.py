"""The core of the Slack stand-in: its configuration and records, and the message operations every Web API
method and ``response_url`` post builds on. Layers above: :mod:`sandbox.slack_views`, :mod:`sandbox.slack_files`,
:mod:`sandbox.slack_methods`, and :class:`sandbox.slack_api.SlackStandIn` on top."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Mapping
from http.server import ThreadingHTTPServer
from typing import Any

from sandbox.slack_records import (
    Failure,
    Message,
    ResponseTarget,
    SlackCall,
    StoredFile,
    StoredView,
    blocks_of,
    opt,
    render_text,
)
from sandbox.socket_mode import SocketModeState


class StandInCore:
    """Configuration, records and message operations of the Slack stand-in (see :class:`SlackStandIn`)."""

    BOT_USER_ID = "UNCEBOT01"
    BOT_ID = "BNCEBOT01"
    TEAM_ID = "TSTANDIN1"

    def __init__(
        self,
        signing_secret: str = "standin-signing-secret",
        bot_token: str = "xoxb-standin-token",
        *,
        usergroups: Mapping[str, list[str]] | None = None,
        channels: Mapping[str, str] | None = None,
        users: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        app_token: str | None = None,
        app_id: str = "ASTANDIN1",
    ) -> None:
        self.signing_secret = signing_secret
        self.bot_token = bot_token
        self.app_token = app_token  # the app-level token (xapp-…) apps.connections.open requires
        self.app_id = app_id
        self.usergroups: dict[str, list[str]] = {k: list(v) for k, v in (usergroups or {}).items()}
        self.usergroup_handles: dict[str, str] = {}  # S… → handle for usergroups.list (default: the id lower-cased)
        self.channels: dict[str, str] = dict(channels or {})
        self.users: dict[str, str] = dict(users or {})
        self._host = host
        self._port = port
        self._lock = threading.RLock()
        self._calls: list[SlackCall] = []
        self._messages: list[Message] = []
        self._views: dict[str, StoredView] = {}
        self._home_views: dict[str, str] = {}  # user id → id of the Home tab view published for them
        self._files: dict[str, StoredFile] = {}
        self._failures: dict[str, Failure] = {}
        self._targets: dict[str, ResponseTarget] = {}
        self._events: list[tuple[str, Any]] = []  # for the transcript: ("message"|"update"|"view", obj)
        self._counter = itertools.count(1)
        self._ts_base = int(time.time())
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._socket_mode = SocketModeState(self._lock, self._hello)


    @property
    def root_url(self) -> str:
        if self._server is None:
            raise RuntimeError("SlackStandIn is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def base_url(self) -> str:
        """Web API base URL, ending in ``/api/``."""
        return f"{self.root_url}/api/"

    def response_url_for(
        self, name: str, *, channel: str | None = None, user: str | None = None, message_ts: str | None = None
    ) -> str:
        """A ``response_url`` for a payload. Posts to it are recorded and applied to ``channel``/``message_ts``."""
        with self._lock:
            self._targets[name] = ResponseTarget(channel=channel, user=user, message_ts=message_ts)
        return f"{self.root_url}/response/{name}"


    # --- internals (called by the request handler) -------------------------------------------------------
    def _next_ts(self) -> str:
        return f"{self._ts_base}.{next(self._counter):06d}"

    def _record(self, call: SlackCall) -> None:
        with self._lock:
            self._calls.append(call)

    def _take_failure(self, method: str) -> Failure | None:
        with self._lock:
            failure = self._failures.get(method)
            if failure is None:
                return None
            failure.count -= 1
            if failure.count <= 0:
                del self._failures[method]
            return failure

    def _post(self, channel: str, text: str, blocks: list[dict[str, Any]], *, thread_ts: str | None = None,
              user: str | None = None, ephemeral_to: str | None = None) -> Message:
        with self._lock:
            msg = Message(channel=channel, ts=self._next_ts(), text=text, blocks=blocks, user=user or self.BOT_USER_ID,
                          thread_ts=thread_ts, ephemeral_to=ephemeral_to)
            self._messages.append(msg)
            self._events.append(("message", (msg, render_text(text, blocks), list(blocks))))
            return msg

    def _find(self, channel: str, ts: str) -> Message | None:
        for m in self._messages:
            if m.channel == channel and m.ts == ts and m.ephemeral_to is None and not m.deleted:
                return m
        return None

    def _delete(self, msg: Message) -> None:
        with self._lock:
            msg.deleted = True
            self._events.append(("delete", (msg, "message deleted", [])))

    def _update(self, msg: Message, text: str | None, blocks: list[dict[str, Any]] | None) -> None:
        with self._lock:
            if text is not None:
                msg.text = text
            if blocks is not None:
                msg.blocks = blocks
            msg.edits += 1
            self._events.append(("update", (msg, render_text(msg.text, msg.blocks), list(msg.blocks))))

    def _respond(self, name: str, p: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            target = self._targets.get(name, ResponseTarget(None, None, None))
            text, blocks = str(p.get("text") or ""), blocks_of(p.get("blocks"))
            original = self._find(target.channel, target.message_ts) if target.channel and target.message_ts else None
            if p.get("delete_original") and original is not None:
                self._delete(original)
                return {"ok": True}
            if p.get("replace_original") and original is not None:
                self._update(original, text, blocks)
                return {"ok": True}
            channel = target.channel or "response"
            ephemeral = None if p.get("response_type") == "in_channel" else (target.user or "unknown")
            self._post(channel, text, blocks, thread_ts=opt(p.get("thread_ts")), ephemeral_to=ephemeral)
            return {"ok": True}


    def _hello(self, live: int) -> dict[str, Any]:
        return {"type": "hello", "num_connections": live, "connection_info": {"app_id": self.app_id},
                "debug_info": {"host": "standin-applink", "build_number": 1, "approximate_connection_time": 18060}}

    def thread(self, channel: str, ts: str) -> list[Message]:
        """Replies of a thread, oldest first (without the parent)."""
        with self._lock:
            return [
                m
                for m in self._messages
                if m.channel == channel and m.thread_ts == ts and m.ts != ts and m.ephemeral_to is None
            ]
