"""``SandboxServer``: the Partner Center sandbox served over HTTPS by uvicorn in a background thread."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn

from sandbox.app import build_app
from sandbox.clock import SandboxClock
from sandbox.state import SandboxState
from sandbox.tls import tls_files
from sandbox.webhooks import WebhookHub


class SandboxServer:
    """Start with ``with SandboxServer() as pc: ...`` or ``start()``/``stop()``.

    ``port=0`` binds a free port; ``base_url``/``authority`` carry the bound one after ``start()``."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        data: str | Path | Mapping[str, Any] | None = None,
        time_scale: float = 1.0,
        tls: bool = True,
        *,
        settings: dict[str, Any] | None = None,
        cert_dir: str | Path | None = None,
        clock: SandboxClock | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.tls = tls
        self.state = SandboxState(data=data, time_scale=time_scale, settings=settings, clock=clock)
        self.app = build_app(self.state)
        self._cert_dir = cert_dir
        self.ca_path: str = ""  # the sandbox CA alone
        self.ca_bundle_path: str = ""  # public roots + the sandbox CA (what client_env() exports)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------------------ credentials

    @property
    def tenant_id(self) -> str:
        return self.state.tenant_id

    @property
    def client_id(self) -> str:
        return self.state.client_id

    @property
    def client_secret(self) -> str:
        return self.state.client_secret

    @property
    def refresh_token(self) -> str:
        """A refresh token valid for App+User (secure application model) mode."""
        return self.state.initial_refresh_token

    @property
    def base_url(self) -> str:
        url_host = "127.0.0.1" if self.host in ("", "0.0.0.0") else "[::1]" if self.host == "::" else self.host
        return f"{'https' if self.tls else 'http'}://{url_host}:{self.port}"

    @property
    def authority(self) -> str:
        """Entra ID authority host root; clients append ``/{tenant}``."""
        return self.base_url

    def client_env(self) -> dict[str, str]:
        """What a client must export (``ncebot sandbox`` prints exactly these). ``SSL_CERT_FILE`` and
        ``REQUESTS_CA_BUNDLE`` name a bundle of the public roots plus the sandbox CA, so exporting them keeps
        slack.com and other public hosts reachable."""
        return {
            "PARTNER_CENTER_BASE_URL": self.base_url,
            "PARTNER_CENTER_AUTHORITY": self.authority,
            "PARTNER_CENTER_TENANT_ID": self.tenant_id,
            "PARTNER_CENTER_CLIENT_ID": self.client_id,
            "PARTNER_CENTER_CLIENT_SECRET": self.client_secret,
            "SSL_CERT_FILE": self.ca_bundle_path,
            "REQUESTS_CA_BUNDLE": self.ca_bundle_path,
        }

    def ssl_context(self) -> ssl.SSLContext:
        """An SSL context trusting the sandbox CA (pass as ``verify=`` to httpx)."""
        return ssl.create_default_context(cafile=self.ca_path)

    # ------------------------------------------------------------------------------ lifecycle

    def start(self) -> SandboxServer:
        if self._thread is not None:
            return self
        ssl: dict[str, Any] = {}
        if self.tls:
            files = tls_files(self.host, self._cert_dir)
            self.ca_path = str(files.ca_path)
            self.ca_bundle_path = str(files.bundle_path)
            ssl = {"ssl_certfile": str(files.cert_path), "ssl_keyfile": str(files.key_path)}
        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self.port,
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=1,
            **ssl,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name=f"pc-sandbox-{self.port}", daemon=True)
        self._server, self._thread = server, thread
        thread.start()
        deadline = time.monotonic() + 15
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self._thread = None
                raise RuntimeError(f"the Partner Center sandbox could not start on {self.host}:{self.port}")
            time.sleep(0.005)
        sockets = [sock for srv in server.servers for sock in (srv.sockets or [])]
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        self.webhooks.base_url = self.base_url
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self.webhooks.close()
        server.should_exit = True
        server.force_exit = True  # do not wait for idle keep-alive (TLS) connections of clients
        thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def webhooks(self) -> WebhookHub:
        """The webhook registration and deliveries (:mod:`sandbox.webhooks`)."""
        hub: WebhookHub = self.app.state.webhooks
        return hub

    # ------------------------------------------------------------------------------ test helpers

    def advance(self, seconds: float) -> None:
        """Advance the sandbox clock (and apply what became due)."""
        self.state.advance(seconds)
