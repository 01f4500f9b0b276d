"""Recovery without waiting (issue 9, point 7): kill -9 during a create, restart, done within one poll interval.

The real ``ncebot run`` process receives a signed ``/nce migrate`` and the approve click; the click sends the create,
which the Partner Center sandbox commits and then does not answer. The process is killed (SIGKILL) at that moment:
its operation stays ``sending`` with a 10-minute claim and the poller lease stays in its name. A new ``ncebot run``
on the same database finds the dead process's heartbeat run out and takes both over at once: the request is
submitted within one poll interval of the restart, with the migration the dead process created (looked up by
externalReferenceId), never a second one. The same holds when the dead process was a replica and the lease holder
survives it: the holder takes the operation over at its first resume run after the dead one's heartbeat ran out.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.domain import RequestState
from bot.slack import ids
from sandbox import known
from storage.models import Lease, PartnerCenterOperation, ProcessInstance
from tests.fixtures.slack import (
    APPROVAL_CHANNEL,
    APPROVER,
    BOT_TOKEN,
    REQUESTER,
    SIGNING_SECRET,
    SlackRequester,
    wait_for,
)
from tests.processes import RunningBot, start_bot

ROOT = Path(__file__).resolve().parents[2]
POLL_INTERVAL = 5  # seconds: NCEBOT_POLL_INTERVAL of both processes
CI_SLACK = 7.0  # seconds on top of the interval for a shared CI machine (the old wait was 10 minutes)


def run_env(env: Any, database_url: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PARTNER_CENTER_", "NCEBOT_"))}
    base.update(env.sandbox.client_env())
    base.update({
        "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": env.standin.base_url,
        "DATABASE_URL": database_url, "NCEBOT_APPROVAL_CHANNEL": APPROVAL_CHANNEL, "NCEBOT_APPROVERS": APPROVER,
        "NCEBOT_POLL_INTERVAL": str(POLL_INTERVAL),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    })
    return base


def approve_and_kill_during_the_create(env: Any, url: str, victim: RunningBot) -> tuple[str, str, dict[str, Any]]:
    """``/nce migrate`` and the approve click, both to ``url`` (served by ``victim``); the sandbox commits the
    create and does not answer; ``victim`` is killed (SIGKILL). Returns the request id, its message ts and the
    migration the sandbox holds."""
    standin, sandbox = env.standin, env.sandbox
    try:
        with SlackRequester(url, standin) as slack:
            assert slack.command(f"migrate {known.CONTOSO} {known.ELIGIBLE_SIMPLE}", user=REQUESTER).status_code == 200
            message = wait_for(lambda: env.request_messages())[0]
            request_id = next(e["value"] for b in message.blocks if b["type"] == "actions" for e in b["elements"])
            # Partner Center commits the create, then does not answer for two minutes; the process dies meanwhile.
            sandbox.state.set_faults({"commit_then_timeout": 120.0, "commit_then_timeout_next": 1})
            assert slack.block_action(ids.APPROVE_ACTION, request_id, user=APPROVER,
                                      message_ts=message.ts).status_code == 200
            wait_for(lambda: sandbox.state.summary()["migrations"])
    finally:
        victim.kill()  # SIGKILL
    sandbox.state.clear_faults()
    [created] = sandbox.state.summary()["migrations"]
    assert env.workflow.get_request(request_id).state is RequestState.APPROVED
    return request_id, message.ts, created


def assert_finished_once(env: Any, request_id: str, created: dict[str, Any], session_factory: Any) -> str:
    """The request carries the one migration, created once; the operation was taken over. Returns its holder."""
    view = env.workflow.get_request(request_id)
    assert view.state in (RequestState.SUBMITTED, RequestState.PROCESSING, RequestState.COMPLETED), view.state
    assert view.migration_id == created["id"], view
    assert len(env.sandbox.state.summary()["migrations"]) == 1
    assert env.sandbox.state.counts.get("create_migration", 0) == 1  # found by externalReferenceId, not re-created
    with session_factory() as session:
        [op] = session.scalars(select(PartnerCenterOperation)).all()
    assert op.status == "sent" and op.attempts == 2 and op.claimed_by
    return str(op.claimed_by)


def dead_claim(session_factory: Any) -> ProcessInstance:
    """The operation is still ``sending``, claimed by the killed process (which had a heartbeat) for 10 minutes."""
    with session_factory() as session:
        [op] = session.scalars(select(PartnerCenterOperation)).all()
        dead = session.get(ProcessInstance, op.claimed_by)
    assert op.status == "sending" and dead is not None
    assert op.claimed_until is not None and op.claimed_until > dead.alive_until  # the old wait: the claim's expiry
    return dead


def wait_until_decided(env: Any, request_id: str, timeout: float) -> None:
    wait_for(lambda: env.workflow.get_request(request_id).state is not RequestState.APPROVED, timeout=timeout)


def test_kill_9_during_a_create_is_finished_within_one_poll_interval_of_the_restart(
    slack_env: Any, database_url: str, session_factory: Any, tmp_path: Path
) -> None:
    # the stand-in, the sandbox, and a view of the database; the ncebot processes hold the lease and submit
    env = slack_env(approvers=(APPROVER,), lease_holder=False)
    process_env = run_env(env, database_url)
    first, url = start_bot(process_env, tmp_path)
    request_id, ts, created = approve_and_kill_during_the_create(env, url, first)
    dead = dead_claim(session_factory)

    second, _ = start_bot(process_env, tmp_path)
    try:
        wait_until_decided(env, request_id, timeout=POLL_INTERVAL + CI_SLACK)  # from the restart on
        assert assert_finished_once(env, request_id, created, session_factory) != dead.id
        wait_for(lambda: created["id"] in str(env.standin.message(APPROVAL_CHANNEL, ts).blocks))
    finally:
        second.stop()


def lease_holder(session_factory: Any) -> str:
    with session_factory() as session:
        lease = session.get(Lease, "poller")
        assert lease is not None
        return str(lease.holder)


def test_an_approval_on_a_replica_is_answered_at_once_and_sent_by_the_lease_holder(
    slack_env: Any, database_url: str, session_factory: Any, tmp_path: Path
) -> None:
    """Issue #10: the click is answered as soon as the decision is committed (its create stalls 10 s), the message
    already reads "Approved by …", and the create is made by the lease holder, not the replica that got the click."""
    env = slack_env(approvers=(APPROVER,), lease_holder=False)  # the ncebot processes submit
    process_env = run_env(env, database_url)
    holder, _ = start_bot(process_env, tmp_path)  # started first: it holds the poller lease
    try:
        holder_id = wait_for(lambda: lease_holder(session_factory), timeout=30)
        replica, replica_url = start_bot(process_env, tmp_path)
        try:
            with SlackRequester(replica_url, env.standin) as slack:
                assert slack.command(f"migrate {known.CONTOSO} {known.ELIGIBLE_SIMPLE}",
                                     user=REQUESTER).status_code == 200
                message = wait_for(lambda: env.request_messages())[0]
                request_id = next(e["value"] for b in message.blocks if b["type"] == "actions" for e in b["elements"])
                env.sandbox.state.set_faults({"latency": 10.0, "latency_path": "/migrations/newcommerce"})
                started = time.monotonic()
                answer = slack.block_action(ids.APPROVE_ACTION, request_id, user=APPROVER, message_ts=message.ts)
                answered = time.monotonic() - started
            assert answer.status_code == 200 and answered < 1.0, answered  # the bound issue #10 asks for
            wait_for(lambda: "Approved by" in str(env.standin.message(APPROVAL_CHANNEL, message.ts).blocks),
                     timeout=5)
            assert not env.sandbox.state.summary()["migrations"]  # the create is still stalled at that moment
            wait_until_decided(env, request_id, timeout=60)
            env.sandbox.state.clear_faults()
            with session_factory() as session:
                [op] = session.scalars(select(PartnerCenterOperation)).all()
            assert op.status == "sent" and op.claimed_by == holder_id  # made by the lease holder
            assert len(env.sandbox.state.summary()["migrations"]) == 1
        finally:
            replica.stop()
    finally:
        holder.stop()


def test_kill_9_of_the_lease_holder_during_a_create_the_replica_takes_over(
    slack_env: Any, database_url: str, session_factory: Any, tmp_path: Path
) -> None:
    env = slack_env(approvers=(APPROVER,), lease_holder=False)  # the ncebot processes submit
    process_env = run_env(env, database_url)
    holder, _ = start_bot(process_env, tmp_path)  # started first: it holds the poller lease
    try:
        holder_id = wait_for(lambda: lease_holder(session_factory), timeout=30)
        replica, replica_url = start_bot(process_env, tmp_path)
        request_id, _, created = approve_and_kill_during_the_create(env, replica_url, holder)
        killed = time.monotonic()
        dead = dead_claim(session_factory)
        assert dead.id == holder_id  # the holder made the create, though the click came to the replica
        # The holder's lease runs out (two poll intervals), the replica takes it and the dead claim at once.
        wait_until_decided(env, request_id, timeout=3 * POLL_INTERVAL + CI_SLACK - (time.monotonic() - killed))
        assert assert_finished_once(env, request_id, created, session_factory) not in (dead.id, None)
        replica.stop()
    finally:
        holder.stop()
