"""Workflow test wiring: the runtime that ``ncebot run`` builds (``bot.runtime.build_runtime``), with the real
PartnerCenterClient against the Partner Center sandbox, the production outbox notifier, the Slack stand-in behind the
WebClient, and three dependencies of the test's own making through ``RuntimeOverrides``: the approval message's
poster (recording), user groups (static) and time (a settable clock). Submission is the lease holder's job: a test
runs it with :func:`submit_approved`, as the job's 2-second tick would."""

from __future__ import annotations

import ssl
import threading
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.domain import MembershipResolver, MessageRef, RequestState, RequestView
from bot.partner_center.auth import PartnerCenterTokenProvider, scope_for_base_url
from bot.partner_center.client import PartnerCenterClient, build_partner_center_client
from bot.runtime import Runtime, RuntimeOverrides, build_runtime
from bot.settings import Settings, load_settings
from bot.workflow import Workflow
from sandbox.server import SandboxServer
from sandbox.slack_api import SlackStandIn
from storage.tracking import OUTBOX_ANNOUNCE, OUTBOX_THREAD, OUTBOX_UPDATE, OutboxRow, outbox_rows

APPROVERS = ("UAPPROVER1", "UAPPROVER2", "UAPPROVER3", "SAPPROVERS")
GROUP_MEMBERS = {"SAPPROVERS": frozenset({"UGROUPMEMBER"})}


class SettableClock:
    def __init__(self, start: datetime) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._now += delta


class StaticMembership:
    def __init__(self, groups: dict[str, frozenset[str]]) -> None:
        self.groups = groups
        self.calls: list[str] = []

    def members(self, group_id: str) -> frozenset[str]:
        self.calls.append(group_id)
        return self.groups.get(group_id, frozenset())


@dataclass
class RecordingPoster:
    """The approval message itself (``bot.domain.MessagePoster``, production's ``SlackNotifier``), recorded: the
    post and the click's own edits. Everything else a state change causes goes through the outbox."""

    fail_posting: bool = False
    posted: list[RequestView] = field(default_factory=list)
    updates: list[RequestView] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def post_request(self, request: RequestView) -> MessageRef:
        with self.lock:
            if self.fail_posting:
                raise RuntimeError("channel_not_found")
            self.posted.append(request)
            return MessageRef(channel="CAPPROVALS", ts=f"1700000000.{len(self.posted):06d}")

    def update_request(self, request: RequestView) -> None:
        with self.lock:
            self.updates.append(request)


class RecordedSlack:
    """What the workflow sent towards Slack: the approval message and the click's own edits (``poster``), and the
    thread replies, parent edits and announcements in the production outbox (read from its table, in order)."""

    def __init__(self, poster: RecordingPoster, session_factory: sessionmaker[Session]) -> None:
        self.poster = poster
        self._sessions = session_factory

    @property
    def posted(self) -> list[RequestView]:
        return self.poster.posted

    @property
    def fail_posting(self) -> bool:
        return self.poster.fail_posting

    @fail_posting.setter
    def fail_posting(self, value: bool) -> None:
        self.poster.fail_posting = value

    def _rows(self, kind: str) -> list[OutboxRow]:
        with self._sessions() as session:
            rows = outbox_rows(session, ("pending", "sending", "sent", "failed"))
        return [row for row in rows if row.kind == kind]

    @property
    def thread(self) -> dict[str, tuple[str, str]]:
        """Thread replies by outbox key: (request id, text)."""
        return {row.key: (row.request_id or "", row.text) for row in self._rows(OUTBOX_THREAD)}

    @property
    def announcements(self) -> dict[str, tuple[str, str]]:
        return {row.key: (row.channel or "", row.text) for row in self._rows(OUTBOX_ANNOUNCE)}

    def states_updated(self, request_id: str) -> list[RequestState]:
        """The states the request's message was edited to: the click's own edits, then the outbox's parent edits
        (keyed ``state:<state>``)."""
        direct = [u.state for u in self.poster.updates if u.id == request_id]
        queued = [RequestState(row.key.split(":", 1)[1]) for row in self._rows(OUTBOX_UPDATE)
                  if row.request_id == request_id and row.key.startswith("state:")]
        return direct + queued


@pytest.fixture
def sandbox(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    """The shared ``pc_sandbox`` fixture when it exists, reset to its seed data; else a private sandbox."""
    try:
        shared: SandboxServer = request.getfixturevalue("pc_sandbox")
    except pytest.FixtureLookupError:
        with SandboxServer() as own:
            yield own
        return
    shared.state.load()
    shared.state.clear_faults()
    yield shared
    shared.state.clear_faults()


def sandbox_env(sandbox: SandboxServer) -> dict[str, str]:
    return {k: v for k, v in sandbox.client_env().items() if k.startswith("PARTNER_CENTER_")}


def sandbox_http(sandbox: SandboxServer) -> tuple[Settings, httpx.Client, PartnerCenterTokenProvider]:
    """The parts of a Partner Center client of a test's own making: settings, an HTTP client and a token provider
    on it (the caller closes the HTTP client)."""
    settings = load_settings(env=sandbox_env(sandbox))
    assert settings.partner_center_client_secret is not None
    http = httpx.Client(verify=ssl.create_default_context(cafile=sandbox.ca_path), timeout=10)
    tokens = PartnerCenterTokenProvider(
        tenant_id=settings.partner_center_tenant_id or "", client_id=settings.partner_center_client_id or "",
        client_secret=settings.partner_center_client_secret, http_client=http,
        authority_host=settings.partner_center_authority, scope=scope_for_base_url(settings.partner_center_base_url),
    )
    return settings, http, tokens


@pytest.fixture
def pc_client(sandbox: SandboxServer) -> PartnerCenterClient:
    settings = load_settings(env=sandbox_env(sandbox))
    return build_partner_center_client(settings, verify=sandbox.ca_path)


@pytest.fixture
def clock(sandbox: SandboxServer) -> SettableClock:
    # The workflow's clock starts at the sandbox's "now" so dates agree with the seed data.
    return SettableClock(sandbox.state.now().astimezone(UTC))


@pytest.fixture
def poster() -> RecordingPoster:
    return RecordingPoster()


@pytest.fixture
def notifier(poster: RecordingPoster, session_factory: sessionmaker[Session]) -> RecordedSlack:
    return RecordedSlack(poster, session_factory)


@pytest.fixture
def membership() -> StaticMembership:
    return StaticMembership(dict(GROUP_MEMBERS))


WorkflowFactory = Callable[..., Workflow]
_RUNTIMES: weakref.WeakKeyDictionary[Workflow, Runtime] = weakref.WeakKeyDictionary()


def submit_approved(workflow: Workflow) -> int:
    """Run the lease holder's submission job now (``bot.campaigns.jobs``), as its 2-second tick would: every
    approved request is sent; returns how many were."""
    tracking = _RUNTIMES[workflow].tracking
    assert tracking is not None
    return tracking.submissions.run_due(wait_for_all=True)


def approve_and_submit(workflow: Workflow, request_id: str, approver: str) -> RequestView:
    """The approval, then the lease holder's submission job: the request as it stands after both."""
    workflow.approve(request_id, approver)
    submit_approved(workflow)
    return workflow.get_request(request_id)


def _policy_settings(policy: dict[str, Any]) -> dict[str, Any]:
    """WorkflowPolicy fields as the NCEBOT_* settings ``build_runtime`` reads them."""
    names = {"approval_channel": "ncebot_approval_channel", "approvers": "ncebot_approvers",
             "requesters": "ncebot_requesters", "required_approvals": "ncebot_required_approvals",
             "allow_self_approval": "ncebot_allow_self_approval", "approval_ttl": "ncebot_approval_ttl",
             "notify_channel": "ncebot_notify_channel"}
    unknown = set(policy) - set(names)
    if unknown:
        raise TypeError(f"make_workflow: unknown policy fields {sorted(unknown)}")
    return {names[key]: ",".join(value) if key in ("approvers", "requesters") else value
            for key, value in policy.items()}


@pytest.fixture
def make_workflow(
    session_factory: sessionmaker[Session],
    sandbox: SandboxServer,
    slack_standin: SlackStandIn,
    poster: RecordingPoster,
    membership: StaticMembership,
    clock: SettableClock,
    database_url: str,
) -> Iterator[WorkflowFactory]:
    runtimes: list[Runtime] = []

    def build(*, partner_center: PartnerCenterClient | None = None, groups: MembershipResolver | None = None,
              **policy: Any) -> Workflow:
        """``partner_center``: a client of the test's own making; ``groups``: another user-group resolver than the
        ``membership`` fixture; ``policy``: WorkflowPolicy fields."""
        values: dict[str, Any] = {"approval_channel": "CAPPROVALS", "approvers": APPROVERS}
        values.update(policy)
        env = {**sandbox_env(sandbox), "SLACK_BOT_TOKEN": slack_standin.bot_token,
               "SLACK_API_URL": slack_standin.base_url, "DATABASE_URL": database_url}
        settings = load_settings(env=env)
        settings = Settings.model_validate({**settings.model_dump(), **_policy_settings(values)})
        runtime = build_runtime(settings, RuntimeOverrides(
            session_factory=session_factory,
            partner_center=partner_center or build_partner_center_client(settings, verify=sandbox.ca_path),
            clock=clock, membership=groups or membership, poster=poster,
            deadline_jobs=False,
        ))
        runtimes.append(runtime)
        workflow = runtime.deps.workflow
        _RUNTIMES[workflow] = runtime
        return workflow

    yield build
    for runtime in runtimes:
        runtime.close()


def sandbox_migrations(sandbox: SandboxServer) -> list[dict[str, Any]]:
    return list(sandbox.state.summary()["migrations"])
