"""A campaign at Partner Center's full rate (issue #11): ncebot's campaign engine against BAM-style sending.

Run by hand (``make bench`` or ``.venv/bin/python -m bench.campaign``); never part of the test suite.

ncebot: the production wiring (``build_runtime``) on the large sandbox partner, a ``--subscriptions`` campaign over
``--customers`` customers, approved with a signed click; the lease holder's job sends it with its operations in
flight under the FIFO limiter. BAM-style: the same creates from 5 threads with no limiter (what the console tool
does), retrying 429s after ``Retry-After``. The sandbox clock runs ``--scale`` times faster (its 5-minute window
lasts 300/scale s; ncebot's create limit is scaled the same way) and every create answers after ``--latency``
sandbox seconds. Printed: creates, elapsed, achieved rate ÷ documented limit (ideal time ÷ actual time: 1.0 is
every window used in full), 429 answers, thread replies, Web API calls, peak RSS.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import resource
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bot.bam.models import BamKind, BamPlan, PlannedMigration, PlannedSubscription
from bot.campaigns.model import CampaignSource
from bot.domain import RequestState
from bot.partner_center.client import CallRecord, build_partner_center_client
from bot.partner_center.errors import PartnerCenterError
from bot.runtime import build_runtime
from bot.settings import load_settings
from bot.slack import ids
from sandbox.server import SandboxServer
from sandbox.slack_api import SlackStandIn
from sandbox.slack_requests import SlackRequester

SECRET = "bench-campaign-signing-secret-0123"
TOKEN = "xoxb-bench-campaign"
CHANNEL = "CBENCHCAMP"
REQUESTER = "UBENCHREQ1"
APPROVER = "UBENCHAPP1"
LIMIT = 100  # creates per partner per 5 minutes (documented)


def plan_from(state: object, customers: int, subscriptions: int) -> BamPlan:
    """``subscriptions`` active legacy bases spread over the ``customers`` largest customers."""
    chosen = sorted(state.customers.values(), key=lambda c: -len(c.subs))[:customers]  # type: ignore[attr-defined]
    per = max(1, subscriptions // len(chosen))
    migrations: list[PlannedMigration] = []
    for customer in chosen:
        bases = sorted((s for s in customer.subs.values() if s.parent is None and s.status == "active"
                        and not s.is_trial and not s.promotion_id), key=lambda s: s.id)
        for sub in bases[:per]:
            if len(migrations) >= subscriptions:
                break
            migrations.append(PlannedMigration(kind=BamKind.MIGRATE, base=PlannedSubscription(
                line=len(migrations) + 2, customer_tenant_id=customer.id, subscription_id=sub.id,
                customer_name=customer.company_name)))
    return BamPlan(kind=BamKind.MIGRATE, migrations=tuple(migrations), data_rows=len(migrations))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ratio(creates: int, elapsed: float, window: float) -> float:
    ideal = ((creates - 1) // LIMIT) * window  # each further LIMIT creates must wait one whole window
    return ideal / elapsed if elapsed > 0 else 0.0


def run_ncebot(customers: int, subscriptions: int, scale: float, latency: float) -> None:
    window = 300.0 / scale
    with SlackStandIn(signing_secret=SECRET, bot_token=TOKEN, channels={CHANNEL: "nce-approvals"}) as standin, \
            tempfile.TemporaryDirectory() as tmp:
        env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": standin.base_url,
               "DATABASE_URL": f"sqlite:///{Path(tmp) / 'bench.db'}", "PARTNER_CENTER_SANDBOX": "true",
               "NCEBOT_APPROVAL_CHANNEL": CHANNEL, "NCEBOT_APPROVERS": APPROVER,
               "PARTNER_CENTER_CREATE_LIMIT": f"{LIMIT}/{window:g}s", "NCEBOT_POLL_INTERVAL": "5"}
        runtime = build_runtime(load_settings(env, env_file=None, require_run=True), sandbox_time_scale=scale,
                                sandbox_seed="large")
        try:
            server = runtime.http_server("127.0.0.1", 0).start()
            runtime.closers.append(server.stop)
            runtime.start_background()
            assert runtime.sandbox is not None and runtime.deps.campaigns is not None and runtime.metrics
            state = runtime.sandbox.state
            plan = plan_from(state, customers, subscriptions)
            view = runtime.deps.campaigns.request(plan, requester=REQUESTER, source=CampaignSource.IMPORT)
            state.set_faults({"create_latency": latency / scale})
            with SlackRequester(server.url, standin, SECRET) as slack:
                slack.block_action(ids.APPROVE_ACTION, view.id, user=APPROVER, channel=CHANNEL)
            total = len(plan.migrations)
            while not state.counts.get("create_migration", 0):
                time.sleep(0.05)
            started = time.monotonic()  # from the first create (the job's pick-up, ≤ 2 s, is not the rate)
            while state.counts.get("create_migration", 0) < total:
                time.sleep(0.2)
            elapsed = time.monotonic() - started
            while runtime.deps.workflow.get_request(view.id).state not in (RequestState.COMPLETED,
                                                                         RequestState.FAILED):
                time.sleep(0.5)
            time.sleep(3)  # the last outbox edits
            assert view.message is not None
            replies = len(standin.thread(view.message.channel, view.message.ts)) - 1
            throttled = runtime.metrics.value("ncebot_partner_center_throttled_total", endpoint="create_migration")
            print(f"   ncebot: {total} creates in {elapsed:6.1f} s, rate/limit {ratio(total, elapsed, window):.3f}, "
                  f"429: {int(throttled)}, thread replies: {replies}, Web API calls: {len(standin.calls)}, "
                  f"peak RSS {peak_rss_mb():.0f} MB")
        finally:
            runtime.close()


def run_bam_style(customers: int, subscriptions: int, scale: float, latency: float) -> None:
    window = 300.0 / scale
    tally = {"throttled": 0}
    lock = threading.Lock()

    def observe(record: CallRecord) -> None:
        with lock:
            tally["throttled"] += record.throttled

    from sandbox import large_seed

    with SandboxServer(data=large_seed.build(), time_scale=scale) as pc:
        settings = load_settings({**pc.client_env(), "PARTNER_CENTER_SANDBOX": "false",
                                  "PARTNER_CENTER_CREATE_LIMIT": f"100000/{window:g}s"})
        client = build_partner_center_client(settings, verify=pc.ca_path, on_call=observe)
        plan = plan_from(pc.state, customers, subscriptions)
        pc.state.set_faults({"create_latency": latency / scale})

        def create(item: PlannedMigration) -> None:
            with contextlib.suppress(PartnerCenterError):  # BAM writes it to its output file and moves on
                client.create_migration(item.customer_tenant_id, item.migration_request("bam-style"))

        started = time.monotonic()
        with ThreadPoolExecutor(5) as pool:
            list(pool.map(create, plan.migrations))
        elapsed = time.monotonic() - started
        total = len(plan.migrations)
        print(f"BAM-style: {total} creates in {elapsed:6.1f} s, rate/limit {ratio(total, elapsed, window):.3f}, "
              f"429: {tally['throttled']}, 5 threads, no limiter")
        client.close()


def main() -> None:
    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # "skipped: maximum number of running instances"
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=50)
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--scale", type=float, default=20.0, help="sandbox clock speed (its window: 300/scale s)")
    parser.add_argument("--latency", type=float, default=1.0, help="create latency in sandbox seconds")
    parser.add_argument("--skip-bam", action="store_true")
    args = parser.parse_args()
    print(f"{args.subscriptions} subscriptions over {args.customers} customers, sandbox clock x{args.scale}, "
          f"create latency {args.latency} s (sandbox), documented limit {LIMIT} per 5 min")
    run_ncebot(args.customers, args.subscriptions, args.scale, args.latency)
    if not args.skip_bam:
        run_bam_style(args.customers, args.subscriptions, args.scale, args.latency)


if __name__ == "__main__":
    main()
