"""The Slack stand-in's Socket Mode side: a WebSocket server (the ``websockets`` library's sync server) behind the
``ws://…/link/?ticket=…`` URLs that ``apps.connections.open`` hands out.

It greets each connection with ``hello``, answers pings (the library does), delivers the envelopes a test sends,
records the app's acks and every other message, and counts pings and pongs per connection. It speaks what
``slack_sdk.socket_mode.builtin`` (Bolt's default ``SocketModeHandler``) expects. The state it records lives in
:class:`SocketModeState`, which :class:`sandbox.slack_api.SlackStandIn` exposes.
"""

from __future__ import annotations

import contextlib
import http
import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from websockets.datastructures import Headers
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

SOCKET_MODE_TYPES = ("slash_commands", "interactive", "events_api")
MAX_MESSAGE = 16 * 1024 * 1024


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


class _Link:
    """One server-side connection and what is recorded about it."""

    def __init__(self, conn_id: int, connection: ServerConnection, ticket: str) -> None:
        self.connection = connection
        self.info = SocketModeConnection(id=conn_id, ticket=ticket, opened_at=time.time(), open=True)
        self.close_sent = False

    def send_json(self, message: Mapping[str, Any]) -> None:
        if self.close_sent:
            raise ConnectionError("this WebSocket connection is closing")
        self.connection.send(json.dumps(message))

    def ping(self, payload: bytes) -> None:
        self.connection.ping(payload)

    def close(self, code: int = 1000, reason: str = "") -> None:
        """The closing handshake from the server side (returns once the client answered or left)."""
        self.close_sent = True
        with contextlib.suppress(Exception):
            self.connection.close(code, reason)


class SocketModeState:
    """Tickets, connections, envelopes sent and acks received; thread-safe (``lock`` is the stand-in's)."""

    def __init__(self, lock: threading.RLock, hello: Callable[[int], dict[str, Any]]) -> None:
        self.lock = lock
        self._hello = hello
        self.tickets: set[str] = set()
        self.links: list[_Link] = []
        self.sent_envelopes: dict[str, float] = {}  # envelope_id → sent at
        self.acks: list[SocketModeAck] = []
        self.messages: list[dict[str, Any]] = []  # every other text message received
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    # --- the server ---------------------------------------------------------------------------------------
    def start(self, host: str) -> None:
        state = self

        class CountingConnection(ServerConnection):
            """Counts the client's pings and pongs (the library answers pings itself)."""

            def process_event(self, event: Any) -> None:
                if isinstance(event, Frame) and event.opcode in (Opcode.PING, Opcode.PONG):
                    state._count(self, "pings" if event.opcode is Opcode.PING else "pongs")
                super().process_event(event)

        self._server = serve(self._serve, host, 0, process_request=self._check_ticket, compression=None,
                             ping_interval=None, max_size=MAX_MESSAGE, server_header=None,
                             create_connection=CountingConnection)
        self._thread = threading.Thread(target=self._server.serve_forever, name="slack-standin-ws", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.socket.getsockname()[1])

    def stop(self) -> None:
        with self.lock:
            links = [link for link in self.links if link.info.open]
        for link in links:  # "going away"
            link.close(1001, "server stopping")
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def _check_ticket(self, connection: ServerConnection, request: Request) -> Response | None:
        """Only ``/link/?ticket=<a ticket apps.connections.open issued>``, and each ticket once."""
        url = urlsplit(request.path)
        if url.path.rstrip("/") != "/link":
            return _plain(http.HTTPStatus.NOT_FOUND, "not found")
        ticket = dict(parse_qsl(url.query)).get("ticket", "")
        with self.lock:
            if ticket not in self.tickets:
                return _plain(http.HTTPStatus.UNAUTHORIZED, '{"ok":false,"error":"invalid_ticket"}',
                              "application/json")
            self.tickets.remove(ticket)
        return None

    def _serve(self, connection: ServerConnection) -> None:
        ticket = dict(parse_qsl(urlsplit(connection.request.path if connection.request else "").query)).get(
            "ticket", "")
        with self.lock:
            link = _Link(len(self.links) + 1, connection, ticket)
            self.links.append(link)
            live = sum(1 for each in self.links if each.info.open)
        try:
            link.send_json(self._hello(live))
            for message in connection:
                if isinstance(message, str):
                    self._received(link, message)
        except Exception:  # the client left or broke the protocol: the library has closed the connection
            pass
        finally:
            close = connection.protocol.close_rcvd
            self._update(link, open=False, closed_at=time.time(),
                         close_code=close.code if close is not None else None,
                         close_reason=close.reason if close is not None else "")

    # --- recording ----------------------------------------------------------------------------------------
    def _link_of(self, connection: ServerConnection) -> _Link | None:
        with self.lock:
            return next((link for link in self.links if link.connection is connection), None)

    def _count(self, connection: ServerConnection, what: str) -> None:
        link = self._link_of(connection)
        if link is not None:
            with self.lock:
                link.info = replace(link.info, **{what: getattr(link.info, what) + 1})

    def _update(self, link: _Link, **changes: Any) -> None:
        with self.lock:
            link.info = replace(link.info, **changes)

    def _received(self, link: _Link, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            message = {"unparsed": text}
        if not isinstance(message, dict):
            message = {"unparsed": text}
        with self.lock:
            link.info = replace(link.info, messages=link.info.messages + 1)
            envelope_id = message.get("envelope_id")
            if isinstance(envelope_id, str):
                now = time.time()
                sent = self.sent_envelopes.get(envelope_id)
                payload = message.get("payload")
                self.acks.append(SocketModeAck(
                    envelope_id=envelope_id, payload=payload if isinstance(payload, dict) else None, at=now,
                    latency=None if sent is None else now - sent, connection=link.info.id, raw=message))
            else:
                self.messages.append(message)

    # --- what the stand-in's public methods use --------------------------------------------------------------
    def issue_ticket(self) -> str:
        ticket = uuid.uuid4().hex
        with self.lock:
            self.tickets.add(ticket)
        return ticket

    def newest_link(self) -> _Link:
        with self.lock:
            for link in reversed(self.links):
                if link.info.open and not link.close_sent:
                    return link
        raise RuntimeError("no Socket Mode connection is open")

    def send_envelope(self, payload_type: str, payload: Mapping[str, Any], *, retry_attempt: int = 0,
                      retry_reason: str = "") -> str:
        if payload_type not in SOCKET_MODE_TYPES:
            raise ValueError(f"payload_type must be one of {SOCKET_MODE_TYPES}")
        envelope_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {"envelope_id": envelope_id, "type": payload_type, "payload": dict(payload),
                                    "accepts_response_payload": payload_type != "events_api"}
        if payload_type == "events_api":
            envelope.update(retry_attempt=retry_attempt, retry_reason=retry_reason)
        link = self.newest_link()
        with self.lock:
            self.sent_envelopes[envelope_id] = time.time()
        link.send_json(envelope)
        return envelope_id

    def close_all(self, code: int, reason: str) -> None:
        with self.lock:
            links = [link for link in self.links if link.info.open]
        for link in links:
            link.close(code, reason)


def _plain(status: http.HTTPStatus, body: str, content_type: str = "text/plain") -> Response:
    data = body.encode("utf-8")
    headers = Headers([("Content-Type", content_type), ("Content-Length", str(len(data))),
                       ("Connection", "close")])
    return Response(status.value, status.phrase, headers, data)
