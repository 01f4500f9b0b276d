"""The 7-day window after a migration (SPEC §10), on the real Workflow and TrackingService with the deadline jobs,
the sandbox as Partner Center and the Slack stand-in: the thread states the deadline, reminds 48 h and 12 h before
(once each, clocks advanced, never slept), and a seat reduction within the window sends exactly one PATCH."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot.domain import ChangeOptions, InvalidInput, RequestKind, RequestState, RequestView
from bot.slack.deadline_jobs import install_deadline_jobs
from sandbox import known
from storage import deadlines as store
from tests.tracking.conftest import POLL_SECONDS, REQUESTER, Node, TrackingEnv, count


def _node(env: TrackingEnv, holder: str = "replica-a") -> Node:
    node = env.node(holder)
    install_deadline_jobs(node.service, env.settings, node.workflow, env.session_factory, node.pc, node.client,
                          env.clock)
    return node


def _tick(env: TrackingEnv, node: Node, seconds: float = POLL_SECONDS) -> None:
    env.clock.advance(timedelta(seconds=seconds))
    node.service.run_once()
    node.service.run_once()  # the outbox drains what the previous pass queued


def _migrated(env: TrackingEnv, node: Node) -> tuple[str, str]:
    """A migration of a 25-seat subscription, completed and tracked: (request id, new NCE subscription id)."""
    view = env.approved(node, RequestKind.MIGRATE, known.CONTOSO, known.ELIGIBLE_SIMPLE)
    node.service.run_once()
    env.advance_sandbox(181)
    for _ in range(3):
        _tick(env, node)
    current = node.workflow.get_request(view.id)
    assert current.state is RequestState.COMPLETED and current.new_subscription_id
    return view.id, current.new_subscription_id


def test_thread_states_the_deadline_and_reminds_48h_and_12h_once_each(tracking_env: TrackingEnv) -> None:
    env = tracking_env
    node = _node(env)
    request_id, new_sub = _migrated(env, node)
    view = node.workflow.get_request(request_id)
    thread = env.thread(view)
    opened = [m for m in thread if "may be cancelled or reduced until" in m.text]
    assert len(opened) == 1
    closes = env.sandbox.state.customers[known.CONTOSO].subs[new_sub].created + timedelta(days=7)
    epoch = int(closes.timestamp())
    assert f"<!date^{epoch}^{{date_short_pretty}} {{time}}|{closes.strftime('%Y-%m-%d %H:%M UTC')}>" in opened[0].text
    actions = [e for b in opened[0].blocks if b["type"] == "actions" for e in b["elements"]]
    assert [a["action_id"] for a in actions] == ["ncebot_reduce_seats", "ncebot_cancel_subscription"]
    assert actions[0]["value"] == f"{known.CONTOSO}|{new_sub}"

    _tick(env, node)
    assert count(env.thread_texts(view), lambda t: "may be cancelled or reduced until" in t) == 1
    assert not any("h left" in t for t in env.thread_texts(view))

    now = env.clock.now()
    _tick(env, node, (closes - timedelta(hours=48) - now).total_seconds() + 60)  # 48 h before, and a minute
    _tick(env, node)
    texts = env.thread_texts(view)
    assert count(texts, lambda t: t.startswith(":alarm_clock: 48 h left")) == 1
    assert count(texts, lambda t: t.startswith(":alarm_clock: 12 h left")) == 0

    now = env.clock.now()
    _tick(env, node, (closes - timedelta(hours=12) - now).total_seconds() + 60)
    for _ in range(3):
        _tick(env, node, 3600)
    texts = env.thread_texts(view)
    assert count(texts, lambda t: t.startswith(":alarm_clock: 48 h left")) == 1
    assert count(texts, lambda t: t.startswith(":alarm_clock: 12 h left")) == 1

    # A restart (a new replica on the same database once the lease ran out) sends nothing again.
    node.service.stop(release=True)
    other = _node(env, "replica-b")
    _tick(env, other)
    assert env.thread_texts(view) == texts
    with env.session_factory() as session:
        assert store.scanned_request_ids(session) == {request_id}


def test_reduce_seats_within_the_window_sends_one_patch_after_approval(tracking_env: TrackingEnv) -> None:
    env = tracking_env
    node = _node(env)
    _request_id, new_sub = _migrated(env, node)
    with pytest.raises(InvalidInput, match="adding seats is not this feature"):
        node.workflow.request_change(kind=RequestKind.REDUCE_SEATS, requester=REQUESTER, customer_id=known.CONTOSO,
                                     subscription_id=new_sub, options=ChangeOptions(quantity=30))
    asked = node.workflow.request_change(kind=RequestKind.REDUCE_SEATS, requester=REQUESTER,
                                         customer_id=known.CONTOSO, subscription_id=new_sub,
                                         options=ChangeOptions(quantity=20))
    assert asked.state is RequestState.PENDING and env.sandbox.state.subscription_patches == []
    done = env.decide(node, asked.id)
    assert done.state is RequestState.COMPLETED
    node.service.run_once()  # resume and tracking passes send nothing more
    _tick(env, node)
    patches = env.sandbox.state.summary()["subscriptionPatches"]
    assert [(p["subscriptionId"], p["fromQuantity"], p["quantity"], p["status"]) for p in patches] == [
        (new_sub, 25, 20, "active")]
    assert any("reduced to 20 seat(s)" in t for t in env.thread_texts(done))


def test_after_the_window_reduce_and_cancel_are_refused_with_the_reason(tracking_env: TrackingEnv) -> None:
    env = tracking_env
    node = env.node()
    watcher, _digest = install_deadline_jobs(node.service, env.settings, node.workflow, env.session_factory,
                                             node.pc, node.client, env.clock)
    _request_id, new_sub = _migrated(env, node)
    assert watcher.check_open(known.CONTOSO, new_sub, cancel=False) is not None  # the button opens its modal
    # Asked an hour before the window closes, approved after it closed: refused by ncebot itself, no PATCH.
    env.sandbox.advance(7 * 86400 - 3600)
    env.clock.advance(timedelta(days=7, hours=-1))
    asked = node.workflow.request_change(kind=RequestKind.CANCEL_SUBSCRIPTION, requester=REQUESTER,
                                         customer_id=known.CONTOSO, subscription_id=new_sub)
    env.sandbox.advance(7200)
    env.clock.advance(timedelta(hours=2))
    failed = env.decide(node, asked.id)
    assert failed.state is RequestState.FAILED and failed.error_code == "WindowClosed"
    assert "7-day window closed" in (failed.error_description or "")
    for kind, options in ((RequestKind.REDUCE_SEATS, ChangeOptions(quantity=5)),
                          (RequestKind.CANCEL_SUBSCRIPTION, ChangeOptions())):
        with pytest.raises(InvalidInput, match="7-day window closed at"):
            node.workflow.request_change(kind=kind, requester=REQUESTER, customer_id=known.CONTOSO,
                                         subscription_id=new_sub, options=options)
    with pytest.raises(InvalidInput, match="can no longer be reduced: its 7-day window closed at"):
        watcher.check_open(known.CONTOSO, new_sub, cancel=False)  # a click on the button is refused at once
    assert env.sandbox.state.subscription_patches == []
    assert json.dumps(env.sandbox.state.summary()["subscriptionPatches"]) == "[]"


def _campaign(env: TrackingEnv, node: Node, subscriptions: list[str]) -> RequestView:
    """A campaign (SPEC §8) of Contoso's ``subscriptions`` through the runtime's CampaignService, its live replies
    rendered as in production."""
    from bot.bam.models import BamKind, BamPlan, PlannedMigration, PlannedSubscription
    from bot.campaigns.model import CampaignSource

    service = node.runtime.deps.campaigns
    assert service is not None
    plan = BamPlan(kind=BamKind.MIGRATE, migrations=tuple(
        PlannedMigration(kind=BamKind.MIGRATE, base=PlannedSubscription(
            line=n + 2, customer_tenant_id=known.CONTOSO, subscription_id=sub)) for n, sub in enumerate(subscriptions)))
    return service.request(plan, requester=REQUESTER, source=CampaignSource.BULK)


def test_a_bulk_request_gets_one_summary_of_its_deadlines(tracking_env: TrackingEnv) -> None:
    env = tracking_env
    node = _node(env)
    asked = _campaign(env, node, [known.ELIGIBLE_SIMPLE, known.ELIGIBLE_MONTHLY, known.ELIGIBLE_BASE])
    view = env.decide(node, asked.id)
    node.service.run_once()
    env.advance_sandbox(181)
    for _ in range(4):
        _tick(env, node)
    assert node.workflow.get_request(view.id).state.is_final
    with env.session_factory() as session:
        windows = [w for w in store.open_windows(session, env.clock.now()) if w.request_id == view.id]
    assert len(windows) > 1
    texts = env.thread_texts(view)
    summaries = [t for t in texts if "may be cancelled or reduced" in t]
    assert len(summaries) == 1 and f"{len(windows)} new NCE subscriptions" in summaries[0]
    [message] = [m for m in env.thread(view) if "may be cancelled or reduced" in m.text]
    listed = json.dumps(message.blocks)
    assert all(w.subscription_id in listed for w in windows)
