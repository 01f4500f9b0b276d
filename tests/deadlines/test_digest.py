"""The daily renewal digest (SPEC §10): posted once at NCEBOT_DIGEST_TIME (UTC) to the notify channel with its
CSV, whatever the number of replicas and restarts; nothing when ``off``. Clocks are advanced, never slept."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from bot.deadlines.digest import DigestJob
from bot.slack.deadline_jobs import install_deadline_jobs
from sandbox import known
from storage import deadlines as store
from tests.tracking.conftest import NOTIFY_CHANNEL, Node, TrackingEnv


def _replica(env: TrackingEnv, holder: str, digest_time: str) -> tuple[Node, DigestJob]:
    settings = env.settings.model_copy(update={"ncebot_digest_time": digest_time})
    node = env.node(holder, settings=settings)
    _watcher, digest = install_deadline_jobs(node.service, settings, node.workflow, env.session_factory, node.pc,
                                             node.client, env.clock)
    return node, digest


def _to_next(env: TrackingEnv, at: time) -> None:
    now = env.clock.now()
    target = datetime.combine(now.date(), at, tzinfo=UTC)
    if target <= now:
        target += timedelta(days=1)
    env.clock.advance(target - now)


def _digests(env: TrackingEnv) -> list[str]:
    return [m.text for m in env.standin.messages(NOTIFY_CHANNEL, include_ephemeral=False)
            if "Renewal radar" in m.text]


def test_digest_once_a_day_across_replicas_and_a_restart(tracking_env: TrackingEnv) -> None:
    env = tracking_env
    a, digest_a = _replica(env, "replica-a", "09:00")
    b, digest_b = _replica(env, "replica-b", "09:00")
    _to_next(env, time(8, 59))
    a.service.run_once()
    b.service.run_once()
    assert _digests(env) == []

    env.clock.advance(timedelta(minutes=2))
    assert a.service.run_once()  # the lease holder posts it
    assert not b.service.run_once()  # the standby runs no job at all
    assert digest_b.run() is False  # and even without the lease, the day's row stops a second post
    [text] = _digests(env)
    assert "legacy subscription(s) renew in the next 30 day(s)" in text
    files = [f for f in env.standin.files.values() if NOTIFY_CHANNEL in f.channels]
    assert len(files) == 1 and files[0].filename.startswith("ncebot-renewals-")
    csv = files[0].content.decode("utf-8-sig")
    assert csv.startswith("CustomerTenantId,CustomerName,SubscriptionId") and "\r\n" in csv
    assert known.SCHEDULE_RENEWAL_SUB in csv  # Fabrikam's, ending in 25 days

    # A restart (a new process, fresh memory) and a lease takeover the same day post nothing.
    a.service.stop(release=True)
    restarted, digest_c = _replica(env, "replica-c", "09:00")
    env.clock.advance(timedelta(hours=3))
    assert restarted.service.run_once()
    assert digest_c.run() is False and digest_a.run() is False
    assert len(_digests(env)) == 1

    _to_next(env, time(9, 1))  # the next day: one more
    restarted.service.run_once()
    assert len(_digests(env)) == 2
    with env.session_factory() as session:
        assert [status for _day, status in store.digest_days(session)] == ["posted", "posted"]


def test_no_digest_when_off(tracking_env: TrackingEnv) -> None:
    env = tracking_env
    node, digest = _replica(env, "replica-a", "off")
    _to_next(env, time(9, 0))
    for _ in range(3):
        node.service.run_once()
        env.clock.advance(timedelta(hours=8))
    assert digest.run() is False and _digests(env) == []
    with env.session_factory() as session:
        assert store.digest_days(session) == []
