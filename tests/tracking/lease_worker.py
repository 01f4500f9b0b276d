"""A stand-in ncebot process for the two-process lease test: the poller lease loop of TrackingService.

    python -m tests.tracking.lease_worker DATABASE_URL HOLDER INTERVAL

Every INTERVAL seconds it does what the top of each background job does (``DatabaseLease.ensure``, ttl = two
intervals as in ``TrackingService``) and prints ``held <unix time just after the check>`` or ``standby``.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta

from bot.domain import SystemClock
from bot.tracking.lease import DatabaseLease
from storage.db import make_session_factory


def main(argv: list[str]) -> int:
    url, holder, interval = argv[0], argv[1], float(argv[2])
    lease = DatabaseLease(make_session_factory(url), name="poller", holder_id=holder,
                          ttl=timedelta(seconds=2 * interval), clock=SystemClock())
    while True:
        held = lease.ensure()
        print(f"held {time.time():.6f}" if held else "standby", flush=True)
        time.sleep(interval)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
