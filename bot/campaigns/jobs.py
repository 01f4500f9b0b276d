"""Submission as a durable job on the lease holder (issue #10 item 3, SPEC §8.3).

The job *is* the database: an ``approved`` request (and a campaign still sending) is work to do. The lease holder
looks every ``SUBMIT_SECONDS`` (and at once when this process approved something) and hands each request to a
small pool, one thread per request, so one long campaign never holds up a single migration's submission. With one
executor (the lease holder) the client's limiter is the limit for all replicas; a new holder picks the work up
from the database, and an operation left ``sending`` by a dead holder is taken over at once (``claimed_by``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.campaigns.runner import CampaignRunner
from bot.domain import Clock, RequestState, utc_now
from bot.partner_center.client import PartnerCenterClient
from storage import campaigns as campaign_store
from storage import repositories as repo

log = logging.getLogger("ncebot.submissions")

SUBMIT_SECONDS = 2.0


class SubmissionJobs:
    def __init__(self, *, session_factory: sessionmaker[Session], runner: CampaignRunner,
                 submit_one: Callable[[str], object], workers: int = 4,
                 partner_center: PartnerCenterClient | None = None, clock: Clock | None = None,
                 instance_id: str | None = None, create_window: float = 300.0,
                 on_done: Callable[[], None] | None = None) -> None:
        self._sessions = session_factory
        self._on_done = on_done or (lambda: None)  # wake the outbox drainer: the submission's posts are queued
        self._pc = partner_center
        self._clock = clock
        self._instance_id = instance_id
        self._create_window = create_window
        self._counted: set[int] = set()  # creates of other processes already counted in the client's window
        self._runner = runner
        self._submit_one = submit_one
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._running: dict[str, Future[None]] = {}
        self._lock = threading.Lock()

    def due(self) -> list[str]:
        with self._sessions() as session:
            approved = repo.approved_request_ids(session)
            sending = campaign_store.campaigns_to_run(session, (RequestState.SUBMITTED.value,))
        return list(dict.fromkeys([*approved, *sending]))

    def count_creates_made_elsewhere(self) -> int:
        """One executor means one limiter, but a new lease holder starts with an empty window while Partner Center
        still counts the creates of the holder before it: those count here too (idempotent per operation)."""
        if self._pc is None or self._clock is None:
            return 0
        now = utc_now(self._clock)
        with self._sessions() as session:
            rows = campaign_store.recent_creates(session, now - timedelta(seconds=self._create_window), now,
                                                 not_by=self._instance_id)
        fresh = [(i, at) for i, at in rows if i not in self._counted]
        self._counted.update(i for i, _ in fresh)
        return self._pc.note_creates_elsewhere((now - at).total_seconds() for _, at in fresh)

    def run_due(self, *, wait_for_all: bool = False) -> int:
        """Start every request that is due and not already running here; returns how many were started (or, with
        ``wait_for_all``, are waited for)."""
        self.count_creates_made_elsewhere()
        with self._sessions() as session:
            campaigns = set(campaign_store.campaigns_to_run(
                session, (RequestState.APPROVED.value, RequestState.SUBMITTED.value)))
        started: list[Future[None]] = []
        for request_id in self.due():
            with self._lock:
                running = self._running.get(request_id)
                if running is not None and not running.done():
                    if wait_for_all:
                        started.append(running)  # started by the scheduler's tick: wait for it too
                    continue
                if self._pool is None:
                    self._runner.stopping.clear()
                    self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="ncebot-submit")
                future = self._pool.submit(self._run, request_id, request_id in campaigns)
                self._running[request_id] = future
            started.append(future)
        if wait_for_all:
            wait(started)
        return len(started)

    def is_running(self, request_id: str) -> bool:
        """Whether a pass over this request runs here now (a paused campaign's pass ends after its in-flight
        operations)."""
        with self._lock:
            future = self._running.get(request_id)
            return future is not None and not future.done()

    def _run(self, request_id: str, campaign: bool) -> None:
        try:
            if campaign:
                self._runner.run(request_id)
            else:
                self._submit_one(request_id)
        except Exception:
            log.exception("submitting request %s failed; the next pass resumes it", request_id)
        finally:
            self._on_done()
            with self._lock:
                self._running.pop(request_id, None)

    def close(self) -> None:
        """Stop: running campaigns finish the operations in flight and start no new one (resumed later)."""
        self._runner.stopping.set()
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
