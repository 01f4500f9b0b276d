"""Status tracking and threaded notifications (issue #5): the sandbox as Partner Center, the Slack stand-in as
Slack (real WebClient), the real Workflow and TrackingService on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

import httpx
import pytest
from sqlalchemy import select

from bot.domain import ChangeOptions, RequestKind, RequestState
from bot.health import lease_check
from bot.metrics import Metrics
from bot.partner_center.models import MigrationScheduleRequest
from bot.tracking.outbox import OutboxDrainer
from bot.tracking.scheduler import JOB_IDS
from sandbox import known
from storage import repositories as repo
from storage import tracking as store
from storage.tracking import OutboxMessage, TrackedItem
from tests.fixtures.slack import APPROVAL_CHANNEL
from tests.tracking.conftest import NOTIFY_CHANNEL, POLL_SECONDS, REQUESTER, TrackingEnv, count

EVENTS = ("MigrationStarted", "NewCommerceSubscriptionCreated", "NewCommerceSubscriptionProvisioned",
          "MigrationCompleted")


def _audit_actions(env: TrackingEnv, request_id: str) -> list[str]:
    with env.session_factory() as session:
        return [e.action for e in repo.audit_events(session, request_id=request_id)]


def test_migration_events_then_completion_one_message_each_and_parent_edited(tracking_env: TrackingEnv) -> None:
    env = tracking_env
    metrics = Metrics()
    node = env.node(metrics=metrics)
    view = env.approved(node, RequestKind.MIGRATE, known.CONTOSO, known.ELIGIBLE_SIMPLE)
    assert view.state is RequestState.PROCESSING and view.migration_id
    updates_before = len(env.standin.calls_to("chat.update"))

    assert node.service.run_once()
    texts = env.thread_texts(view)
    assert count(texts, lambda t: t.startswith("Submitted to Partner Center")) == 1
    assert count(texts, lambda t: "`MigrationStarted`" in t) == 1
    assert not any("completed" in t.lower() and "<@" in t for t in texts)

    for _ in range(3):  # created (60 s), provisioned (120 s), completed (180 s); extra polls change nothing
        env.advance_sandbox(60)
        env.clock.advance(timedelta(seconds=POLL_SECONDS))
        node.service.run_once()
        node.service.run_once()
    node.service.run_once()

    texts = env.thread_texts(view)
    for name in EVENTS:
        assert count(texts, lambda t, n=name: f"`{n}`" in t) == 1, (name, texts)  # type: ignore[misc]
    finals = [t for t in texts if f"<@{REQUESTER}>" in t and "completed" in t]
    current = node.workflow.get_request(view.id)
    assert current.state is RequestState.COMPLETED
    assert len(finals) == 1
    assert current.new_subscription_id and current.new_subscription_id in finals[0]
    assert current.new_order_id and current.new_order_id in finals[0]
    assert current.subscription_end_date and current.subscription_end_date.isoformat() in finals[0]
    assert len(texts) == 1 + len(EVENTS) + 1  # submitted, four events, the result: nothing else
    # The parent message was edited in place to the final state.
    assert len(env.standin.calls_to("chat.update")) > updates_before
    assert current.new_subscription_id in json.dumps(env.parent(view).blocks)
    assert "tracked_completed" in _audit_actions(env, view.id)
    assert metrics.poll_lag.value() == 0.0
    env.clock.advance(timedelta(seconds=3 * POLL_SECONDS))  # the poller was late by two intervals
    node.service.run_once()
    assert metrics.poll_lag.value() == 2 * POLL_SECONDS
    assert len(env.thread_texts(view)) == 1 + len(EVENTS) + 1


def test_failed_migration_reports_code_description_and_next_step(tracking_env: TrackingEnv) -> None:
    env = tracking_env
    node = env.node()
    view = env.approved(node, RequestKind.MIGRATE, known.CONTOSO, known.FAILING_SUB)
    node.service.run_once()
    env.advance_sandbox(200)
    node.service.run_once()
    node.service.run_once()

    current = node.workflow.get_request(view.id)
    assert current.state is RequestState.FAILED
    assert current.error_code == str(known.FAILING_ERROR_CODE) and current.error_description
    texts = env.thread_texts(view)
    finals = [t for t in texts if f"<@{REQUESTER}>" in t and "failed" in t]
    assert len(finals) == 1
    assert str(known.FAILING_ERROR_CODE) in finals[0] and current.error_description in finals[0]
    assert "may be retried" in finals[0]  # the sandbox reverts: the legacy subscription is active again
    assert ".." not in finals[0]  # Partner Center's description ends with a full stop already
    assert count(texts, lambda t: "`MigrationFailed`" in t) == 1
    assert "Failed" in json.dumps(env.parent(view).blocks)


def test_restart_while_processing_posts_completion_exactly_once(tracking_env: TrackingEnv) -> None:
    env = tracking_env
    first = env.node("replica-a")
    view = env.approved(first, RequestKind.MIGRATE, known.CONTOSO, known.ELIGIBLE_SIMPLE)
    first.service.start(paused=True)
    first.service.run_once()
    first.service.stop()  # orderly stop: the lease is released

    env.advance_sandbox(200)
    second = env.node("replica-b")  # a new process: new clients, workflow and service on the same database
    assert second.service.run_once()
    second.service.run_once()

    texts = env.thread_texts(view)
    assert count(texts, lambda t: f"<@{REQUESTER}>" in t and "completed" in t) == 1
    for name in EVENTS:
        assert count(texts, lambda t, n=name: f"`{n}`" in t) == 1  # type: ignore[misc]
    assert second.workflow.get_request(view.id).state is RequestState.COMPLETED


def _rows(env: TrackingEnv) -> list[store.OutboxRow]:
    with env.session_factory() as session:
        return store.outbox_rows(session, ("pending", "sending", "sent", "failed"))


def test_crash_between_posting_and_recording_is_not_reposted(tracking_env: TrackingEnv) -> None:
    env = tracking_env
    first = env.node("replica-a")
    view = env.approved(first, RequestKind.MIGRATE, known.CONTOSO, known.ELIGIBLE_SIMPLE)
    env.advance_sandbox(200)
    first.service.tracker.poll_migrations()  # completion known: events and the result are in the outbox

    drainer: OutboxDrainer = first.service.drainer
    pending = [r for r in _rows(env) if r.status == "pending"]
    final = next(r for r in pending if r.key.startswith("final:"))
    not_posted = next(r for r in pending if r.key.startswith("event:") and "MigrationStarted" not in r.text)
    # Crash 1: marked sending and really posted, but the ts was never recorded.
    started = drainer.begin(final)
    assert started is not None and started.status == "sending"
    posted_ts = drainer.post(started)
    # Crash 2: marked sending, the process died before chat.postMessage.
    assert drainer.begin(not_posted) is not None

    second = env.node("replica-b")
    second.service.run_once()
    second.service.run_once()

    texts = env.thread_texts(view)
    assert count(texts, lambda t: f"<@{REQUESTER}>" in t and "completed" in t) == 1
    assert count(texts, lambda t: not_posted.text == t) == 1
    rows = {r.id: r for r in _rows(env)}
    assert rows[final.id].status == "sent" and rows[final.id].ts == posted_ts
    assert all(r.status == "sent" for r in rows.values())
    replies = env.standin.calls_to("conversations.replies")
    assert replies, "the interrupted rows were looked up in the thread first"


@pytest.mark.parametrize("ttl_factor", [2])
def test_one_poller_across_replicas_and_standby_takes_over(tracking_env: TrackingEnv, ttl_factor: int) -> None:
    env = tracking_env
    holder, standby = env.node("replica-a"), env.node("replica-b")
    view = env.approved(holder, RequestKind.MIGRATE, known.CONTOSO, known.ELIGIBLE_SIMPLE)

    assert holder.service.run_once()
    slack_calls, pc_calls = len(env.standin.calls), dict(env.sandbox.state.counts)
    assert standby.service.run_once() is False  # its jobs do nothing
    assert len(env.standin.calls) == slack_calls and env.sandbox.state.counts == pc_calls
    state = standby.service.lease_state()
    assert (state.held, state.holder) == (False, "replica-a")
    assert holder.service.lease_state().held
    assert lease_check(standby.service.lease_state, now=env.clock.now)()[0]

    holder.service.stop(release=False)  # dies: the lease is left to expire
    ttl = timedelta(seconds=POLL_SECONDS * ttl_factor)
    env.advance_sandbox(180)  # completed: the status changed, so its events are fetched and posted
    env.clock.advance(ttl / 2)
    assert standby.service.run_once() is False  # the holder's lease is still live
    env.clock.advance(ttl / 2 + timedelta(seconds=1))
    assert not lease_check(standby.service.lease_state, now=env.clock.now)()[0]  # nobody holds a live lease
    assert standby.service.run_once() is True
    state = standby.service.lease_state()
    assert (state.held, state.holder) == (True, "replica-b") and state.expires_at is not None
    assert count(env.thread_texts(view), lambda t: "`NewCommerceSubscriptionCreated`" in t) == 1
    assert holder.service.run_once() is False  # a holder coming back after its lease lapsed stays standby


def _target_date(env: TrackingEnv, days: int) -> date:
    return (env.clock.now() + timedelta(days=days)).date()


def test_schedule_runs_and_becomes_a_tracked_migration_in_the_same_thread(tracking_env: TrackingEnv) -> None:
    env = tracking_env
    node = env.node()
    target = _target_date(env, 10)
    view = env.approved(node, RequestKind.SCHEDULE, known.FABRIKAM, known.SCHEDULE_SUB,
                        ChangeOptions(target_date=target))
    assert view.state is RequestState.SUBMITTED and view.schedule_id and not view.migration_id
    node.service.run_once()
    node.service.run_once()
    assert node.workflow.get_request(view.id).state is RequestState.SUBMITTED
    assert count(env.thread_texts(view), lambda t: "changed outside" in t or "cancelled" in t) == 0

    due = datetime.combine(target, time(0), tzinfo=UTC)
    env.advance_sandbox((due - env.sandbox.state.now()).total_seconds() + 1)
    node.service.run_once()
    current = node.workflow.get_request(view.id)
    migration_id = current.migration_id
    assert migration_id and current.state is RequestState.PROCESSING
    texts = env.thread_texts(view)
    assert count(texts, lambda t: f"Schedule `{view.schedule_id}` ran" in t and migration_id in t) == 1
    assert count(texts, lambda t: "`MigrationStarted`" in t) == 1

    env.advance_sandbox(200)
    node.service.run_once()
    node.service.run_once()
    texts = env.thread_texts(view)
    for name in EVENTS:
        assert count(texts, lambda t, n=name: f"`{n}`" in t) == 1  # type: ignore[misc]
    assert count(texts, lambda t: f"<@{REQUESTER}>" in t and "completed" in t) == 1
    assert node.workflow.get_request(view.id).state is RequestState.COMPLETED
    # Everything went into the one thread of the request.
    assert all(m.thread_ts == view.message.ts for m in env.thread(view))  # type: ignore[union-attr]


def test_schedule_changed_then_cancelled_outside_the_bot_is_reported_once(tracking_env: TrackingEnv) -> None:
    env = tracking_env
    node = env.node()
    view = env.approved(node, RequestKind.SCHEDULE, known.FABRIKAM, known.SCHEDULE_SUB,
                        ChangeOptions(target_date=_target_date(env, 10)))
    assert view.schedule_id
    node.service.run_once()

    moved = datetime.combine(_target_date(env, 20), time(0), tzinfo=UTC)
    node.pc.update_schedule(known.FABRIKAM, view.schedule_id, MigrationScheduleRequest(
        current_subscription_id=known.SCHEDULE_SUB, target_date=moved))
    node.service.run_once()
    node.service.run_once()
    changed = [t for t in env.thread_texts(view) if "changed outside ncebot" in t]
    assert len(changed) == 1 and moved.date().isoformat() in changed[0]

    node.pc.cancel_schedule(known.FABRIKAM, view.schedule_id)
    node.service.run_once()
    node.service.run_once()
    texts = env.thread_texts(view)
    assert count(texts, lambda t: "cancelled outside ncebot" in t and f"<@{REQUESTER}>" in t) == 1
    current = node.workflow.get_request(view.id)
    assert current.state is RequestState.FAILED and current.error_code == "ScheduleCancelled"
    assert count(texts, lambda t: "changed outside ncebot" in t) == 1


def test_watched_customer_migration_made_outside_is_announced_once_per_status(tracking_env: TrackingEnv) -> None:
    env = tracking_env
    node = env.node()
    node.workflow.watch(known.WIDE_WORLD, REQUESTER)
    node.workflow.watch(known.CONTOSO, REQUESTER)
    own = env.approved(node, RequestKind.MIGRATE, known.CONTOSO, known.ELIGIBLE_SIMPLE)  # made by the bot

    response = httpx.post(f"{env.sandbox.base_url}/_sandbox/external-migration", verify=env.sandbox.ssl_context(),
                          json={"customerId": known.WIDE_WORLD, "subscriptionId": known.EXTERNAL_SUB})
    assert response.status_code == 201, response.text
    external_id = response.json()["id"]

    for _ in range(3):
        node.service.run_once()
    announced = [m.text for m in env.standin.messages(NOTIFY_CHANNEL)]
    assert len(announced) == 1, announced
    assert external_id in announced[0] and "Processing" in announced[0] and "Microsoft-led" in announced[0]
    assert own.migration_id and not any(own.migration_id in t for t in announced)

    env.advance_sandbox(200)
    for _ in range(3):
        node.service.run_once()
    announced = [m.text for m in env.standin.messages(NOTIFY_CHANNEL)]
    assert len(announced) == 2
    assert external_id in announced[1] and "Completed" in announced[1]


def test_slack_429_delays_the_post_and_loses_nothing(tracking_env: TrackingEnv) -> None:
    env = tracking_env
    node = env.node()
    view = env.approved(node, RequestKind.MIGRATE, known.CONTOSO, known.ELIGIBLE_SIMPLE)
    env.standin.fail_next("chat.postMessage", status=429, retry_after=3)

    node.service.run_once()
    assert env.thread_texts(view) == []
    throttled = [c for c in env.standin.calls_to("chat.postMessage") if c.status == 429]
    assert len(throttled) == 1
    rows = [r for r in _rows(env) if r.kind == "thread"]
    assert rows and all(r.status == "pending" for r in rows)
    posts = len(env.standin.calls_to("chat.postMessage"))

    node.service.run_once()  # Retry-After has not passed: nothing is tried
    assert len(env.standin.calls_to("chat.postMessage")) == posts
    env.clock.advance(timedelta(seconds=4))
    node.service.run_once()
    texts = env.thread_texts(view)
    assert count(texts, lambda t: t.startswith("Submitted to Partner Center")) == 1
    assert count(texts, lambda t: "`MigrationStarted`" in t) == 1
    assert all(r.status == "sent" for r in _rows(env))


def test_posts_to_one_channel_are_spaced(tracking_env: TrackingEnv) -> None:
    env = tracking_env
    node = env.node()
    outbox = node.service.outbox
    for n in range(3):
        outbox.announce(NOTIFY_CHANNEL, f"k{n}", f"announcement {n}")
        if n == 1:
            outbox.announce(APPROVAL_CHANNEL, "other", "elsewhere")
    assert node.service.drainer.drain() == 4
    assert [m.text for m in env.standin.messages(NOTIFY_CHANNEL)] == [f"announcement {n}" for n in range(3)]
    assert env.fake_time.sleeps == [1.0, 1.0]  # ~1 post per second per channel; the other channel did not wait


def test_long_running_migration_is_checked_with_backoff(tracking_env: TrackingEnv) -> None:
    """Per-item backoff from the start (issue #12): young migrations at every poll, old ones at a sixth of their
    age; a customer whose items are all backed off costs no call at all; an unchanged status fetches no events."""
    env = tracking_env
    env.sandbox.state.lifecycle["completed"] = 72 * 3600.0  # the reference: up to 72 h
    counts = env.sandbox.state.counts
    node = env.node()
    view = env.approved(node, RequestKind.MIGRATE, known.CONTOSO, known.ELIGIBLE_SIMPLE)
    node.service.tracker.poll_migrations()
    assert counts.get("query_migrations") == 1 and counts.get("events") == 1 and not counts.get("get_migration")
    node.service.tracker.poll_migrations()  # young: checked again at the next poll, status unchanged → no events
    assert counts.get("query_migrations") == 2 and counts.get("events") == 1
    env.clock.advance(timedelta(hours=2))
    node.service.tracker.poll_migrations()
    with env.session_factory() as session:
        item = session.scalars(select(TrackedItem).where(TrackedItem.request_id == view.id)).one()
    assert item.next_check_at is not None
    delay = item.next_check_at - env.clock.now()
    assert timedelta(minutes=15) < delay < timedelta(minutes=25), delay  # ~2 h / 6
    node.service.tracker.poll_migrations()  # not due yet: not even the list call
    assert counts.get("query_migrations") == 3 and counts.get("events") == 1
    env.clock.advance(delay)
    node.service.tracker.poll_migrations()
    assert counts.get("query_migrations") == 4 and counts.get("events") == 1 and not counts.get("get_migration")


def test_scheduler_registration(tracking_env: TrackingEnv) -> None:
    env = tracking_env
    service = env.node().service
    service.start(paused=True)
    try:
        scheduler = service.scheduler
        assert scheduler is not None and str(scheduler.timezone) == "UTC"
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == set(JOB_IDS)
        for job in jobs.values():
            assert job.coalesce is True and job.max_instances == 1 and job.misfire_grace_time == 300
            assert str(job.trigger.timezone) == "UTC"
        assert jobs["ncebot.poll_migrations"].trigger.interval == timedelta(seconds=POLL_SECONDS)
        assert jobs["ncebot.drain_outbox"].trigger.interval == timedelta(seconds=2)
        assert jobs["ncebot.expire_pending"].trigger.interval == timedelta(seconds=60)
        service.start(paused=True)  # idempotent: no duplicate jobs
        assert len(scheduler.get_jobs()) == len(JOB_IDS)
    finally:
        service.stop()
    assert service.lease_state().holder is None


def test_outbox_rows_are_unique_per_scope_and_key(tracking_env: TrackingEnv) -> None:
    env = tracking_env
    outbox = env.node().service.outbox
    assert outbox.announce(NOTIFY_CHANNEL, "same", "first")
    assert not outbox.announce(NOTIFY_CHANNEL, "same", "second")
    assert outbox.announce(APPROVAL_CHANNEL, "same", "other channel")
    with env.session_factory() as session:
        assert len(list(session.scalars(select(OutboxMessage)))) == 2
