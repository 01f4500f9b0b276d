"""Submission of approved requests to Partner Center, exactly once. Moved verbatim from ``bot.workflow.Workflow``;
settling the request afterwards is ``bot.services.settlement``'s.

A request is submitted exactly once: the operation (with its ``MS-RequestId`` and ``externalReferenceId``) is
committed BEFORE the call; an interrupted call is resumed with the same ids after looking the result up by
``externalReferenceId``; a lease (``claimed_until``) keeps replicas apart, and a claim whose process is known dead
(``claimed_by``, ``bot.liveness``) is taken over at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.campaigns.model import batch_reference
from bot.deadlines import window
from bot.domain import Clock, NotFound, RequestKind, RequestState, RequestView
from bot.operations import OP_CANCEL_SCHEDULE, OP_CREATE_MIGRATION, OP_CREATE_SCHEDULE, OP_UPDATE_SCHEDULE
from bot.outbox import Notifier
from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.errors import PartnerCenterError, is_transient
from bot.partner_center.models import (
    Migration,
    MigrationRequest,
    MigrationSchedule,
    MigrationScheduleRequest,
    Subscription,
)
from bot.services.plumbing import SYSTEM_ACTOR, ServicePlumbing, logger
from bot.services.settlement import RequestSettlement
from bot.texts import refusals, thread
from storage import repositories as repo
from storage.repositories import OperationView

_OP_FOR_KIND = {
    RequestKind.MIGRATE: OP_CREATE_MIGRATION,
    RequestKind.BULK: OP_CREATE_MIGRATION,
    RequestKind.SCHEDULE: OP_CREATE_SCHEDULE,
    RequestKind.RESCHEDULE: OP_UPDATE_SCHEDULE,
    RequestKind.CANCEL: OP_CANCEL_SCHEDULE,
    RequestKind.REDUCE_SEATS: window.OP_PATCH_SUBSCRIPTION,
    RequestKind.CANCEL_SUBSCRIPTION: window.OP_PATCH_SUBSCRIPTION,
}



class Submission(ServicePlumbing):
    """Sends an approved request's operations to Partner Center, then has the settlement move the request."""

    SUBMIT_LEASE = timedelta(minutes=10)
    # A bulk request sends its creates one after another through the client limiter (100 per 5 minutes), so
    # its claim must outlast them all, or another replica's resume would pick up operations still queued here.
    SUBMIT_LEASE_PER_OPERATION = timedelta(seconds=3)

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        partner_center: PartnerCenterClient,
        notifier: Notifier,
        clock: Clock,
        settlement: RequestSettlement,
        instance_id: str | None = None,
    ) -> None:
        """``instance_id``: this process's heartbeat id (``bot.liveness``), written on every claim so that another
        process can take the claim over as soon as this one is known dead."""
        self._sessions = session_factory
        self._pc = partner_center
        self._notifier = notifier
        self._clock = clock
        self._settlement = settlement
        self._instance_id = instance_id

    def _plan_items(self, view: RequestView, items: list[Any] | None) -> list[tuple[str, str, dict[str, Any] | None]]:
        op_kind = _OP_FOR_KIND[view.kind]
        return [(op_kind, str(item["target"]), item.get("body")) for item in items or []]

    def submit(self, request_id: str) -> RequestView:
        """Send an approved request to Partner Center, exactly once (see the module docstring)."""
        now = self._now()
        claimed: list[tuple[OperationView, dict[str, Any] | None]] = []
        with self._tx() as session:
            row = repo.get_request(session, request_id)
            if row is None:
                raise NotFound(refusals.request_missing(request_id))
            if row.state != RequestState.APPROVED.value:
                return repo.to_view(row)
            view = repo.to_view(row)
            existing = {(o.kind, o.target): o for o in repo.operations_for(session, request_id)}
            plan = self._plan_items(view, row.items)
            lease = self.SUBMIT_LEASE + self.SUBMIT_LEASE_PER_OPERATION * len(plan)
            for op_kind, target, body in plan:
                found = existing.get((op_kind, target))
                op: OperationView | None
                if found is None:
                    op = repo.create_operation(
                        session,
                        request_id=request_id,
                        kind=op_kind,
                        target=target,
                        customer_id=view.customer_id,
                        now=now,
                        lease=lease,
                        holder=self._instance_id,
                    )
                elif found.status == "sending":
                    op = repo.claim_operation(session, found.id, now=now, lease=lease, holder=self._instance_id)
                else:
                    op = None
                if op is not None:
                    op = self._stamp_operation(session, view, op, fresh=found is None)
                    claimed.append((op, body))
        # Committed: the MS-RequestId and externalReferenceId exist before any call is made.
        for op, body in claimed:
            self._send(view, op, body)
        return self._settlement.settle(request_id)


    @staticmethod
    def _stamp_operation(session: Session, view: RequestView, op: OperationView, *, fresh: bool) -> OperationView:
        """Before any call: give the operation its own MS-CorrelationId (kept for every retry and resume, and
        written to the audit trail on success as on failure) and, for a bulk request, the batch's shared
        externalReferenceId. Only a fresh operation gets the batch id: one that may have reached Partner
        Center keeps the id it was looked up by."""
        values: dict[str, Any] = {}
        if not op.correlation_id:
            values["correlation_id"] = str(uuid.uuid4())
        if fresh and view.kind is RequestKind.BULK:
            batch = batch_reference(view.id)
            if op.external_reference_id != batch:
                values["external_reference_id"] = batch
        if not values:
            return op
        repo.update_operation_fields(session, op.id, **values)
        return replace(op, **values)

    def _find_existing(self, op: OperationView) -> Migration | MigrationSchedule | None:
        """After an interruption: did the earlier attempt land? Looked up by our externalReferenceId."""
        ref = op.external_reference_id
        found: Sequence[Migration | MigrationSchedule]
        if op.kind == OP_CREATE_MIGRATION:
            found = self._pc.query_migrations(customer_id=op.customer_id, external_reference_id=ref)
        elif op.kind == OP_CREATE_SCHEDULE:
            found = self._pc.list_schedules(customer_id=op.customer_id, external_reference_id=ref)
        else:
            return None
        for item in found:
            if (item.external_reference_id or "").lower() == ref.lower() and (
                (item.current_subscription_id or "").lower() == op.target.lower()
            ):
                return item
        return None

    def _call_partner_center(
        self, op: OperationView, body: dict[str, Any] | None
    ) -> Migration | MigrationSchedule | Subscription:
        if op.kind == window.OP_PATCH_SUBSCRIPTION:
            return window.send_change(self._pc, op.customer_id, op.target, body or {}, self._now(),
                                      request_id=op.ms_request_id, correlation_id=op.correlation_id)
        if op.kind == OP_CREATE_MIGRATION:
            assert body is not None
            request = MigrationRequest.model_validate(body).model_copy(
                update={"external_reference_id": op.external_reference_id}
            )
            return self._pc.create_migration(
                op.customer_id, request, request_id=op.ms_request_id, correlation_id=op.correlation_id
            )
        if op.kind == OP_CREATE_SCHEDULE:
            assert body is not None
            schedule = MigrationScheduleRequest.model_validate(body).model_copy(
                update={"external_reference_id": op.external_reference_id}
            )
            return self._pc.create_schedule(
                op.customer_id, schedule, request_id=op.ms_request_id, correlation_id=op.correlation_id
            )
        if op.kind == OP_UPDATE_SCHEDULE:
            assert body is not None
            schedule = MigrationScheduleRequest.model_validate(body)
            return self._pc.update_schedule(
                op.customer_id, op.target, schedule, request_id=op.ms_request_id, correlation_id=op.correlation_id
            )
        if op.kind == OP_CANCEL_SCHEDULE:
            return self._pc.cancel_schedule(
                op.customer_id, op.target, request_id=op.ms_request_id, correlation_id=op.correlation_id
            )
        raise ValueError(f"unknown operation kind {op.kind}")  # pragma: no cover

    def _send(self, view: RequestView, op: OperationView, body: dict[str, Any] | None) -> None:
        result: Migration | MigrationSchedule | Subscription | None
        try:
            result = self._find_existing(op) if op.attempts > 1 else None
            if result is None:
                result = self._call_partner_center(op, body)
            else:
                logger.info("request %s: found the earlier %s by externalReferenceId", view.id, op.kind)
        except PartnerCenterError as exc:
            transient = is_transient(exc)
            now = self._now()
            deferred = [(f"{view.id}:deferred:{op.id}:{op.attempts}",
                         thread.PC_RETRYING)]
            with self._tx() as session:
                if transient:
                    repo.release_operation(session, op.id, now, error=exc.description[:500])
                    self._effects_in(session, view, deferred)
                    repo.append_audit(
                        session,
                        request_id=view.id,
                        customer_id=view.customer_id,
                        actor=SYSTEM_ACTOR,
                        action="submit_deferred",
                        at=now,
                        detail={"operation": op.kind, "target": op.target, "attempt": op.attempts,
                                "error": str(exc)[:500]},
                        ms_request_id=op.ms_request_id,
                        correlation_id=exc.correlation_id,
                    )
                else:
                    repo.finish_operation(
                        session,
                        op.id,
                        status="refused",
                        now=now,
                        correlation_id=exc.correlation_id,
                        error_code=str(exc.code) if exc.code is not None else str(exc.status_code),
                        error_description=exc.description,
                    )
            return
        except Exception:
            logger.exception("request %s: %s failed unexpectedly; left for resume", view.id, op.kind)
            with self._tx() as session:
                repo.release_operation(session, op.id, self._now(), error="unexpected error")
            return
        now = self._now()
        migration_id = (result.id if isinstance(result, Migration)
                        else getattr(result, "new_commerce_migration_id", None))
        schedule_id = result.id if isinstance(result, MigrationSchedule) else None
        with self._tx() as session:
            if repo.finish_operation(
                session,
                op.id,
                status="sent",
                now=now,
                migration_id=migration_id,
                schedule_id=schedule_id,
                response=result.model_dump(mode="json", by_alias=True, exclude_none=True),
                correlation_id=op.correlation_id,
            ):
                # One event per Partner Center call that changed something (a bulk request makes several).
                repo.append_audit(
                    session,
                    request_id=view.id,
                    customer_id=view.customer_id,
                    actor=SYSTEM_ACTOR,
                    action="sent",
                    at=now,
                    detail={"operation": op.kind, "target": op.target, "attempt": op.attempts,
                            "migration_id": migration_id, "schedule_id": schedule_id,
                            "external_reference_id": op.external_reference_id},
                    ms_request_id=op.ms_request_id,
                    correlation_id=op.correlation_id,
                )


    def resume_interrupted_submissions(self) -> list[RequestView]:
        """Approved requests whose submission was interrupted (crash, Partner Center unavailable) or never
        started. Each operation is claimed with a lease first, looked up by externalReferenceId, and only then
        re-sent with its SAME MS-RequestId: never a second migration."""
        with self._tx() as session:
            ids = repo.approved_request_ids(session)
        resumed: list[RequestView] = []
        for request_id in ids:
            try:
                resumed.append(self.submit(request_id))
            except Exception:
                logger.exception("resuming request %s failed", request_id)
        return resumed
