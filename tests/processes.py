"""``ncebot run`` as a real subprocess for end-to-end tests.

It starts with ``PORT=0`` and reports the port it bound ("serving HTTP on port N"), so no test races another
process for a port picked in advance. A thread drains its output: a full pipe would block its logging.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

_SERVING = re.compile(r"serving HTTP on port (\d+):")


class RunningBot:
    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=cwd, env={**env, "PORT": "0"},
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_until_serving(self, timeout: float = 60.0, *, line: re.Pattern[str] = _SERVING,
                           what: str = "start serving") -> str:
        """The base URL once the process prints ``line`` (its group 1: the port); AssertionError with its output
        if it exits first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = line.search(self.output)
            if found:
                return f"http://127.0.0.1:{found.group(1)}"
            if self.proc.poll() is not None:
                self._reader.join(timeout=5)
                raise AssertionError(f"ncebot run exited with {self.proc.returncode}:\n{self.output}")
            time.sleep(0.05)
        raise AssertionError(f"ncebot run did not {what} within {timeout} s:\n{self.output}")

    def stop(self) -> int:
        """SIGTERM, as an orchestrator would; the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._reader.join(timeout=10)
        return code

    def kill(self) -> None:
        """SIGKILL: a crash, no clean-up."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._reader.join(timeout=10)


def start_bot(env: dict[str, str], cwd: Path) -> tuple[RunningBot, str]:
    bot = RunningBot(env, cwd)
    try:
        return bot, bot.wait_until_serving()
    except AssertionError:
        bot.kill()
        raise
