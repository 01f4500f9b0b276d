"""The Slack stand-in's Socket Mode server on its own: RFC 6455 framing, the handshake, apps.connections.open, and
a real ``slack_sdk`` Socket Mode client (the builtin one Bolt's ``SocketModeHandler`` uses) against it."""

from __future__ import annotations

import json
import socket
import struct
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from sandbox.slack_api import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    SlackStandIn,
    WebSocketFrame,
    WebSocketProtocolError,
    ws_accept_key,
    ws_encode_frame,
    ws_read_frame,
)
from tests.fixtures.slack import wait_for

APP_TOKEN = "xapp-1-AUNIT0001-1-unit-test-app-token"
BOT_TOKEN = "xoxb-unit-test-bot-token"
MASK = bytes([0x37, 0xFA, 0x21, 0x3D])  # RFC 6455 §5.7's example key


def reader(data: bytes, chunk: int = 3) -> Any:
    """``read(n)`` over ``data`` that returns at most ``chunk`` bytes at a time, like a socket's recv."""
    view = memoryview(data)
    position = 0

    def read(n: int) -> bytes:
        nonlocal position
        got = bytes(view[position:position + min(n, chunk)])
        position += len(got)
        return got

    return read


# --- framing -----------------------------------------------------------------------------------------------

def test_rfc6455_examples() -> None:
    hello_unmasked = bytes([0x81, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F])
    hello_masked = bytes([0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58])
    assert ws_encode_frame(OP_TEXT, b"Hello") == hello_unmasked
    assert ws_encode_frame(OP_TEXT, b"Hello", mask=MASK) == hello_masked
    assert ws_encode_frame(OP_PING, b"Hello") == bytes([0x89, 0x05]) + b"Hello"
    assert ws_encode_frame(OP_PONG, b"Hello", mask=MASK) == bytes([0x8A, 0x85]) + hello_masked[2:]
    assert ws_encode_frame(OP_TEXT, b"Hel", fin=False) == bytes([0x01, 0x03]) + b"Hel"
    assert ws_encode_frame(OP_CONTINUATION, b"lo") == bytes([0x80, 0x02]) + b"lo"
    assert ws_read_frame(reader(hello_masked)) == WebSocketFrame(fin=True, opcode=OP_TEXT, payload=b"Hello",
                                                                 masked=True)
    assert ws_read_frame(reader(hello_unmasked)) == WebSocketFrame(True, OP_TEXT, b"Hello", False)
    # 256 bytes: 16-bit length; 64 KiB: 64-bit length
    assert ws_encode_frame(OP_BINARY, bytes(256))[:4] == bytes([0x82, 0x7E, 0x01, 0x00])
    assert ws_encode_frame(OP_BINARY, bytes(65536))[:10] == bytes([0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0])


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 200_003])
@pytest.mark.parametrize("mask", [None, MASK])
def test_lengths_and_masking_round_trip(size: int, mask: bytes | None) -> None:
    payload = bytes(i % 251 for i in range(size))
    encoded = ws_encode_frame(OP_TEXT, payload, mask=mask)
    header = 2 + (0 if size <= 125 else 2 if size <= 65535 else 8) + (4 if mask else 0)
    assert len(encoded) == header + size
    if mask and size:
        assert encoded[header:] != payload  # really masked on the wire
    frame = ws_read_frame(reader(encoded, chunk=4096))
    assert frame == WebSocketFrame(fin=True, opcode=OP_TEXT, payload=payload, masked=mask is not None)


def test_masking_matches_slack_sdks_client_frames() -> None:
    """The builtin client's own frame builder (masked, random key) decodes to what it sent."""
    from slack_sdk.socket_mode.builtin.internals import _build_data_frame_for_sending

    for text in ("ping:1.5", json.dumps({"envelope_id": "e", "payload": {"text": "x" * 5000}})):
        frame = ws_read_frame(reader(_build_data_frame_for_sending(text, OP_TEXT)))
        assert frame is not None and frame.masked and frame.payload.decode() == text


@pytest.mark.parametrize(("raw", "code"), [
    (bytes([0xC1, 0x80]) + MASK, 1002),  # RSV1 without an extension
    (bytes([0x83, 0x80]) + MASK, 1002),  # reserved opcode
    (bytes([0x89, 0xFE, 0x00, 0x7E]) + MASK + bytes(126), 1002),  # control frame > 125 bytes
    (bytes([0x09, 0x80]) + MASK, 1002),  # fragmented ping
    (bytes([0x81, 0xFF]) + struct.pack("!Q", 1 << 40) + MASK, 1009),  # too big
])
def test_forbidden_frames(raw: bytes, code: int) -> None:
    with pytest.raises(WebSocketProtocolError) as raised:
        ws_read_frame(reader(raw))
    assert raised.value.code == code


def test_end_of_stream() -> None:
    assert ws_read_frame(reader(b"")) is None
    with pytest.raises(EOFError):
        ws_read_frame(reader(ws_encode_frame(OP_TEXT, b"Hello", mask=MASK)[:-1]))


def test_accept_key_from_rfc6455() -> None:
    assert ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


# --- the server --------------------------------------------------------------------------------------------

@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn(bot_token=BOT_TOKEN, app_token=APP_TOKEN, app_id="AUNIT0001") as stand_in:
        yield stand_in


def open_url(standin: SlackStandIn, token: str | None = APP_TOKEN) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return dict(httpx.post(standin.base_url + "apps.connections.open", headers=headers).json())


class RawClient:
    """A minimal hand-rolled WebSocket client: every byte it sends is chosen by the test."""

    def __init__(self, url: str, key: str = "dGhlIHNhbXBsZSBub25jZQ==") -> None:
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80))
        request = (f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.hostname}\r\nUpgrade: websocket\r\n"
                   f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
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

    def send(self, opcode: int, payload: bytes = b"", *, mask: bytes | None = MASK, fin: bool = True) -> None:
        self.sock.sendall(ws_encode_frame(opcode, payload, mask=mask, fin=fin))

    def send_json(self, message: dict[str, Any]) -> None:
        self.send(OP_TEXT, json.dumps(message).encode())

    def recv(self) -> WebSocketFrame:
        frame = ws_read_frame(self.sock.recv)
        assert frame is not None, "the server closed the connection"
        return frame

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
    client = RawClient(url)
    try:
        assert client.status == 101
        assert client.headers["sec-websocket-accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        assert client.headers["upgrade"].lower() == "websocket"
        hello = client.recv()
        assert hello.opcode == OP_TEXT and not hello.masked  # servers never mask
        assert json.loads(hello.payload) == {
            "type": "hello", "num_connections": 1, "connection_info": {"app_id": "AUNIT0001"},
            "debug_info": {"host": "standin-applink", "build_number": 1, "approximate_connection_time": 18060}}
        assert RawClient(url).status == 401  # tickets are single-use

        client.send(OP_PING, b"session:1.25")
        assert client.recv() == WebSocketFrame(True, OP_PONG, b"session:1.25", False)

        envelope_id = standin.socket_mode_send("slash_commands", {"command": "/nce", "text": "y" * 300})
        envelope = json.loads(client.recv().payload)  # 16-bit length from the server
        assert envelope == {"envelope_id": envelope_id, "type": "slash_commands", "accepts_response_payload": True,
                            "payload": {"command": "/nce", "text": "y" * 300}}
        client.send_json({"envelope_id": envelope_id, "payload": {"text": "z" * 300}})  # 16-bit, masked
        ack = wait_for(lambda: standin.socket_mode_ack(envelope_id))
        assert ack.payload == {"text": "z" * 300} and ack.latency is not None and ack.connection == 1

        big = standin.socket_mode_send("events_api", {"event": {"type": "x", "text": "w" * 70_000}})
        frame = client.recv()
        assert len(frame.payload) > 65535 and json.loads(frame.payload)["accepts_response_payload"] is False
        # a 64-bit-length ack, fragmented into a text frame and a continuation
        body = json.dumps({"envelope_id": big, "payload": {"blob": "v" * 70_000}}).encode()
        client.send(OP_TEXT, body[:10], fin=False)
        client.send(OP_PING, b"between fragments")  # control frames may interleave
        assert client.recv().opcode == OP_PONG
        client.send(OP_CONTINUATION, body[10:])
        assert wait_for(lambda: standin.socket_mode_ack(big)).payload == {"blob": "v" * 70_000}

        standin.socket_mode_ping(b"from-server")
        assert client.recv() == WebSocketFrame(True, OP_PING, b"from-server", False)
        client.send(OP_PONG, b"from-server")
        wait_for(lambda: standin.socket_mode_connections[0].pongs == 1)

        client.send(OP_CLOSE, struct.pack("!H", 1000) + b"bye")
        echo = client.recv()
        assert echo.opcode == OP_CLOSE and struct.unpack("!H", echo.payload[:2])[0] == 1000
        assert ws_read_frame(client.sock.recv) is None  # then the server hangs up
        info = wait_for(lambda: next((c for c in standin.socket_mode_connections if not c.open), None))
        assert (info.close_code, info.close_reason, info.pings) == (1000, "bye", 2)
        with pytest.raises(RuntimeError, match="no Socket Mode connection"):
            standin.socket_mode_send("interactive", {})
    finally:
        client.close()


def test_unmasked_client_frame_is_a_protocol_error(standin: SlackStandIn) -> None:
    client = RawClient(open_url(standin)["url"])
    try:
        client.recv()  # hello
        client.send(OP_TEXT, b"{}", mask=None)
        closing = client.recv()
        assert closing.opcode == OP_CLOSE and struct.unpack("!H", closing.payload[:2])[0] == 1002
        assert ws_read_frame(client.sock.recv) is None
    finally:
        client.close()


def test_bad_handshakes_are_refused(standin: SlackStandIn) -> None:
    assert RawClient(standin.root_url.replace("http", "ws") + "/link/?ticket=forged").status == 401
    plain = httpx.get(standin.root_url + "/link/?ticket=x")
    assert plain.status_code == 404  # not an upgrade: just an unknown path
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
