"""Who may ask and who could approve (SPEC §3, §5): ``NCEBOT_REQUESTERS`` / ``NCEBOT_APPROVERS`` entries, user
groups (``S…``) resolved through a ``MembershipResolver`` that fails closed. Slack-free."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from bot.domain import DomainError, MembershipResolver, MembershipUnconfirmed, NotAuthorized
from bot.rules import approval_shortfall, possible_approvers
from bot.texts import refusals

logger = logging.getLogger("ncebot.workflow")


@dataclass(frozen=True)
class WorkflowPolicy:
    """The approval rules, from settings (SPEC §3)."""

    approval_channel: str
    approvers: tuple[str, ...]  # U… and S… ids
    requesters: tuple[str, ...] = ()  # empty: everyone
    required_approvals: int = 1
    allow_self_approval: bool = False
    approval_ttl: timedelta = timedelta(hours=24)
    notify_channel: str | None = None


class Unapprovable(DomainError):
    """The approval rules leave nobody who could approve this request: refused before anything is stored."""

    def __init__(self, why: str) -> None:
        super().__init__(refusals.unapprovable(why))


class Access:
    """The membership rules of one WorkflowPolicy; the workflow asks before any change or decision."""

    def __init__(self, membership: MembershipResolver, policy: WorkflowPolicy) -> None:
        self._membership = membership
        self._policy = policy

    def group_members(self, group: str) -> frozenset[str]:
        """``members(group)``; any failure of the resolver is :class:`MembershipUnconfirmed` (fail closed)."""
        try:
            return self._membership.members(group)
        except MembershipUnconfirmed:
            raise
        except Exception as exc:
            logger.warning("could not resolve members of user group %s", group, exc_info=True)
            raise MembershipUnconfirmed(group) from exc

    def is_member(self, user: str, principals: Sequence[str]) -> bool:
        """Listed directly or in a group. A group that cannot be read now makes the answer unknown: unless another
        entry already says yes, :class:`MembershipUnconfirmed` is raised instead of a wrong "no"."""
        if user in principals:
            return True
        unconfirmed: MembershipUnconfirmed | None = None
        for principal in principals:
            if principal.startswith("S"):
                try:
                    if user in self.group_members(principal):
                        return True
                except MembershipUnconfirmed as exc:
                    unconfirmed = unconfirmed or exc
        if unconfirmed is not None:
            raise unconfirmed
        return False

    def authorize_requester(self, user: str, what: str = "ask for changes") -> None:
        """``NCEBOT_REQUESTERS`` (empty: everyone) for every change and for the watch list."""
        if self._policy.requesters and not self.is_member(user, self._policy.requesters):
            raise NotAuthorized(refusals.not_a_requester(what))

    def check_approvable(self, requester: str) -> None:
        """Refuse up front a request nobody could approve (e.g. 2 approvals required, 2 approvers, one of them the
        requester, self-approval off). Groups count with their current members; when a group cannot be read the
        check is skipped (the click-time check still holds)."""
        users: set[str] = set()
        for principal in self._policy.approvers:
            if principal.startswith("S"):
                try:
                    users |= self.group_members(principal)
                except MembershipUnconfirmed:
                    return
            else:
                users.add(principal)
        allow_self = self._policy.allow_self_approval
        possible = possible_approvers(users, requester, allow_self_approval=allow_self)
        why = approval_shortfall(self._policy.required_approvals, possible, allow_self_approval=allow_self)
        if why is not None:
            raise Unapprovable(why)
