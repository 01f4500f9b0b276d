"""One private answer, updated in place until the work is done (SPEC §9): ``response_url`` with
``replace_original``.

Slack lets a ``response_url`` be used at most five times (within 30 minutes), so the answer is spent with care:
the first answer at once, the estimate, progress at a few milestones of the work (a third, two thirds), and the
last use is kept for the final answer, whatever happens in between. Without a response_url (a modal opened from
elsewhere) each update is a new ephemeral message, so only the first and the final are sent.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Final

log = logging.getLogger(__name__)

USES: Final = 5  # Slack: "up to 5 times within 30 minutes"
MILESTONES: Final = (1 / 3, 2 / 3)

Send = Callable[[str, list[dict[str, Any]] | None, bool], None]  # (text, blocks, replace_original)


class ProgressAnswer:
    """Thread-safe: progress may be reported from a pool of workers."""

    def __init__(self, send: Send, *, uses: int = USES, in_place: bool = True) -> None:
        self._send = send
        self._left = uses if in_place else 2
        self._in_place = in_place
        self._lock = threading.Lock()
        self._reached = 0  # milestones passed
        self._sent = 0
        self._finished = False
        self._send_lock = threading.Lock()
        self._timer: threading.Timer | None = None

    @classmethod
    def of_respond(cls, respond: Callable[..., Any]) -> ProgressAnswer:
        """Through Bolt's ``respond`` (a command's response_url)."""

        def send(text: str, blocks: list[dict[str, Any]] | None, replace: bool) -> None:
            respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=replace)

        return cls(send)

    @classmethod
    def of_reply(cls, reply: Callable[[str, list[dict[str, Any]] | None], None]) -> ProgressAnswer:
        """Through a reply that cannot edit what it sent (an ephemeral or a DM): the first and the final only."""
        return cls(lambda text, blocks, _replace: reply(text, blocks), in_place=False)

    def _emit(self, text: str, blocks: list[dict[str, Any]] | None, *, final: bool) -> bool:
        # Sends are serialised, and nothing is sent after the final answer: a late progress update (a worker
        # thread, the slow-answer timer) must never replace the final answer in place.
        with self._send_lock:
            with self._lock:
                if self._finished or self._left <= (0 if final else 1):  # the last use is the final answer's
                    return False
                self._left -= 1
                replace = self._in_place and self._sent > 0
                self._sent += 1
                if final:
                    self._finished = True
            try:
                self._send(text, blocks, replace)
            except Exception:  # an update that fails must not stop the work
                log.warning("progress answer could not be sent", exc_info=True)
                return False
            return True

    def say(self, text: str, blocks: list[dict[str, Any]] | None = None) -> bool:
        """An update that must be seen (the first answer, the estimate), budget permitting."""
        if not self._in_place and self._sent > 0:
            return False
        return self._emit(text, blocks, final=False)

    def progress(self, done: int, total: int, text: Callable[[], str]) -> bool:
        """An update when ``done`` of ``total`` passes the next milestone; ``text`` is built only then."""
        if total <= 0 or not self._in_place:
            return False
        with self._lock:
            reached = sum(1 for m in MILESTONES if done >= m * total)
            if reached <= self._reached or done >= total:
                return False
            self._reached = reached
        return self._emit(text(), None, final=False)

    def unless_done_within(self, seconds: float, text: str) -> None:
        """Say ``text`` only if the work is still going after ``seconds`` (a quick answer stays one message)."""
        timer = threading.Timer(seconds, lambda: self.say(text))
        timer.daemon = True
        self._timer = timer
        timer.start()

    def finish(self, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._emit(text, blocks, final=True)
