"""Bounded request bodies on the real ``ncebot run`` process (issue 9, point 2).

A declared ``Content-Length`` over 1 MB gets 413 before a byte of the body is read; a chunked upload is read with a
running total and refused at the limit, so a 60 MB unsigned body barely moves the server's peak RSS (measured on the
process itself, ``/proc/<pid>/status`` ``VmHWM``).
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from sandbox.slack_api import SlackStandIn
from tests.fixtures.slack import wait_for
from tests.processes import RunningBot, start_bot

ROOT = Path(__file__).resolve().parents[2]
MB = 1024 * 1024


@pytest.fixture
def running_bot(tmp_path: Path) -> Iterator[tuple[RunningBot, str]]:
    with SlackStandIn(signing_secret="limits-secret", bot_token="xoxb-limits") as standin:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PARTNER_CENTER_", "NCEBOT_"))}
        env.update({"SLACK_BOT_TOKEN": "xoxb-limits", "SLACK_SIGNING_SECRET": "limits-secret",
                    "SLACK_API_URL": standin.base_url, "DATABASE_URL": f"sqlite:///{tmp_path / 'ncebot.db'}",
                    "PARTNER_CENTER_SANDBOX": "true", "NCEBOT_APPROVAL_CHANNEL": "CLIMITS001",
                    "NCEBOT_APPROVERS": "ULIMITS001",
                    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))})
        bot, url = start_bot(env, tmp_path)
        try:
            yield bot, url
        finally:
            bot.kill()
        assert standin.calls_to("response_url") == []


def peak_rss(pid: int) -> int:
    """The process's peak resident set size in bytes (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")  # pragma: no cover


def open_post(url: str, extra_headers: str) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=20)
    sock.sendall((f"POST /slack/events HTTP/1.1\r\nHost: ncebot\r\nContent-Type: application/x-www-form-urlencoded"
                  f"\r\nX-Slack-Request-Timestamp: 1\r\nX-Slack-Signature: v0=00\r\n{extra_headers}\r\n").encode())
    return sock


def read_response(sock: socket.socket) -> bytes:
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    return data


def test_a_declared_200_mb_body_is_refused_before_it_is_read(running_bot: tuple[RunningBot, str]) -> None:
    bot, url = running_bot
    with open_post(url, f"Content-Length: {200 * 1000 * 1000}\r\n") as sock:
        sock.sendall(b"payload=")  # and nothing more: an answer can only come without reading the body
        response = read_response(sock)
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    wait_for(lambda: "413" in bot.output)  # its one log line (read from the process's output by a thread)
    assert "Traceback" not in bot.output


def test_a_60_mb_chunked_body_is_refused_with_bounded_memory(running_bot: tuple[RunningBot, str]) -> None:
    bot, url = running_bot
    before = peak_rss(bot.proc.pid)
    chunk = b"x" * (256 * 1024)
    sent = 0
    with open_post(url, "Transfer-Encoding: chunked\r\n") as sock:
        answers: list[bytes] = []
        reader = threading.Thread(target=lambda: answers.append(read_response(sock)), daemon=True)
        reader.start()
        try:
            while sent < 60 * MB:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass  # the server answered and stopped reading: what it should do
        reader.join(timeout=30)
    assert answers and answers[0].startswith(b"HTTP/1.1 413"), answers
    growth = peak_rss(bot.proc.pid) - before
    assert growth < 30 * MB, f"peak RSS grew by {growth / MB:.1f} MB after {sent / MB:.0f} MB were sent"
    assert "Traceback" not in bot.output
