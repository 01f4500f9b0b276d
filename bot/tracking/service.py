"""``TrackingService``: the background side of ncebot (issue #5).

Jobs (APScheduler, see :mod:`bot.tracking.scheduler`), each running only while this process holds the database
lease "poller" (one poller across replicas; a standby takes over once the holder's lease expired):

- poll in-flight migrations, poll active schedules, poll watched customers (every ``NCEBOT_POLL_INTERVAL``);
- expire pending requests (60 s); finish interrupted submissions (every poll interval);
- drain the Slack outbox (2 s).

Wiring (``bot.runtime``)::

    outbox = Outbox(session_factory, clock)
    notifier = OutboxNotifier(SlackNotifier(client, channel, notify_channel=…), outbox)
    workflow = Workflow(..., notifier=notifier, ...)            # the workflow's thread posts become durable too
    service = TrackingService(settings, workflow, session_factory, partner_center, client, notifier, clock,
                              metrics=metrics)
    service.start(); health.add("poller_lease", lease_check(service.lease_state)); ...; service.stop()
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.campaigns.jobs import SUBMIT_SECONDS, SubmissionJobs
from bot.campaigns.runner import CampaignRunner
from bot.campaigns.tracking import CampaignTracker
from bot.domain import Clock, MessagePoster, utc_now
from bot.partner_center.client import PartnerCenterClient
from bot.settings import Settings
from bot.tracking.lease import DatabaseLease, LeaseState
from bot.tracking.outbox import OutboxDrainer, OutboxNotifier
from bot.tracking.scheduler import (
    JOB_DRAIN_OUTBOX,
    JOB_EXPIRE_PENDING,
    JOB_POLL_MIGRATIONS,
    JOB_POLL_SCHEDULES,
    JOB_POLL_WATCHED,
    JOB_RESUME_SUBMISSIONS,
    JOB_WEBHOOK_MODE,
    JobSpec,
    build_scheduler,
)
from bot.tracking.tracker import Tracker
from bot.workflow import Workflow

log = logging.getLogger("ncebot.tracking.service")

DRAIN_SECONDS = 2.0
EXPIRY_SECONDS = 60.0
WEBHOOK_MODE_SECONDS = 3600.0  # SPEC §11: the registration is read at start and hourly
# The jobs whose pace follows the webhook registration: status polls become a slow reconciliation.
POLL_JOBS = (JOB_POLL_MIGRATIONS, JOB_POLL_SCHEDULES, JOB_POLL_WATCHED)


class TrackingService:
    def __init__(
        self,
        settings: Settings,
        workflow: Workflow,
        session_factory: sessionmaker[Session],
        partner_center: PartnerCenterClient,
        slack_client: WebClient,
        notifier: OutboxNotifier,
        clock: Clock,
        holder_id: str | None = None,
        metrics: Any = None,
        *,
        lease_ttl: timedelta | None = None,
        post_spacing: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        drain_seconds: float = DRAIN_SECONDS,
        expiry_seconds: float = EXPIRY_SECONDS,
    ) -> None:
        self.settings = settings
        self.workflow = workflow
        self._sessions = session_factory
        self._clock = clock
        self._metrics = metrics
        self.interval = timedelta(seconds=settings.ncebot_poll_interval)
        self._pc = partner_center
        self.webhooks_active = False
        self.drain_seconds = drain_seconds
        self.expiry_seconds = expiry_seconds
        self.notifier = notifier
        self.outbox = notifier.outbox  # the tracker's thread posts share the workflow's outbox
        self._slack_notifier: MessagePoster = notifier.slack
        self.lease = DatabaseLease(
            session_factory, name="poller", holder_id=holder_id, ttl=lease_ttl or self.interval * 2, clock=clock
        )
        self.tracker = Tracker(
            session_factory=session_factory,
            partner_center=partner_center,
            outbox=self.outbox,
            clock=clock,
            interval=self.interval,
            notify_channel=settings.notify_channel,
            watched_customers=workflow.watched_customers,
            on_commit=self.wake_drainer,
        )
        self.drainer = OutboxDrainer(
            session_factory,
            slack_client,
            clock=clock,
            update_parent=self._update_parent,
            spacing=post_spacing,
            sleep=sleep,
            monotonic=monotonic,
        )
        # Submission and campaigns run here, on the lease holder (issue #10 item 3, SPEC §8.3).
        self.campaign_runner = CampaignRunner(session_factory=session_factory, partner_center=partner_center,
                                              outbox=self.outbox, clock=clock, instance_id=self.lease.holder_id,
                                              on_commit=self.wake_drainer)
        self.submissions = SubmissionJobs(session_factory=session_factory, runner=self.campaign_runner,
                                          submit_one=workflow.submit, partner_center=partner_center, clock=clock,
                                          instance_id=self.lease.holder_id,
                                          create_window=settings.create_limit.window, on_done=self.wake_drainer)
        self.campaign_tracker = CampaignTracker(session_factory=session_factory, partner_center=partner_center,
                                                outbox=self.outbox, clock=clock, on_commit=self.wake_drainer)
        workflow.on_approved = self.wake_submissions
        self.tracker.reconciler.campaigns = lambda customer: self.campaign_tracker.poll(only=customer)
        self._synchronous = False  # run_once: wait for the submissions it starts
        self.scheduler: BackgroundScheduler | None = None
        self.extra_jobs: dict[str, tuple[Callable[[], object], float]] = {}  # add_job (e.g. SPEC §10 deadlines)
        self._last_poll: datetime | None = None
        self._lock = threading.Lock()
        self._wake_pending = threading.Event()

    @property
    def holder_id(self) -> str:
        return self.lease.holder_id

    def _now(self) -> datetime:
        return utc_now(self._clock)

    # --- jobs -------------------------------------------------------------------------------------------------
    def _update_parent(self, request_id: str) -> None:
        self._slack_notifier.update_request(self.workflow.get_request(request_id))

    def _gated(self, name: str, func: Callable[[], object]) -> Callable[[], bool]:
        """Run ``func`` only while this process holds the lease; log and swallow every error."""

        def run() -> bool:
            try:
                if not self.lease.ensure():
                    return False
                func()
                return True
            except Exception:
                log.exception("background job %s failed", name)
                return False

        run.__name__ = name.replace(".", "_")
        return run

    def _poll_migrations(self) -> None:
        now = self._now()
        with self._lock:
            last, self._last_poll = self._last_poll, now
        if self._metrics is not None:
            lag = 0.0 if last is None else (now - last).total_seconds() - self.interval.total_seconds()
            self._metrics.set_poll_lag(max(lag, 0.0))
        self.tracker.poll_migrations()
        self.campaign_tracker.poll()

    def _expire(self) -> None:
        self.workflow.expire_pending()

    def _submit(self) -> None:
        self.submissions.run_due(wait_for_all=self._synchronous)

    def wake_submissions(self, _request_id: str | None = None) -> None:
        """Look for approved work now rather than at the next tick (this process just approved something; on
        another replica the holder finds it within ``SUBMIT_SECONDS``)."""
        scheduler = self.scheduler
        if scheduler is None or not scheduler.running:
            return
        with contextlib.suppress(JobLookupError):
            scheduler.modify_job(JOB_RESUME_SUBMISSIONS, next_run_time=datetime.now(UTC))

    def add_job(self, name: str, func: Callable[[], object], seconds: float) -> None:
        """Another lease-holder job (before ``start``); it runs after the built-in ones in ``run_once``."""
        self.extra_jobs[name] = (func, seconds)

    def _drain_until_quiet(self) -> None:
        # A wake that arrives while a drain runs cannot start a second instance (max_instances=1: APScheduler
        # skips that run and waits for the next tick), so the running drain goes round again instead.
        while True:
            self._wake_pending.clear()
            self.drainer.drain()
            if not self._wake_pending.is_set():
                return

    def wake_drainer(self) -> None:
        """Drain the outbox now rather than at its next tick (a poll or a webhook just committed posts)."""
        self._wake_pending.set()
        scheduler = self.scheduler
        if scheduler is None or not scheduler.running:
            return
        with contextlib.suppress(JobLookupError):  # shutting down
            scheduler.modify_job(JOB_DRAIN_OUTBOX, next_run_time=datetime.now(UTC))

    def refresh_webhook_mode(self) -> bool:
        """Read the partner's registration: while it points at NCEBOT_PUBLIC_URL, polling is a reconciliation
        every NCEBOT_RECONCILE_INTERVAL, else every NCEBOT_POLL_INTERVAL. Returns whether webhooks are active."""
        from bot.webhooks.registration import webhooks_point_here

        if not self.settings.ncebot_public_url:
            active = False
        else:
            try:
                active = webhooks_point_here(self._pc, self.settings)
            except Exception as exc:  # keep the current pace until Partner Center answers
                log.warning("could not read the webhook registration: %s", exc)
                return self.webhooks_active
        seconds = self.settings.ncebot_reconcile_interval if active else self.settings.ncebot_poll_interval
        interval = timedelta(seconds=seconds)
        if active != self.webhooks_active:
            log.info("webhooks %s: status polling every %s", "registered here" if active else "not registered here",
                     interval)
        self.webhooks_active = active
        if interval != self.interval:
            self.interval = self.tracker.interval = interval
            scheduler = self.scheduler
            if scheduler is not None and scheduler.running:
                for job_id in POLL_JOBS:
                    scheduler.reschedule_job(job_id, trigger=IntervalTrigger(seconds=seconds, timezone=UTC))
        return active

    def _webhook_mode(self) -> None:
        """(Not lease work: ``run_once`` still reports False on a standby.)"""
        self.refresh_webhook_mode()

    def jobs(self) -> dict[str, JobSpec]:
        poll = float(self.interval.total_seconds())
        extra = {name: JobSpec(self._gated(name, func), seconds) for name, (func, seconds) in self.extra_jobs.items()}
        return {
            JOB_RESUME_SUBMISSIONS: JobSpec(self._gated(JOB_RESUME_SUBMISSIONS, self._submit), SUBMIT_SECONDS),
            JOB_EXPIRE_PENDING: JobSpec(self._gated(JOB_EXPIRE_PENDING, self._expire), self.expiry_seconds),
            JOB_POLL_SCHEDULES: JobSpec(self._gated(JOB_POLL_SCHEDULES, self.tracker.poll_schedules), poll),
            JOB_POLL_MIGRATIONS: JobSpec(self._gated(JOB_POLL_MIGRATIONS, self._poll_migrations), poll),
            JOB_POLL_WATCHED: JobSpec(self._gated(JOB_POLL_WATCHED, self.tracker.poll_watched), poll),
            JOB_DRAIN_OUTBOX: JobSpec(self._gated(JOB_DRAIN_OUTBOX, self._drain_until_quiet), self.drain_seconds),
            # Every replica keeps its own pace (not gated by the lease), so a standby that takes over has it.
            JOB_WEBHOOK_MODE: JobSpec(self._webhook_mode, WEBHOOK_MODE_SECONDS),
            **extra,
        }

    # --- lifecycle --------------------------------------------------------------------------------------------
    def start(self, *, paused: bool = False) -> TrackingService:
        if self.scheduler is None or not self.scheduler.running:
            self.scheduler = build_scheduler(self.jobs())
            self.scheduler.start(paused=paused)
            if self.settings.ncebot_public_url:  # read the registration at start, not an hour later
                self.scheduler.modify_job(JOB_WEBHOOK_MODE, next_run_time=datetime.now(UTC))
            log.info("tracking started (holder %s, poll every %s)", self.holder_id, self.interval)
        return self

    def stop(self, *, release: bool = True, wait: bool = True) -> None:
        """Stop the jobs; ``release=False`` leaves the lease to expire (what a crash looks like to the others)."""
        scheduler, self.scheduler = self.scheduler, None
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=wait)
        if wait:
            self.submissions.close()
        if release:
            self.lease.release()

    def run_once(self) -> bool:
        """One synchronous pass of every job in a sensible order (tests, demo). False when not the lease holder."""
        ran = False
        self._synchronous = True
        try:
            for spec in self.jobs().values():
                ran = bool(spec.func()) or ran
        finally:
            self._synchronous = False
        return ran

    def lease_state(self) -> LeaseState:
        return self.lease.state()
