"""``ncebot run``: settings → database → Partner Center → workflow → tracking → Slack app → Socket Mode or HTTP.

``build_runtime`` assembles everything (also used by ``ncebot demo`` and the tests); ``run`` serves it until
SIGTERM / Ctrl-C and then shuts down cleanly: the HTTP server or Socket Mode connection, the scheduler, the
poller lease, the Partner Center client and sandbox, the database pool.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import FrameType
from typing import TYPE_CHECKING, Any

from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.settings import Settings, load_settings

if TYPE_CHECKING:
    from slack_bolt import App
    from sqlalchemy.orm import Session, sessionmaker
    from starlette.routing import BaseRoute

    from bot.app import AppDeps
    from bot.campaigns.service import CampaignService
    from bot.domain import Clock, MembershipResolver, MessagePoster
    from bot.health import HealthCheck
    from bot.http_server import HttpServer
    from bot.liveness import InstanceHeartbeat
    from bot.metrics import Metrics
    from bot.partner_center.client import PartnerCenterClient
    from bot.tracking import OutboxNotifier, TrackingService
    from bot.work_queue import WorkQueue
    from sandbox.server import SandboxServer

log = logging.getLogger("ncebot.runtime")


@dataclass
class Runtime:
    """Everything ``build_runtime`` built. ``start_background()`` starts the tracking service; ``close()`` stops
    all of it, in reverse order of construction."""

    settings: Settings
    app: App
    deps: AppDeps
    partner_center: PartnerCenterClient
    closers: list[Callable[[], None]] = field(default_factory=list)
    metrics: Metrics | None = None
    health: HealthCheck | None = None
    tracking: TrackingService | None = None
    sandbox: SandboxServer | None = None
    session_factory: sessionmaker[Session] | None = None
    extra_routes: list[BaseRoute] = field(default_factory=list)  # POST /partner-center/webhooks, both transports
    heartbeat: InstanceHeartbeat | None = None
    _closed: bool = False

    def start_background(self) -> None:
        """Start this process's heartbeat and the tracking service (scheduler + poller lease); ``close()`` stops
        them and releases the lease."""
        if self.heartbeat is not None:
            self.closers.append(self.heartbeat.start().stop)
            self.heartbeat = None  # started once
        if self.tracking is None or self.tracking.scheduler is not None:
            return
        tracking = self.tracking
        tracking.start()
        self.closers.append(tracking.stop)
        # Take the poller lease now rather than at the first job tick, so /healthz is green from the start (a
        # standby replica simply does not get it, which is healthy while the holder's lease is live).
        tracking.lease.try_acquire()

    def http_server(self, host: str = "0.0.0.0", port: int | None = None, *, slack_events: bool = True) -> HttpServer:
        """The HTTP server for this runtime (not started). ``slack_events=False``: only ``/healthz`` and
        ``/metrics`` (Socket Mode, where requests carry no signature and must not be accepted over HTTP)."""
        from bot.http_server import HttpServer

        return HttpServer(self.app, host, self.settings.port if port is None else port,
                          health=self.deps.health, metrics=self.deps.metrics, slack_events=slack_events,
                          extra_routes=self.extra_routes)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for closer in reversed(self.closers):
            try:
                closer()
            except Exception:
                log.exception("error while shutting down")


@dataclass
class RuntimeOverrides:
    """What a caller other than ``ncebot run`` (the test fixtures) swaps in ``build_runtime``; every ``None`` is the
    production choice. Policy is not here: it comes from settings (NCEBOT_APPROVERS, NCEBOT_REQUIRED_APPROVALS…).

    ``session_factory``: the caller's database, already migrated (not prepared, not disposed here).
    ``partner_center``: a client of the caller's making (e.g. trusting a sandbox CA); the runtime closes it.
    ``clock``: the workflow's, tracking's and outbox's clock. ``membership_clock``: the user-group cache timer.
    ``work``: the listeners' work queue (closed by the runtime). ``campaigns``: ``AppDeps.campaigns`` (a test
    double; ``None``: the real ``CampaignService``). ``notifier_class``: the outbox notifier's class.
    ``tracking_kwargs``: more keyword arguments of ``TrackingService`` (e.g. ``sleep``, ``monotonic``).
    ``holder_id``: this process's instance id (the poller lease holder, the claims' owner).
    ``deadline_jobs``: False leaves out the SPEC §10 window and digest jobs (tests of the tracking jobs alone).
    ``membership``: the user-group resolver (default: Slack's ``usergroups.users.list``, cached).
    ``poster``: what posts and edits the approval message itself (default: ``SlackNotifier``); thread replies,
    parent edits and announcements still go through the production outbox. Submission is always the lease
    holder's job (``runtime.tracking.submissions``); a caller without the scheduler runs it itself."""

    session_factory: sessionmaker[Session] | None = None
    partner_center: PartnerCenterClient | None = None
    clock: Clock | None = None
    membership_clock: Callable[[], float] | None = None
    work: WorkQueue | None = None
    campaigns: CampaignService | Any | None = None
    notifier_class: type[OutboxNotifier] | None = None
    tracking_kwargs: dict[str, Any] = field(default_factory=dict)
    holder_id: str | None = None
    deadline_jobs: bool = True
    membership: MembershipResolver | None = None
    poster: MessagePoster | None = None


class DatabaseNotReady(Exception):
    pass


def prepare_database(url: str) -> None:
    """SQLite: upgrade in place. PostgreSQL (shared by replicas): refuse to start unless already at head."""
    from storage.db import is_sqlite
    from storage.migrate import current_revision, head_revision, upgrade

    if is_sqlite(url):
        upgrade(url)
        return
    current, head = current_revision(url), head_revision()
    if current != head:
        raise DatabaseNotReady(
            f"the database schema is at {current or 'nothing'}, this version needs {head}: "
            "run `ncebot db upgrade` once, then start ncebot again"
        )


def sandbox_settings(settings: Settings, sandbox: SandboxServer) -> Settings:
    """``settings`` pointed at a running built-in sandbox (its URLs, tenant and app credentials)."""
    overrides = {key.lower(): value for key, value in sandbox.client_env().items()
                 if key.lower() in Settings.model_fields}
    return Settings.model_validate({**settings.model_dump(), **overrides})


def build_partner_center(
    settings: Settings,
    *,
    on_call: Callable[[Any], None] | None = None,
    sandbox_time_scale: float = 1.0,
    sandbox_seed: str | None = None,
) -> tuple[PartnerCenterClient, list[Callable[[], None]], SandboxServer | None]:
    """The real Partner Center, or the in-process sandbox when PARTNER_CENTER_SANDBOX=true (started here, with its
    clock running ``sandbox_time_scale`` times faster than real time)."""
    from bot.logging_setup import register_settings_secrets
    from bot.partner_center.client import build_partner_center_client

    closers: list[Callable[[], None]] = []
    sandbox: SandboxServer | None = None
    if not settings.partner_center_sandbox:
        client = build_partner_center_client(settings, on_call=on_call)
    else:
        from sandbox import large_seed
        from sandbox.server import SandboxServer

        data = large_seed.build() if sandbox_seed == large_seed.NAME else None
        sandbox = SandboxServer(data=data, time_scale=sandbox_time_scale)
        sandbox.start()
        closers.append(sandbox.stop)
        pc_settings = sandbox_settings(settings, sandbox)
        register_settings_secrets(pc_settings)  # the sandbox's client secret stays out of the logs too
        client = build_partner_center_client(pc_settings, verify=str(sandbox.ca_path), on_call=on_call)
        log.warning("PARTNER_CENTER_SANDBOX=true: using the built-in Partner Center sandbox at %s", client.base_url)
    close = getattr(client, "close", None)
    if callable(close):
        closers.append(close)
    return client, closers, sandbox


class SlackErrorCounter(RetryHandler):
    """Never retries; counts every Slack Web API error answer (``ok: false`` or HTTP 429/5xx) by method and error
    code into ``ncebot_slack_api_errors_total``. Installed first so it sees every response."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__(max_retry_count=0)
        self._metrics = metrics

    def can_retry(self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
                  error: Exception | None = None) -> bool:
        try:
            method = request.url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0] or "unknown"
            if response is not None:
                body = response.body if isinstance(response.body, dict) else {}
                if response.status_code >= 400 or body.get("ok") is False:
                    error_code = str(body.get("error") or f"http_{response.status_code}")
                    self._metrics.observe_slack_api_error(method, error_code)
            elif error is not None:
                self._metrics.observe_slack_api_error(method, type(error).__name__)
        except Exception:  # metrics must never break a Slack call
            log.debug("could not count a Slack API error", exc_info=True)
        return False


def request_counts(session_factory: sessionmaker[Session]) -> Callable[[], Mapping[str, int]]:
    """For ``Metrics.set_request_counts_provider``: ``{state: count}`` of change requests, one GROUP BY."""
    from sqlalchemy import func, select

    from storage.models import ChangeRequest

    def provider() -> Mapping[str, int]:
        with session_factory() as session:
            rows = session.execute(select(ChangeRequest.state, func.count()).group_by(ChangeRequest.state)).all()
        return {str(state): int(count) for state, count in rows}

    return provider


def build_runtime(
    settings: Settings,
    overrides: RuntimeOverrides | None = None,
    *,
    slack_client: Any = None,
    sandbox_time_scale: float = 1.0,
    sandbox_seed: str | None = None,
    post_spacing: float = 1.0,
    drain_seconds: float | None = None,
) -> Runtime:
    """Build ncebot from settings. Nothing is served and no background job runs until the caller asks
    (``runtime.start_background()``, ``runtime.http_server().start()``); ``runtime.close()`` undoes it all.

    ``sandbox_time_scale``: clock speed of the built-in sandbox (PARTNER_CENTER_SANDBOX=true). ``post_spacing``:
    seconds between the outbox's posts to one channel (Slack allows ~1 per second). ``drain_seconds``: how often
    the outbox is drained (default: the tracking service's). ``overrides``: see :class:`RuntimeOverrides`."""
    from bot.app import AppDeps, build_slack_client, create_app
    from bot.campaigns.progress import CampaignReader
    from bot.campaigns.service import CampaignService
    from bot.customers import CustomerDirectory
    from bot.domain import SystemClock
    from bot.estimates import ValidateLimit
    from bot.health import HealthCheck, database_check, lease_check, scheduler_check
    from bot.intake.planning import Planner
    from bot.liveness import InstanceHeartbeat, liveness_timeout
    from bot.metrics import Metrics
    from bot.slack.campaign_render import CampaignRenderer
    from bot.slack.membership import SlackMembershipResolver, SlackUserDirectory
    from bot.slack.notifier import SlackNotifier, stored_request_items
    from bot.tracking import Outbox, OutboxNotifier, TrackingService
    from bot.webhooks.receiver import WebhookProcessor, webhook_route
    from bot.webhooks.verify import WebhookVerifier
    from bot.work_queue import WorkQueue
    from bot.workflow import Workflow, WorkflowPolicy
    from storage.db import make_session_factory
    from storage.migrate import head_revision

    if not settings.ncebot_approval_channel:
        raise ValueError("NCEBOT_APPROVAL_CHANNEL is required")
    over = overrides or RuntimeOverrides()
    metrics = Metrics()
    closers: list[Callable[[], None]] = []
    if over.session_factory is not None:
        session_factory = over.session_factory
    else:
        prepare_database(settings.database_url)
        session_factory = make_session_factory(settings.database_url)
        bind = session_factory.kw.get("bind")
        if bind is not None:
            closers.append(bind.dispose)  # first in, last out
    sandbox: SandboxServer | None = None
    if over.partner_center is not None:
        partner_center = over.partner_center
        close_pc = getattr(partner_center, "close", None)
        if callable(close_pc):
            closers.append(close_pc)
    else:
        try:
            partner_center, pc_closers, sandbox = build_partner_center(
                settings, on_call=metrics.observe_partner_center_call, sandbox_time_scale=sandbox_time_scale,
                sandbox_seed=sandbox_seed,
            )
        except BaseException:
            for closer in reversed(closers):
                closer()
            raise
        closers.extend(pc_closers)
    client = slack_client or build_slack_client(settings)
    if not any(isinstance(handler, SlackErrorCounter) for handler in client.retry_handlers):
        client.retry_handlers.insert(0, SlackErrorCounter(metrics))
    clock = over.clock or SystemClock()
    # This process's liveness: its id is written on every claim, so others take over at once after a crash.
    heartbeat = InstanceHeartbeat(session_factory, clock,
                                  timeout=liveness_timeout(timedelta(seconds=settings.ncebot_poll_interval)),
                                  instance_id=over.holder_id)
    # request_items: a bulk request's message lists its subscriptions, as in the HTTP tests, not just a count.
    campaign_reader = CampaignReader(session_factory, clock, settings.create_limit)
    slack_notifier = over.poster or SlackNotifier(
        client, settings.ncebot_approval_channel, notify_channel=settings.notify_channel,
        request_items=stored_request_items(session_factory), approvers=settings.approvers,
        campaigns=campaign_reader.progress)
    notifier = (over.notifier_class or OutboxNotifier)(slack_notifier, Outbox(session_factory, clock))
    workflow = Workflow(
        session_factory=session_factory,
        partner_center=partner_center,
        notifier=notifier,  # thread posts and announcements go through the durable outbox
        membership=over.membership or (SlackMembershipResolver(client) if over.membership_clock is None
                                       else SlackMembershipResolver(client, clock=over.membership_clock)),
        directory=SlackUserDirectory(client),  # names in the audit CSV
        policy=WorkflowPolicy(
            approval_channel=settings.ncebot_approval_channel,
            approvers=tuple(settings.approvers),
            requesters=tuple(settings.requesters),
            required_approvals=settings.ncebot_required_approvals,
            allow_self_approval=settings.ncebot_allow_self_approval,
            approval_ttl=settings.ncebot_approval_ttl,
            notify_channel=settings.notify_channel,
        ),
        clock=clock,
        instance_id=heartbeat.id,
    )
    extra: dict[str, Any] = {} if drain_seconds is None else {"drain_seconds": drain_seconds}
    extra = {"metrics": metrics, "post_spacing": post_spacing, **extra, **over.tracking_kwargs}
    tracking = TrackingService(settings, workflow, session_factory, partner_center, client, notifier, clock,
                               holder_id=heartbeat.id, **extra)
    tracking.drainer.live = CampaignRenderer(campaign_reader)  # a campaign's progress reply, failures, files
    closers.append(tracking.submissions.close)
    campaigns = over.campaigns if over.campaigns is not None else CampaignService(
        session_factory=session_factory, notifier=notifier, access=workflow.access,
        policy=workflow.policy, clock=clock, reader=campaign_reader, end_unposted=workflow.end_unposted)
    metrics.set_request_counts_provider(request_counts(session_factory))
    from bot.slack.deadline_jobs import install_deadline_jobs

    windows = None
    if over.deadline_jobs:  # SPEC §10: the 7-day window and the daily digest
        windows, _digest = install_deadline_jobs(tracking, settings, workflow, session_factory, partner_center,
                                                 client, clock)
    # Partner Center webhooks (SPEC §11): verified on the HTTP thread, handled on a small pool of their own.
    verifier = WebhookVerifier(settings.webhook_cert_hosts)
    processor = WebhookProcessor(lambda: tracking.tracker.reconciler)
    closers += [verifier.close, processor.close]

    def scheduler_running() -> bool:
        scheduler = tracking.scheduler
        return bool(scheduler is not None and scheduler.running)

    health = HealthCheck()
    health.add("database", database_check(session_factory.kw["bind"], head_revision()))  # head read once
    health.add("scheduler", scheduler_check(scheduler_running))
    health.add("lease", lease_check(tracking.lease_state))

    # sized in bot/work_queue.py (not a setting: README's settings table is the contract)
    work = over.work or WorkQueue()
    triggers = WorkQueue(workers=4, backlog=64, name="ncebot-trigger")
    closers.extend((work.close, triggers.close))  # closed before the Partner Center client and the database
    deps = AppDeps(workflow=workflow, slack_client=client, clock=clock, health=health, metrics=metrics.render,
                   windows=windows,
                   # the PartnerTenantId column of /nce check
                   partner_tenant_id=sandbox.tenant_id if sandbox is not None else settings.partner_center_tenant_id,
                   customers=CustomerDirectory(partner_center), work=work, triggers=triggers, campaigns=campaigns,
                   planner=Planner(partner_center, session_factory, partner_tenant_id=(
                       sandbox.tenant_id if sandbox is not None else settings.partner_center_tenant_id) or ""),
                   validate_limit=ValidateLimit(settings.validate_limit.calls, settings.validate_limit.window))
    app = create_app(settings, deps)
    return Runtime(settings=settings, app=app, deps=deps, partner_center=partner_center, closers=closers,
                   metrics=metrics, health=health, tracking=tracking, sandbox=sandbox,
                   session_factory=session_factory, heartbeat=heartbeat,
                   extra_routes=[webhook_route(verifier, processor, metrics)])


class _Stop(BaseException):
    """Raised in the main thread by the SIGTERM/SIGINT handler."""


def _install_signal_handlers() -> Callable[[], None]:
    """SIGTERM and SIGINT stop ``run`` cleanly (exit code 0). Returns a function that makes further signals
    no-ops, for the duration of the shutdown itself."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    stopping = threading.Event()

    def handler(signum: int, _frame: FrameType | None) -> None:
        if stopping.is_set():
            return
        stopping.set()
        raise _Stop(signum)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)
    return stopping.set


def run() -> int:
    """Start ncebot and block until SIGTERM / Ctrl-C."""
    from bot.http_server import ServerStartError
    from bot.logging_setup import configure_logging, register_settings_secrets

    configure_logging()
    settings = load_settings(require_run=True)  # SettingsError → `ncebot` prints one line per problem
    register_settings_secrets(settings)
    ignore_signals = _install_signal_handlers()
    runtime: Runtime | None = None
    try:
        runtime = build_runtime(settings)
        runtime.start_background()
        if settings.slack_app_token is not None:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            ops = runtime.http_server("0.0.0.0", settings.port, slack_events=False).start()
            runtime.closers.append(ops.stop)
            log.info(
                "serving HTTP on port %d: POST /partner-center/webhooks, GET /healthz, GET /metrics (Slack events "
                "come over Socket Mode)", ops.port
            )
            log.info("starting in Socket Mode")
            handler = SocketModeHandler(runtime.app, settings.slack_app_token.get_secret_value())
            runtime.closers.append(handler.close)
            handler.start()  # blocks until a signal
        else:
            # uvicorn runs in a thread (it leaves signals to the main thread), so the bound port is known here:
            # PORT=0 picks a free one, and this line says which.
            server = runtime.http_server("0.0.0.0", settings.port).start()
            runtime.closers.append(server.stop)
            log.info("serving HTTP on port %d: POST /slack/events, POST /partner-center/webhooks, GET /healthz, "
                     "GET /metrics", server.port)
            server.wait()  # until SIGTERM/SIGINT (→ _Stop) or the server thread ends
            log.error("the HTTP server stopped by itself")
            return 1
    except DatabaseNotReady as exc:
        print(f"ncebot: {exc}", file=sys.stderr)
        return 2
    except ServerStartError as exc:
        print(f"ncebot: {exc}", file=sys.stderr)
        return 1
    except (_Stop, KeyboardInterrupt):
        pass
    finally:
        ignore_signals()
        if runtime is not None:
            log.info("shutting down")
            runtime.close()
    log.info("stopped")
    return 0
