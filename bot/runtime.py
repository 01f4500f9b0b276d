"""``ncebot run``: settings → database → Partner Center → workflow → Slack app → Socket Mode or HTTP."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.settings import Settings, load_settings

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.app import AppDeps
    from bot.partner_center.client import PartnerCenterClient

log = logging.getLogger("ncebot.runtime")


@dataclass
class Runtime:
    """Everything ``run()`` built; handed to the background hook (the scheduler) and closed on exit."""

    settings: Settings
    app: App
    deps: AppDeps
    partner_center: PartnerCenterClient
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for closer in reversed(self.closers):
            try:
                closer()
            except Exception:
                log.exception("error while shutting down")


# The scheduler (status polling, expiry, resumed submissions) plugs in here: it receives the Runtime and
# returns a function that stops it, or None.
BackgroundStarter = Callable[[Runtime], Callable[[], None] | None]


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


def build_partner_center(settings: Settings) -> tuple[PartnerCenterClient, list[Callable[[], None]]]:
    """The real Partner Center, or the in-process sandbox when PARTNER_CENTER_SANDBOX=true."""
    from bot.partner_center.client import build_partner_center_client

    closers: list[Callable[[], None]] = []
    if not settings.partner_center_sandbox:
        client = build_partner_center_client(settings)
    else:
        from sandbox.server import SandboxServer

        sandbox = SandboxServer()
        sandbox.start()
        closers.append(sandbox.stop)
        overrides = {key.lower(): value for key, value in sandbox.client_env().items()
                     if key.lower() in Settings.model_fields}
        pc_settings = Settings.model_validate({**settings.model_dump(), **overrides})
        client = build_partner_center_client(pc_settings, verify=str(sandbox.ca_path))
        log.warning("PARTNER_CENTER_SANDBOX=true: using the built-in Partner Center sandbox at %s", client.base_url)
    close = getattr(client, "close", None)
    if callable(close):
        closers.append(close)
    return client, closers


def build_runtime(settings: Settings, *, slack_client: Any = None) -> Runtime:
    from bot.app import AppDeps, build_slack_client, create_app
    from bot.domain import SystemClock
    from bot.slack.membership import SlackMembershipResolver
    from bot.slack.notifier import SlackNotifier
    from bot.workflow import Workflow, WorkflowPolicy
    from storage.db import make_session_factory

    assert settings.ncebot_approval_channel, "NCEBOT_APPROVAL_CHANNEL is required"
    prepare_database(settings.database_url)
    session_factory = make_session_factory(settings.database_url)
    partner_center, closers = build_partner_center(settings)
    client = slack_client or build_slack_client(settings)
    clock = SystemClock()
    notifier = SlackNotifier(client, settings.ncebot_approval_channel, notify_channel=settings.notify_channel)
    workflow = Workflow(
        session_factory=session_factory,
        partner_center=partner_center,
        notifier=notifier,
        membership=SlackMembershipResolver(client),
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
    )

    def health() -> tuple[bool, dict[str, Any]]:
        from sqlalchemy import text

        try:
            with session_factory() as session:
                session.execute(text("SELECT 1"))
        except Exception:
            return False, {"database": "unreachable"}
        return True, {"database": "ok"}

    deps = AppDeps(workflow=workflow, slack_client=client, clock=clock, health=health)
    app = create_app(settings, deps)
    runtime = Runtime(settings=settings, app=app, deps=deps, partner_center=partner_center, closers=closers)
    bind = session_factory.kw.get("bind")
    if bind is not None:
        runtime.closers.insert(0, bind.dispose)
    return runtime


def run(*, start_background: BackgroundStarter | None = None) -> int:
    """Start ncebot and block until stopped. ``start_background``: hook for the scheduler (see BackgroundStarter)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings(require_run=True)  # SettingsError → `ncebot` prints one line per problem
    try:
        runtime = build_runtime(settings)
    except DatabaseNotReady as exc:
        print(f"ncebot: {exc}", file=sys.stderr)
        return 2
    try:
        # --- HOOK: background work (scheduler: status polling, expiry, resumed submissions) -----------------
        if start_background is not None:
            stop_background = start_background(runtime)
            if stop_background is not None:
                runtime.closers.append(stop_background)
        # -----------------------------------------------------------------------------------------------------
        if settings.slack_app_token is not None:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            log.info("starting in Socket Mode")
            handler = SocketModeHandler(runtime.app, settings.slack_app_token.get_secret_value())
            runtime.closers.append(handler.close)
            handler.start()
        else:
            from bot.http_server import HttpServer

            server = HttpServer(runtime.app, "0.0.0.0", settings.port, health=runtime.deps.health,
                                metrics=runtime.deps.metrics)
            log.info("serving HTTP on port %d: POST /slack/events, GET /healthz, GET /metrics", settings.port)
            server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        runtime.close()
    return 0
