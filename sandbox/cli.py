"""``ncebot sandbox``: serve the Partner Center sandbox in the foreground."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Mapping
from types import FrameType
from typing import Any

from sandbox import large_seed
from sandbox.server import SandboxServer


def serve(host: str, port: int, data: str | None, time_scale: float, seed: str = "default") -> int:
    """Print the client settings (``NAME=value``, one a line) and serve until Ctrl-C or SIGTERM.
    ``seed="large"``: the generated large partner of :mod:`sandbox.large_seed` instead of ``data``."""
    stop = threading.Event()
    source: str | Mapping[str, Any] | None = large_seed.build() if seed == large_seed.NAME else data

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    server = SandboxServer(host=host, port=port, data=source, time_scale=time_scale)
    try:
        server.start()
        for name, value in server.client_env().items():
            print(f"{name}={value}")
        sys.stdout.flush()
        print(
            f"Partner Center sandbox on {server.base_url} (time x{time_scale}, {len(server.state.customers)} "
            "customers); admin routes under /_sandbox/. "
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
