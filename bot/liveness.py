"""This process's heartbeat (issue 9, point 7): how others know it is alive, and so when it is not.

Every ``ncebot run`` process has an instance id (``host:pid:random``, also its poller-lease holder id and the
``claimed_by`` of the Partner Center operations it sends). A daemon thread pushes the instance's ``alive_until``
forward every ``timeout / 3``; after a kill -9 (or any stop) the row is no longer refreshed, and once
``alive_until`` passes, any other process — the restarted one, another replica, the new lease holder — takes
over its claims at once (``storage.repositories.holder_is_dead``) instead of waiting for their 10-minute lease.

A stop does not declare the instance dead early: listener threads may still be finishing a Partner Center call,
so its claims wait for the heartbeat to run out like a crash's. A tiny thread instead of an APScheduler job
because it must beat on every replica (the scheduler's jobs run only on the lease holder) and before the
scheduler starts.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.domain import Clock, utc_now
from storage import liveness

log = logging.getLogger("ncebot.liveness")

MIN_TIMEOUT = timedelta(seconds=3)
MAX_TIMEOUT = timedelta(seconds=30)


def liveness_timeout(poll_interval: timedelta) -> timedelta:
    """How long a silent instance counts as alive: one poll interval (so a crash is taken over by the next run of
    the resume job, "within one poll interval"), kept between 3 s (a slow commit must not look like a death) and
    30 s (no need to wait longer to be sure)."""
    return max(MIN_TIMEOUT, min(MAX_TIMEOUT, poll_interval))


def new_instance_id() -> str:
    import os
    import socket
    import uuid

    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class InstanceHeartbeat:
    def __init__(self, session_factory: sessionmaker[Session], clock: Clock, *, timeout: timedelta,
                 instance_id: str | None = None) -> None:
        if timeout <= timedelta(0):
            raise ValueError("timeout must be positive")
        self._sessions = session_factory
        self._clock = clock
        self.timeout = timeout
        self.id = instance_id or new_instance_id()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def beat(self) -> bool:
        """One heartbeat (and the purge of instances long dead). False, with a warning, if the database failed."""
        now = utc_now(self._clock)
        try:
            with self._sessions.begin() as session:
                liveness.heartbeat(session, self.id, now, self.timeout)
                liveness.forget_long_dead(session, now)
        except Exception:
            log.warning("instance %s: heartbeat failed", self.id, exc_info=True)
            return False
        return True

    def start(self) -> InstanceHeartbeat:
        if self._thread is None:
            self.beat()
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="ncebot-heartbeat", daemon=True)
            self._thread.start()
            log.info("instance %s alive (heartbeat every %.1f s)", self.id, self.timeout.total_seconds() / 3)
        return self

    def _run(self) -> None:
        interval = self.timeout.total_seconds() / 3
        while not self._stop.wait(interval):
            self.beat()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None:
            thread.join(timeout=10)
