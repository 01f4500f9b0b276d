"""A scriptable HTTPS stand-in for Partner Center and Entra ID, on 127.0.0.1 port 0 with a trustme CA.

Every request is recorded (method, path, query, headers, parsed body). API answers are scripted per
(method, path) as a queue of :class:`Reply`, or computed by a handler. The Entra ID part serves the OpenID
configuration and a token endpoint for the ``client_credentials`` and ``refresh_token`` grants, so real MSAL
runs against it over real TLS.
"""

from __future__ import annotations

import base64
import json
import ssl
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import trustme


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: Any  # parsed JSON, form dict, or None
    raw: bytes

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Reply:
    status: int = 200
    json: Any = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (to provoke client read timeouts)
    drop: bool = False  # close the connection without answering


Handler = Callable[[Recorded], Reply]


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


class StubServer:
    """Partner Center + Entra ID stand-in. Use as a context manager."""

    def __init__(
        self,
        ca: trustme.CA,
        *,
        tenant_id: str = "11111111-2222-3333-4444-555555555555",
        client_id: str = "client-app-id",
        client_secret: str = "s3cr3t-value",
        refresh_token: str = "rt-1",
        token_lifetime: int = 3600,
    ) -> None:
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_tokens = {refresh_token}
        self.token_lifetime = token_lifetime
        self.requests: list[Recorded] = []
        self.issued: list[str] = []
        self.token_failure: Reply | None = None
        self._scripts: dict[tuple[str, str], deque[Reply]] = defaultdict(deque)
        self._handlers: dict[tuple[str, str], Handler] = {}
        self._lock = threading.Lock()
        self._counter = 0
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self._ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(self._ssl)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------------------------

    def __enter__(self) -> StubServer:
        stub = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                stub._handle(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.socket = self._ssl.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    # --- scripting -----------------------------------------------------------------------------------

    def script(self, method: str, path: str, *replies: Reply) -> None:
        """Queue replies for (method, path); consumed in order."""
        with self._lock:
            self._scripts[(method.upper(), path)].extend(replies)

    def route(self, method: str, path: str, handler: Handler) -> None:
        """Answer (method, path) with ``handler`` once its script queue is empty."""
        self._handlers[(method.upper(), path)] = handler

    def api_requests(self) -> list[Recorded]:
        return [r for r in self.requests if not r.path.startswith(f"/{self.tenant_id}/")]

    def token_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/oauth2/v2.0/token")]

    # --- dispatch ------------------------------------------------------------------------------------

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        content_type = h.headers.get("Content-Type") or ""
        body: Any = None
        if raw and "json" in content_type:
            body = json.loads(raw)
        elif raw and "form" in content_type:
            body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        record = Recorded(
            method=h.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in h.headers.items()},
            body=body,
            raw=raw,
        )
        with self._lock:
            self.requests.append(record)
        reply = self._reply(record)
        if reply.delay:
            time.sleep(reply.delay)
        if reply.drop:
            h.close_connection = True
            return
        payload = (
            reply.body if reply.body is not None else (b"" if reply.json is None else json.dumps(reply.json).encode())
        )
        try:
            h.send_response(reply.status)
            if reply.json is not None and "Content-Type" not in reply.headers:
                h.send_header("Content-Type", "application/json; charset=utf-8")
            for name, value in reply.headers.items():
                h.send_header(name, value)
            h.send_header("Content-Length", str(len(payload)))
            h.end_headers()
            h.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass  # the client gave up (read timeout test)

    def _reply(self, record: Recorded) -> Reply:
        key = (record.method, record.path)
        with self._lock:
            queue = self._scripts.get(key)
            if queue:
                return queue.popleft()
        if key in self._handlers:
            return self._handlers[key](record)
        prefix = f"/{self.tenant_id}"
        if record.method == "GET" and record.path == f"{prefix}/v2.0/.well-known/openid-configuration":
            return Reply(json=self._openid_configuration())
        if record.method == "POST" and record.path == f"{prefix}/oauth2/v2.0/token":
            return self._token(record)
        return Reply(404, json={"code": 404, "description": f"no script for {record.method} {record.path}"})

    def _openid_configuration(self) -> dict[str, Any]:
        base = f"{self.base_url}/{self.tenant_id}"
        return {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "issuer": f"{base}/v2.0",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
        }

    def _token(self, record: Recorded) -> Reply:
        if self.token_failure is not None:
            return self.token_failure
        form = record.body or {}
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return Reply(
                401,
                json={
                    "error": "invalid_client",
                    # Echo what was sent, as a careless server might: the provider must scrub it.
                    "error_description": f"AADSTS7000215: Invalid client secret provided: {form.get('client_secret')}",
                },
            )
        grant = form.get("grant_type")
        scopes = [s for s in (form.get("scope") or "").split() if s not in ("openid", "profile", "offline_access")]
        with self._lock:
            self._counter += 1
            number = self._counter
        access_token = f"at-{number}"
        answer: dict[str, Any] = {
            "token_type": "Bearer",
            "expires_in": self.token_lifetime,
            "access_token": access_token,
            "scope": " ".join(scopes),
        }
        if grant == "client_credentials":
            pass
        elif grant == "refresh_token":
            if form.get("refresh_token") not in self.refresh_tokens:
                return Reply(400, json={"error": "invalid_grant", "error_description": "AADSTS70000: bad grant"})
            rotated = f"rt-{number + 1}"
            self.refresh_tokens = {rotated}  # old one no longer valid: proves MSAL uses the rotated one
            now = int(time.time())
            answer["refresh_token"] = rotated
            answer["client_info"] = _b64({"uid": "user-oid", "utid": self.tenant_id})
            claims = {
                "iss": f"{self.base_url}/{self.tenant_id}/v2.0",
                "aud": self.client_id,
                "sub": "user-sub",
                "oid": "user-oid",
                "tid": self.tenant_id,
                "preferred_username": "admin@partner.example",
                "iat": now,
                "exp": now + 3600,
            }
            answer["id_token"] = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
        else:
            return Reply(400, json={"error": "unsupported_grant_type", "error_description": str(grant)})
        self.issued.append(access_token)
        return Reply(json=answer)
