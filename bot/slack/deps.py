"""``AppDeps``: what the Slack listeners need, built by the composition root (``bot.runtime``) or a test.

Its own module so that ``handlers`` and ``bot.app`` both import it without importing each other. Listeners get
it from Bolt's ``context`` (``app_deps(context)``); ``bot.app.create_app`` puts it there with a middleware.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient

from bot.domain import Clock, SystemClock
from bot.estimates import ValidateLimit
from bot.work_queue import WorkQueue

if TYPE_CHECKING:
    from slack_bolt import BoltContext

    from bot.campaigns.service import CampaignService
    from bot.customers import CustomerDirectory
    from bot.deadlines.watcher import WindowWatcher
    from bot.intake.planning import Planner
    from bot.workflow import Workflow

HealthCheck = Callable[[], tuple[bool, dict[str, Any]]]
MetricsText = Callable[[], str]

CONTEXT_KEY = "ncebot_deps"


@dataclass
class AppDeps:
    """What the listeners need. ``work``: the bounded queue that runs everything slow after the ack (Partner
    Center, Slack Web API, the database), so Bolt's own small pool only acks; ``triggers``: the same for the
    modal openings that must happen within 3 s of the click or command."""

    workflow: Workflow
    slack_client: WebClient
    clock: Clock = field(default_factory=SystemClock)
    health: HealthCheck | None = None
    metrics: MetricsText | None = None
    process_before_response: bool = False
    partner_tenant_id: str | None = None  # PartnerTenantId column of the /nce check CSV (PARTNER_CENTER_TENANT_ID)
    customers: CustomerDirectory | None = None  # customers by name or domain (SPEC §4, §9); None: ids only
    windows: WindowWatcher | None = None  # SPEC §10: the 7-day window (button checks)
    work: WorkQueue = field(default_factory=WorkQueue)
    planner: Planner | None = None  # campaign plans: /nce bulk, /nce bulk all, /nce import (SPEC §8)
    validate_limit: ValidateLimit = field(default_factory=ValidateLimit)  # PARTNER_CENTER_VALIDATE_LIMIT (estimates)
    # Jobs that open a modal with a trigger id (valid 3 s): Slack calls and database reads only, never Partner
    # Center, so they never wait behind slow work.
    triggers: WorkQueue = field(default_factory=lambda: WorkQueue(workers=4, backlog=64, name="ncebot-trigger"))
    campaigns: CampaignService | None = None  # SPEC §8: ask for, control and read campaigns
    listener_state: dict[str, Any] = field(default_factory=dict)  # per-app state of listeners (e.g. caches)


def app_deps(context: BoltContext | dict[str, Any]) -> AppDeps:
    """The ``AppDeps`` that ``create_app`` put into Bolt's context."""
    deps = context.get(CONTEXT_KEY)
    if not isinstance(deps, AppDeps):
        raise RuntimeError("AppDeps missing from the Bolt context: build the app with bot.app.create_app")
    return deps
