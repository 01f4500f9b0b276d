"""Policy and membership edges of the workflow (issue #9, points 4, 9, 10) against the Partner Center sandbox."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain import (
    ChangeOptions,
    InvalidInput,
    MembershipUnconfirmed,
    NotAuthorized,
    RequestKind,
    RequestState,
    RequestView,
)
from bot.workflow import Unapprovable, Workflow
from sandbox import known
from tests.workflow.conftest import RecordedSlack, SettableClock, StaticMembership, WorkflowFactory, approve_and_submit

ALL_STATES = list(RequestState)


class FailingGroups(StaticMembership):
    """A resolver whose Slack is down for the listed groups (any exception, not only the domain one)."""

    def __init__(self, groups: dict[str, frozenset[str]], down: set[str]) -> None:
        super().__init__(groups)
        self.down = down

    def members(self, group_id: str) -> frozenset[str]:
        if group_id in self.down:
            raise ConnectionError("slack is down")
        return super().members(group_id)


def _migrate(wf: Workflow, requester: str = "UREQUESTER") -> RequestView:
    return wf.request_change(kind=RequestKind.MIGRATE, requester=requester, customer_id=known.CONTOSO,
                             subscription_id=known.ELIGIBLE_SIMPLE)


def test_unreadable_group_is_unconfirmed_not_refused(make_workflow: WorkflowFactory) -> None:
    groups = FailingGroups({"SAPPROVERS": frozenset({"UGROUPMEMBER"})}, down=set())
    wf = make_workflow(groups=groups, approvers=("UAPPROVER1", "SAPPROVERS"))
    view = _migrate(wf)
    groups.down.add("SAPPROVERS")  # Slack goes down for the group
    with pytest.raises(MembershipUnconfirmed) as err:
        wf.approve(view.id, "UGROUPMEMBER")
    assert "could not confirm your membership of <!subteam^SAPPROVERS>; try again" in str(err.value)
    assert wf.get_request(view.id).state is RequestState.PENDING
    assert wf.is_approver("UGROUPMEMBER") is False  # for display only (App Home)
    assert wf.approve(view.id, "UAPPROVER1").outcome == "approved"  # a listed approver needs no group


def test_reschedule_after_the_term_end_is_refused(make_workflow: WorkflowFactory, clock: SettableClock) -> None:
    wf = make_workflow()
    today = clock.now().date()
    view = wf.request_change(kind=RequestKind.SCHEDULE, requester="UREQUESTER", customer_id=known.FABRIKAM,
                             subscription_id=known.SCHEDULE_SUB,
                             options=ChangeOptions(target_date=today + timedelta(days=10)))
    schedule_id = approve_and_submit(wf, view.id, "UAPPROVER1").schedule_id
    assert schedule_id
    [node] = [n for n in wf.legacy_subscriptions(known.FABRIKAM) if n.subscription.id == known.SCHEDULE_SUB]
    assert node.subscription.commitment_end_date is not None
    end = node.subscription.commitment_end_date.date()
    before = len(wf.requests(ALL_STATES))
    with pytest.raises(InvalidInput) as err:
        wf.request_change(kind=RequestKind.RESCHEDULE, requester="UREQUESTER", customer_id=known.FABRIKAM,
                          schedule_id=schedule_id, options=ChangeOptions(target_date=end + timedelta(days=1)))
    assert err.value.field == "date" and f"term end {end.isoformat()}" in str(err.value)
    assert len(wf.requests(ALL_STATES)) == before


def test_unapprovable_request_is_refused_before_anything_is_stored(
    make_workflow: WorkflowFactory, notifier: RecordedSlack
) -> None:
    wf = make_workflow(approvers=("SAPPROVERS",))  # one member: UGROUPMEMBER
    with pytest.raises(Unapprovable) as err:
        _migrate(wf, requester="UGROUPMEMBER")
    assert "needs 1 distinct approval(s) but only 0 approver(s) other than the requester" in str(err.value)
    assert wf.requests(ALL_STATES) == [] and notifier.posted == []
    assert _migrate(wf, requester="UREQUESTER") is not None  # the group member can approve this one
    self_ok = make_workflow(approvers=("SAPPROVERS",), allow_self_approval=True)
    assert self_ok.request_change(kind=RequestKind.MIGRATE, requester="UGROUPMEMBER", customer_id=known.CONTOSO,
                                  subscription_id=known.ELIGIBLE_MONTHLY).state is RequestState.PENDING


def test_watch_list_follows_requesters(make_workflow: WorkflowFactory) -> None:
    wf = make_workflow(requesters=("UREQUESTER",))
    wf.watch(known.CONTOSO, "UREQUESTER")
    for change in (wf.watch, wf.unwatch):
        with pytest.raises(NotAuthorized) as err:
            change(known.CONTOSO, "USTRANGER")
        assert "allowed to ask for changes" in str(err.value)
    assert wf.watched_customers() == [known.CONTOSO]
