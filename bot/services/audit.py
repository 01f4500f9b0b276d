"""The audit export (``/nce audit``), the watch list (``/nce watch``/``unwatch``) and who counts as an approver
for display. Moved verbatim from ``bot.workflow.Workflow``.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from bot.access import Access, WorkflowPolicy
from bot.domain import Clock, MembershipUnconfirmed, NotAuthorized, UserDirectory
from bot.reports import audit_csv
from bot.services.models import AuditExport
from bot.services.plumbing import ServicePlumbing
from bot.texts import refusals
from storage import repositories as repo


class AuditAndWatch(ServicePlumbing):
    """The append-only trail as CSV, and the customers the status tracker watches."""

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        access: Access,
        policy: WorkflowPolicy,
        clock: Clock,
        directory: UserDirectory | None = None,
    ) -> None:
        self._sessions = session_factory
        self._access = access
        self._policy = policy
        self._clock = clock
        self._directory = directory

    # --- watch list -----------------------------------------------------------------------------------
    def watch(self, customer_id: str, user: str) -> None:
        self._access.authorize_requester(user, "watch customers")
        customer_id = self._guid(customer_id, "customer").lower()
        now = self._now()
        with self._tx() as session:
            if repo.add_watch(session, customer_id, user, now):
                repo.append_audit(session, customer_id=customer_id, actor=user, action="watch", at=now)

    def unwatch(self, customer_id: str, user: str) -> None:
        self._access.authorize_requester(user, "stop watching customers")
        customer_id = self._guid(customer_id, "customer").lower()
        now = self._now()
        with self._tx() as session:
            if repo.remove_watch(session, customer_id):
                repo.append_audit(session, customer_id=customer_id, actor=user, action="unwatch", at=now)

    def watched_customers(self) -> list[str]:
        with self._tx() as session:
            return repo.watched_customer_ids(session)

    # --- audit ------------------------------------------------------------------------------------------------
    def is_approver(self, user: str) -> bool:
        """Listed in NCEBOT_APPROVERS, directly or through an ``S…`` user group resolved now (fails closed: a group
        that cannot be read counts as "no" here, for display; rights are checked with :meth:`_is_member`)."""
        try:
            return self._access.is_member(user, self._policy.approvers)
        except MembershipUnconfirmed:
            return False

    def audit_export(self, user: str, customer_id: str | None = None) -> AuditExport:
        """``/nce audit``: the append-only trail as CSV, for approvers only (it names people and decisions)."""
        if not self._access.is_member(user, self._policy.approvers):
            raise NotAuthorized(refusals.ONLY_APPROVERS_AUDIT)
        names = self._directory.display_name if self._directory is not None else None
        text = audit_csv(self._sessions, customer_id, names)
        stamp = self._now().strftime("%Y%m%d-%H%M")
        scope = customer_id.strip().lower() if customer_id else None
        return AuditExport(
            csv=text,
            events=max(text.count("\r\n") - 1, 0),
            customer_id=scope,
            filename=f"nce-audit-{scope or 'all'}-{stamp}.csv",
        )
