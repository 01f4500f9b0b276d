"""``/nce bulk``: one approval for every eligible base subscription of a customer, submitted exactly once."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.domain import ChangeOptions, Ineligible, InvalidInput, RequestKind, RequestState
from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.models import Migration, MigrationRequest
from bot.workflow import NothingEligible, Workflow
from sandbox import known
from sandbox.server import SandboxServer
from storage import repositories as repo
from tests.workflow.conftest import (
    RecordingNotifier,
    SettableClock,
    StaticMembership,
    WorkflowFactory,
    sandbox_http,
    sandbox_migrations,
)

C = known.CONTOSO
CONTOSO_ELIGIBLE = {known.ELIGIBLE_SIMPLE, known.ELIGIBLE_MONTHLY, known.ELIGIBLE_BASE, known.NESTED_BASE,
                    known.FAILING_SUB}


def _bulk(wf: Workflow, customer: str = C, **opts: Any):  # type: ignore[no-untyped-def]
    return wf.request_change(kind=RequestKind.BULK, requester="UREQUESTER", customer_id=customer,
                             options=ChangeOptions(**opts))


def _items(session_factory: sessionmaker[Session], request_id: str) -> list[Any]:
    with session_factory() as session:
        row = repo.get_request(session, request_id)
        assert row is not None
        return list(row.items or [])


def test_bulk_request_lists_eligible_and_leaves_out_the_rest(
    make_workflow: WorkflowFactory, notifier: RecordingNotifier, session_factory: sessionmaker[Session],
) -> None:
    wf = make_workflow()
    view = _bulk(wf, known.ADVENTURE_WORKS)
    assert view.kind is RequestKind.BULK and view.state is RequestState.PENDING and view.subscription_id is None
    assert [p.id for p in notifier.posted] == [view.id]
    items = _items(session_factory, view.id)
    assert sorted(i["target"] for i in items) == sorted(known.INELIGIBLE_BY_CODE[c][1] for c in (11, 12))
    assert view.validation is not None and view.validation.eligible
    listed = {(r.subscription_id, str(r.code)) for r in view.validation.reasons}
    for code in (1, 2, 4, 5, 6, 7, 8, 9, 10):  # validated and refused: listed with their reasons
        assert (known.INELIGIBLE_BY_CODE[code][1], str(code)) in listed
    assert view.subscription_name == "2 subscription(s)"

    whole = _bulk(wf)
    targets = {i["target"] for i in _items(session_factory, whole.id)}
    assert targets == CONTOSO_ELIGIBLE  # no trial, no NCE, no add-on on its own
    [base] = [i for i in _items(session_factory, whole.id) if i["target"] == known.NESTED_BASE]
    assert sorted(a["currentSubscriptionId"] for a in base["body"]["addOnMigrations"]) == sorted(
        known.NESTED_BASE_ADDONS
    )


def test_nothing_eligible_is_refused_and_nothing_stored(
    make_workflow: WorkflowFactory, notifier: RecordingNotifier, session_factory: sessionmaker[Session],
) -> None:
    wf = make_workflow()
    with pytest.raises(NothingEligible) as none:
        _bulk(wf, known.WOODGROVE)
    assert "Woodgrove Bank has no active legacy base subscription" in str(none.value)
    with pytest.raises(Ineligible) as refused:  # every base refused: a clear message naming the reasons
        _bulk(wf, C, end_date=date(2099, 6, 15))  # aligned with nothing: code 12
    text = str(refused.value)
    assert text.startswith("None of the 5 active legacy base subscription(s) of Contoso Ltd can be migrated")
    assert known.ELIGIBLE_BASE in text and "12: " in text and "/nce check" in text
    with pytest.raises(InvalidInput) as err:
        _bulk(wf, C, quantity=5)
    assert err.value.field == "quantity"
    with pytest.raises(InvalidInput) as err:
        _bulk(wf, C, on_renewal=True)
    assert notifier.posted == [] and wf.pending_requests() == []
    with session_factory() as session:
        assert repo.audit_events(session) == []


def test_open_requests_are_not_raced(make_workflow: WorkflowFactory, session_factory: sessionmaker[Session]) -> None:
    wf = make_workflow()
    single = wf.request_change(kind=RequestKind.MIGRATE, requester="UREQUESTER", customer_id=C,
                               subscription_id=known.ELIGIBLE_SIMPLE)
    bulk = _bulk(wf)
    assert {i["target"] for i in _items(session_factory, bulk.id)} == CONTOSO_ELIGIBLE - {known.ELIGIBLE_SIMPLE}
    assert bulk.validation is not None
    assert any(r.subscription_id == known.ELIGIBLE_SIMPLE and single.id in r.description
               for r in bulk.validation.reasons)
    with pytest.raises(InvalidInput) as err:  # a single request for a subscription of the open bulk request
        wf.request_change(kind=RequestKind.MIGRATE, requester="UREQUESTER", customer_id=C,
                          subscription_id=known.ELIGIBLE_MONTHLY)
    assert bulk.id in str(err.value)
    with pytest.raises(Ineligible):  # everything left is in one open request or the other
        _bulk(wf)


def test_approval_creates_one_migration_per_subscription_with_one_batch_reference(
    make_workflow: WorkflowFactory, sandbox: SandboxServer, notifier: RecordingNotifier,
    session_factory: sessionmaker[Session],
) -> None:
    wf = make_workflow()
    view = _bulk(wf)
    done = wf.approve(view.id, "UAPPROVER1").request
    assert done.state is RequestState.PROCESSING
    migrations = sandbox_migrations(sandbox)
    assert sorted(m["currentSubscriptionId"] for m in migrations) == sorted(CONTOSO_ELIGIBLE)
    batch = Workflow.batch_reference(view.id)
    assert {m["externalReferenceId"] for m in migrations} == {batch}
    with session_factory() as session:
        ops = repo.operations_for(session, view.id)
        events = repo.audit_events(session, request_id=view.id)
    assert len(ops) == 5 and all(o.status == "sent" for o in ops)
    by_sub = {m["currentSubscriptionId"]: m for m in migrations}
    for op in ops:  # each with its own persisted MS-RequestId, the one Partner Center got
        assert by_sub[op.target]["requestId"] == op.ms_request_id and op.migration_id == by_sub[op.target]["id"]
    assert len({o.ms_request_id for o in ops}) == 5 and len({o.correlation_id for o in ops}) == 5
    sent = [e for e in events if e.action == "sent"]
    assert sorted(e.ms_request_id or "" for e in sent) == sorted(o.ms_request_id for o in ops)
    assert sorted(e.correlation_id or "" for e in sent) == sorted(o.correlation_id or "" for o in ops)
    [submitted] = [e for e in events if e.action == "submitted"]
    assert submitted.detail is not None and submitted.detail["sent"] == 5
    assert submitted.detail["external_reference_id"] == batch and len(submitted.detail["operations"]) == 5
    assert any("Submitted 5 migration(s)" in text for _, text in notifier.thread.values())
    assert wf.resume_interrupted_submissions() == [] and len(sandbox_migrations(sandbox)) == 5


class Crash(BaseException):
    """Stands for the process dying (not an Exception: nothing in the workflow may catch it)."""


class CrashingClient(PartnerCenterClient):
    """The real client; the process "dies" right after the ``crash_after``-th create reached Partner Center."""

    def __init__(self, crash_after: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.crash_after = crash_after
        self.creates = 0

    def create_migration(self, customer_id: str, body: MigrationRequest, *, request_id: str | None = None,
                         correlation_id: str | None = None) -> Migration:
        result = super().create_migration(customer_id, body, request_id=request_id, correlation_id=correlation_id)
        self.creates += 1
        if self.creates >= self.crash_after:
            raise Crash
        return result


def test_crash_in_a_half_submitted_bulk_never_duplicates_a_migration(
    make_workflow: WorkflowFactory, session_factory: sessionmaker[Session], sandbox: SandboxServer,
    notifier: RecordingNotifier, membership: StaticMembership, clock: SettableClock,
) -> None:
    settings, http, tokens = sandbox_http(sandbox)
    crashing = CrashingClient(2, base_url=settings.partner_center_base_url, token_provider=tokens, http=http)
    doomed = make_workflow(partner_center=crashing, approvers=("UAPPROVER1",))
    view = _bulk(doomed)
    with pytest.raises(Crash):
        doomed.approve(view.id, "UAPPROVER1")
    http.close()
    assert len(sandbox_migrations(sandbox)) == 2  # the second one landed, its answer was never recorded
    with session_factory() as session:
        ops = repo.operations_for(session, view.id)
    assert [o.status for o in ops].count("sent") == 1 and len(ops) == 5

    fresh = make_workflow()
    assert fresh.resume_interrupted_submissions()[0].state is RequestState.APPROVED  # leases still held: nothing
    assert len(sandbox_migrations(sandbox)) == 2
    clock.advance(Workflow.SUBMIT_LEASE + timedelta(minutes=1))
    [resumed] = fresh.resume_interrupted_submissions()
    assert resumed.state is RequestState.PROCESSING
    migrations = sandbox_migrations(sandbox)
    assert sorted(m["currentSubscriptionId"] for m in migrations) == sorted(CONTOSO_ELIGIBLE)
    with session_factory() as session:
        ops = repo.operations_for(session, view.id)
    assert all(o.status == "sent" for o in ops)
    assert sorted(o.migration_id or "" for o in ops) == sorted(m["id"] for m in migrations)
    assert {m["externalReferenceId"] for m in migrations} == {Workflow.batch_reference(view.id)}
    assert fresh.resume_interrupted_submissions() == []
