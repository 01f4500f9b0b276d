"""``/nce check all``: every customer's legacy subscriptions in one BAM ``subscriptions.csv`` (SPEC §8.6).

Customers are paged through the directory's customer list and checked a few at a time (each one is
:meth:`bot.workflow.Workflow.check_customer`: one paged list, one validate per base, its name read once). A customer
Partner Center refuses is listed with the reason and the others go on; only Partner Center being down stops the run.
Slack-free.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from bot.csv_files import write_csv
from bot.customers import CustomerRef
from bot.domain import DomainError
from bot.partner_center.errors import PartnerCenterError
from bot.reports import CHECK_COLUMNS, CheckReport
from bot.workflow import PartnerCenterProblem, Workflow

POOL: Final = 4  # customers checked at once (each validates at its own per-customer limit)


@dataclass(frozen=True)
class CheckAllProgress:
    customers_done: int
    customers: int
    subscriptions: int  # rows found so far
    eligible: int


@dataclass(frozen=True)
class CustomerFailure:
    customer: CustomerRef
    reason: str


@dataclass
class CheckAllReport:
    generated_at: datetime
    customers: int
    reports: list[CheckReport] = field(default_factory=list)
    failures: list[CustomerFailure] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(len(r.rows) for r in self.reports)

    @property
    def eligible(self) -> int:
        return sum(r.eligible for r in self.reports)

    @property
    def ineligible(self) -> int:
        return sum(r.ineligible for r in self.reports)

    @property
    def skipped(self) -> int:
        return sum(r.skipped + r.errors for r in self.reports)

    @property
    def filename(self) -> str:
        return f"nce-check-all-{self.generated_at.astimezone(UTC):%Y%m%d-%H%M}.csv"

    def to_csv(self) -> str:
        """BAM's ``subscriptions.csv`` columns first, ncebot's after; customers in name order."""
        return write_csv(CHECK_COLUMNS, (row for report in self.reports for row in report.csv_rows()))


def check_all(workflow: Workflow, customers: Sequence[CustomerRef], *, partner_tenant_id: str | None,
              progress: Callable[[CheckAllProgress], None] | None = None, pool: int = POOL,
              now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> CheckAllReport:
    result = CheckAllReport(generated_at=now(), customers=len(customers))
    lock = threading.Lock()
    done: dict[str, CheckReport | CustomerFailure] = {}

    def one(customer: CustomerRef) -> None:
        outcome: CheckReport | CustomerFailure
        try:
            outcome = workflow.check_customer(customer.id, partner_tenant_id=partner_tenant_id)
        except PartnerCenterProblem as exc:
            if exc.code is None:  # unreachable or not signed in: every other customer would fail the same way
                raise
            outcome = CustomerFailure(customer, str(exc))
        except (DomainError, PartnerCenterError) as exc:
            outcome = CustomerFailure(customer, str(exc))
        with lock:
            done[customer.id] = outcome
            reports = [r for r in done.values() if isinstance(r, CheckReport)]
            state = CheckAllProgress(len(done), len(customers), sum(len(r.rows) for r in reports),
                                     sum(r.eligible for r in reports))
        if progress is not None:
            progress(state)

    with ThreadPoolExecutor(max_workers=max(1, min(pool, len(customers) or 1)),
                            thread_name_prefix="ncebot-check-all") as executor:
        for future in [executor.submit(one, c) for c in customers]:
            future.result()
    for customer in customers:  # the directory's order: by name
        outcome = done[customer.id]
        if isinstance(outcome, CheckReport):
            result.reports.append(outcome)
        else:
            result.failures.append(outcome)
    return result
