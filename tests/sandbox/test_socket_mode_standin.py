"""The Slack stand-in's Socket Mode server on its own (the ``websockets`` library's sync server behind it): the
handshake and tickets of apps.connections.open, hello, pings, envelopes and acks, closing, and a real ``slack_sdk``
Socket Mode client (the builtin one Bolt's ``SocketModeHandler`` uses) against it."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from sandbox.slack_api import SlackStandIn
from tests.fixtures.slack import wait_for

APP_TOKEN = "xapp-1-AUNIT0001-1-unit-test-app-token"
BOT_TOKEN = "xoxb-unit-test-bot-token"


# --- the server --------------------------------------------------------------------------------------------

@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn(bot_token=BOT_TOKEN, app_token=APP_TOKEN, app_id="AUNIT0001") as stand_in:
        yield stand_in


def open_url(standin: SlackStandIn, token: str | None = APP_TOKEN) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return dict(httpx.post(standin.base_url + "apps.connections.open", headers=headers).json())


class RawClient:
    """A hand-rolled WebSocket client for what a well-behaved client never sends (the bytes are the test's)."""

    KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 §1.3's example

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=10)
        request = (f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.hostname}\r\nUpgrade: websocket\r\n"
                   f"Connection: Upgrade\r\nSec-WebSocket-Key: {self.KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n")
        self.sock.sendall(request.encode())
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            byte = self.sock.recv(1)
            if not byte:
                break
            head += byte
        self.status = int(head.split(b" ", 2)[1]) if head else 0
        self.headers = {k.strip().lower(): v.strip() for k, _, v in
                        (line.decode().partition(":") for line in head.split(b"\r\n")[1:] if line)}

    def read_frame(self) -> tuple[int, bytes]:
        """(opcode, payload) of the next unmasked server frame with a 7-bit or 16-bit length."""
        b1, b2 = self._exactly(2)
        length = b2 & 0x7F
        if length == 126:
            length = struct.unpack("!H", self._exactly(2))[0]
        return b1 & 0x0F, self._exactly(length)

    def _exactly(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise EOFError("the server closed the connection")
            data += chunk
        return data

    def close(self) -> None:
        self.sock.close()


def test_apps_connections_open_wants_the_app_level_token(standin: SlackStandIn) -> None:
    assert open_url(standin, None) == {"ok": False, "error": "not_authed"}
    assert open_url(standin, "xapp-1-wrong") == {"ok": False, "error": "invalid_auth"}
    assert open_url(standin, BOT_TOKEN) == {"ok": False, "error": "not_allowed_token_type"}
    opened = open_url(standin)
    assert opened["ok"] is True
    url = urlsplit(opened["url"])
    assert url.scheme == "ws" and url.hostname == "127.0.0.1" and url.path == "/link/"
    assert "ticket=" in url.query and "app_id=AUNIT0001" in url.query
    assert all(APP_TOKEN not in json.dumps(call.params) + json.dumps(call.headers) for call in standin.calls)
    # without an app token configured, nothing opens
    with SlackStandIn(bot_token=BOT_TOKEN) as plain:
        assert open_url(plain) == {"ok": False, "error": "invalid_auth"}


def test_handshake_hello_ping_pong_acks_and_close(standin: SlackStandIn) -> None:
    url = open_url(standin)["url"]
    raw = RawClient(url)
    try:  # the handshake itself, byte for byte
        assert raw.status == 101 and raw.headers["upgrade"].lower() == "websocket"
        expected = base64.b64encode(hashlib.sha1((RawClient.KEY + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
                                                 .encode()).digest()).decode()
        assert raw.headers["sec-websocket-accept"] == expected == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        opcode, hello = raw.read_frame()
        assert opcode == 0x1 and json.loads(hello) == {
            "type": "hello", "num_connections": 1, "connection_info": {"app_id": "AUNIT0001"},
            "debug_info": {"host": "standin-applink", "build_number": 1, "approximate_connection_time": 18060}}
    finally:
        raw.close()
    with pytest.raises(InvalidStatus) as refused:
        connect(url)  # tickets are single-use
    assert refused.value.response.status_code == 401

    with connect(open_url(standin)["url"], compression=None, ping_interval=None) as client:
        assert json.loads(client.recv(timeout=5))["type"] == "hello"
        assert client.ping(b"session:1.25").wait(5)  # answered with a pong

        envelope_id = standin.socket_mode_send("slash_commands", {"command": "/nce", "text": "y" * 300})
        envelope = json.loads(client.recv(timeout=5))
        assert envelope == {"envelope_id": envelope_id, "type": "slash_commands", "accepts_response_payload": True,
                            "payload": {"command": "/nce", "text": "y" * 300}}
        client.send(json.dumps({"envelope_id": envelope_id, "payload": {"text": "z" * 300}}))
        ack = wait_for(lambda: standin.socket_mode_ack(envelope_id))
        assert ack.payload == {"text": "z" * 300} and ack.latency is not None and ack.connection == 2

        big = standin.socket_mode_send("events_api", {"event": {"type": "x", "text": "w" * 70_000}})
        assert json.loads(client.recv(timeout=5))["accepts_response_payload"] is False
        # a 64-bit-length ack, fragmented into a text frame and a continuation
        body = json.dumps({"envelope_id": big, "payload": {"blob": "v" * 70_000}})
        client.send([body[:10], body[10:]])
        assert wait_for(lambda: standin.socket_mode_ack(big)).payload == {"blob": "v" * 70_000}

        standin.socket_mode_ping(b"from-server")  # the client's library answers with a pong
        wait_for(lambda: standin.socket_mode_connections[1].pongs == 1)

        client.close(1000, "bye")
        info = wait_for(lambda: next((c for c in standin.socket_mode_connections[1:] if not c.open), None))
        assert (info.close_code, info.close_reason, info.pings, info.messages) == (1000, "bye", 1, 2)
        with pytest.raises(RuntimeError, match="no Socket Mode connection"):
            standin.socket_mode_send("interactive", {})


def test_unmasked_client_frame_is_a_protocol_error(standin: SlackStandIn) -> None:
    client = RawClient(open_url(standin)["url"])
    try:
        client.read_frame()  # hello
        client.sock.sendall(bytes([0x81, 0x02]) + b"{}")  # RFC 6455 §5.1: client frames must be masked
        opcode, payload = client.read_frame()
        assert opcode == 0x8 and struct.unpack("!H", payload[:2])[0] == 1002
    finally:
        client.close()
    wait_for(lambda: not standin.socket_mode_connections[0].open)


def test_bad_handshakes_are_refused(standin: SlackStandIn) -> None:
    ws_root = open_url(standin)["url"].split("/link/")[0]
    assert RawClient(ws_root + "/link/?ticket=forged").status == 401
    assert RawClient(ws_root + "/elsewhere/?ticket=forged").status == 404
    plain = httpx.get(standin.root_url + "/link/?ticket=x")
    assert plain.status_code == 404  # the Web API port serves no WebSocket
    assert standin.socket_mode_connections == []


def test_slack_sdk_builtin_client_round_trip(standin: SlackStandIn) -> None:
    """The client Bolt's SocketModeHandler uses: connects, gets an envelope, acks it with a payload, pings,
    and follows a ``disconnect`` message to a fresh connection."""
    from slack_sdk import WebClient
    from slack_sdk.socket_mode.builtin import SocketModeClient
    from slack_sdk.socket_mode.request import SocketModeRequest
    from slack_sdk.socket_mode.response import SocketModeResponse

    received: list[SocketModeRequest] = []

    def listener(client: Any, request: SocketModeRequest) -> None:
        received.append(request)
        client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id,
                                                            payload={"text": "got it"}))

    client = SocketModeClient(app_token=APP_TOKEN, web_client=WebClient(token=BOT_TOKEN, base_url=standin.base_url),
                              ping_interval=1)
    client.socket_mode_request_listeners.append(listener)
    try:
        client.connect()
        assert client.is_connected()
        envelope_id = standin.socket_mode_send("interactive", {"type": "block_actions", "actions": []})
        ack = wait_for(lambda: standin.socket_mode_ack(envelope_id))
        assert ack.payload == {"text": "got it"}
        assert received[0].type == "interactive" and received[0].payload == {"type": "block_actions", "actions": []}
        wait_for(lambda: standin.socket_mode_connections[0].pings >= 2)  # connect ping + monitor ping

        standin.socket_mode_disconnect()
        wait_for(lambda: len([c for c in standin.socket_mode_connections if c.open]) == 1
                 and len(standin.socket_mode_connections) == 2)
        second = standin.socket_mode_send("slash_commands", {"command": "/nce", "text": "help"})
        assert wait_for(lambda: standin.socket_mode_ack(second)).connection == 2
    finally:
        client.close()
