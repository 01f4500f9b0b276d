"""Workflow test wiring: the real PartnerCenterClient against the Partner Center sandbox, stand-ins for Slack
(a recording Notifier), user groups (a static MembershipResolver) and time (a settable clock)."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.domain import MessageRef, RequestState, RequestView
from bot.partner_center.auth import PartnerCenterTokenProvider, scope_for_base_url
from bot.partner_center.client import PartnerCenterClient, build_partner_center_client
from bot.settings import Settings, load_settings
from bot.workflow import Workflow, WorkflowPolicy
from sandbox.server import SandboxServer

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
class RecordingNotifier:
    """Implements the Notifier protocol by recording; ``post_in_thread`` honours the once-per-key promise."""

    fail_posting: bool = False
    posted: list[RequestView] = field(default_factory=list)
    updates: list[RequestView] = field(default_factory=list)
    thread: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (request id, text)
    announcements: dict[str, tuple[str, str]] = field(default_factory=dict)
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

    def post_in_thread(self, request: RequestView, key: str, text: str) -> None:
        with self.lock:
            self.thread.setdefault(key, (request.id, text))

    def announce(self, channel: str, key: str, text: str) -> None:
        with self.lock:
            self.announcements.setdefault(key, (channel, text))

    def states_updated(self, request_id: str) -> list[RequestState]:
        return [u.state for u in self.updates if u.id == request_id]


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
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def membership() -> StaticMembership:
    return StaticMembership(dict(GROUP_MEMBERS))


WorkflowFactory = Callable[..., Workflow]


@pytest.fixture
def make_workflow(
    session_factory: sessionmaker[Session],
    pc_client: PartnerCenterClient,
    notifier: RecordingNotifier,
    membership: StaticMembership,
    clock: SettableClock,
) -> WorkflowFactory:
    def build(*, partner_center: PartnerCenterClient | None = None, **policy: Any) -> Workflow:
        """``partner_center``: a client of the test's own making; ``policy``: WorkflowPolicy fields."""
        values: dict[str, Any] = {"approval_channel": "CAPPROVALS", "approvers": APPROVERS}
        values.update(policy)
        return Workflow(
            session_factory=session_factory,
            partner_center=partner_center or pc_client,
            notifier=notifier,
            membership=membership,
            policy=WorkflowPolicy(**values),
            clock=clock,
        )

    return build


def sandbox_migrations(sandbox: SandboxServer) -> list[dict[str, Any]]:
    return list(sandbox.state.summary()["migrations"])
