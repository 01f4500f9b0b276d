"""Reconciliation cost at scale (issue #12): HTTP calls, wall time and RSS per reconciliation, by hand.

    .venv/bin/python -m bench.reconcile                 # 1k, 10k and 50k in-flight migrations over 500 customers
    .venv/bin/python -m bench.reconcile --sizes 1000    # one size

Each size runs in a fresh child process (so its peak RSS is its own) against the Partner Center sandbox, itself in
another process (its memory is not counted). The sandbox is seeded directly with the migrations and the database
(SQLite file) with one processing request per migration: seeding 50k requests through the workflow would take the
benchmark hours and measure the workflow, not the reconciliation. Three passes are timed: first sight (each
status is new, so each migration's events are read once), nothing changed (list calls only), all completed
(events again, requests settled, thread posts enqueued). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

CUSTOMERS = 500
LIFETIME = 7 * 86400.0  # sandbox seconds a migration runs: nothing completes while a pass is timed
E3 = "796b6b5f-613c-4e24-a17c-eba730d49c02"


def _sandbox(conn: Connection, customers: int, migrations: int) -> None:
    """Child: a sandbox with ``migrations`` in-flight migrations spread over ``customers`` customers."""
    from sandbox.server import SandboxServer
    from sandbox.state import Customer

    server = SandboxServer().start()
    state = server.state
    made: list[tuple[str, str, str]] = []
    with state.lock:
        state.lifecycle.update(created=LIFETIME / 3, provisioned=LIFETIME / 2, completed=LIFETIME)
        anchor = state.clock.start
        now = state.now()
        for c in range(customers):
            cid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-customer-{c}"))
            customer = Customer(id=cid, company_name=f"Bench {c}", domain=f"bench{c}.onmicrosoft.com")
            state.customers[cid] = customer
            for i in range(c, migrations, customers):
                sid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-sub-{i}"))
                sub = state._load_sub(cid, {"id": sid, "offer_id": E3, "quantity": 5, "created": "-400d",
                                            "term_end": "+120d"}, anchor)
                customer.subs[sub.id] = sub
                migration = state._start_migration(customer, [state.make_item(sub, {})], now)
                made.append((cid, sid, migration.id))
    conn.send({"env": server.client_env(), "ca": server.ca_path, "migrations": made})
    while True:
        command = conn.recv()
        if command == "advance":
            server.advance(LIFETIME)
            conn.send("ok")
        elif command == "counts":
            conn.send(dict(state.counts))
        else:
            server.stop()
            conn.send("stopped")
            return


def _seed_database(url: str, migrations: list[tuple[str, str, str]], *, tracked: bool = False) -> None:
    """One processing request per migration; ``tracked``: also as already seen Processing (steady state)."""
    from sqlalchemy import insert

    from storage.db import make_session_factory
    from storage.migrate import upgrade
    from storage.models import ChangeRequest
    from storage.tracking import TrackedItem

    upgrade(url)
    sessions = make_session_factory(url)
    now = datetime.now(UTC)
    rows = [{"id": uuid.uuid4().hex, "kind": "migrate", "state": "processing", "customer_id": cid,
             "subscription_id": sid, "options": {}, "requester": "UBENCH0001", "required_approvals": 1,
             "created_at": now, "expires_at": now + timedelta(days=1), "migration_id": mid, "updated_at": now,
             "version": 1} for cid, sid, mid in migrations]
    items = [{"kind": "migration", "item_id": r["migration_id"], "request_id": r["id"], "customer_id":
              r["customer_id"], "status": "Processing", "done": 0, "first_seen_at": now, "processing_since": now,
              "slow_checks": 0} for r in rows] if tracked else []
    with sessions.begin() as session:
        for start in range(0, len(rows), 5000):
            session.execute(insert(ChangeRequest), rows[start:start + 5000])
            if items:
                session.execute(insert(TrackedItem), items[start:start + 5000])
    bind = sessions.kw.get("bind")
    if bind is not None:
        bind.dispose()


def measure(size: int, customers: int, steady: bool = False) -> dict[str, Any]:
    """One size, in this process (the parent runs it in a child process)."""
    from bot.domain import SystemClock
    from bot.partner_center.client import CallRecord, build_partner_center_client
    from bot.settings import load_settings
    from bot.tracking.outbox import Outbox
    from bot.tracking.tracker import Tracker
    from storage.db import make_session_factory

    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(target=_sandbox, args=(child, customers, size))
    process.start()
    info = parent.recv()
    folder = Path(tempfile.mkdtemp(prefix="ncebot-bench-"))
    url = f"sqlite:///{folder / 'bench.db'}"
    _seed_database(url, info["migrations"], tracked=steady)
    calls: Counter[str] = Counter()

    def count(record: CallRecord) -> None:
        calls[record.endpoint] += 1

    settings = load_settings({k: v for k, v in info["env"].items() if k.startswith("PARTNER_CENTER_")})
    pc = build_partner_center_client(settings, verify=info["ca"], on_call=count)
    sessions = make_session_factory(url)
    clock = SystemClock()
    tracker = Tracker(session_factory=sessions, partner_center=pc, outbox=Outbox(sessions, clock), clock=clock,
                      interval=timedelta(seconds=300), notify_channel=None, watched_customers=list)
    passes: list[dict[str, Any]] = []
    for name in ("unchanged",) if steady else ("first sight", "unchanged", "all completed"):
        if name == "all completed":
            parent.send("advance")
            parent.recv()
        calls.clear()
        started = time.perf_counter()
        checked = tracker.poll_migrations()
        elapsed = time.perf_counter() - started
        passes.append({"pass": name, "checked": checked, "seconds": round(elapsed, 2),
                       "ms_per_migration": round(1000 * elapsed / size, 3), "calls": dict(calls)})
    parent.send("stop")
    parent.recv()
    process.join(10)
    pc.close()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"migrations": size, "customers": customers, "passes": passes, "peak_rss_mb": round(rss_mb, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--customers", type=int, default=CUSTOMERS)
    parser.add_argument("--steady", action="store_true",
                        help="only the unchanged pass, on migrations already seen Processing (the steady state)")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(measure(args.child, args.customers, args.steady)))
        return
    for size in (int(s) for s in args.sizes.split(",")):
        out = subprocess.run([sys.executable, "-m", "bench.reconcile", "--child", str(size), "--customers",
                              str(args.customers), *(["--steady"] if args.steady else [])],
                             capture_output=True, text=True, check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{size} in-flight migrations over {result['customers']} customers, peak RSS "
              f"{result['peak_rss_mb']} MB")
        for row in result["passes"]:
            print(f"  {row['pass']:>13}: {row['seconds']:7.2f} s ({row['ms_per_migration']:.3f} ms/migration), "
                  f"checked {row['checked']}, calls {row['calls']}")


if __name__ == "__main__":
    main()
