"""How long slow commands take, from counts and Partner Center's documented limits (SPEC §9), and the sentences
that say so. The one owner of this rule: every "about N minutes" ncebot writes comes from here.

The rule: validations of one customer are limited to ``calls`` per ``window`` seconds (``PARTNER_CENTER_VALIDATE_
LIMIT``, 450 per 5 minutes), so a customer with more than ``calls`` of them waits for a new window per extra
``calls``; meanwhile ncebot validates :data:`POOL` at a time, each call taking about :data:`CALL_SECONDS`. The whole job
lasts as long as its slowest customer, or as long as the pool needs for every call, whichever is longer. Rounded
up to whole minutes: a promise kept beats an optimistic one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

#: Seconds one validate takes at Partner Center (measured: 0.3 to 1.5 s; the middle of that).
CALL_SECONDS: Final = 0.75
#: Calls ncebot has in flight at once (bot.intake.planning.POOL).
POOL: Final = 4


@dataclass(frozen=True)
class ValidateLimit:
    calls: int = 450
    window: float = 300.0

    def describe(self) -> str:
        """``450 validations per customer per 5 minutes``."""
        return f"{self.calls:,} validations per customer per {_duration(self.window)}"


def _duration(seconds: float) -> str:
    if seconds % 3600 == 0 and seconds >= 3600:
        hours = int(seconds // 3600)
        return "hour" if hours == 1 else f"{hours} hours"
    if seconds % 60 == 0 and seconds >= 60:
        minutes = int(seconds // 60)
        return "minute" if minutes == 1 else f"{minutes} minutes"
    return f"{seconds:g} seconds"


def validation_seconds(per_customer: Iterable[int], limit: ValidateLimit, *, pool: int = POOL) -> float:
    """Seconds to validate ``per_customer`` calls (one count per customer) at ``limit``, ``pool`` at a time
    (``/nce check`` of one customer validates one after another: ``pool=1``)."""
    counts = [n for n in per_customer if n > 0]
    if not counts:
        return 0.0
    pool_bound = sum(counts) * CALL_SECONDS / pool

    def one(n: int) -> float:
        waits = (n - 1) // limit.calls  # full windows this customer must wait for
        return waits * limit.window + (n - waits * limit.calls) * CALL_SECONDS / pool

    return max(pool_bound, max(one(n) for n in counts))


def about(seconds: float) -> str:
    """``about 6 minutes`` / ``under a minute`` / ``about 2 hours 10 minutes``."""
    if seconds < 60:
        return "under a minute"
    minutes = math.ceil(seconds / 60)
    if minutes < 120:
        return f"about {minutes} minute" + ("" if minutes == 1 else "s")
    hours, rest = divmod(minutes, 60)
    return f"about {hours} hours" + (f" {rest} minutes" if rest else "")


def validation_estimate(per_customer: Iterable[int], limit: ValidateLimit, *, what: str = "subscription",
                        pool: int = POOL) -> str:
    """``600 subscriptions; Partner Center allows 450 validations per customer per 5 minutes: about 6 minutes``."""
    counts = list(per_customer)
    total = sum(counts)
    customers = sum(1 for n in counts if n > 0)
    head = f"{total:,} {what}" + ("" if total == 1 else "s")
    if customers > 1:
        head += f" of {customers:,} customers"
    return f"{head}; Partner Center allows {limit.describe()}: {about(validation_seconds(counts, limit, pool=pool))}"


def remaining_estimate(done: int, total: int, per_customer_left: Iterable[int], limit: ValidateLimit, *,
                       pool: int = POOL) -> str:
    """``412 of 600 done; about 4 minutes left``."""
    left = validation_seconds(per_customer_left, limit, pool=pool)
    tail = "almost done" if left < 1 else f"{about(left)} left"
    return f"{done:,} of {total:,} done; {tail}"


def customers_estimate(customers: int, subscriptions_so_far: int, customers_done: int,
                       limit: ValidateLimit) -> str:
    """For a job over every customer (``/nce check all``) before the subscriptions of all are known: the average so
    far stands for the customers still to list."""
    if customers_done == 0:
        return (f"{customers:,} customers; Partner Center allows {limit.describe()}; the estimate follows "
                "once the first customers are listed")
    average = subscriptions_so_far / customers_done
    left = [round(average)] * (customers - customers_done)
    if not left:
        return "almost done"
    seconds = validation_seconds(left, limit)
    return f"about {subscriptions_so_far + sum(left):,} subscriptions in all; {about(seconds)} left"
