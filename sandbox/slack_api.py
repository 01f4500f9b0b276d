"""A local stand-in for the Slack Web API, used by the tests and by ``ncebot demo``.

It serves ``http://127.0.0.1:<port>/api/<method>`` (pass :attr:`SlackStandIn.base_url` as the WebClient's
``base_url`` or ``SLACK_API_URL``), records every call, keeps the messages, views and files it was given,
and answers ``response_url`` posts. Nothing here talks to the real Slack.

Socket Mode: give it an app-level token (``app_token="xapp-…"``) and ``apps.connections.open`` hands out
``ws://127.0.0.1:<ws port>/link/?ticket=…`` URLs, served by the ``websockets`` library's sync server
(:mod:`sandbox.socket_mode`): it greets each connection with ``hello``, answers pings, honours close frames,
delivers the envelopes a test sends with :meth:`SlackStandIn.socket_mode_send` and records the app's acks
(:attr:`SlackStandIn.socket_mode_acks`). It speaks what ``slack_sdk.socket_mode.builtin`` (Bolt's default
``SocketModeHandler``) expects.

Split by concern: :mod:`sandbox.slack_records` (what is recorded), :mod:`sandbox.slack_core` (configuration and
message operations), :mod:`sandbox.slack_views` (modals, Home tab), :mod:`sandbox.slack_files` (uploads,
``files.info``, authenticated downloads, ``file_input`` values), :mod:`sandbox.slack_methods` (Web API dispatch)
and :mod:`sandbox.slack_http` (the HTTP handler). Every name below stays importable from here.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from sandbox.slack_files import FILE_INPUT_MAX_BYTES
from sandbox.slack_http import StandInHandler
from sandbox.slack_methods import WebApi
from sandbox.slack_records import Failure, Message, SlackCall, StoredFile, StoredView, buttons_of
from sandbox.socket_mode import SOCKET_MODE_TYPES, SocketModeAck, SocketModeConnection

__all__ = ["FILE_INPUT_MAX_BYTES", "SOCKET_MODE_TYPES", "Message", "SlackCall", "SlackStandIn", "SocketModeAck",
           "SocketModeConnection", "StoredFile", "StoredView"]


class SlackStandIn(WebApi):
    """The Slack Web API on ``127.0.0.1:<port 0>``.

    ``usergroups`` maps ``S…`` ids to member ids; ``channels`` maps known channel ids to names (``None``:
    every channel is accepted by chat.* but conversations.info knows none); ``users`` maps user ids to names.
    """

    # --- lifecycle -----------------------------------------------------------------------------------------
    def start(self) -> SlackStandIn:
        if self._server is not None:
            return self
        standin = self

        class Handler(StandInHandler):
            owner = standin

        server = ThreadingHTTPServer((self._host, self._port), Handler)
        server.daemon_threads = True
        self._server = server
        # poll_interval: how long shutdown() waits for the loop to notice (0.5 s by default, paid by every test)
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="slack-standin", daemon=True)
        self._thread.start()
        if self.app_token is not None:
            self._socket_mode.start(self._host)
        return self

    def stop(self) -> None:
        self._socket_mode.stop()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


    # --- scripting -----------------------------------------------------------------------------------------
    def fail_next(
        self, method: str, status: int = 429, retry_after: int | None = 1, count: int = 1, error: str = "ratelimited"
    ) -> None:
        """Answer the next ``count`` calls of ``method`` with HTTP ``status`` (429 carries ``Retry-After``)."""
        with self._lock:
            self._failures[method] = Failure(status=status, retry_after=retry_after, count=count, error=error)

    def add_message(self, channel: str, text: str, *, user: str = "UHUMAN001", thread_ts: str | None = None) -> str:
        """Put a human-written message into a channel (e.g. a thread to reply to); returns its ts."""
        return self._post(channel, text, [], thread_ts=thread_ts, user=user).ts


    # --- inspection ----------------------------------------------------------------------------------------
    @property
    def calls(self) -> list[SlackCall]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[SlackCall]:
        with self._lock:
            return [c for c in self._calls if c.method == method]

    def messages(self, channel: str | None = None, *, include_ephemeral: bool = True) -> list[Message]:
        with self._lock:
            return [
                m
                for m in self._messages
                if not m.deleted
                and (channel is None or m.channel == channel)
                and (include_ephemeral or m.ephemeral_to is None)
            ]

    def ephemeral_to(self, user: str) -> list[Message]:
        with self._lock:
            return [m for m in self._messages if m.ephemeral_to == user]

    def message(self, channel: str, ts: str) -> Message:
        with self._lock:
            for m in self._messages:
                if m.channel == channel and m.ts == ts and m.ephemeral_to is None:
                    return m
        raise KeyError(f"{channel}/{ts}")

    @property
    def views(self) -> dict[str, StoredView]:
        with self._lock:
            return dict(self._views)

    @property
    def home_views(self) -> dict[str, StoredView]:
        """The App Home tab published for each user (views.publish), by user id."""
        with self._lock:
            return {user: self._views[view_id] for user, view_id in self._home_views.items()}

    def home_view(self, user: str) -> dict[str, Any] | None:
        """The Home tab view last published for ``user`` (with its id and hash, as a click carries it)."""
        with self._lock:
            view_id = self._home_views.get(user)
            if view_id is None:
                return None
            stored = self._views[view_id]
            return {**stored.view, "id": stored.id, "hash": stored.hash}

    @property
    def files(self) -> dict[str, StoredFile]:
        with self._lock:
            return dict(self._files)

    def reset(self) -> None:
        """Forget calls, messages, views and files (keeps configuration)."""
        with self._lock:
            self._calls.clear()
            self._messages.clear()
            self._views.clear()
            self._home_views.clear()
            self._files.clear()
            self._events.clear()
            self._failures.clear()
            self._socket_mode.sent_envelopes.clear()
            self._socket_mode.acks.clear()
            self._socket_mode.messages.clear()

    def transcript(self) -> list[str]:
        """The recorded conversation as readable lines: who said what, where, in which thread, which buttons."""
        lines: list[str] = []
        with self._lock:
            events = list(self._events)
        for kind, obj in events:
            if kind == "view":
                view, action = obj
                title = (view.view.get("title") or {}).get("text", "")
                owner = f" for <@{view.user}>" if view.user else ""
                if view.view.get("type") == "home":
                    lines.append(f"[home tab {action}]{owner}")
                    continue
                lines.append(f"[modal {action}] {title!r}{owner}")
                continue
            msg: Message = obj[0]
            who = "ncebot" if msg.user == self.BOT_USER_ID else f"<@{msg.user}>"
            where = f"#{self.channels.get(msg.channel, msg.channel)}"
            if msg.thread_ts and msg.thread_ts != msg.ts:
                where += f" (thread {msg.thread_ts})"
            prefix = {"message": "", "update": "(edited) ", "delete": "(deleted) "}[kind]
            if msg.ephemeral_to:
                prefix += f"(only visible to <@{msg.ephemeral_to}>) "
            line = f"{where} {who}: {prefix}{obj[1]}"
            buttons = buttons_of(obj[2])
            if buttons and kind != "delete":
                line += "  " + " ".join(f"[{b}]" for b in buttons)
            if msg.files and kind == "message":
                line += "  files: " + ", ".join(self._files[f].filename for f in msg.files if f in self._files)
            lines.append(line)
        return lines


    # --- Socket Mode (sandbox/socket_mode.py) ----------------------------------------------------------
    @property
    def socket_mode_connections(self) -> list[SocketModeConnection]:
        """Every WebSocket connection so far, oldest first (snapshots; ``open`` tells which are live)."""
        with self._lock:
            return [link.info for link in self._socket_mode.links]

    @property
    def socket_mode_acks(self) -> list[SocketModeAck]:
        """Acks received (``{"envelope_id", "payload"?}`` messages), in arrival order."""
        with self._lock:
            return list(self._socket_mode.acks)

    def socket_mode_ack(self, envelope_id: str) -> SocketModeAck | None:
        with self._lock:
            return next((ack for ack in self._socket_mode.acks if ack.envelope_id == envelope_id), None)

    @property
    def socket_mode_messages(self) -> list[dict[str, Any]]:
        """Text messages received that were not acks (none expected from a Bolt app)."""
        with self._lock:
            return list(self._socket_mode.messages)

    def socket_mode_send(self, payload_type: str, payload: Mapping[str, Any], *, retry_attempt: int = 0,
                         retry_reason: str = "") -> str:
        """Deliver an envelope to the newest open connection, as Slack does; returns its ``envelope_id``.

        ``payload_type``: ``slash_commands`` (payload: the command's fields), ``interactive`` (the interaction
        payload) or ``events_api`` (the event callback). Slack accepts a response payload in the ack of the
        first two only. RuntimeError if no connection is open."""
        return self._socket_mode.send_envelope(payload_type, payload, retry_attempt=retry_attempt,
                                               retry_reason=retry_reason)

    def socket_mode_disconnect(self, reason: str = "refresh_requested") -> None:
        """Send ``{"type": "disconnect"}``: the app is expected to open a new connection (then this one closes)."""
        self._socket_mode.newest_link().send_json({"type": "disconnect", "reason": reason,
                                                   "debug_info": {"host": "standin-applink"}})

    def socket_mode_ping(self, payload: bytes = b"standin") -> None:
        """Ping the newest open connection; its pong is counted in ``SocketModeConnection.pongs``."""
        self._socket_mode.newest_link().ping(payload)

    def socket_mode_close(self, code: int = 1000, reason: str = "") -> None:
        """Close every open connection from the server side (the closing handshake)."""
        self._socket_mode.close_all(code, reason)

    def _open_socket_mode(self, token: str) -> dict[str, Any]:
        """apps.connections.open: app-level token only; a single-use ticket in a ws:// URL of the WebSocket
        server (its own port, same host)."""
        if not token:
            return {"ok": False, "error": "not_authed"}
        if self.app_token is None or token != self.app_token:
            wrong_type = token == self.bot_token or not token.startswith("xapp-")
            return {"ok": False, "error": "not_allowed_token_type" if wrong_type else "invalid_auth"}
        ticket = self._socket_mode.issue_ticket()
        host = urlsplit(self.root_url).hostname
        return {"ok": True,
                "url": f"ws://{host}:{self._socket_mode.port}/link/?ticket={ticket}&app_id={self.app_id}"}
