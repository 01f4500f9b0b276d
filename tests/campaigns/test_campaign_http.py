"""Campaigns end to end (issue #11, SPEC §8.3-8.5): the production wiring, a signed Approve click, the lease
holder's job sending at the shared limit, one progress reply edited in place, the parent in the past tense, the
results file in BAM's layout; Pause / Resume / Stop."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from bot.bam import formats
from bot.campaigns.model import CampaignSource, batch_reference
from bot.campaigns.service import CampaignService
from bot.csv_files import BOM, LINE_END
from bot.domain import RequestState
from bot.slack import ids
from sandbox.slack_requests import SlackRequester
from tests.campaigns.conftest import APPROVAL_CHANNEL, REQUESTER, SIGNING_SECRET, WORK_CHANNEL, CampaignEnv
from tests.fixtures.slack import wait_for

pytestmark = pytest.mark.slow  # end to end on the large partner: make test, not the fast tier


def _campaigns(env: CampaignEnv) -> CampaignService:
    assert env.runtime.deps.campaigns is not None
    return env.runtime.deps.campaigns


def _state(env: CampaignEnv, request_id: str) -> RequestState:
    return env.runtime.deps.workflow.get_request(request_id).state


def test_300_row_campaign_across_3_customers(campaign_env: CampaignEnv) -> None:
    env = campaign_env
    big, second, third = env.biggest_customers(3)
    plan = env.plan({big: 280, second: 10, third: 10})
    assert len(plan.migrations) == 300
    view = _campaigns(env).request(plan, requester=REQUESTER, source=CampaignSource.IMPORT,
                                              file_name="subscriptions.csv")
    assert view.message is not None
    parent = env.standin.message(view.message.channel, view.message.ts)
    shown = json.dumps(parent.blocks)
    assert "Migrate" in shown and "of 3 customers" in shown and "Approve the campaign?" in shown
    assert f"<@{'UCAMPAPPR1'}>" in shown  # the approvers are mentioned

    assert env.click(ids.APPROVE_ACTION, view.id).status_code == 200
    wait_for(lambda: _state(env, view.id) in (RequestState.COMPLETED, RequestState.FAILED), timeout=240)

    state = env.sandbox.state
    batch = batch_reference(view.id)
    made = [m for m in state.migrations.values() if (m.external_reference_id or "").lower() == batch]
    assert state.counts.get("create_migration") == 300  # exactly one create per row, none twice
    progress = _campaigns(env).progress(view.id)
    assert len(made) == progress.sent and progress.sent + progress.refused == 300  # refused: ineligible rows
    assert len(made) > 200
    by_base = {m.items[0].sub_id.lower(): m for m in made}
    for migration in plan.migrations:  # per-row term, billing and seats, add-ons in addOnMigrations
        made_one = by_base.get(migration.subscription_id.lower())
        if made_one is None:
            continue
        base = made_one.items[0]
        assert (base.term.upper(), base.billing.lower(), base.quantity) == (
            migration.base.term.value.upper() if migration.base.term else None,
            migration.base.billing.value.lower() if migration.base.billing else None, migration.base.quantity)
        assert [i.sub_id.lower() for i in made_one.items[1:]] == [a.subscription_id.lower() for a in migration.add_ons]
    assert env.runtime.metrics is not None
    assert env.runtime.metrics.value("ncebot_partner_center_throttled_total", endpoint="create_migration") == 0

    # A handful of replies: the plan file, the progress reply, (failures,) the results file.
    message = view.message

    def replies() -> list[Any]:
        return [m for m in env.standin.thread(message.channel, message.ts) if m.ts != message.ts]

    files = wait_for(lambda: [f for f in env.standin.files.values() if f.thread_ts == message.ts
                              and "results" in f.filename] or None, timeout=30)
    failures = [m for m in replies() if "failure" in (m.text or "")]
    assert len(replies()) <= 3 + len(failures)
    final = env.runtime.deps.workflow.get_request(view.id)
    ended = [m for m in replies() if "Campaign ended" in (m.text or "")]
    assert ended, [m.text for m in replies()]
    assert "of 300 completed" in ended[0].text
    parent = env.standin.message(message.channel, message.ts)
    assert "of 300 completed" in json.dumps(parent.blocks)
    assert final.state in (RequestState.COMPLETED, RequestState.FAILED)

    content = files[0].content.decode("utf-8")
    assert content.startswith(BOM)
    header = content[len(BOM):].split(LINE_END, 1)[0]
    assert header == ",".join(formats.OUTPUT_MIGRATIONS)
    rows = content.split(LINE_END)[1:-1]
    assert len(rows) == plan.subscriptions  # one per subscription, add-ons included
    assert all(batch in row for row in rows)

    # /nce campaigns lists it; /nce campaign <id> answers with its counts and posts the results file.
    with SlackRequester(env.url, env.standin, SIGNING_SECRET) as slack:
        assert slack.command("campaigns", user=REQUESTER, channel=WORK_CHANNEL).status_code == 200
        listed = wait_for(lambda: [c for c in env.standin.calls_to("response_url")
                                   if view.id in json.dumps(c.params)], timeout=30)
        assert "of 300 completed" in json.dumps(listed[0].params)
        assert slack.command(f"campaign {batch}", user=REQUESTER, channel=WORK_CHANNEL).status_code == 200
        wait_for(lambda: [f for f in env.standin.files.values() if WORK_CHANNEL in f.channels
                          and "results" in f.filename], timeout=30)
        assert slack.command("campaign 1234", user=REQUESTER, channel=WORK_CHANNEL).status_code == 200
        wait_for(lambda: [c for c in env.standin.calls_to("response_url")
                          if "is not a campaign id" in json.dumps(c.params)], timeout=30)


def test_pause_resume_and_stop(campaign_env: CampaignEnv) -> None:
    env = campaign_env
    big = env.biggest_customers(1)[0]
    plan = env.plan({big: 150})  # more than one create window: it must wait for the next one
    view = _campaigns(env).request(plan, requester=REQUESTER, source=CampaignSource.BULK)
    assert env.click(ids.APPROVE_ACTION, view.id).status_code == 200
    state = env.sandbox.state
    wait_for(lambda: state.counts.get("create_migration", 0) >= 20, timeout=60)

    assert env.click(ids.CAMPAIGN_PAUSE_ACTION, view.id).status_code == 200
    wait_for(lambda: _campaigns(env).progress(view.id).control.value == "paused", timeout=30)
    at_pause = state.counts.get("create_migration", 0)
    # Nothing new starts after Pause: at most the operations already in flight finish.
    tracking = env.runtime.tracking
    assert tracking is not None
    runner = tracking.campaign_runner
    wait_for(lambda: not tracking.submissions.is_running(view.id), timeout=60)  # the pass ended: nothing in flight
    assert _campaigns(env).progress(view.id).in_flight == 0
    settled = state.counts.get("create_migration", 0)
    assert settled - at_pause <= runner.concurrency
    time.sleep(3)  # more than one submission tick
    assert state.counts.get("create_migration", 0) == settled
    assert _state(env, view.id) in (RequestState.APPROVED, RequestState.SUBMITTED)

    # Not an approver: refused, nothing changes.
    assert env.click(ids.CAMPAIGN_RESUME_ACTION, view.id, user=REQUESTER).status_code == 200
    wait_for(lambda: any("Only approvers" in (m.text or "") for m in env.standin.ephemeral_to(REQUESTER)), timeout=30)
    assert _campaigns(env).progress(view.id).control.value == "paused"

    assert env.click(ids.CAMPAIGN_RESUME_ACTION, view.id).status_code == 200
    wait_for(lambda: state.counts.get("create_migration", 0) > settled + 5, timeout=60)
    assert env.click(ids.CAMPAIGN_STOP_ACTION, view.id).status_code == 200
    wait_for(lambda: _state(env, view.id) in (RequestState.PROCESSING, RequestState.COMPLETED,
                                              RequestState.FAILED), timeout=60)
    sent = state.counts.get("create_migration", 0)
    assert sent < 150
    _name, content = _campaigns(env).results_file(view.id)
    text = content.decode("utf-8")
    not_sent = [row for row in text.split(LINE_END)[1:-1] if f",{formats.NOT_SENT}," in row]
    assert not_sent, "a stopped campaign lists what it did not send"
    assert APPROVAL_CHANNEL
