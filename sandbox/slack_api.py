"""A local stand-in for the Slack Web API, used by the tests and by ``ncebot demo``.

It serves ``http://127.0.0.1:<port>/api/<method>`` (pass :attr:`SlackStandIn.base_url` as the WebClient's
``base_url`` or ``SLACK_API_URL``), records every call, keeps the messages, views and files it was given,
and answers ``response_url`` posts. Nothing here talks to the real Slack.

Socket Mode: give it an app-level token (``app_token="xapp-…"``) and ``apps.connections.open`` hands out
``ws://127.0.0.1:<port>/link/?ticket=…`` URLs, served on the same port by a small RFC 6455 server written here
(no dependency): it greets each connection with ``hello``, answers pings, honours close frames, delivers the
envelopes a test sends with :meth:`SlackStandIn.socket_mode_send` and records the app's acks
(:attr:`SlackStandIn.socket_mode_acks`). It speaks what ``slack_sdk.socket_mode.builtin`` (Bolt's default
``SocketModeHandler``) expects.
"""

from __future__ import annotations

import base64
import contextlib
import email.parser
import email.policy
import hashlib
import itertools
import json
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

__all__ = [
    "Message",
    "SlackCall",
    "SlackStandIn",
    "SocketModeAck",
    "SocketModeConnection",
    "StoredFile",
    "StoredView",
    "WebSocketFrame",
    "WebSocketProtocolError",
    "ws_accept_key",
    "ws_encode_frame",
    "ws_read_frame",
]

_HIDDEN = "***"


@dataclass(frozen=True)
class SlackCall:
    """One request the stand-in received. ``headers`` never contain the token's value."""

    method: str  # Web API method name, or "response_url" / "upload"
    params: dict[str, Any]
    headers: dict[str, str]
    at: float
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    user: str
    thread_ts: str | None = None
    ephemeral_to: str | None = None  # set for ephemeral messages (chat.postEphemeral, respond())
    edits: int = 0
    deleted: bool = False
    files: list[str] = field(default_factory=list)
    metadata: dict[str, Any] | None = None  # chat.postMessage ``metadata`` (event_type, event_payload)


@dataclass
class StoredView:
    id: str
    hash: str
    view: dict[str, Any]
    user: str | None
    trigger_id: str | None
    stack: str  # "root" or "pushed" (modals), "home" (the App Home tab, views.publish)
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class StoredFile:
    id: str
    filename: str
    content: bytes
    title: str | None = None
    channels: list[str] = field(default_factory=list)
    thread_ts: str | None = None
    initial_comment: str | None = None


@dataclass
class _ResponseTarget:
    channel: str | None
    user: str | None
    message_ts: str | None


@dataclass
class _Failure:
    status: int
    retry_after: int | None
    count: int
    error: str


# --- WebSocket framing (RFC 6455 §5), server side ------------------------------------------------------------

OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_DATA_OPCODES = (OP_CONTINUATION, OP_TEXT, OP_BINARY)
_CONTROL_OPCODES = (OP_CLOSE, OP_PING, OP_PONG)
_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_WS_MAX_MESSAGE = 16 * 1024 * 1024
SOCKET_MODE_TYPES = ("slash_commands", "interactive", "events_api")


class WebSocketProtocolError(Exception):
    """A frame the peer must not send; ``code`` is the close code to answer with (1002, 1009)."""

    def __init__(self, message: str, code: int = 1002) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class WebSocketFrame:
    fin: bool
    opcode: int
    payload: bytes  # unmasked
    masked: bool


def ws_accept_key(key: str) -> str:
    """``Sec-WebSocket-Accept`` for a client's ``Sec-WebSocket-Key`` (RFC 6455 §4.2.2)."""
    return base64.b64encode(hashlib.sha1((key.strip() + _WS_GUID).encode("ascii")).digest()).decode("ascii")


def _apply_mask(data: bytes, mask: bytes) -> bytes:
    if not data:
        return b""
    repeated = (mask * (len(data) // 4 + 1))[: len(data)]
    return (int.from_bytes(data, "big") ^ int.from_bytes(repeated, "big")).to_bytes(len(data), "big")


def ws_encode_frame(opcode: int, payload: bytes = b"", *, mask: bytes | None = None, fin: bool = True) -> bytes:
    """One frame: 7-bit, 16-bit (126) or 64-bit (127) length; masked with ``mask`` (4 bytes) if given.
    A server sends unmasked frames; clients mask theirs."""
    if mask is not None and len(mask) != 4:
        raise ValueError("a masking key is 4 bytes")
    mask_bit = 0x80 if mask is not None else 0
    head = bytearray([(0x80 if fin else 0) | (opcode & 0x0F)])
    n = len(payload)
    if n <= 125:
        head.append(mask_bit | n)
    elif n <= 0xFFFF:
        head.append(mask_bit | 126)
        head += struct.pack("!H", n)
    else:
        head.append(mask_bit | 127)
        head += struct.pack("!Q", n)
    if mask is None:
        return bytes(head) + payload
    return bytes(head) + mask + _apply_mask(payload, mask)


def _read_exact(read: Callable[[int], bytes], n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = read(n - got)
        if not chunk:
            raise EOFError(f"connection closed inside a frame ({got} of {n} bytes)")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def ws_read_frame(read: Callable[[int], bytes], *, max_size: int = _WS_MAX_MESSAGE) -> WebSocketFrame | None:
    """Read one frame with ``read(n)`` (a socket's ``recv`` or a buffered ``read``; short reads are fine).
    ``None`` on a clean EOF before the frame; ``EOFError`` inside one; :class:`WebSocketProtocolError` for a
    frame RFC 6455 forbids (reserved bits, unknown opcode, fragmented or long control frame, oversize)."""
    first = read(1)
    if not first:
        return None
    b1 = first[0]
    b2 = _read_exact(read, 1)[0]
    if b1 & 0x70:
        raise WebSocketProtocolError("reserved bits set without an extension")
    fin, opcode = bool(b1 & 0x80), b1 & 0x0F
    if opcode not in _DATA_OPCODES + _CONTROL_OPCODES:
        raise WebSocketProtocolError(f"unknown opcode {opcode:#x}")
    masked, length = bool(b2 & 0x80), b2 & 0x7F
    if length == 126:
        length = struct.unpack("!H", _read_exact(read, 2))[0]
    elif length == 127:
        length = struct.unpack("!Q", _read_exact(read, 8))[0]
        if length >> 63:
            raise WebSocketProtocolError("64-bit length with the most significant bit set")
    if opcode in _CONTROL_OPCODES and (length > 125 or not fin):
        raise WebSocketProtocolError("control frames are unfragmented and carry at most 125 bytes")
    if length > max_size:
        raise WebSocketProtocolError(f"frame of {length} bytes is too big", code=1009)
    mask = _read_exact(read, 4) if masked else None
    payload = _read_exact(read, length)
    return WebSocketFrame(fin=fin, opcode=opcode, payload=_apply_mask(payload, mask) if mask else payload,
                          masked=masked)


@dataclass(frozen=True)
class SocketModeAck:
    """A message the app sent back over Socket Mode for an envelope: ``{"envelope_id", "payload"?}``."""

    envelope_id: str
    payload: dict[str, Any] | None
    at: float
    latency: float | None  # seconds since the envelope was sent (None: an envelope this stand-in never sent)
    connection: int
    raw: dict[str, Any]


@dataclass(frozen=True)
class SocketModeConnection:
    """What the stand-in knows about one WebSocket connection (a snapshot)."""

    id: int
    ticket: str
    opened_at: float
    open: bool
    closed_at: float | None = None
    close_code: int | None = None  # the code of the close frame received from the client, if any
    close_reason: str = ""
    pings: int = 0  # pings received from the client (each answered with a pong)
    pongs: int = 0  # pongs received (answers to socket_mode_ping)
    messages: int = 0  # text messages received


class _SocketModeLink:
    """One server-side WebSocket connection: sends are serialized; ``info`` is the recorded state."""

    def __init__(self, conn_id: int, sock: socket.socket, ticket: str) -> None:
        self.sock = sock
        self.info = SocketModeConnection(id=conn_id, ticket=ticket, opened_at=time.time(), open=True)
        self._send_lock = threading.Lock()
        self.close_sent = False

    def send(self, opcode: int, payload: bytes = b"") -> None:
        with self._send_lock:
            if self.close_sent:
                raise ConnectionError("this WebSocket connection is closing")
            if opcode == OP_CLOSE:
                self.close_sent = True
            self.sock.sendall(ws_encode_frame(opcode, payload))

    def send_json(self, message: Mapping[str, Any]) -> None:
        self.send(OP_TEXT, json.dumps(message).encode("utf-8"))

    def send_close(self, code: int = 1000, reason: str = "") -> None:
        """Send a close frame unless one was sent already (the connection ends when the peer answers/leaves)."""
        with contextlib.suppress(ConnectionError, OSError):
            self.send(OP_CLOSE, struct.pack("!H", code) + reason.encode("utf-8")[:123])

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)


class SlackStandIn:
    """The Slack Web API on ``127.0.0.1:<port 0>``.

    ``usergroups`` maps ``S…`` ids to member ids; ``channels`` maps known channel ids to names (``None``:
    every channel is accepted by chat.* but conversations.info knows none); ``users`` maps user ids to names.
    """

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
        self._failures: dict[str, _Failure] = {}
        self._targets: dict[str, _ResponseTarget] = {}
        self._events: list[tuple[str, Any]] = []  # for the transcript: ("message"|"update"|"view", obj)
        self._counter = itertools.count(1)
        self._ts_base = int(time.time())
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        # Socket Mode
        self._tickets: set[str] = set()
        self._links: list[_SocketModeLink] = []
        self._sent_envelopes: dict[str, float] = {}  # envelope_id → sent at
        self._acks: list[SocketModeAck] = []
        self._ws_messages: list[dict[str, Any]] = []  # every other text message received

    # --- lifecycle -----------------------------------------------------------------------------------------
    def start(self) -> SlackStandIn:
        if self._server is not None:
            return self
        standin = self

        class Handler(_Handler):
            owner = standin

        server = ThreadingHTTPServer((self._host, self._port), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="slack-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._lock:
            links = [link for link in self._links if link.info.open]
        for link in links:  # "going away", then drop the socket so the handler threads end
            link.send_close(1001, "server stopping")
            link.abort()
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
            self._targets[name] = _ResponseTarget(channel=channel, user=user, message_ts=message_ts)
        return f"{self.root_url}/response/{name}"

    # --- scripting -----------------------------------------------------------------------------------------
    def fail_next(
        self, method: str, status: int = 429, retry_after: int | None = 1, count: int = 1, error: str = "ratelimited"
    ) -> None:
        """Answer the next ``count`` calls of ``method`` with HTTP ``status`` (429 carries ``Retry-After``)."""
        with self._lock:
            self._failures[method] = _Failure(status=status, retry_after=retry_after, count=count, error=error)

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

    def thread(self, channel: str, ts: str) -> list[Message]:
        """Replies of a thread, oldest first (without the parent)."""
        with self._lock:
            return [
                m
                for m in self._messages
                if m.channel == channel and m.thread_ts == ts and m.ts != ts and m.ephemeral_to is None
            ]

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
            self._sent_envelopes.clear()
            self._acks.clear()
            self._ws_messages.clear()

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
            buttons = _buttons(obj[2])
            if buttons and kind != "delete":
                line += "  " + " ".join(f"[{b}]" for b in buttons)
            if msg.files and kind == "message":
                line += "  files: " + ", ".join(self._files[f].filename for f in msg.files if f in self._files)
            lines.append(line)
        return lines

    # --- Socket Mode ---------------------------------------------------------------------------------------
    @property
    def socket_mode_connections(self) -> list[SocketModeConnection]:
        """Every WebSocket connection so far, oldest first (snapshots; ``open`` tells which are live)."""
        with self._lock:
            return [link.info for link in self._links]

    @property
    def socket_mode_acks(self) -> list[SocketModeAck]:
        """Acks received (``{"envelope_id", "payload"?}`` messages), in arrival order."""
        with self._lock:
            return list(self._acks)

    def socket_mode_ack(self, envelope_id: str) -> SocketModeAck | None:
        with self._lock:
            return next((ack for ack in self._acks if ack.envelope_id == envelope_id), None)

    @property
    def socket_mode_messages(self) -> list[dict[str, Any]]:
        """Text messages received that were not acks (none expected from a Bolt app)."""
        with self._lock:
            return list(self._ws_messages)

    def socket_mode_send(self, payload_type: str, payload: Mapping[str, Any], *, retry_attempt: int = 0,
                         retry_reason: str = "") -> str:
        """Deliver an envelope to the newest open connection, as Slack does; returns its ``envelope_id``.

        ``payload_type``: ``slash_commands`` (payload: the command's fields), ``interactive`` (the interaction
        payload) or ``events_api`` (the event callback). Slack accepts a response payload in the ack of the
        first two only. RuntimeError if no connection is open."""
        if payload_type not in SOCKET_MODE_TYPES:
            raise ValueError(f"payload_type must be one of {SOCKET_MODE_TYPES}")
        envelope_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {"envelope_id": envelope_id, "type": payload_type, "payload": dict(payload),
                                    "accepts_response_payload": payload_type != "events_api"}
        if payload_type == "events_api":
            envelope.update(retry_attempt=retry_attempt, retry_reason=retry_reason)
        link = self._newest_link()
        with self._lock:
            self._sent_envelopes[envelope_id] = time.time()
        link.send_json(envelope)
        return envelope_id

    def socket_mode_disconnect(self, reason: str = "refresh_requested") -> None:
        """Send ``{"type": "disconnect"}``: the app is expected to open a new connection (then this one closes)."""
        self._newest_link().send_json({"type": "disconnect", "reason": reason,
                                       "debug_info": {"host": "standin-applink"}})

    def socket_mode_ping(self, payload: bytes = b"standin") -> None:
        """Ping the newest open connection; its pong is counted in ``SocketModeConnection.pongs``."""
        self._newest_link().send(OP_PING, payload)

    def socket_mode_close(self, code: int = 1000, reason: str = "") -> None:
        """Close every open connection from the server side (a close frame; the client should leave)."""
        with self._lock:
            links = [link for link in self._links if link.info.open]
        for link in links:
            link.send_close(code, reason)

    def _newest_link(self) -> _SocketModeLink:
        with self._lock:
            for link in reversed(self._links):
                if link.info.open and not link.close_sent:
                    return link
        raise RuntimeError("no Socket Mode connection is open")

    def _open_socket_mode(self, token: str) -> dict[str, Any]:
        """apps.connections.open: app-level token only; a single-use ticket in a ws:// URL on this port."""
        if not token:
            return {"ok": False, "error": "not_authed"}
        if self.app_token is None or token != self.app_token:
            wrong_type = token == self.bot_token or not token.startswith("xapp-")
            return {"ok": False, "error": "not_allowed_token_type" if wrong_type else "invalid_auth"}
        ticket = uuid.uuid4().hex
        with self._lock:
            self._tickets.add(ticket)
        ws_root = self.root_url.replace("http://", "ws://", 1)
        return {"ok": True, "url": f"{ws_root}/link/?ticket={ticket}&app_id={self.app_id}"}

    def _take_ticket(self, ticket: str) -> bool:
        with self._lock:
            if ticket in self._tickets:
                self._tickets.remove(ticket)
                return True
            return False

    def _link_opened(self, sock: socket.socket, ticket: str) -> _SocketModeLink:
        with self._lock:
            link = _SocketModeLink(len(self._links) + 1, sock, ticket)
            self._links.append(link)
            return link

    def _link_update(self, link: _SocketModeLink, **changes: Any) -> None:
        with self._lock:
            link.info = replace(link.info, **changes)

    def _link_count(self, link: _SocketModeLink, what: str) -> None:
        with self._lock:
            link.info = replace(link.info, **{what: getattr(link.info, what) + 1})

    def _hello(self) -> dict[str, Any]:
        with self._lock:
            live = sum(1 for link in self._links if link.info.open)
        return {"type": "hello", "num_connections": live, "connection_info": {"app_id": self.app_id},
                "debug_info": {"host": "standin-applink", "build_number": 1, "approximate_connection_time": 18060}}

    def _ws_received(self, link: _SocketModeLink, text: str) -> None:
        self._link_count(link, "messages")
        try:
            message = json.loads(text)
        except ValueError:
            message = {"unparsed": text}
        if not isinstance(message, dict):
            message = {"unparsed": text}
        with self._lock:
            envelope_id = message.get("envelope_id")
            if isinstance(envelope_id, str):
                now = time.time()
                sent = self._sent_envelopes.get(envelope_id)
                payload = message.get("payload")
                self._acks.append(SocketModeAck(
                    envelope_id=envelope_id, payload=payload if isinstance(payload, dict) else None, at=now,
                    latency=None if sent is None else now - sent, connection=link.info.id, raw=message))
            else:
                self._ws_messages.append(message)

    # --- internals (called by the request handler) -------------------------------------------------------
    def _next_ts(self) -> str:
        return f"{self._ts_base}.{next(self._counter):06d}"

    def _record(self, call: SlackCall) -> None:
        with self._lock:
            self._calls.append(call)

    def _take_failure(self, method: str) -> _Failure | None:
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
            self._events.append(("message", (msg, _render_text(text, blocks), list(blocks))))
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
            self._events.append(("update", (msg, _render_text(msg.text, msg.blocks), list(msg.blocks))))

    def _dispatch(self, method: str, p: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if method == "api.test":
                return {"ok": True, "args": p}
            if method == "auth.test":
                return {"ok": True, "url": "https://standin.slack.invalid/", "team": "Stand-in", "user": "ncebot",
                        "team_id": self.TEAM_ID, "user_id": self.BOT_USER_ID, "bot_id": self.BOT_ID}
            if method == "chat.postMessage":
                channel = str(p.get("channel") or "")
                if not channel:
                    return {"ok": False, "error": "channel_not_found"}
                if not p.get("text") and not p.get("blocks"):
                    return {"ok": False, "error": "no_text"}
                msg = self._post(channel, str(p.get("text") or ""), _blocks(p.get("blocks")),
                                 thread_ts=_opt(p.get("thread_ts")))
                metadata = _json(p.get("metadata"))
                msg.metadata = metadata if isinstance(metadata, dict) else None
                return {"ok": True, "channel": channel, "ts": msg.ts,
                        "message": {"text": msg.text, "ts": msg.ts, "user": msg.user, "blocks": msg.blocks}}
            if method == "chat.update":
                found = self._find(str(p.get("channel")), str(p.get("ts")))
                if found is None:
                    return {"ok": False, "error": "message_not_found"}
                msg = found
                self._update(msg, _opt(p.get("text")), _blocks(p.get("blocks")) if "blocks" in p else None)
                return {"ok": True, "channel": msg.channel, "ts": msg.ts, "text": msg.text}
            if method == "chat.delete":
                found = self._find(str(p.get("channel")), str(p.get("ts")))
                if found is None:
                    return {"ok": False, "error": "message_not_found"}
                self._delete(found)
                return {"ok": True, "channel": found.channel, "ts": found.ts}
            if method == "chat.postEphemeral":
                channel, user = str(p.get("channel") or ""), str(p.get("user") or "")
                if not channel or not user:
                    return {"ok": False, "error": "channel_not_found" if not channel else "user_not_in_channel"}
                msg = self._post(channel, str(p.get("text") or ""), _blocks(p.get("blocks")),
                                 thread_ts=_opt(p.get("thread_ts")), ephemeral_to=user)
                return {"ok": True, "message_ts": msg.ts}
            if method == "chat.getPermalink":
                channel, ts = str(p.get("channel")), str(p.get("message_ts"))
                if self._find(channel, ts) is None:
                    return {"ok": False, "error": "message_not_found"}
                return {"ok": True, "channel": channel,
                        "permalink": f"https://standin.slack.invalid/archives/{channel}/p{ts.replace('.', '')}"}
            if method in ("views.open", "views.push"):
                if not p.get("trigger_id"):
                    return {"ok": False, "error": "invalid_trigger_id"}
                view = _json(p.get("view"))
                if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
                    return {"ok": False, "error": "invalid_arguments"}
                stored = StoredView(id=f"V{next(self._counter):08d}", hash="", view=view,
                                    user=_opt(p.get("user_id")), trigger_id=str(p["trigger_id"]),
                                    stack="root" if method == "views.open" else "pushed")
                self._views[stored.id] = stored
                return self._store_view(stored, view, "opened" if method == "views.open" else "pushed")
            if method == "views.update":
                view_id = _opt(p.get("view_id"))
                stored_view: StoredView | None = None
                if view_id:
                    stored_view = self._views.get(view_id)
                elif p.get("external_id"):
                    stored_view = next((v for v in self._views.values()
                                        if v.view.get("external_id") == p["external_id"]), None)
                if stored_view is None:
                    return {"ok": False, "error": "not_found"}
                if p.get("hash") and p["hash"] != stored_view.hash:
                    return {"ok": False, "error": "hash_conflict"}
                view = _json(p.get("view"))
                if not isinstance(view, dict):
                    return {"ok": False, "error": "invalid_arguments"}
                return self._store_view(stored_view, view, "updated")
            if method == "views.publish":
                return self._publish_home(p)
            if method == "usergroups.list":
                return {"ok": True, "usergroups": [{"id": g, "handle": self.usergroup_handles.get(g, g.lower())}
                                                   for g in self.usergroups]}
            if method == "usergroups.users.list":
                group = str(p.get("usergroup") or "")
                if group not in self.usergroups:
                    return {"ok": False, "error": "no_such_subteam"}
                return {"ok": True, "users": list(self.usergroups[group])}
            if method == "users.info":
                user = str(p.get("user") or "")
                if not user.startswith(("U", "W")):
                    return {"ok": False, "error": "user_not_found"}
                name = self.users.get(user, user.lower())
                return {"ok": True, "user": {"id": user, "name": name, "real_name": name, "tz": "UTC",
                                             "is_bot": user == self.BOT_USER_ID, "profile": {"real_name": name}}}
            if method == "conversations.info":
                channel = str(p.get("channel") or "")
                if channel not in self.channels:
                    return {"ok": False, "error": "channel_not_found"}
                return {"ok": True, "channel": {"id": channel, "name": self.channels[channel], "is_channel": True,
                                                "is_member": True}}
            if method == "conversations.open":
                users = [u for u in str(p.get("users") or "").split(",") if u]
                if len(users) != 1 or not users[0].startswith(("U", "W")):
                    return {"ok": False, "error": "user_not_found" if users else "users_list_not_supplied"}
                dm = "D" + users[0][1:]
                self.channels.setdefault(dm, f"dm-{self.users.get(users[0], users[0].lower())}")
                return {"ok": True, "channel": {"id": dm, "is_im": True, "user": users[0]}}
            if method == "conversations.replies":
                channel, ts = str(p.get("channel")), str(p.get("ts"))
                parent = self._find(channel, ts)
                if parent is None:
                    return {"ok": False, "error": "thread_not_found"}
                replies = [parent, *self.thread(channel, ts)]
                return {"ok": True, "has_more": False,
                        "messages": [_message_json(m, thread_ts=m.thread_ts or ts) for m in replies]}
            if method == "conversations.history":
                channel = str(p.get("channel"))
                top = [m for m in self._messages if m.channel == channel and not m.deleted and m.ephemeral_to is None
                       and (m.thread_ts is None or m.thread_ts == m.ts)]
                return {"ok": True, "has_more": False, "messages": [_message_json(m) for m in reversed(top)]}
            if method == "files.getUploadURLExternal":
                file_id = f"F{next(self._counter):08d}"
                self._files[file_id] = StoredFile(id=file_id, filename=str(p.get("filename") or "file"), content=b"")
                return {"ok": True, "upload_url": f"{self.root_url}/upload/{file_id}", "file_id": file_id}
            if method == "files.completeUploadExternal":
                entries = _json(p.get("files")) or []
                done = []
                for entry in entries if isinstance(entries, list) else []:
                    stored_file = self._files.get(str(entry.get("id")))
                    if stored_file is None:
                        return {"ok": False, "error": "file_not_found"}
                    stored_file.title = entry.get("title")
                    done.append(stored_file)
                share_to = _opt(p.get("channel_id") or p.get("channel"))
                self._share(done, share_to, _opt(p.get("thread_ts")), _opt(p.get("initial_comment")))
                return {"ok": True, "files": [{"id": f.id, "name": f.filename, "title": f.title} for f in done]}
            if method == "files.upload":
                content = p.get("file", p.get("content", b""))
                data = content if isinstance(content, bytes) else str(content).encode()
                file_id = f"F{next(self._counter):08d}"
                stored_file = StoredFile(id=file_id, filename=str(p.get("filename") or "file"), content=data,
                                         title=_opt(p.get("title")))
                self._files[file_id] = stored_file
                channels = str(p.get("channels") or "")
                self._share([stored_file], channels.split(",")[0] or None, _opt(p.get("thread_ts")),
                            _opt(p.get("initial_comment")))
                return {"ok": True, "file": {"id": file_id, "name": stored_file.filename}}
            return {"ok": False, "error": "unknown_method"}

    def _share(self, files: list[StoredFile], channel: str | None, thread_ts: str | None, comment: str | None) -> None:
        if not channel or not files:
            return
        for stored in files:
            stored.channels.append(channel)
            stored.thread_ts = thread_ts
            stored.initial_comment = comment
        msg = self._post(channel, comment or "", [], thread_ts=thread_ts)
        msg.files = [f.id for f in files]

    def _publish_home(self, p: dict[str, Any]) -> dict[str, Any]:
        """views.publish: one Home tab per user, same view id across publishes (as Slack does). Checks what
        Slack checks and we can get wrong: a ``home`` view, at most 100 blocks, unique block ids, the hash."""
        user = str(p.get("user_id") or "")
        if not user.startswith(("U", "W")):
            return {"ok": False, "error": "invalid_arguments" if not user else "user_not_found"}
        view = _json(p.get("view"))
        if not isinstance(view, dict) or view.get("type") != "home":
            return {"ok": False, "error": "invalid_arguments",
                    "response_metadata": {"messages": ["[ERROR] view type must be home"]}}
        blocks = view.get("blocks")
        if not isinstance(blocks, list) or len(blocks) > 100:
            return {"ok": False, "error": "invalid_arguments",
                    "response_metadata": {"messages": ["[ERROR] no more than 100 items allowed "
                                                       "[json-pointer:/view/blocks]"]}}
        block_ids = [b.get("block_id") for b in blocks if isinstance(b, dict) and b.get("block_id")]
        if len(block_ids) != len(set(block_ids)):
            return {"ok": False, "error": "invalid_arguments",
                    "response_metadata": {"messages": ["[ERROR] duplicate block_id [json-pointer:/view/blocks]"]}}
        existing = self._views.get(self._home_views.get(user, ""))
        if existing is not None and p.get("hash") and p["hash"] != existing.hash:
            return {"ok": False, "error": "hash_conflict"}
        if existing is None:
            existing = StoredView(id=f"V{next(self._counter):08d}", hash="", view=view, user=user, trigger_id=None,
                                  stack="home")
            self._views[existing.id] = existing
            self._home_views[user] = existing.id
        return self._store_view(existing, view, "published")

    def _store_view(self, stored: StoredView, view: dict[str, Any], action: str) -> dict[str, Any]:
        """Give ``stored`` its new content and hash, record it, and answer the Web API reply."""
        stored.view = view
        stored.hash = f"h{next(self._counter)}"
        stored.history.append(view)
        self._events.append(("view", (stored, action)))
        return {"ok": True, "view": self._view_payload(stored)}

    def _view_payload(self, stored: StoredView) -> dict[str, Any]:
        return {**stored.view, "id": stored.id, "hash": stored.hash, "team_id": self.TEAM_ID,
                "state": {"values": {}}, "root_view_id": stored.id, "app_id": "ASTANDIN1", "bot_id": self.BOT_ID}

    def _respond(self, name: str, p: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            target = self._targets.get(name, _ResponseTarget(None, None, None))
            text, blocks = str(p.get("text") or ""), _blocks(p.get("blocks"))
            original = self._find(target.channel, target.message_ts) if target.channel and target.message_ts else None
            if p.get("delete_original") and original is not None:
                self._delete(original)
                return {"ok": True}
            if p.get("replace_original") and original is not None:
                self._update(original, text, blocks)
                return {"ok": True}
            channel = target.channel or "response"
            ephemeral = None if p.get("response_type") == "in_channel" else (target.user or "unknown")
            self._post(channel, text, blocks, thread_ts=_opt(p.get("thread_ts")), ephemeral_to=ephemeral)
            return {"ok": True}


class _Handler(BaseHTTPRequestHandler):
    owner: SlackStandIn
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        if self.headers.get("Upgrade", "").strip().lower() == "websocket":
            self._websocket()
            return
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        owner = self.owner
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k: (_HIDDEN if k.lower() == "authorization" else v) for k, v in self.headers.items()}
        path = url.path
        if path.startswith("/upload/"):
            file_id = path.removeprefix("/upload/")
            with owner._lock:
                stored = owner._files.get(file_id)
                if stored is not None:
                    stored.content = _multipart_file(raw, self.headers.get("Content-Type", "")) or raw
            owner._record(SlackCall("upload", {"file_id": file_id, "bytes": len(raw)}, headers, time.time()))
            self._send(200 if stored else 404, "text/plain", b"OK - %d" % len(raw))
            return
        params: dict[str, Any] = dict(parse_qsl(url.query, keep_blank_values=True))
        params.update(_parse_body(raw, self.headers.get("Content-Type", "")))
        if path.startswith("/response/"):
            name = path.removeprefix("/response/")
            applied = owner._respond(name, params)
            owner._record(SlackCall("response_url", {**params, "_name": name}, headers, time.time(), 200, applied))
            self._send(200, "text/plain", b"ok")
            return
        if not path.startswith("/api/"):
            self._send(404, "text/plain", b"not found")
            return
        method = path.removeprefix("/api/")
        bearer = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        token = bearer or str(params.get("token", ""))
        safe_params = {k: (_HIDDEN if k == "token" else v) for k, v in params.items()}
        failure = owner._take_failure(method)
        if failure is not None:
            body = {"ok": False, "error": failure.error}
            owner._record(SlackCall(method, safe_params, headers, time.time(), failure.status, body))
            extra = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
            self._send(failure.status, "application/json", json.dumps(body).encode(), extra)
            return
        if method == "apps.connections.open":
            result: dict[str, Any] = owner._open_socket_mode(token)
        elif token != owner.bot_token and method != "api.test":
            result = {"ok": False, "error": "not_authed" if not token else "invalid_auth"}
        else:
            try:
                result = owner._dispatch(method, params)
            except Exception as exc:  # a malformed request must not kill the stand-in
                result = {"ok": False, "error": "invalid_arguments", "detail": type(exc).__name__}
        owner._record(SlackCall(method, safe_params, headers, time.time(), 200, result))
        self._send(200, "application/json", json.dumps(result).encode())

    # --- Socket Mode: the WebSocket side of /link/ -------------------------------------------------------
    def _websocket(self) -> None:
        owner = self.owner
        self.close_connection = True  # after the upgrade (or its refusal) this socket is not HTTP any more
        url = urlsplit(self.path)
        ticket = dict(parse_qsl(url.query)).get("ticket", "")
        key = self.headers.get("Sec-WebSocket-Key", "")
        upgrade_ok = "upgrade" in self.headers.get("Connection", "").lower() and self.command == "GET"
        if url.path.rstrip("/") != "/link" or not upgrade_ok or not key:
            self._send(400, "text/plain", b"bad WebSocket handshake")
            return
        if self.headers.get("Sec-WebSocket-Version", "").strip() != "13":
            self._send(426, "text/plain", b"unsupported WebSocket version", {"Sec-WebSocket-Version": "13"})
            return
        if not owner._take_ticket(ticket):
            self._send(401, "application/json", b'{"ok":false,"error":"invalid_ticket"}')
            return
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", ws_accept_key(key))
        self.end_headers()
        self.wfile.flush()
        link = owner._link_opened(self.connection, ticket)
        try:
            link.send_json(owner._hello())
            self._websocket_loop(link)
        except (OSError, ConnectionError):
            pass
        finally:
            owner._link_update(link, open=False, closed_at=time.time())
            link.abort()

    def _websocket_loop(self, link: _SocketModeLink) -> None:
        owner = self.owner
        message: bytearray | None = None  # a fragmented text/binary message being reassembled
        message_opcode = OP_TEXT
        while True:
            try:
                frame = ws_read_frame(self.rfile.read)
            except WebSocketProtocolError as exc:
                link.send_close(exc.code, str(exc))
                return
            except EOFError:
                return
            if frame is None:
                return
            if not frame.masked:  # RFC 6455 §5.1: a server closes on an unmasked client frame
                link.send_close(1002, "client frames must be masked")
                return
            if frame.opcode == OP_PING:
                owner._link_count(link, "pings")
                link.send(OP_PONG, frame.payload)
            elif frame.opcode == OP_PONG:
                owner._link_count(link, "pongs")
            elif frame.opcode == OP_CLOSE:
                code = struct.unpack("!H", frame.payload[:2])[0] if len(frame.payload) >= 2 else 1005
                reason = frame.payload[2:].decode("utf-8", "replace")
                owner._link_update(link, close_code=code, close_reason=reason)
                link.send_close(code if code != 1005 else 1000)  # echo, unless we started the closing handshake
                return
            else:
                if frame.opcode == OP_CONTINUATION:
                    if message is None:
                        link.send_close(1002, "continuation without a message")
                        return
                    message += frame.payload
                else:
                    if message is not None:
                        link.send_close(1002, "new message inside a fragmented one")
                        return
                    message, message_opcode = bytearray(frame.payload), frame.opcode
                if len(message) > _WS_MAX_MESSAGE:
                    link.send_close(1009, "message too big")
                    return
                if frame.fin:
                    data, message = bytes(message), None
                    if message_opcode == OP_TEXT:
                        try:
                            text = data.decode("utf-8")
                        except UnicodeDecodeError:
                            link.send_close(1007, "text message is not UTF-8")
                            return
                        owner._ws_received(link, text)

    def _send(self, status: int, content_type: str, body: bytes, extra: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


# --- helpers ---------------------------------------------------------------------------------------------


def _message_json(m: Message, **extra: Any) -> dict[str, Any]:
    """A stored message as conversations.history/replies list it (``extra``: e.g. its ``thread_ts``)."""
    return {"type": "message", "user": m.user, "text": m.text, "ts": m.ts, **extra, "blocks": m.blocks,
            **({"metadata": m.metadata} if m.metadata else {})}


def _opt(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _blocks(value: Any) -> list[dict[str, Any]]:
    parsed = _json(value)
    return [b for b in parsed if isinstance(b, dict)] if isinstance(parsed, list) else []


def _parse_body(raw: bytes, content_type: str) -> dict[str, Any]:
    if not raw:
        return {}
    if content_type.startswith("application/json"):
        data = json.loads(raw.decode("utf-8"))
        return data if isinstance(data, dict) else {}
    if content_type.startswith("multipart/form-data"):
        return _multipart(raw, content_type)
    return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))


def _multipart(raw: bytes, content_type: str) -> dict[str, Any]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw
    )
    out: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True)
        payload = payload if isinstance(payload, bytes) else b""
        if part.get_filename():
            out[str(name)] = payload
            out.setdefault("filename", part.get_filename())
        else:
            out[str(name)] = payload.decode("utf-8", "replace")
    return out


def _multipart_file(raw: bytes, content_type: str) -> bytes | None:
    if not content_type.startswith("multipart/form-data"):
        return None
    for value in _multipart(raw, content_type).values():
        if isinstance(value, bytes):
            return value
    return None


def _walk_text(blocks: list[dict[str, Any]]) -> Iterator[str]:
    for block in blocks:
        kind = block.get("type")
        if kind in ("section", "header"):
            text = (block.get("text") or {}).get("text")
            if text:
                yield str(text)
            for f in block.get("fields") or []:
                yield str(f.get("text", ""))
        elif kind == "context":
            for el in block.get("elements") or []:
                if el.get("text"):
                    yield str(el["text"])


def _render_text(text: str, blocks: list[dict[str, Any]]) -> str:
    parts = list(_walk_text(blocks)) or [text]
    return " | ".join(p.replace("\n", " / ") for p in parts if p)


def _buttons(blocks: list[dict[str, Any]]) -> list[str]:
    found = []
    for block in blocks:
        elements = block.get("elements") if block.get("type") == "actions" else None
        accessory = block.get("accessory")
        for el in [*(elements or []), *([accessory] if isinstance(accessory, dict) else [])]:
            if el.get("type") == "button":
                found.append(str((el.get("text") or {}).get("text", "")))
    return found
