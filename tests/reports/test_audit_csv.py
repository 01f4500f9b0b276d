"""``/nce audit [customer]``: the audit trail as CSV, and the MS ids of successful calls in it."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.csv_files import BOM
from bot.domain import ChangeOptions, InvalidInput, RequestKind, RequestState
from bot.partner_center.client import CallRecord, build_partner_center_client
from bot.reports import AUDIT_COLUMNS, audit_csv
from bot.settings import load_settings
from sandbox import known
from sandbox.server import SandboxServer
from storage import repositories as repo
from tests.workflow.conftest import (
    SettableClock,
    WorkflowFactory,
    approve_and_submit,
    sandbox_env,
    sandbox_migrations,
)


def _rows(text: str) -> list[dict[str, str]]:
    assert text.startswith(BOM)  # SPEC §8.6
    reader = csv.DictReader(io.StringIO(text.removeprefix(BOM), newline=""))
    assert tuple(reader.fieldnames or ()) == AUDIT_COLUMNS
    return list(reader)


def test_audit_csv_of_a_request_lifecycle_with_ms_ids(
    make_workflow: WorkflowFactory, session_factory: sessionmaker[Session], sandbox: SandboxServer,
    clock: SettableClock,
) -> None:
    calls: list[CallRecord] = []
    client = build_partner_center_client(load_settings(env=sandbox_env(sandbox)), verify=sandbox.ca_path,
                                         on_call=calls.append)
    wf = make_workflow(partner_center=client, approvers=("UAPPROVER1",))
    view = wf.request_change(kind=RequestKind.MIGRATE, requester="UREQUESTER", customer_id=known.CONTOSO,
                             subscription_id=known.ELIGIBLE_SIMPLE, options=ChangeOptions(term="P1Y"))
    clock.advance(timedelta(minutes=5))
    done = approve_and_submit(wf, view.id, "UAPPROVER1")
    assert done.state is RequestState.PROCESSING
    wf.watch(known.FABRIKAM, "UWATCHER")  # another customer's event

    [create] = [c for c in calls if c.endpoint == "create_migration"]
    [migration] = sandbox_migrations(sandbox)
    with session_factory() as session:
        [op] = repo.operations_for(session, view.id)
    # The correlation id was chosen and persisted by the workflow, sent, and kept after success.
    assert op.correlation_id and op.correlation_id == create.correlation_id == done.correlation_id
    assert op.ms_request_id == create.request_id == migration["requestId"]

    rows = _rows(audit_csv(session_factory, known.CONTOSO))
    assert [r["action"] for r in rows] == ["requested", "posted", "approved", "sent", "submitted", "processing"]
    assert all(r["request_id"] == view.id and r["customer_id"] == known.CONTOSO for r in rows)
    assert all(r["request_kind"] == "migrate" and r["customer_name"] == "Contoso Ltd" for r in rows)
    times = [datetime.strptime(r["at"], "%m/%d/%Y %H:%M:%S") for r in rows]  # BAM's format, UTC (SPEC §8.6)
    assert times == sorted(times)
    assert times[2] - times[0] == timedelta(minutes=5)
    by_action = {r["action"]: r for r in rows}
    assert by_action["approved"]["actor"] == "UAPPROVER1" and by_action["requested"]["actor"] == "UREQUESTER"
    assert (by_action["approved"]["from_state"], by_action["approved"]["to_state"]) == ("pending", "approved")
    for action in ("sent", "submitted", "processing"):
        assert by_action[action]["ms_request_id"] == op.ms_request_id
        assert by_action[action]["ms_correlation_id"] == op.correlation_id
    detail = json.loads(by_action["sent"]["detail"])
    assert detail["migration_id"] == migration["id"] and detail["target"] == known.ELIGIBLE_SIMPLE
    assert by_action["requested"]["ms_request_id"] == ""

    everything = _rows(audit_csv(session_factory, None))
    assert len(everything) == len(rows) + 1 and everything[-1]["action"] == "watch"
    assert everything[-1]["customer_id"] == known.FABRIKAM and everything[-1]["request_id"] == ""
    assert _rows(audit_csv(session_factory, known.CONTOSO.upper())) == rows  # any letter case
    assert _rows(audit_csv(session_factory, known.WOODGROVE)) == []
    with pytest.raises(InvalidInput):
        audit_csv(session_factory, "contoso")


def test_refused_submission_records_its_correlation_id(
    make_workflow: WorkflowFactory, sandbox: SandboxServer, session_factory: sessionmaker[Session]
) -> None:
    wf = make_workflow()
    view = wf.request_change(kind=RequestKind.MIGRATE, requester="UREQUESTER", customer_id=known.CONTOSO,
                             subscription_id=known.ELIGIBLE_SIMPLE)
    sandbox.state.external_migration(known.CONTOSO, known.ELIGIBLE_SIMPLE)
    assert approve_and_submit(wf, view.id, "UAPPROVER1").state is RequestState.FAILED
    with session_factory() as session:
        [op] = repo.operations_for(session, view.id)
    [refused] = [r for r in _rows(audit_csv(session_factory, known.CONTOSO)) if r["action"] == "submit_refused"]
    assert refused["ms_correlation_id"] == op.correlation_id and op.correlation_id
    assert refused["ms_request_id"] == op.ms_request_id and "900216" in refused["detail"]
