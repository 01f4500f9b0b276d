"""Workflow (SPEC §5) against the real Partner Center client and the sandbox, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.domain import (
    AlreadyDecided,
    ChangeOptions,
    Ineligible,
    InvalidInput,
    NotAuthorized,
    RequestKind,
    RequestState,
)
from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.retry import RetryPolicy
from bot.workflow import AlreadyVoted, NotPosted, Workflow
from sandbox import known
from sandbox.server import SandboxServer
from storage import repositories as repo
from tests.workflow.conftest import (
    RecordedSlack,
    SettableClock,
    StaticMembership,
    WorkflowFactory,
    approve_and_submit,
    sandbox_env,
    sandbox_http,
    sandbox_migrations,
    submit_approved,
)

C = known.CONTOSO


def _migrate(wf: Workflow, sub: str = known.ELIGIBLE_SIMPLE, requester: str = "UREQUESTER", **opts: object):
    return wf.request_change(kind=RequestKind.MIGRATE, requester=requester, customer_id=C, subscription_id=sub,
                             options=ChangeOptions(**opts))  # type: ignore[arg-type]


def _audit(session_factory: sessionmaker[Session], request_id: str) -> list[tuple[str, str | None, str | None]]:
    with session_factory() as session:
        return [(e.action, e.from_state, e.to_state) for e in repo.audit_events(session, request_id=request_id)]


def test_legacy_subscriptions_nest_addons_and_mark_trials(make_workflow: WorkflowFactory) -> None:
    nodes = {n.subscription.id: n for n in make_workflow().legacy_subscriptions(C)}
    assert known.NCE_SUB not in nodes and known.NESTED_ADDON not in nodes
    nested = nodes[known.NESTED_BASE]
    children = {a.subscription.id: a for a in nested.addons}
    assert known.NESTED_PARENT_ADDON in children
    assert [g.subscription.id for g in children[known.NESTED_PARENT_ADDON].addons] == [known.NESTED_ADDON]
    assert children[known.INACTIVE_ADDON].flags == ("suspended",)
    assert nodes[known.TRIAL_SUB].flags == ("trial",) and not nodes[known.TRIAL_SUB].is_candidate
    assert sorted(a.subscription.id for a in nodes[known.ELIGIBLE_BASE].addons) == sorted(known.ELIGIBLE_BASE_ADDONS)


def test_validate_sends_flat_addons_and_maps_options(make_workflow: WorkflowFactory) -> None:
    wf = make_workflow()
    outcome = wf.validate(C, known.NESTED_BASE, ChangeOptions())
    assert outcome.eligible, outcome.reasons
    assert sorted(outcome.addon_ids) == sorted(known.NESTED_BASE_ADDONS)  # nested one included, inactive one not
    assert known.INACTIVE_ADDON not in outcome.addon_ids
    assert outcome.catalog_item_id and outcome.subscription_name == "Office 365 E3 - Branch offices"
    assert outcome.customer_name == "Contoso Ltd"

    mapped = wf.validate(C, known.ELIGIBLE_SIMPLE, ChangeOptions(term="P3Y", billing="triennial"))
    assert mapped.eligible and mapped.term == "P3Y" and mapped.billing == "triennial"
    bad_combo = wf.validate(C, known.ELIGIBLE_MONTHLY, ChangeOptions(term="P3Y", billing="triennial"))
    assert not bad_combo.eligible and any(r.code == 6 for r in bad_combo.reasons)

    without = wf.validate(C, known.ELIGIBLE_BASE, ChangeOptions(addons="none"))
    assert not without.eligible and any(r.code == 4 for r in without.reasons)

    with pytest.raises(InvalidInput) as err:
        wf.validate(C, known.ELIGIBLE_BASE, ChangeOptions(addons=(known.NESTED_ADDON,)))
    assert err.value.field == "addons" and known.NESTED_ADDON in str(err.value)
    with pytest.raises(InvalidInput) as err:
        wf.validate("not-a-guid", known.ELIGIBLE_BASE, ChangeOptions())
    assert err.value.field == "customer"
    with pytest.raises(InvalidInput) as err:
        wf.validate(C, known.ELIGIBLE_BASE, ChangeOptions(term="P2Y"))
    assert err.value.field == "term"


def test_request_is_stored_posted_and_audited(
    make_workflow: WorkflowFactory, notifier: RecordedSlack, clock: SettableClock,
    session_factory: sessionmaker[Session],
) -> None:
    wf = make_workflow(approval_ttl=timedelta(hours=2))
    view = _migrate(wf, term="P1Y", billing="annual", quantity=30)
    assert view.state is RequestState.PENDING and view.message is not None
    assert view.expires_at == clock.now() + timedelta(hours=2)
    assert view.validation is not None and view.validation.eligible
    assert [p.id for p in notifier.posted] == [view.id]
    stored = wf.get_request(view.id)
    assert stored.message == view.message and stored.options.quantity == 30 and stored.options.billing == "annual"
    assert [v.id for v in wf.pending_requests()] == [view.id]
    assert _audit(session_factory, view.id) == [("requested", None, "pending"), ("posted", None, None)]
    with pytest.raises(InvalidInput):  # one open request per subscription
        _migrate(wf)


def test_ineligible_subscription_is_refused_and_nothing_stored(
    make_workflow: WorkflowFactory, notifier: RecordedSlack, session_factory: sessionmaker[Session]
) -> None:
    wf = make_workflow()
    with pytest.raises(Ineligible) as err:
        _migrate(wf, sub=known.TRIAL_SUB)
    assert err.value.outcome.reasons and "Trial" in str(err.value)
    assert wf.pending_requests() == [] and notifier.posted == []
    with session_factory() as session:
        assert repo.audit_events(session) == []


def test_input_rules(make_workflow: WorkflowFactory, clock: SettableClock) -> None:
    wf = make_workflow(requesters=("UREQUESTER", "SREQ"))
    with pytest.raises(NotAuthorized):
        _migrate(wf, requester="USTRANGER")
    today = clock.now().date()
    for opts, field in (
        ({}, "date"),
        ({"target_date": today}, "date"),
        ({"target_date": today + timedelta(days=3), "on_renewal": True}, "date"),
    ):
        with pytest.raises(InvalidInput) as err:
            wf.request_change(kind=RequestKind.SCHEDULE, requester="UREQUESTER", customer_id=known.FABRIKAM,
                              subscription_id=known.SCHEDULE_SUB, options=ChangeOptions(**opts))  # type: ignore[arg-type]
        assert err.value.field == field
    with pytest.raises(InvalidInput) as err:
        wf.request_change(kind=RequestKind.CANCEL, requester="UREQUESTER", customer_id=C, schedule_id="nope")
    assert err.value.field == "schedule"


def test_approval_matrix(
    make_workflow: WorkflowFactory, notifier: RecordedSlack, sandbox: SandboxServer,
    session_factory: sessionmaker[Session],
) -> None:
    wf = make_workflow(required_approvals=2)
    view = _migrate(wf, requester="UAPPROVER1")
    with pytest.raises(NotAuthorized):
        wf.approve(view.id, "USTRANGER")
    with pytest.raises(NotAuthorized):  # own request, self-approval off
        wf.approve(view.id, "UAPPROVER1")
    with pytest.raises(NotAuthorized):
        wf.can_decide(view.id, "UAPPROVER1")
    wf.can_decide(view.id, "UGROUPMEMBER")  # member of an S… approver group
    first = wf.approve(view.id, "UGROUPMEMBER")
    assert first.outcome == "vote_recorded" and first.votes_missing == 1
    with pytest.raises(AlreadyVoted) as again:
        wf.approve(view.id, "UGROUPMEMBER")
    assert "already approved" in str(again.value) and again.value.votes_missing == 1
    assert sandbox_migrations(sandbox) == []
    second = wf.approve(view.id, "UAPPROVER2")
    assert second.outcome == "approved" and second.votes_missing == 0
    assert second.request.state is RequestState.APPROVED  # the click only decides; the lease holder submits
    assert sandbox_migrations(sandbox) == []
    assert submit_approved(wf) == 1
    done = wf.get_request(view.id)
    assert done.state is RequestState.PROCESSING and done.decided_by == ("UGROUPMEMBER", "UAPPROVER2")
    [migration] = sandbox_migrations(sandbox)
    assert done.migration_id == migration["id"]
    assert migration["requestId"] == done.pc_request_id
    assert migration["externalReferenceId"] == done.external_reference_id
    assert any(migration["id"] in text for _, text in notifier.thread.values())
    assert RequestState.APPROVED in notifier.states_updated(view.id)
    with pytest.raises(AlreadyDecided) as late:
        wf.approve(view.id, "UAPPROVER3")
    assert "already approved" in str(late.value) and "UAPPROVER2" in str(late.value)
    actions = _audit(session_factory, view.id)
    assert ("approved", "pending", "approved") in actions and ("submitted", "approved", "submitted") in actions
    assert ("processing", "submitted", "processing") in actions
    assert [a for a in actions if a[0] == "vote"] == [("vote", None, None)]


def test_self_approval_when_allowed(make_workflow: WorkflowFactory) -> None:
    wf = make_workflow(allow_self_approval=True)
    view = _migrate(wf, requester="UAPPROVER1")
    assert wf.approve(view.id, "UAPPROVER1").outcome == "approved"


def test_reject_needs_a_reason_and_is_final(make_workflow: WorkflowFactory, notifier: RecordedSlack) -> None:
    wf = make_workflow()
    view = _migrate(wf)
    with pytest.raises(InvalidInput) as err:
        wf.reject(view.id, "UAPPROVER1", "   ")
    assert err.value.field == "reason"
    result = wf.reject(view.id, "UAPPROVER1", "wrong seat count")
    assert result.outcome == "rejected" and result.request.reject_reason == "wrong seat count"
    assert result.request.state is RequestState.REJECTED and result.request.decided_by == ("UAPPROVER1",)
    with pytest.raises(AlreadyDecided) as late:
        wf.approve(view.id, "UAPPROVER2")
    assert "rejected" in str(late.value)
    assert any("wrong seat count" in text for _, text in notifier.thread.values())


def test_expired_request_cannot_be_approved(
    make_workflow: WorkflowFactory, clock: SettableClock, notifier: RecordedSlack, sandbox: SandboxServer
) -> None:
    wf = make_workflow(approval_ttl=timedelta(hours=1))
    old = _migrate(wf)
    clock.advance(timedelta(minutes=90))
    with pytest.raises(AlreadyDecided) as err:
        wf.approve(old.id, "UAPPROVER1")
    assert "expired" in str(err.value)
    assert wf.get_request(old.id).state is RequestState.EXPIRED
    assert notifier.states_updated(old.id) == [RequestState.EXPIRED]
    assert sandbox_migrations(sandbox) == []


def test_expire_pending(make_workflow: WorkflowFactory, clock: SettableClock, notifier: RecordedSlack) -> None:
    wf = make_workflow(approval_ttl=timedelta(hours=1))
    old = _migrate(wf)
    clock.advance(timedelta(minutes=45))
    young = _migrate(wf, sub=known.ELIGIBLE_MONTHLY)
    clock.advance(timedelta(minutes=30))
    assert [v.id for v in wf.expire_pending()] == [old.id]
    assert wf.expire_pending() == []
    assert wf.get_request(old.id).state is RequestState.EXPIRED
    assert wf.get_request(young.id).state is RequestState.PENDING
    assert notifier.states_updated(old.id) == [RequestState.EXPIRED]


def test_refused_submission_fails_with_code(
    make_workflow: WorkflowFactory, sandbox: SandboxServer, notifier: RecordedSlack,
    session_factory: sessionmaker[Session],
) -> None:
    wf = make_workflow()
    view = _migrate(wf)
    sandbox.state.external_migration(C, known.ELIGIBLE_SIMPLE)  # the subscription is busy by the time we submit
    failed = approve_and_submit(wf, view.id, "UAPPROVER1")
    assert failed.state is RequestState.FAILED
    assert failed.error_code == "900216" and failed.error_description
    [(_, text)] = [v for k, v in notifier.thread.items() if k.endswith(":failed")]
    assert "<@UREQUESTER>" in text and "900216" in text
    assert ("submit_refused", "approved", "failed") in _audit(session_factory, view.id)
    assert notifier.states_updated(view.id)[-1] is RequestState.FAILED


def test_unavailable_then_resume_sends_once(
    make_workflow: WorkflowFactory, session_factory: sessionmaker[Session], sandbox: SandboxServer,
) -> None:
    settings, http, tokens = sandbox_http(sandbox)
    client = PartnerCenterClient(base_url=settings.partner_center_base_url, token_provider=tokens, http=http,
                                 retry=RetryPolicy(max_attempts=2, base_delay=0, jitter=False), sleep=lambda _: None)
    wf = make_workflow(partner_center=client, approvers=("UAPPROVER1",))
    view = _migrate(wf)
    sandbox.state.set_faults({"error_status": 503, "error_rate": 1.0, "error_path": "/migrations/newcommerce"})
    result = wf.approve(view.id, "UAPPROVER1")
    assert result.outcome == "approved" and result.request.state is RequestState.APPROVED
    submit_approved(wf)  # the lease holder's job: Partner Center does not answer
    assert wf.get_request(view.id).state is RequestState.APPROVED
    with session_factory() as session:
        [op] = repo.operations_for(session, view.id)
    assert op.status == "sending"
    sandbox.state.clear_faults()
    [resumed] = wf.resume_interrupted_submissions()
    assert resumed.state is RequestState.PROCESSING and resumed.pc_request_id == op.ms_request_id
    assert len(sandbox_migrations(sandbox)) == 1
    assert wf.resume_interrupted_submissions() == []


def test_schedule_reschedule_cancel(
    make_workflow: WorkflowFactory, sandbox: SandboxServer, clock: SettableClock
) -> None:
    wf = make_workflow()
    today = clock.now().date()
    view = wf.request_change(kind=RequestKind.SCHEDULE, requester="UREQUESTER", customer_id=known.FABRIKAM,
                             subscription_id=known.SCHEDULE_SUB,
                             options=ChangeOptions(target_date=today + timedelta(days=10)))
    scheduled = approve_and_submit(wf, view.id, "UAPPROVER1")
    assert scheduled.state is RequestState.SUBMITTED and scheduled.schedule_id
    [schedule] = wf.list_schedules(known.FABRIKAM, known.SCHEDULE_SUB)
    assert schedule.id == scheduled.schedule_id and schedule.target_date is not None
    assert schedule.target_date.date() == today + timedelta(days=10)

    new_date = today + timedelta(days=20)
    change = wf.request_change(kind=RequestKind.RESCHEDULE, requester="UREQUESTER", customer_id=known.FABRIKAM,
                               schedule_id=schedule.id, options=ChangeOptions(target_date=new_date))
    assert approve_and_submit(wf, change.id, "UAPPROVER1").state is RequestState.COMPLETED
    [updated] = wf.list_schedules(known.FABRIKAM, known.SCHEDULE_SUB)
    assert updated.target_date is not None and updated.target_date.date() == new_date

    cancel = wf.request_change(kind=RequestKind.CANCEL, requester="UREQUESTER", customer_id=known.FABRIKAM,
                               schedule_id=schedule.id)
    assert approve_and_submit(wf, cancel.id, "UAPPROVER1").state is RequestState.COMPLETED
    [cancelled] = wf.list_schedules(known.FABRIKAM, known.SCHEDULE_SUB)
    assert str(cancelled.status) in ("Cancelled", "ScheduleStatus.CANCELLED")
    with pytest.raises(InvalidInput):
        wf.request_change(kind=RequestKind.CANCEL, requester="UREQUESTER", customer_id=known.FABRIKAM,
                          schedule_id=schedule.id)


def test_twenty_simultaneous_approvals_decide_once(
    make_workflow: WorkflowFactory, sandbox: SandboxServer, notifier: RecordedSlack,
    membership: StaticMembership, session_factory: sessionmaker[Session],
) -> None:
    approvers = tuple(f"UCLICK{i:02d}" for i in range(20))
    wf = make_workflow(approvers=approvers, required_approvals=1)
    view = _migrate(wf)
    barrier = threading.Barrier(len(approvers))
    outcomes: list[str] = []
    lock = threading.Lock()

    def click(user: str) -> None:
        barrier.wait()
        outcome: str
        try:
            outcome = wf.approve(view.id, user).outcome
        except AlreadyDecided:
            outcome = "late"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=click, args=(u,)) for u in approvers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["approved"] + ["late"] * 19
    assert submit_approved(wf) == 1 and submit_approved(wf) == 0  # the lease holder's job sends it once
    assert len(sandbox_migrations(sandbox)) == 1
    assert sandbox.state.counts.get("create_migration", 1) == 1
    assert notifier.states_updated(view.id).count(RequestState.APPROVED) == 1
    final = wf.get_request(view.id)
    assert final.state is RequestState.PROCESSING and len(final.decided_by) == 1
    assert [a for a in _audit(session_factory, view.id) if a[0] == "approved"] == [("approved", "pending", "approved")]


def test_post_failure_ends_the_request_and_tells_user(
    make_workflow: WorkflowFactory, notifier: RecordedSlack, session_factory: sessionmaker[Session]
) -> None:
    notifier.fail_posting = True
    wf = make_workflow()
    with pytest.raises(NotPosted) as err:
        _migrate(wf)
    request_id = err.value.request.id
    assert wf.get_request(request_id).state is RequestState.EXPIRED  # no pending request without a message
    assert ("post_failed", "pending", "expired") in _audit(session_factory, request_id)
    assert wf.pending_requests() == []
    notifier.fail_posting = False
    assert _migrate(wf).state is RequestState.PENDING  # asking again works


def test_watch_list_is_idempotent(make_workflow: WorkflowFactory) -> None:
    wf = make_workflow()
    wf.watch(C, "U1")
    wf.watch(C.upper(), "U2")
    assert wf.watched_customers() == [C]
    wf.unwatch(C, "U1")
    wf.unwatch(C, "U1")
    assert wf.watched_customers() == []
    with pytest.raises(InvalidInput):
        wf.watch("contoso", "U1")


@pytest.mark.slow  # starts a process
def test_crash_during_submission_is_resumed_without_a_second_migration(
    make_workflow: WorkflowFactory, sandbox: SandboxServer, clock: SettableClock, database_url: str,
    session_factory: sessionmaker[Session],
) -> None:
    wf = make_workflow(approvers=("UAPPROVER1",))
    view = _migrate(wf)
    # Partner Center commits the create, then never answers in time.
    sandbox.state.set_faults({"commit_then_timeout": 120.0, "commit_then_timeout_next": 1})
    config = {
        "env": sandbox_env(sandbox), "ca_path": sandbox.ca_path, "database_url": database_url,
        "request_id": view.id, "approver": "UAPPROVER1",
    }
    root = Path(__file__).resolve().parents[2]
    child = subprocess.Popen([sys.executable, "-m", "tests.workflow.approve_child", json.dumps(config)], cwd=root,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not sandbox_migrations(sandbox):
            assert child.poll() is None, child.stdout.read().decode() if child.stdout else "child ended"
            assert time.monotonic() < deadline, "the child never reached Partner Center"
            time.sleep(0.05)
    finally:
        child.kill()
        child.wait()
    sandbox.state.clear_faults()
    [created] = sandbox_migrations(sandbox)
    interrupted = wf.get_request(view.id)
    assert interrupted.state is RequestState.APPROVED and interrupted.migration_id is None
    assert interrupted.pc_request_id == created["requestId"]

    # A fresh Workflow (another process after the restart) on the same database, after the lease ran out.
    clock.advance(Workflow.SUBMIT_LEASE + timedelta(minutes=1))
    fresh = make_workflow(approvers=("UAPPROVER1",))
    [resumed] = fresh.resume_interrupted_submissions()
    assert resumed.state is RequestState.PROCESSING and resumed.migration_id == created["id"]
    assert len(sandbox_migrations(sandbox)) == 1
    assert fresh.resume_interrupted_submissions() == []
    with session_factory() as session:
        [op] = repo.operations_for(session, view.id)
    assert op.status == "sent" and op.attempts == 2 and op.migration_id == created["id"]
