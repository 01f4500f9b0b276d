"""The renewal radar (SPEC §10): legacy subscriptions whose term ends soon with no active schedule, which Microsoft
will migrate itself on term end + 1 day, to an annual term with the same seats and billing plan. Slack-free."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

from bot.csv_files import write_csv
from bot.domain import Clock, DomainError, utc_now
from bot.partner_center.errors import PartnerCenterError
from bot.partner_center.models import ScheduleStatus, Subscription
from bot.texts import deadlines

if TYPE_CHECKING:  # bot.workflow imports bot.deadlines (window rules, end dates): annotations only here
    from bot.workflow import SubscriptionNode, Workflow

DEFAULT_DAYS = 30
MAX_DAYS = 366
CSV_HEADER = ("CustomerTenantId", "CustomerName", "SubscriptionId", "SubscriptionName", "AddOns", "Seats",
              "TermDuration", "BillingCycle", "TermEndDate", "MicrosoftMigratesOn", "BecomesTerm", "BecomesBilling",
              "BecomesSeats")


def _value(value: object) -> str:
    return str(getattr(value, "value", value) or "")


@dataclass(frozen=True)
class RenewalEntry:
    customer_id: str
    customer_name: str
    subscription: Subscription
    addons: tuple[Subscription, ...]
    term_end: date

    @property
    def migrates_on(self) -> date:
        """Microsoft creates its migration on the last day of the term and runs it the day after."""
        return self.term_end + timedelta(days=1)

    @property
    def becomes_billing(self) -> str:
        billing = _value(self.subscription.billing_cycle).lower() or "monthly"
        return "annual" if billing == "triennial" else billing  # an annual term has no triennial billing

    @property
    def seats(self) -> int:
        return self.subscription.quantity or 0

    def becomes(self) -> str:
        return deadlines.renewal_becomes(self.seats, self.becomes_billing)


@dataclass
class RenewalReport:
    days: int
    today: date
    entries: list[RenewalEntry] = field(default_factory=list)
    customers: int = 0
    problems: list[str] = field(default_factory=list)  # customers that could not be read

    def by_week(self) -> list[tuple[date, int]]:
        """(Monday of the week, entries whose migration day falls in it), in date order."""
        weeks: dict[date, int] = {}
        for e in self.entries:
            monday = e.migrates_on - timedelta(days=e.migrates_on.weekday())
            weeks[monday] = weeks.get(monday, 0) + 1
        return sorted(weeks.items())

    def to_csv(self) -> str:
        rows = [(e.customer_id, e.customer_name, e.subscription.id, e.subscription.name, len(e.addons), e.seats,
                 _value(e.subscription.term_duration), _value(e.subscription.billing_cycle), e.term_end,
                 e.migrates_on, "P1Y", e.becomes_billing, e.seats) for e in self.entries]
        return write_csv(CSV_HEADER, rows)  # the one writer: BOM, CRLF, BAM value formats (SPEC §8.6)

    @property
    def filename(self) -> str:
        return f"ncebot-renewals-{self.today.isoformat()}.csv"


def _flatten(node: SubscriptionNode) -> list[Subscription]:
    out: list[Subscription] = []
    for child in node.addons:
        out.append(child.subscription)
        out.extend(_flatten(child))
    return out


class RenewalRadar:
    def __init__(self, workflow: Workflow, clock: Clock) -> None:
        self._wf = workflow
        self._clock = clock

    def customer_names(self) -> list[tuple[str, str]]:
        return [(c.id, c.display_name) for c in self._wf.list_customers()]

    def report(self, customer_ids: Sequence[str] | None, days: int = DEFAULT_DAYS, *,
               progress: Callable[[int, int], None] | None = None) -> RenewalReport:
        """``customer_ids`` None: every customer. ``progress(done, total)`` after each customer."""
        if not 1 <= days <= MAX_DAYS:
            raise ValueError(f"days must be from 1 to {MAX_DAYS}")
        today = utc_now(self._clock).date()
        report = RenewalReport(days=days, today=today)
        customers = (self.customer_names() if customer_ids is None
                     else [(c, self._wf._customer_name(c) or c) for c in customer_ids])
        for done, (customer_id, name) in enumerate(customers, start=1):
            try:
                report.entries += self._customer(customer_id, name, today, days)
            except (DomainError, PartnerCenterError) as exc:
                if customer_ids is not None:
                    raise
                report.problems.append(f"{name}: {exc}")
            report.customers += 1
            if progress is not None:
                progress(done, len(customers))
        report.entries.sort(key=lambda e: (e.term_end, e.customer_name.lower(), e.subscription.name.lower()))
        return report

    def _customer(self, customer_id: str, name: str, today: date, days: int) -> list[RenewalEntry]:
        horizon = today + timedelta(days=days)
        nodes = [n for n in self._wf.legacy_subscriptions(customer_id)
                 if n.is_candidate and not n.subscription.is_addon and n.subscription.term_end is not None
                 and today <= n.subscription.term_end <= horizon]
        if not nodes:
            return []
        # A Created schedule pre-empts Microsoft; a Cancelled (or spent) one does not.
        scheduled = {(s.current_subscription_id or "").lower() for s in self._wf.list_schedules(customer_id)
                     if s.status == ScheduleStatus.CREATED}
        entries = []
        for node in nodes:
            sub = node.subscription
            if sub.id.lower() in scheduled or sub.term_end is None:
                continue
            entries.append(RenewalEntry(customer_id, name, sub, tuple(_flatten(node)), sub.term_end))
        return entries
