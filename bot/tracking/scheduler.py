"""APScheduler 3.x registration of the background jobs (engineering notes §4).

BackgroundScheduler (Bolt's sync App is thread-based), UTC, MemoryJobStore (the jobs are bound methods: nothing
is pickled), explicit ids with ``replace_existing=True``, and job defaults ``coalesce=True``, ``max_instances=1``,
``misfire_grace_time=300`` so runs missed during a pause are run once instead of dropped or stacked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger("ncebot.tracking.scheduler")

JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}

# Explicit job ids (a restart replaces, never duplicates).
JOB_POLL_MIGRATIONS = "ncebot.poll_migrations"
JOB_POLL_SCHEDULES = "ncebot.poll_schedules"
JOB_POLL_WATCHED = "ncebot.poll_watched"
JOB_EXPIRE_PENDING = "ncebot.expire_pending"
JOB_RESUME_SUBMISSIONS = "ncebot.resume_submissions"
JOB_DRAIN_OUTBOX = "ncebot.drain_outbox"
JOB_WEBHOOK_MODE = "ncebot.webhook_mode"  # reads the webhook registration: poll or only reconcile (issue #12)
JOB_IDS = (
    JOB_POLL_MIGRATIONS,
    JOB_POLL_SCHEDULES,
    JOB_POLL_WATCHED,
    JOB_EXPIRE_PENDING,
    JOB_RESUME_SUBMISSIONS,
    JOB_DRAIN_OUTBOX,
    JOB_WEBHOOK_MODE,
)


@dataclass(frozen=True)
class JobSpec:
    func: Callable[[], object]
    seconds: float


def build_scheduler(jobs: Mapping[str, JobSpec], *, workers: int = 4) -> BackgroundScheduler:
    """A not-yet-started scheduler with every job registered (start it with ``start(paused=…)``)."""
    scheduler = BackgroundScheduler(
        jobstores={"default": MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(max_workers=workers)},
        job_defaults=dict(JOB_DEFAULTS),
        timezone=UTC,
    )
    for job_id, spec in jobs.items():
        scheduler.add_job(
            spec.func,
            trigger=IntervalTrigger(seconds=spec.seconds, timezone=UTC),
            id=job_id,
            name=job_id,
            replace_existing=True,
        )
    return scheduler
