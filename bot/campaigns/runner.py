"""Executes an approved campaign on the lease holder (SPEC §8.3): several operations in flight under the client's
FIFO limiter (so the documented create limit is used in full and never exceeded from this one executor), each
operation committed with its ``MS-RequestId`` and the campaign's ``externalReferenceId`` BEFORE its call.

Pause and Stop are read before each new operation starts: after the click, only the operations already started
finish. A crash, restart or lease takeover runs the campaign again: answered items are skipped, an operation left
``sending`` is claimed (at once when its holder is dead) and looked up by ``externalReferenceId`` and its
subscription before it is sent again with its SAME ``MS-RequestId``, so no migration is made twice.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy.orm import Session, sessionmaker

from bot.bam.models import BamPlan, PlannedCancel, PlannedMigration
from bot.campaigns import lifecycle
from bot.campaigns.model import (
    DONE_ON_SUCCESS,
    OP_CANCEL_SCHEDULE,
    OP_CREATE_MIGRATION,
    OP_FOR_PLAN,
    Control,
    batch_reference,
    item_target,
    load_plan,
    plan_items,
)
from bot.domain import SYSTEM_ACTOR, Clock, RequestState, utc_now
from bot.outbox import Outbox
from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.errors import PartnerCenterError, is_transient
from bot.partner_center.models import Migration, MigrationSchedule
from storage import campaigns as store
from storage import repositories as repo
from storage.repositories import OperationView

log = logging.getLogger("ncebot.campaigns")

Outcome = Literal["sent", "refused", "deferred", "busy"]


class CampaignRunner:
    OPERATION_LEASE = timedelta(minutes=10)

    def __init__(self, *, session_factory: sessionmaker[Session], partner_center: PartnerCenterClient,
                 outbox: Outbox, clock: Clock, instance_id: str | None = None, concurrency: int = 8,
                 on_commit: Callable[[], None] | None = None) -> None:
        self._sessions = session_factory
        self._pc = partner_center
        self._outbox = outbox
        self._clock = clock
        self._instance_id = instance_id
        self.concurrency = concurrency
        self._on_commit = on_commit or (lambda: None)
        self.stopping = threading.Event()  # shutting down: start no new operation

    def _now(self) -> datetime:
        return utc_now(self._clock)

    def run(self, request_id: str) -> None:
        """Send what is left of the campaign (returns when done, paused, stopped or Partner Center is away)."""
        with self._sessions() as session:
            row = repo.get_request(session, request_id)
            if row is None or row.state not in (RequestState.APPROVED.value, RequestState.SUBMITTED.value):
                return
            plan = load_plan(row.plan)
            halted = row.control in (Control.PAUSED.value, Control.STOPPED.value)
            existing = {(o.kind, o.target.lower()): o for o in repo.operations_for(session, request_id)}
        if plan is None:
            return
        if not halted:
            self._send_all(request_id, plan, existing)
        lifecycle.after_sending(self._sessions, self._outbox, request_id, self._now())
        self._on_commit()

    def _send_all(self, request_id: str, plan: BamPlan, existing: dict[tuple[str, str], OperationView]) -> None:
        kind = OP_FOR_PLAN[plan.kind]
        todo: Iterator[tuple[int, PlannedMigration | PlannedCancel]] = iter([
            (position, item) for position, item in enumerate(plan_items(plan))
            if (op := existing.get((kind, item_target(item).lower()))) is None or op.status == "sending"
        ])
        lock = threading.Lock()
        stop = threading.Event()

        def worker() -> None:
            while not stop.is_set() and not self.stopping.is_set():
                with lock:
                    nxt = next(todo, None)
                if nxt is None:
                    return
                if self._halted(request_id):  # Pause / Stop: start nothing new
                    stop.set()
                    return
                position, item = nxt
                outcome = self._one(request_id, kind, position, item, existing.get((kind, item_target(item).lower())))
                if outcome == "deferred":
                    stop.set()  # Partner Center is away: the next pass resumes, same MS-RequestIds
                self._on_commit()

        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="ncebot-campaign") as pool:
            wait([pool.submit(worker) for _ in range(self.concurrency)])

    def _halted(self, request_id: str) -> bool:
        with self._sessions() as session:
            return store.control(session, request_id) in (Control.PAUSED.value, Control.STOPPED.value)

    # --- one item -------------------------------------------------------------------------------------------
    def _one(self, request_id: str, kind: str, position: int, item: PlannedMigration | PlannedCancel,
             known: OperationView | None) -> Outcome:
        now = self._now()
        batch = batch_reference(request_id)
        with self._sessions.begin() as session:
            op: OperationView | None
            if known is None:
                op = repo.create_operation(session, request_id=request_id, kind=kind, target=item_target(item),
                                           customer_id=item.customer_tenant_id, now=now,
                                           lease=self.OPERATION_LEASE, holder=self._instance_id)
            else:
                op = repo.claim_operation(session, known.id, now=now, lease=self.OPERATION_LEASE,
                                          holder=self._instance_id)
            if op is None:
                return "busy"  # another live process has it
            correlation = op.correlation_id or str(uuid.uuid4())
            store.stamp_operation(session, op.id, position=position, external_reference_id=batch,
                                  correlation_id=correlation)
        # Committed: the MS-RequestId and externalReferenceId exist before any call is made.
        try:
            result = self._find_existing(op, batch) if known is not None else None
            if result is None:
                result = self._call(op, item, batch, correlation)
        except PartnerCenterError as exc:
            return self._refused_or_deferred(request_id, op, exc, correlation)
        except Exception:
            log.exception("campaign %s: %s %s failed unexpectedly; left for the next pass", request_id, kind,
                          op.target)
            with self._sessions.begin() as session:
                repo.release_operation(session, op.id, self._now(), error="unexpected error")
            return "deferred"
        self._sent(request_id, op, result, batch, correlation)
        return "sent"

    def _call(self, op: OperationView, item: PlannedMigration | PlannedCancel, batch: str,
              correlation: str) -> Migration | MigrationSchedule:
        ids: dict[str, Any] = {"request_id": op.ms_request_id, "correlation_id": correlation}
        if isinstance(item, PlannedCancel):
            return self._pc.cancel_schedule(item.customer_tenant_id, item.schedule_id, **ids)
        if op.kind == OP_CREATE_MIGRATION:
            return self._pc.create_migration(item.customer_tenant_id, item.migration_request(batch), **ids)
        return self._pc.create_schedule(item.customer_tenant_id, item.schedule_request(batch), **ids)

    def _find_existing(self, op: OperationView, batch: str) -> Migration | MigrationSchedule | None:
        """After an interruption: did the earlier attempt land? Found by the campaign's externalReferenceId and
        the item's subscription (every item of a campaign shares the reference)."""
        if op.kind == OP_CANCEL_SCHEDULE:
            return None  # cancelling again is harmless: Partner Center answers with the cancelled schedule
        found: list[Migration] | list[MigrationSchedule]
        if op.kind == OP_CREATE_MIGRATION:
            found = self._pc.query_migrations(customer_id=op.customer_id, external_reference_id=batch)
        else:
            found = self._pc.list_schedules(customer_id=op.customer_id, external_reference_id=batch)
        for candidate in found:
            if (candidate.current_subscription_id or "").lower() == op.target.lower():
                return candidate
        return None

    def _sent(self, request_id: str, op: OperationView, result: Migration | MigrationSchedule, batch: str,
              correlation: str) -> None:
        now = self._now()
        migration_id = result.id if isinstance(result, Migration) else None
        schedule_id = result.id if isinstance(result, MigrationSchedule) else None
        status = str(getattr(result.status, "value", result.status) or "") if isinstance(result, Migration) else ""
        with self._sessions.begin() as session:
            if not repo.finish_operation(session, op.id, status="sent", now=now, migration_id=migration_id,
                                         schedule_id=schedule_id, correlation_id=correlation,
                                         response=result.model_dump(mode="json", by_alias=True, exclude_none=True)):
                return
            store.set_pc_status(session, op.id, status or DONE_ON_SUCCESS, now=now,
                                error_code=str(result.error_code) if isinstance(result, Migration)
                                and result.error_code is not None else None,
                                error_description=result.error_description if isinstance(result, Migration)
                                else None)
            repo.append_audit(session, request_id=request_id, customer_id=op.customer_id, actor=SYSTEM_ACTOR,
                              action="sent", at=now, ms_request_id=op.ms_request_id, correlation_id=correlation,
                              detail={"operation": op.kind, "target": op.target, "migration_id": migration_id,
                                      "schedule_id": schedule_id, "external_reference_id": batch})
            lifecycle.operation_answered(session, self._outbox, request_id, now, failed=status.lower() == "failed")

    def _refused_or_deferred(self, request_id: str, op: OperationView, exc: PartnerCenterError,
                             correlation: str) -> Outcome:
        now = self._now()
        with self._sessions.begin() as session:
            if is_transient(exc):
                repo.release_operation(session, op.id, now, error=exc.description[:500])
                repo.append_audit(session, request_id=request_id, customer_id=op.customer_id, actor=SYSTEM_ACTOR,
                                  action="submit_deferred", at=now, ms_request_id=op.ms_request_id,
                                  correlation_id=exc.correlation_id or correlation,
                                  detail={"operation": op.kind, "target": op.target, "error": str(exc)[:500]})
                return "deferred"
            code = str(exc.code) if exc.code is not None else str(exc.status_code)
            if repo.finish_operation(session, op.id, status="refused", now=now,
                                     correlation_id=exc.correlation_id or correlation, error_code=code,
                                     error_description=exc.description):
                repo.append_audit(session, request_id=request_id, customer_id=op.customer_id, actor=SYSTEM_ACTOR,
                                  action="refused", at=now, ms_request_id=op.ms_request_id,
                                  correlation_id=exc.correlation_id or correlation,
                                  detail={"operation": op.kind, "target": op.target, "code": code,
                                          "description": exc.description[:500]})
                lifecycle.operation_answered(session, self._outbox, request_id, now, failed=True)
        return "refused"
