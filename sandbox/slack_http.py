"""The Slack stand-in's HTTP side: one ``BaseHTTPRequestHandler`` serving ``/api/<method>`` (Web API),
``/response/<name>`` (``response_url`` posts), ``/upload/<file>`` (files.getUploadURLExternal's upload URL),
``/files-pri/…`` (authenticated file downloads) and ``/signin`` (where a download without the token is sent).
Hand-written on ``http.server`` on purpose: it must record every request byte for byte, token hidden."""

from __future__ import annotations

import email.parser
import email.policy
import json
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from sandbox.slack_files import FILES_PATH, SIGN_IN_PAGE, SIGN_IN_PATH
from sandbox.slack_records import HIDDEN, SlackCall

if TYPE_CHECKING:
    from sandbox.slack_api import SlackStandIn


class StandInHandler(BaseHTTPRequestHandler):
    """Subclassed per stand-in with ``owner`` set (:meth:`SlackStandIn.start`)."""

    owner: SlackStandIn
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        owner = self.owner
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k: (HIDDEN if k.lower() == "authorization" else v) for k, v in self.headers.items()}
        path = url.path
        if path.startswith(FILES_PATH) and self.command == "GET":
            got = owner._download(path, self.headers.get("Authorization") or "")
            owner._record(SlackCall("download", {"file_id": got.file_id, "path": path, "authorized": got.authorized},
                                    headers, time.time(), got.status))
            self._send(got.status, got.content_type, got.body, got.headers)
            return
        if path == SIGN_IN_PATH:
            self._send(200, "text/html; charset=utf-8", SIGN_IN_PAGE)
            return
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
        safe_params = {k: (HIDDEN if k == "token" else v) for k, v in params.items()}
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

    def _send(self, status: int, content_type: str, body: bytes, extra: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


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

