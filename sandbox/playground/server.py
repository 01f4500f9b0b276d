"""The playground's web server: a small Starlette app on uvicorn in a background thread.

``GET /`` the page (static index.html, app.js, style.css: vanilla JS, no build step, nothing from the internet);
``GET /api/state?user=U…&rev=…`` what that person sees (``{"same": true}`` while nothing changed: the page
polls); ``POST /api/command|action|submit|close|home|options`` what they do (JSON bodies: a cross-site form
cannot send one without a CORS preflight, which this server never grants); ``GET /files/{id}`` an uploaded file.
Served on 127.0.0.1 only: it acts as anyone in the workspace.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import anyio.to_thread
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bot.http_body import BodyTooLarge, read_limited_body
from sandbox.playground.state import ActionResult, Playground, PlaygroundError

STATIC = Path(__file__).resolve().parent / "static"

__all__ = ["PlaygroundServer", "build_playground_app"]


async def _json_body(request: Request) -> dict[str, Any]:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise PlaygroundError("send JSON (Content-Type: application/json)")
    try:
        data = json.loads(await read_limited_body(request, 200_000))
    except BodyTooLarge as exc:
        raise PlaygroundError("request too large") from exc
    except ValueError as exc:
        raise PlaygroundError("the body is not JSON") from exc
    if not isinstance(data, dict):
        raise PlaygroundError("the body must be a JSON object")
    return data


def _str(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise PlaygroundError(f"{key!r} is required")
    return value


def build_playground_app(playground: Playground) -> Starlette:
    async def run(fn: Any, *args: Any) -> Response:
        try:
            result = await anyio.to_thread.run_sync(fn, *args)
        except PlaygroundError as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=400)
        if isinstance(result, ActionResult):
            return JSONResponse(result.to_json())
        return JSONResponse({"ok": True} if result is None else result)

    async def index(_request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def state(request: Request) -> Response:
        user = request.query_params.get("user") or playground.people[0].id
        response = await run(playground.snapshot, user)
        if response.status_code == 200 and isinstance(response, JSONResponse):
            body = json.loads(bytes(response.body))
            if body.get("rev") == request.query_params.get("rev"):
                return JSONResponse({"same": True, "rev": body["rev"]})
        return response

    async def download(request: Request) -> Response:
        return _file(playground, str(request.path_params["file_id"]))

    def endpoint(handler: Any) -> Any:
        async def wrapped(request: Request) -> Response:
            try:
                data = await _json_body(request)
                args = handler(data)
            except PlaygroundError as exc:
                return JSONResponse({"ok": False, "error": str(exc)}, status_code=400)
            return await run(*args)

        return wrapped

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/favicon.ico", lambda _r: Response(status_code=204), methods=["GET"]),
        Route("/api/state", state, methods=["GET"]),
        Route("/api/command", endpoint(lambda d: (playground.command, _str(d, "user"), _str(d, "channel"),
                                                  _str(d, "text"))), methods=["POST"]),
        Route("/api/action", endpoint(lambda d: (playground.action, _str(d, "user"), d)), methods=["POST"]),
        Route("/api/submit", endpoint(lambda d: (playground.submit, _str(d, "user"), _str(d, "view_id"),
                                                 dict(d.get("values") or {}))), methods=["POST"]),
        Route("/api/close", endpoint(lambda d: (playground.close_view, _str(d, "user"), _str(d, "view_id"))),
              methods=["POST"]),
        Route("/api/home", endpoint(lambda d: (playground.open_home, _str(d, "user"))), methods=["POST"]),
        Route("/api/options", endpoint(lambda d: (
            playground.options, _str(d, "user"), _str(d, "view_id"), _str(d, "action_id"), _str(d, "block_id"),
            str(d.get("value") or ""), dict(d.get("values") or {}))), methods=["POST"]),
        Route("/files/{file_id}", download, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    return Starlette(routes=routes)


def _file(playground: Playground, file_id: str) -> Response:
    stored = playground.file(file_id)
    if stored is None:
        return JSONResponse({"ok": False, "error": "no such file"}, status_code=404)
    media = "text/csv; charset=utf-8" if stored.filename.lower().endswith(".csv") else "application/octet-stream"
    safe_name = "".join(c for c in stored.filename if c.isalnum() or c in "._-") or "file"
    return Response(stored.content, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{safe_name}"',
                             "X-Content-Type-Options": "nosniff"})


class PlaygroundServer:
    """Serves a :class:`Playground` on ``host:port`` (0: a free port) in a background thread; ``url`` once
    started. Hand-written start/stop because uvicorn offers no threaded server of its own."""

    def __init__(self, playground: Playground, host: str = "127.0.0.1", port: int = 0) -> None:
        self.playground = playground
        self.host = host
        self._port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        server = self._server
        if server is None or not server.servers:
            raise RuntimeError("the playground is not started")
        port = server.servers[0].sockets[0].getsockname()[1]
        return f"http://{self.host}:{port}/"

    def start(self, timeout: float = 10.0) -> PlaygroundServer:
        config = uvicorn.Config(build_playground_app(self.playground), host=self.host, port=self._port,
                                log_level="warning", access_log=False, lifespan="off")
        server = self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=server.run, name="ncebot-playground", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the playground could not listen on {self.host}:{self._port} (is the port taken?)")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._thread = None
        self.playground.close()

    def __enter__(self) -> PlaygroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
