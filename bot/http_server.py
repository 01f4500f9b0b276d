"""HTTP transport: Starlette on uvicorn serving ``POST /slack/events``, ``GET /healthz`` and ``GET /metrics``.

Bolt's own Starlette adapter calls the sync ``App.dispatch`` inside the event loop, which would block every
other request for up to 3 s; here dispatch runs in a worker thread (anyio.to_thread) instead.

``POST /slack/events`` reads at most 1 MB (413 beyond), then runs the app's gate
(:class:`bot.slack.verification.SlackRequestGate`: signature → 401, shape → 400, replay → empty 200) before Bolt
sees anything. A refusal is one log line without the body; nothing else happens.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import anyio
import anyio.to_thread
import uvicorn
from slack_bolt import App, BoltRequest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.app import HealthCheck, MetricsText, NcebotApp
from bot.http_body import MAX_BODY_BYTES, BodyTooLarge, read_limited_body
from bot.slack.verification import Refused, Replayed, describe

log = logging.getLogger(__name__)

PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_REFUSED_TEXT = {400: "bad request", 401: "invalid request", 503: "try again"}
__all__ = ["MAX_BODY_BYTES", "HttpServer", "build_asgi"]


def build_asgi(app: App, *, health: HealthCheck | None = None, metrics: MetricsText | None = None,
               max_threads: int = 64, slack_events: bool = True,
               extra_routes: Sequence[BaseRoute] = ()) -> Starlette:
    """``slack_events=False`` leaves ``POST /slack/events`` out: Socket Mode, where the app has no signing secret
    and an HTTP request claiming to come from Slack must not be dispatched. ``extra_routes`` are served in both
    modes (e.g. ``POST /partner-center/webhooks``)."""
    limiter = anyio.CapacityLimiter(max_threads)
    gate = app.gate if isinstance(app, NcebotApp) else None  # no gate: every Slack request is refused

    async def slack_events_endpoint(request: Request) -> Response:
        try:
            body = await read_limited_body(request)
        except BodyTooLarge:
            log.warning("refused a Slack request: 413 body over %d bytes", MAX_BODY_BYTES)
            return PlainTextResponse("payload too large", status_code=413)
        headers = dict(request.headers)  # lower-case names; one value each, as Slack sends them
        verdict: BoltRequest | Refused | Replayed
        if gate is None:
            verdict = Refused(401, "no signing secret configured")
        else:  # the signature in the event loop (no I/O); the rest, which uses the database, in a worker thread
            refused = gate.authenticate(headers, body)
            verdict = refused if refused is not None else await anyio.to_thread.run_sync(
                gate.accept, headers, body, str(request.url.query), limiter=limiter)
        if isinstance(verdict, Refused):
            log.warning("refused a Slack request: %d %s (%s)", verdict.status, verdict.reason, describe(body, headers))
            return PlainTextResponse(_REFUSED_TEXT.get(verdict.status, "refused"), status_code=verdict.status)
        if isinstance(verdict, Replayed):
            log.warning("ignored a replayed Slack request (%s)", describe(body, headers))
            return Response(status_code=200)
        bolt_response = await anyio.to_thread.run_sync(app.dispatch, verdict, limiter=limiter)
        return Response(
            content=bolt_response.body,
            status_code=bolt_response.status,
            headers=bolt_response.first_headers_without_set_cookie(),
        )

    async def healthz(_request: Request) -> Response:
        if health is None:
            return JSONResponse({"status": "ok"})
        try:
            ok, details = await anyio.to_thread.run_sync(health, limiter=limiter)
        except Exception:
            log.exception("health check failed")
            ok, details = False, {"error": "health check failed"}
        payload = {"status": "ok" if ok else "unavailable", **details}
        return Response(json.dumps(payload, default=str), status_code=200 if ok else 503,
                        media_type="application/json")

    async def metrics_endpoint(_request: Request) -> Response:
        text = await anyio.to_thread.run_sync(metrics, limiter=limiter) if metrics is not None else ""
        return Response(text, media_type=PROMETHEUS_CONTENT_TYPE)

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        *extra_routes,
    ]
    if slack_events:
        routes.insert(0, Route("/slack/events", slack_events_endpoint, methods=["POST"]))
    return Starlette(routes=routes)


class ServerStartError(RuntimeError):
    """The HTTP server could not start (most often: the port is taken)."""


class HttpServer:
    """uvicorn serving :func:`build_asgi` in a background thread: ``start()`` returns once it listens (or raises
    :class:`ServerStartError`), ``wait()`` blocks until it ends, ``stop()`` shuts it down gracefully (in-flight
    requests finish). ``port`` is the bound port (0 → a free one, chosen at start).
    ``slack_events=False``: only ``/healthz`` and ``/metrics`` (the ops port of a Socket Mode process)."""

    def __init__(self, app: App, host: str = "0.0.0.0", port: int = 3000, *, health: HealthCheck | None = None,
                 metrics: MetricsText | None = None, slack_events: bool = True,
                 extra_routes: Sequence[BaseRoute] = ()) -> None:
        self.asgi = build_asgi(app, health=health, metrics=metrics, slack_events=slack_events,
                               extra_routes=extra_routes)
        self.host = host
        self._requested_port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def _make_server(self) -> uvicorn.Server:
        config = uvicorn.Config(self.asgi, host=self.host, port=self._requested_port, log_level="warning",
                                access_log=False, lifespan="off", timeout_keep_alive=30)
        return uvicorn.Server(config)

    @property
    def port(self) -> int:
        server = self._server
        if server is None or not server.started or not server.servers:
            return self._requested_port
        sockets = server.servers[0].sockets
        return int(sockets[0].getsockname()[1]) if sockets else self._requested_port

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout: float = 10.0) -> HttpServer:
        server = self._server = self._make_server()
        self._thread = threading.Thread(target=server.run, name="ncebot-http", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise ServerStartError(f"the HTTP server could not listen on {self.host}:{self._requested_port} "
                                       "(is another process using that port? set PORT)")
            time.sleep(0.01)
        return self

    def wait(self) -> None:
        """Block until the server thread ends. Signals still reach the main thread (join in short slices)."""
        thread = self._thread
        while thread is not None and thread.is_alive():
            thread.join(0.5)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._thread = None

    def __enter__(self) -> HttpServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
