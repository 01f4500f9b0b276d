"""Tracking test wiring: the Partner Center sandbox (``pc_sandbox``) as Partner Center, the Slack stand-in as
Slack with a real WebClient, the real Workflow and TrackingService on the test database, and injected clocks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.domain import ChangeOptions, RequestKind, RequestView
from bot.partner_center.client import PartnerCenterClient, build_partner_center_client
from bot.runtime import Runtime, RuntimeOverrides, build_runtime
from bot.settings import Settings, load_settings
from bot.tracking.outbox import OutboxNotifier
from bot.tracking.service import TrackingService
from bot.workflow import Workflow
from sandbox.server import SandboxServer
from sandbox.slack_api import Message, SlackStandIn
from tests.fixtures.slack import APPROVAL_CHANNEL, BOT_TOKEN, SIGNING_SECRET
from tests.workflow.conftest import SettableClock, sandbox_env

NOTIFY_CHANNEL = "CNOTIFY0001"
REQUESTER = "UREQUESTER1"
APPROVER = "UAPPROVER01"
POLL_SECONDS = 60


class FakeTime:
    """``monotonic``/``sleep`` for the outbox spacing: sleeping advances the fake time instantly."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


@dataclass
class Node:
    """One ncebot process: its own clients, workflow and tracking service on the shared database."""

    workflow: Workflow
    service: TrackingService
    pc: PartnerCenterClient
    client: WebClient
    runtime: Runtime


@dataclass
class TrackingEnv:
    sandbox: SandboxServer
    standin: SlackStandIn
    session_factory: sessionmaker[Session]
    clock: SettableClock
    settings: Settings
    fake_time: FakeTime = field(default_factory=FakeTime)
    nodes: list[Node] = field(default_factory=list)

    def node(self, holder_id: str = "replica-a", *, pc: PartnerCenterClient | None = None,
             settings: Settings | None = None, notifier_class: type[OutboxNotifier] = OutboxNotifier,
             **service_kwargs: Any) -> Node:
        """One process built by ``bot.runtime.build_runtime``. ``pc``: a Partner Center client of the test's own
        making (e.g. with a recording ``sleep``); ``settings``: other settings than the environment's (e.g. a
        shorter poll interval); ``service_kwargs``: more ``TrackingService`` keyword arguments."""
        settings = settings or self.settings
        pc = pc or build_partner_center_client(settings, verify=self.sandbox.ca_path)
        service_kwargs.setdefault("sleep", self.fake_time.sleep)
        service_kwargs.setdefault("monotonic", self.fake_time.monotonic)
        runtime = build_runtime(settings, RuntimeOverrides(
            session_factory=self.session_factory, partner_center=pc, clock=self.clock, notifier_class=notifier_class,
            holder_id=holder_id, tracking_kwargs=service_kwargs,
            deadline_jobs=False,  # these tests count the tracking jobs and thread posts; tests/deadlines has those
        ), slack_client=WebClient(token=BOT_TOKEN, base_url=self.standin.base_url))  # no retry handler: these
        # tests watch the drainer's own handling of Slack's 429, which the production client's retries would hide
        assert runtime.tracking is not None
        made = Node(workflow=runtime.deps.workflow, service=runtime.tracking, pc=pc,
                    client=runtime.deps.slack_client, runtime=runtime)
        self.nodes.append(made)
        return made

    def approved(self, node: Node, kind: RequestKind, customer: str, subscription: str,
                 options: ChangeOptions = ChangeOptions()) -> RequestView:
        view = node.workflow.request_change(kind=kind, requester=REQUESTER, customer_id=customer,
                                            subscription_id=subscription, options=options)
        return self.decide(node, view.id)

    def decide(self, node: Node, request_id: str) -> RequestView:
        """Approve, then run the lease holder's submission job now (bot.campaigns.jobs), as its 2-second tick
        would."""
        node.workflow.approve(request_id, APPROVER)
        node.service.submissions.run_due(wait_for_all=True)
        return node.workflow.get_request(request_id)

    def thread(self, view: RequestView) -> list[Message]:
        assert view.message is not None
        return self.standin.thread(view.message.channel, view.message.ts)

    def thread_texts(self, view: RequestView) -> list[str]:
        return [m.text for m in self.thread(view)]

    def parent(self, view: RequestView) -> Message:
        assert view.message is not None
        return self.standin.message(view.message.channel, view.message.ts)

    def advance_sandbox(self, seconds: float) -> None:
        self.sandbox.advance(seconds)

    def close(self) -> None:
        for made in self.nodes:
            made.service.stop(release=False, wait=True)
            made.runtime.close()  # closes the Partner Center client too


@pytest.fixture
def tracking_env(
    pc_sandbox: SandboxServer, slack_standin: SlackStandIn, session_factory: sessionmaker[Session],
    database_url: str,
) -> Iterator[TrackingEnv]:
    env = sandbox_env(pc_sandbox)
    env.update({
        "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack_standin.base_url,
        "DATABASE_URL": database_url, "NCEBOT_APPROVAL_CHANNEL": APPROVAL_CHANNEL,
        "NCEBOT_NOTIFY_CHANNEL": NOTIFY_CHANNEL, "NCEBOT_POLL_INTERVAL": str(POLL_SECONDS),
        "NCEBOT_APPROVERS": APPROVER,
    })
    made = TrackingEnv(
        sandbox=pc_sandbox,
        standin=slack_standin,
        session_factory=session_factory,
        clock=SettableClock(pc_sandbox.state.now().astimezone(UTC)),
        settings=load_settings(env),
    )
    try:
        yield made
    finally:
        made.close()


def count(texts: list[str], predicate: Callable[[str], bool]) -> int:
    return sum(1 for t in texts if predicate(t))
