"""``ncebot sandbox``: serve the Partner Center sandbox in the foreground."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Mapping
from types import FrameType
from typing import Any

from sandbox import large_seed
from sandbox.errors import ApiError
from sandbox.faults import Faults
from sandbox.server import SandboxServer


def faults_from_env(env: Mapping[str, str], create_latency: float | None = None) -> dict[str, Any]:
    """Fault settings given at start: ``SANDBOX_FAULTS`` (a JSON object of fault keys, as ``POST /_sandbox/faults``
    takes), then ``SANDBOX_CREATE_LATENCY`` (seconds), then ``create_latency`` (a command-line option) on top.
    ValueError names the variable when one is not what it should be (checked like the faults route does)."""
    faults: dict[str, Any] = {}
    raw = env.get("SANDBOX_FAULTS", "").strip()
    if raw:
        try:
            parsed = json.loads(raw)
        except ValueError as exc:
            raise ValueError(f"SANDBOX_FAULTS is not JSON: {exc}") from exc
        if not isinstance(parsed, dict):
            raise ValueError('SANDBOX_FAULTS must be a JSON object, e.g. {"create_latency": 1}')
        faults.update(parsed)
    if env.get("SANDBOX_CREATE_LATENCY", "").strip():
        try:
            faults["create_latency"] = float(env["SANDBOX_CREATE_LATENCY"])
        except ValueError as exc:
            raise ValueError("SANDBOX_CREATE_LATENCY must be a number of seconds") from exc
    if create_latency is not None:
        faults["create_latency"] = create_latency
    try:
        Faults().update(faults)
    except ApiError as exc:
        raise ValueError(f"SANDBOX_FAULTS / SANDBOX_CREATE_LATENCY: {exc.description}") from exc
    return faults


def serve(host: str, port: int, data: str | None, time_scale: float, seed: str = "default", *,
          create_latency: float | None = None, env: Mapping[str, str] | None = None) -> int:
    """Print the client settings (``NAME=value``, one a line) and serve until Ctrl-C or SIGTERM.
    ``seed="large"``: the generated large partner of :mod:`sandbox.large_seed` instead of ``data``.
    Faults from :func:`faults_from_env` apply from the start and survive ``POST /_sandbox/reset``."""
    try:
        faults = faults_from_env(os.environ if env is None else env, create_latency)
    except ValueError as exc:
        print(f"ncebot sandbox: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    source: str | Mapping[str, Any] | None = large_seed.build() if seed == large_seed.NAME else data

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    server = SandboxServer(host=host, port=port, data=source, time_scale=time_scale,
                           settings={"faults": faults} if faults else None)
    try:
        server.start()
        for name, value in server.client_env().items():
            print(f"{name}={value}")
        sys.stdout.flush()
        print(
            f"Partner Center sandbox on {server.base_url} (time x{time_scale}, {len(server.state.customers)} "
            f"customers{', faults ' + json.dumps(faults) if faults else ''}); admin routes under /_sandbox/. "
            "Ctrl-C to stop.",
            file=sys.stderr,
            flush=True,
        )
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        signal.signal(signal.SIGTERM, previous)
    return 0
