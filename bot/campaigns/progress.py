"""A campaign read from the database: its counts (``CampaignProgress``), its plan file and its results file.

Counts come from one GROUP BY over its operations; the results are BAM's ``output/migrations`` (schedules:
``output/schedulemigrations``) with one row per subscription, add-ons included, from each operation's last known
answer (the create's, then tracking's), ``NotSent`` for items a stop left behind (SPEC §8.5).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.bam.models import BamKind, BamPlan, PlannedCancel, PlannedMigration, headline
from bot.bam.writer import (
    Outcome,
    migration_outcomes,
    not_sent_outcomes,
    plan_csv,
    refused_outcomes,
    results_csv,
    schedule_outcomes,
)
from bot.campaigns.model import (
    CampaignProgress,
    Control,
    Failure,
    batch_reference,
    load_plan,
    plan_items,
)
from bot.csv_files import to_bytes
from bot.domain import Clock, RequestState, utc_now
from bot.partner_center.models import Migration, MigrationSchedule
from bot.settings import RateLimit
from storage import campaigns as store
from storage import repositories as repo
from storage.models import ChangeRequest, PartnerCenterOperation


class CampaignReader:
    def __init__(self, session_factory: sessionmaker[Session], clock: Clock, create_limit: RateLimit) -> None:
        self._sessions = session_factory
        self._clock = clock
        self.create_limit = create_limit

    def plan(self, request_id: str) -> BamPlan | None:
        with self._sessions() as session:
            row = repo.get_request(session, request_id)
            return load_plan(row.plan) if row is not None else None

    @staticmethod
    def _campaign(session: Session, request_id: str) -> tuple[ChangeRequest, BamPlan] | None:
        row = repo.get_request(session, request_id)
        plan = load_plan(row.plan) if row is not None else None
        return (row, plan) if row is not None and plan is not None else None

    def progress(self, request_id: str) -> CampaignProgress | None:
        now = utc_now(self._clock)
        with self._sessions() as session:
            found = self._campaign(session, request_id)
            if found is None:
                return None
            row, plan = found
            counts = store.operation_counts(session, request_id)
            failures = tuple(
                Failure(code=r.error_code or "Failed", description=r.error_description or "", customer_id=r.customer_id,
                        subscription_id=r.target)
                for r in store.operation_rows(session, request_id, problems_only=True))
            recent, oldest = self._window(session, request_id, now)
        items = len(plan_items(plan))
        left = max(items - counts.sent - counts.refused - counts.sending, 0)
        next_window = eta = None
        running = row.state in (RequestState.APPROVED.value, RequestState.SUBMITTED.value)
        if running and left and row.control in (None, Control.RUNNING.value):
            window = timedelta(seconds=self.create_limit.window)
            if recent >= self.create_limit.calls and oldest is not None:
                next_window = oldest + window
            eta = now + window * (left / self.create_limit.calls)
        return CampaignProgress(
            request_id=request_id, kind=plan.kind, items=items, subscriptions=plan.subscriptions,
            customers=len(plan.customers), seats=plan.seats, terms=dict(plan.terms), sent=counts.sent,
            refused=counts.refused, in_flight=counts.sending, completed=counts.completed, failed=counts.failed,
            control=Control(row.control or Control.RUNNING.value), state=row.state, ineligible=len(plan.skipped),
            failures=failures, next_window=next_window, eta=eta, source=row.source,
            extra={"headline": headline(plan), "done": counts.done},
        )

    def _window(self, session: Session, request_id: str, now: datetime) -> tuple[int, datetime | None]:
        """Operations started in the last create window (PARTNER_CENTER_CREATE_LIMIT's, not a fixed 5 minutes),
        and the oldest of them (when the window frees up)."""
        op = PartnerCenterOperation
        since = now - timedelta(seconds=self.create_limit.window)
        count, oldest = session.execute(
            select(func.count(), func.min(op.created_at)).where(op.request_id == request_id, op.created_at >= since)
        ).one()
        return int(count or 0), oldest

    # --- files ------------------------------------------------------------------------------------------------
    def plan_file(self, request_id: str) -> tuple[str, bytes] | None:
        plan = self.plan(request_id)
        if plan is None:
            return None
        return f"ncebot-campaign-{request_id[:8]}-plan.csv", to_bytes(plan_csv(plan))

    def results_file(self, request_id: str) -> tuple[str, bytes] | None:
        with self._sessions() as session:
            found = self._campaign(session, request_id)
            if found is None:
                return None
            row, plan = found
            ops = {(r.target.lower()): r for r in store.operation_rows(session, request_id)}
            stopped = row.control == Control.STOPPED.value or row.state in (
                RequestState.PROCESSING.value, RequestState.COMPLETED.value, RequestState.FAILED.value)
        outcomes: dict[str, Outcome] = {}
        for item in plan_items(plan):
            if isinstance(item, PlannedCancel):
                continue
            outcomes.update(_outcomes(item, ops.get(item.subscription_id.lower()), not_sent=stopped))
        name = f"ncebot-campaign-{request_id[:8]}-results.csv"
        batch = batch_reference(request_id)
        if plan.kind is BamKind.CANCEL:
            return name, to_bytes(plan_csv(plan))
        migrations = [m for m in plan_items(plan) if isinstance(m, PlannedMigration)]
        return name, to_bytes(results_csv(migrations, outcomes, batch, kind=plan.kind))


def _outcomes(item: PlannedMigration, op: store.OperationRow | None, *, not_sent: bool) -> Mapping[str, Outcome]:
    if op is None or op.status == "sending":
        return not_sent_outcomes(item) if not_sent and op is None else {}
    if op.status == "refused":
        return refused_outcomes(item, op.error_code, op.error_description or "")
    if op.response:
        if op.kind == "create_migration":
            return migration_outcomes(Migration.model_validate(op.response))
        return schedule_outcomes(MigrationSchedule.model_validate(op.response))
    return {}
