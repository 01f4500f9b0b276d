"""A bounded queue of slow work, apart from the threads that acknowledge Slack requests.

Bolt runs every listener, and the ``ack()`` inside it, on one small thread pool. A listener that went on to call
Partner Center (seconds) after acking kept its thread, so under a burst the acks of later requests queued behind
the slow work of earlier ones and Slack showed ``operation_timeout``. Listeners therefore only ack and hand the
rest to a :class:`WorkQueue`: its own threads, and a bounded backlog so that a burst is refused at once
(:class:`QueueFull`, with how many jobs are ahead) instead of growing without end.

Hand-written because :class:`concurrent.futures.ThreadPoolExecutor` has no bound on its backlog; it still runs
the jobs. Slack-free: listeners decide how to tell the user.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger(__name__)

DEFAULT_WORKERS = 16
DEFAULT_BACKLOG = 256


class QueueFull(Exception):
    """The backlog is full: ``ahead`` jobs are running or waiting."""

    def __init__(self, ahead: int) -> None:
        super().__init__(f"{ahead} jobs ahead")
        self.ahead = ahead


class Ticket:
    """A reserved place in the queue (:meth:`WorkQueue.reserve`): ``submit(job)`` uses it, ``release()`` gives
    it back unused. Reserving first lets a listener answer "busy" in its own ack, before acking anything else."""

    def __init__(self, queue: WorkQueue) -> None:
        self._queue = queue
        self._used = False

    def submit(self, job: Callable[[], object]) -> None:
        if self._used:
            raise RuntimeError("this ticket was already used")
        self._used = True
        self._queue._start(job)

    def release(self) -> None:
        if not self._used:
            self._used = True
            self._queue._done()


class WorkQueue:
    """``workers`` threads run jobs; at most ``workers + backlog`` jobs are accepted at a time (running or
    waiting). A job's exceptions are logged, never raised: jobs report their own errors to the user."""

    def __init__(self, workers: int = DEFAULT_WORKERS, backlog: int = DEFAULT_BACKLOG,
                 name: str = "ncebot-work") -> None:
        if workers < 1 or backlog < 0:
            raise ValueError("a work queue needs at least one worker and a backlog of 0 or more")
        self.workers = workers
        self.capacity = workers + backlog
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._lock = threading.Lock()
        self._pending = 0
        self._closed = False

    @property
    def pending(self) -> int:
        """Jobs accepted and not yet finished (running or waiting), reserved places included."""
        with self._lock:
            return self._pending

    def reserve(self) -> Ticket:
        """A place for one job, or :class:`QueueFull` when ``capacity`` jobs are already accepted."""
        with self._lock:
            if self._closed or self._pending >= self.capacity:
                raise QueueFull(self._pending)
            self._pending += 1
        return Ticket(self)

    def submit(self, job: Callable[[], object]) -> None:
        """Reserve and submit in one step (:class:`QueueFull` when full)."""
        self.reserve().submit(job)

    def _start(self, job: Callable[[], object]) -> None:
        def run() -> None:
            try:
                job()
            except Exception:
                log.exception("a queued job failed")
            finally:
                self._done()

        try:
            self._executor.submit(run)
        except RuntimeError:  # shut down meanwhile
            self._done()
            raise

    def _done(self) -> None:
        with self._lock:
            self._pending -= 1

    def close(self, wait: bool = True) -> None:
        """Accept nothing more; let running jobs finish (``wait``), drop the ones still waiting."""
        with self._lock:
            self._closed = True
        self._executor.shutdown(wait=wait, cancel_futures=True)
