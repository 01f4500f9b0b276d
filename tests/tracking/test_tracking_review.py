"""Status tracking, continued (issue #5 review): schedules changed through ncebot, failed schedules, Partner Center
throttling while polling, the BackgroundScheduler firing jobs on its own, and the lease across real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time as wall
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import httpx
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobExecutionEvent
from sqlalchemy.orm import Session, sessionmaker

from bot.domain import ChangeOptions, RequestKind, RequestState
from bot.partner_center.client import PartnerCenterClient, build_partner_center_client
from bot.partner_center.limiter import RateLimiter, RateLimits
from bot.partner_center.models import Migration, MigrationSchedule
from bot.texts.thread import sentence
from bot.tracking.scheduler import JOB_DRAIN_OUTBOX, JOB_IDS, JOB_POLL_MIGRATIONS
from bot.tracking.tracker import Tracker, failed_text
from sandbox import known
from storage import repositories as repo
from tests.tracking.conftest import APPROVER, REQUESTER, TrackingEnv, count

REPO_ROOT = Path(__file__).resolve().parents[2]


def _target_date(env: TrackingEnv, days: int) -> date:
    return (env.clock.now() + timedelta(days=days)).date()


# --- (a) one full stop ------------------------------------------------------------------------------------------


def test_failure_texts_end_sentences_once() -> None:
    migration = Migration.model_validate({
        "id": "m-1", "status": "Failed", "errorCode": 900225,
        "errorDescription": "Migration failed: reduce the quantity and retry.",
    })
    text = failed_text("U1", migration, "active")
    assert ".." not in text
    assert "reduce the quantity and retry. The legacy subscription is active again" in text
    no_stop = failed_text("U1", migration.model_copy(update={"error_description": "no stop"}), "active")
    assert "900225: no stop. The legacy" in no_stop
    assert sentence("done...") == "done." and sentence("ok") == "ok." and sentence("why?") == "why?"
    announced = Tracker._migration_announcement("c-1", migration, "Failed")
    assert announced.endswith("retry.") and ".." not in announced
    schedule = MigrationSchedule.model_validate({
        "id": "s-1", "status": "Failed", "errorCode": 900219, "errorDescription": "An add-on was bought.",
    })
    assert ".." not in Tracker._schedule_announcement("c-1", schedule, "Failed")


# --- (b) reschedule and cancel through the bot ------------------------------------------------------------------


def test_schedule_moved_then_cancelled_through_the_bot_says_by_which_request(tracking_env: TrackingEnv) -> None:
    env = tracking_env
    node = env.node()
    first = _target_date(env, 10)
    view = env.approved(node, RequestKind.SCHEDULE, known.FABRIKAM, known.SCHEDULE_SUB,
                        ChangeOptions(target_date=first))
    assert view.schedule_id
    node.service.run_once()

    later = first + timedelta(days=5)
    move = node.workflow.request_change(kind=RequestKind.RESCHEDULE, requester="UOTHER0001", customer_id=known.FABRIKAM,
                                        schedule_id=view.schedule_id, options=ChangeOptions(target_date=later))
    assert env.decide(node, move.id).state is RequestState.COMPLETED
    node.service.run_once()
    node.service.run_once()
    texts = env.thread_texts(view)
    moved = [t for t in texts if f"changed by request `{move.id}`" in t]
    assert len(moved) == 1, texts
    assert f"moved to {later.isoformat()} (was {first.isoformat()})" in moved[0]
    assert f"asked by <@UOTHER0001>, approved by <@{APPROVER}>" in moved[0] and f"<@{REQUESTER}>" in moved[0]
    assert not any("outside ncebot" in t for t in texts)

    cancel = node.workflow.request_change(kind=RequestKind.CANCEL, requester=REQUESTER, customer_id=known.FABRIKAM,
                                          schedule_id=view.schedule_id)
    assert env.decide(node, cancel.id).state is RequestState.COMPLETED
    node.service.run_once()
    node.service.run_once()
    texts = env.thread_texts(view)
    cancelled = [t for t in texts if "cancelled" in t]
    assert len(cancelled) == 1, texts
    assert f"cancelled by request `{cancel.id}`" in cancelled[0] and f"approved by <@{APPROVER}>" in cancelled[0]
    assert not any("outside ncebot" in t for t in texts)
    assert count(texts, lambda t: f"changed by request `{move.id}`" in t) == 1  # not repeated
    current = node.workflow.get_request(view.id)
    assert current.state is RequestState.FAILED and current.error_code == "ScheduleCancelled"
    assert current.error_description and cancel.id in current.error_description


# --- (e) a schedule that fails ----------------------------------------------------------------------------------


def test_failed_schedule_reports_error_code_and_description(tracking_env: TrackingEnv) -> None:
    env = tracking_env
    node = env.node()
    target = _target_date(env, 10)
    view = env.approved(node, RequestKind.SCHEDULE, known.FABRIKAM, known.SCHEDULE_SUB,
                        ChangeOptions(target_date=target))
    assert view.schedule_id
    node.service.run_once()
    state = env.sandbox.state
    with state.lock:  # the subscription is suspended before the schedule is due: it fails when it runs
        state.subscription(state.customers[known.FABRIKAM.lower()], known.SCHEDULE_SUB).status = "suspended"
    due = datetime.combine(target, time(0), tzinfo=UTC)
    env.advance_sandbox((due - state.now()).total_seconds() + 1)
    node.service.run_once()
    node.service.run_once()

    schedule = node.pc.get_schedule(known.FABRIKAM, view.schedule_id)
    assert schedule.error_code is not None and schedule.error_description and not schedule.new_commerce_migration_id
    current = node.workflow.get_request(view.id)
    assert current.state is RequestState.FAILED and current.error_code == str(schedule.error_code)
    failed = [t for t in env.thread_texts(view) if "failed" in t]
    assert len(failed) == 1
    assert f"<@{REQUESTER}>" in failed[0] and str(schedule.error_code) in failed[0]
    assert schedule.error_description.rstrip(".") in failed[0] and ".." not in failed[0]
    assert "No migration was started; the legacy subscription is suspended" in failed[0]


# --- (e) polling through the client: Partner Center 429 is waited out, nothing lost ----------------------------


def test_partner_center_429_while_polling_is_waited_out(tracking_env: TrackingEnv) -> None:
    env = tracking_env
    built = build_partner_center_client(env.settings, verify=env.sandbox.ca_path)
    sleeps: list[float] = []
    http = httpx.Client(verify=env.sandbox.ssl_context())
    pc = PartnerCenterClient(base_url=built.base_url, token_provider=built.token_provider, http=http,
                             limiter=RateLimiter(RateLimits()), sleep=sleeps.append)
    try:
        node = env.node(pc=pc)
        view = env.approved(node, RequestKind.MIGRATE, known.CONTOSO, known.ELIGIBLE_SIMPLE)
        assert view.migration_id
        env.advance_sandbox(200)
        env.sandbox.state.set_faults({"throttle_next": 1, "retry_after": 7,
                                      "throttle_path": "/v1/migrations/newcommerce"})  # the customer's list call
        node.service.run_once()
        node.service.run_once()
        assert 7.0 in sleeps  # Retry-After honoured by the shared client (no real waiting: the sleep is injected)
        texts = env.thread_texts(view)
        assert count(texts, lambda t: f"<@{REQUESTER}>" in t and "completed" in t) == 1
        assert node.workflow.get_request(view.id).state is RequestState.COMPLETED
    finally:
        env.sandbox.state.clear_faults()
        http.close()
        built.close()


# --- (c) the BackgroundScheduler fires the jobs on its own -------------------------------------------------------


def _wait_for(condition: object, seconds: float = 20.0) -> bool:
    """Bounded wait for an effect of background threads (not a timing assertion: it only caps a hang)."""
    assert callable(condition)
    deadline = wall.monotonic() + seconds
    while wall.monotonic() < deadline:
        if condition():
            return True
        wall.sleep(0.05)
    return bool(condition())


def test_background_scheduler_runs_the_jobs_by_itself_only_on_the_lease_holder(tracking_env: TrackingEnv) -> None:
    env = tracking_env
    fast = env.settings.model_copy(update={"ncebot_poll_interval": 1})
    holder = env.node("replica-a", settings=fast, drain_seconds=0.2, expiry_seconds=0.2)
    standby = env.node("replica-b", settings=fast, drain_seconds=0.2, expiry_seconds=0.2)
    view = env.approved(holder, RequestKind.MIGRATE, known.CONTOSO, known.ELIGIBLE_SIMPLE)
    assert holder.service.lease.try_acquire()  # the test clock stands still: the lease stays live

    events: dict[str, list[tuple[str, object]]] = {"replica-a": [], "replica-b": []}
    problems: list[str] = []
    lock = threading.Lock()

    def listener(name: str):  # type: ignore[no-untyped-def]
        def record(event: JobExecutionEvent) -> None:
            with lock:
                if event.code == EVENT_JOB_EXECUTED:
                    events[name].append((event.job_id, event.retval))
                else:
                    problems.append(f"{name}: {event.job_id}: {event.code}")
        return record

    for made, name in ((standby, "replica-b"), (holder, "replica-a")):
        made.service.start()
        assert made.service.scheduler is not None
        made.service.scheduler.add_listener(listener(name), EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)

    def done() -> bool:
        texts = env.thread_texts(view)
        with lock:
            standby_tried = any(job == JOB_DRAIN_OUTBOX for job, _ in events["replica-b"])
        return (count(texts, lambda t: "`MigrationStarted`" in t) == 1
                and count(texts, lambda t: t.startswith("Submitted to Partner Center")) == 1 and standby_tried)

    assert _wait_for(done), (env.thread_texts(view), events)
    holder.service.stop(release=False)
    standby.service.stop(release=False)
    with lock:
        ran = {job for job, ok in events["replica-a"] if ok is True}
        assert {JOB_DRAIN_OUTBOX, JOB_POLL_MIGRATIONS} <= ran
        assert {job for job, _ in events["replica-a"] + events["replica-b"]} <= set(JOB_IDS)
        assert events["replica-b"] and all(ok is False for _, ok in events["replica-b"])  # gated by the lease
        assert problems == []
    assert env.sandbox.state.counts.get("query_migrations", 0) >= 1  # one list call per customer (issue #12)


# --- (d) two real processes, SIGKILL the holder -----------------------------------------------------------------


def _spawn(database_url: str, holder: str, interval: float) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.tracking.lease_worker", database_url, holder, str(interval)],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


class _Lines:
    """Reads a worker's stdout on a thread (so the test never blocks on a pipe)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            with self._lock:
                self.lines.append(line.strip())

    def snapshot(self) -> list[str]:
        with self._lock:
            return list(self.lines)

    def held(self) -> list[float]:
        return [float(line.split()[1]) for line in self.snapshot() if line.startswith("held ")]


def test_two_processes_one_poller_sigkill_the_holder_and_the_other_takes_over(
    session_factory: sessionmaker[Session], database_url: str,
) -> None:
    interval = 0.25  # lease ttl = two intervals, as in TrackingService
    a = _spawn(database_url, "proc-a", interval)
    b: subprocess.Popen[str] | None = None
    try:
        a_out = _Lines(a)
        assert _wait_for(lambda: len(a_out.held()) >= 2), a_out.snapshot()
        b = _spawn(database_url, "proc-b", interval)
        b_out = _Lines(b)
        assert _wait_for(lambda: b_out.snapshot().count("standby") >= 4), b_out.snapshot()
        assert b_out.held() == []  # only one polls while the holder lives
        with session_factory() as session:
            lease = repo.read_lease(session, "poller")
        assert lease is not None and lease[0] == "proc-a"
        a.send_signal(signal.SIGKILL)
        a.wait(timeout=10)
        with session_factory() as session:
            last = repo.read_lease(session, "poller")
        assert last is not None
        # The dead holder's last renewal (or, if the standby was already quicker, the one read before the kill).
        a_expires = (last[1] if last[0] == "proc-a" else lease[1]).timestamp()
        assert _wait_for(lambda: len(b_out.held()) >= 1), b_out.snapshot()
        took_over = b_out.held()[0]
        # The standby took the lease once the dead holder's lease (ttl = two intervals) had lapsed, not before.
        assert took_over >= a_expires
        with session_factory() as session:
            lease = repo.read_lease(session, "poller")
        assert lease is not None and lease[0] == "proc-b"
    finally:
        for proc in (a, b):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=10)
            if proc is not None and proc.stdout is not None:
                proc.stdout.close()
            if proc is not None and proc.stderr is not None:
                proc.stderr.close()
