"""Two ``ncebot run`` replicas on one PostgreSQL database and a campaign (issues #10 and #11): the bulk is asked
for and approved on the replica that does NOT hold the lease, every create comes from the lease holder at most 100
per (scaled) 5 minutes with no 429; kill -9 of the holder midway, the other replica takes over within one lease
period and finishes with no duplicate migration."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bot.campaigns.model import batch_reference
from bot.domain import RequestState
from bot.slack import ids
from sandbox import large_seed
from sandbox.server import SandboxServer
from sandbox.slack_api import SlackStandIn
from sandbox.slack_requests import SlackRequester
from storage.models import ChangeRequest, Lease, PartnerCenterOperation
from tests.fixtures.db import postgres_base_url
from tests.fixtures.slack import wait_for
from tests.processes import start_bot

ROOT = Path(__file__).resolve().parents[2]
SECRET = "replicas-signing-secret-4d2f"
TOKEN = "xoxb-replicas-token"
APPROVAL = "CREPLAPPR1"
WORK = "CREPLWORK1"
REQUESTER = "UREPLREQ01"
APPROVER = "UREPLAPPR1"
SCALE = 60.0  # the sandbox's 5-minute windows last 5 s
WINDOW = 300.0 / SCALE
POLL = 2  # NCEBOT_POLL_INTERVAL: the lease lasts two of them
BIG = "a65f2a67-7727-489d-b76d-448b23d46027"  # the large seed's biggest customer (Woodgrove Cycles)
KEEP = 185  # of its subscriptions, so that its eligible bases make a bulk of about 150


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    data = large_seed.build()
    for customer in data["customers"]:
        if customer["id"] == BIG:
            customer["subscriptions"] = customer["subscriptions"][:KEEP]
    with SandboxServer(data=data, time_scale=SCALE) as pc:
        yield pc


def _env(sandbox: SandboxServer, standin: SlackStandIn, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PARTNER_CENTER_", "NCEBOT_"))}
    env.update(sandbox.client_env())
    env.update({
        "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": standin.base_url,
        "DATABASE_URL": database_url, "NCEBOT_APPROVAL_CHANNEL": APPROVAL, "NCEBOT_APPROVERS": APPROVER,
        "NCEBOT_POLL_INTERVAL": str(POLL),
        "PARTNER_CENTER_CREATE_LIMIT": f"100/{WINDOW:g}s", "PARTNER_CENTER_VALIDATE_LIMIT": f"450/{WINDOW:g}s",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    })
    return env


def _holder(session_factory: Any) -> str | None:
    with session_factory() as session:
        lease = session.get(Lease, "poller")
        return str(lease.holder) if lease is not None else None


def _max_per_window(starts: list[Any]) -> int:
    """The most creates Partner Center saw in any sliding 5-minute window (sandbox time)."""
    starts = sorted(starts)
    most = 0
    for i, first in enumerate(starts):
        most = max(most, sum(1 for t in starts[i:] if t - first < timedelta(seconds=300)))
    return most


@pytest.mark.postgres
@pytest.mark.skipif(postgres_base_url() is None, reason="NCEBOT_TEST_POSTGRES_URL not set (replicas share PostgreSQL)")
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_campaign_on_two_replicas_runs_on_the_lease_holder_and_survives_its_kill(
    sandbox: SandboxServer, database_url: str, session_factory: Any, tmp_path: Path,
) -> None:
    standin = SlackStandIn(signing_secret=SECRET, bot_token=TOKEN, channels={APPROVAL: "approvals", WORK: "ops"})
    standin.start()
    env = _env(sandbox, standin, database_url)
    holder, _ = start_bot(env, tmp_path)
    replica = None
    try:
        holder_id = wait_for(lambda: _holder(session_factory), timeout=30)
        replica, replica_url = start_bot(env, tmp_path)
        with SlackRequester(replica_url, standin, SECRET) as slack:
            assert slack.command(f"bulk {BIG}", user=REQUESTER, channel=WORK).status_code == 200
            message = wait_for(lambda: [m for m in standin.messages(APPROVAL, include_ephemeral=False)
                                        if m.blocks], timeout=90)[0]
            request_id = next(e["value"] for b in message.blocks if b["type"] == "actions" for e in b["elements"])
            assert slack.block_action(ids.APPROVE_ACTION, request_id, user=APPROVER, channel=APPROVAL,
                                      message_ts=message.ts).status_code == 200
        with session_factory() as session:
            items = len(session.get(ChangeRequest, request_id).plan["migrations"])
        assert 100 <= items <= 180, items

        state = sandbox.state
        wait_for(lambda: state.counts.get("create_migration", 0) >= 60, timeout=60)
        with session_factory() as session:  # every create so far was made by the lease holder
            makers = set(session.scalars(select(PartnerCenterOperation.claimed_by).where(
                PartnerCenterOperation.request_id == request_id, PartnerCenterOperation.claimed_by.is_not(None))))
        assert makers <= {holder_id}, makers
        holder.kill()  # SIGKILL, mid-campaign
        killed = time.monotonic()

        wait_for(lambda: _holder(session_factory) not in (None, holder_id), timeout=4 * POLL + 10)
        assert time.monotonic() - killed < 2 * POLL + 10  # one lease period (+ CI slack)
        wait_for(lambda: state.counts.get("create_migration", 0) >= items, timeout=120)
        wait_for(lambda: _request_state(session_factory, request_id) in (
            RequestState.PROCESSING.value, RequestState.COMPLETED.value, RequestState.FAILED.value), timeout=60)

        batch = batch_reference(request_id)
        made = [m for m in state.migrations.values() if (m.external_reference_id or "").lower() == batch]
        bases = [m.items[0].sub_id.lower() for m in made]
        assert len(bases) == len(set(bases)), "a subscription was migrated twice"
        with session_factory() as session:
            sent = session.scalar(select(func.count()).where(PartnerCenterOperation.request_id == request_id,
                                                             PartnerCenterOperation.status == "sent"))
        assert len(made) == sent
        assert _max_per_window([m.started for m in made]) <= 100
        metrics = httpx.get(replica_url + "/metrics").text
        throttled = [line for line in metrics.splitlines()
                     if line.startswith("ncebot_partner_center_throttled_total{") and not line.endswith(" 0.0")]
        assert throttled == [], throttled  # 0 x 429 on the replica that finished it
    finally:
        if replica is not None:
            replica.stop()
        holder.stop()
        standin.stop()


def _request_state(session_factory: Any, request_id: str) -> str:
    with session_factory() as session:
        row = session.get(ChangeRequest, request_id)
        return row.state if row is not None else ""
