"""A real ncebot (``build_runtime``: the production wiring) on the large sandbox partner, with its background jobs
running, the Slack stand-in, and a sandbox clock 60x faster so Partner Center's 5-minute windows last 5 s."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.bam.models import BamKind, BamPlan, PlannedMigration, PlannedSubscription
from bot.partner_center.models import BillingCycle, TermDuration
from bot.runtime import Runtime, build_runtime
from bot.settings import load_settings
from sandbox.slack_api import SlackStandIn
from sandbox.slack_requests import SlackRequester

SIGNING_SECRET = "campaign-test-signing-secret-7a1c"
BOT_TOKEN = "xoxb-campaign-test-token-3e2d"
APPROVAL_CHANNEL = "CCAMPAPPR1"
WORK_CHANNEL = "CCAMPWORK1"
REQUESTER = "UCAMPREQ01"
APPROVER = "UCAMPAPPR1"
TIME_SCALE = 60.0


@dataclass
class CampaignEnv:
    runtime: Runtime
    standin: SlackStandIn
    url: str

    @property
    def sandbox(self) -> Any:
        assert self.runtime.sandbox is not None
        return self.runtime.sandbox

    def click(self, action_id: str, value: str, *, user: str = APPROVER) -> Any:
        with SlackRequester(self.url, self.standin, SIGNING_SECRET) as slack:
            return slack.block_action(action_id, value, user=user, channel=APPROVAL_CHANNEL)

    def plan(self, per_customer: dict[str, int]) -> BamPlan:
        """``{customer id: n}``: the first n active legacy base subscriptions of each (by id), their add-ons with
        them, each row keeping its own term, billing plan and seats (written explicitly, as a BAM file does)."""
        migrations: list[PlannedMigration] = []
        line = 2
        for customer_id, count in per_customer.items():
            customer = self.sandbox.state.customers[customer_id]
            bases = sorted((s for s in customer.subs.values() if s.parent is None and s.status == "active"
                            and not s.is_trial and not s.promotion_id), key=lambda s: s.id)[:count]
            for base in bases:
                def row(sub: Any, *, addon: bool, customer: Any = customer) -> PlannedSubscription:
                    nonlocal line
                    line += 1
                    return PlannedSubscription(
                        line=line, customer_tenant_id=customer.id, subscription_id=sub.id,
                        customer_name=customer.company_name, subscription_name=sub.friendly_name,
                        is_addon=addon, base_subscription_id=sub.parent, term=TermDuration(sub.term_duration),
                        billing=BillingCycle(sub.billing_cycle), quantity=sub.quantity,
                        current_seats=sub.quantity)
                add_ons = tuple(row(s, addon=True) for s in customer.subs.values()
                                if s.parent and s.parent.lower() == base.id.lower() and s.status == "active")
                migrations.append(PlannedMigration(kind=BamKind.MIGRATE, base=row(base, addon=False), add_ons=add_ons))
        return BamPlan(kind=BamKind.MIGRATE, migrations=tuple(migrations), data_rows=line - 2)

    def biggest_customers(self, n: int) -> list[str]:
        customers = self.sandbox.state.customers.values()
        return [c.id for c in sorted(customers, key=lambda c: -len(c.subs))[:n]]


@pytest.fixture
def campaign_env(tmp_path: Path) -> Iterator[CampaignEnv]:
    with SlackStandIn(signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN,
                      channels={APPROVAL_CHANNEL: "nce-approvals", WORK_CHANNEL: "cloud-ops"}) as standin:
        env = {
            "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": standin.base_url,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'ncebot.db'}", "PARTNER_CENTER_SANDBOX": "true",
            "NCEBOT_APPROVAL_CHANNEL": APPROVAL_CHANNEL, "NCEBOT_APPROVERS": APPROVER,
            # Partner Center's documented limits, on the sandbox's 60x clock (100 creates per 5 sandbox minutes)
            "PARTNER_CENTER_CREATE_LIMIT": "100/5s", "PARTNER_CENTER_VALIDATE_LIMIT": "450/5s",
            "NCEBOT_POLL_INTERVAL": "2",
        }
        settings = load_settings(env, env_file=None, require_run=True)
        runtime = build_runtime(settings, sandbox_time_scale=TIME_SCALE, sandbox_seed="large", post_spacing=0.02,
                                drain_seconds=0.5)
        try:
            server = runtime.http_server("127.0.0.1", 0).start()
            runtime.closers.append(server.stop)
            runtime.start_background()
            yield CampaignEnv(runtime, standin, server.url)
        finally:
            runtime.close()
