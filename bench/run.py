"""Bulk validation against the sandbox near the documented limit: the client-side limiter versus none.

Run by hand (``make bench``); never part of the test suite. The sandbox clock runs ``SCALE`` times faster, so its
5-minute validate window lasts 300/SCALE real seconds; the client's limiter is scaled the same way. With the
limiter the sandbox should answer no 429 at all; without it, bursts hit 429 and lean on Retry-After.
"""

from __future__ import annotations

import argparse
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from bot.partner_center.client import CallRecord, build_partner_center_client
from bot.partner_center.limiter import Limit, RateLimiter, RateLimits
from bot.partner_center.models import MigrationRequest
from bot.settings import load_settings
from sandbox import known
from sandbox.server import SandboxServer


@dataclass
class Tally:
    calls: int = 0
    throttled: int = 0
    retried: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def observe(self, record: CallRecord) -> None:
        with self.lock:
            self.calls += 1
            self.throttled += record.throttled
            self.retried += record.retried


def run(total: int, workers: int, scale: float, limited: bool) -> None:
    with SandboxServer(time_scale=scale) as pc:
        settings = load_settings({**pc.client_env(), "PARTNER_CENTER_SANDBOX": "false"})
        tally = Tally()
        client = build_partner_center_client(settings, verify=pc.ca_path, on_call=tally.observe)
        window = 300.0 / scale
        limits = RateLimits(validate=Limit(450, window) if limited else None, create=None, subscriptions=None)
        client._limiter = RateLimiter(limits)  # bench-only: scale the documented window to the sandbox clock
        body = MigrationRequest(current_subscription_id=known.ELIGIBLE_SIMPLE)
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(lambda _: client.validate_migration(known.CONTOSO, body), range(total)))
        elapsed = time.monotonic() - started
        ideal = ((total - 1) // 450) * window  # each further 450 must wait a whole window
        print(
            f"{'limiter' if limited else 'no limiter':>10}: {total} validates in {elapsed:5.1f} s "
            f"(ideal ≥ {ideal:4.1f} s), 429 answers: {tally.throttled}, retries: {tally.retried}"
        )
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--total", type=int, default=1200)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--scale", type=float, default=100.0)
    args = parser.parse_args()
    for limited in (True, False):
        run(args.total, args.workers, args.scale, limited)


if __name__ == "__main__":
    main()
