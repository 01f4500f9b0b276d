"""``bot.workflow.Workflow`` is a facade over ``bot/services/`` (issue #10.1): every name other modules import from
``bot.workflow`` stays importable, each service module stays small, and the facade and the services act on the
same state (an approval hook set on the facade is the approvals service's; a request asked through the facade is
read and submitted through the services)."""

from __future__ import annotations

import re
from pathlib import Path

import bot.workflow
from bot.domain import ChangeOptions, RequestKind, RequestState
from bot.services.approvals import Approvals
from bot.services.catalogue import Catalogue
from bot.services.submission import Submission
from sandbox import known
from sandbox.server import SandboxServer
from tests.workflow.conftest import WorkflowFactory, sandbox_migrations

ROOT = Path(__file__).resolve().parents[2]
IMPORT = re.compile(r"^\s*from bot\.workflow import (\([^)]*\)|[^\n#]+)", re.MULTILINE)


def test_every_name_imported_from_bot_workflow_is_still_there() -> None:
    imported: set[str] = set()
    for folder in ("bot", "handlers", "tests", "bench", "sandbox", "storage"):
        for path in (ROOT / folder).rglob("*.py"):
            for match in IMPORT.finditer(path.read_text(encoding="utf-8")):
                names = re.sub(r"#[^\n]*", "", match.group(1)).strip("()")
                imported |= {n.split(" as ")[0].strip() for n in names.split(",") if n.strip()}
    assert {"Workflow", "WorkflowPolicy", "DecisionResult", "SubscriptionNode"} <= imported
    missing = sorted(name for name in imported if not hasattr(bot.workflow, name))
    assert missing == []
    assert set(bot.workflow.__all__) >= imported


def test_the_facade_and_each_service_stay_small() -> None:
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in (ROOT / "bot" / "services").glob("*.py")}
    assert {"catalogue.py", "checks.py", "requests.py", "approvals.py", "submission.py", "audit.py"} <= set(sizes)
    assert {name: n for name, n in sizes.items() if n > 420} == {}
    assert len((ROOT / "bot" / "workflow.py").read_text(encoding="utf-8").splitlines()) <= 220


def test_facade_and_services_share_one_state(make_workflow: WorkflowFactory, sandbox: SandboxServer) -> None:
    wf = make_workflow()
    assert isinstance(wf.catalogue, Catalogue) and isinstance(wf.approvals, Approvals)
    assert isinstance(wf.submission, Submission)
    assert wf.SUBMIT_LEASE == Submission.SUBMIT_LEASE and wf.CUSTOMER_NAME_TTL == Catalogue.CUSTOMER_NAME_TTL
    woken: list[str] = []
    wf.on_approved = woken.append
    assert wf.approvals.on_approved == woken.append and wf.on_approved == woken.append
    view = wf.request_change(kind=RequestKind.MIGRATE, requester="UREQUESTER", customer_id=known.CONTOSO,
                             subscription_id=known.ELIGIBLE_SIMPLE, options=ChangeOptions())
    assert wf.reads.get_request(view.id) == wf.get_request(view.id)
    decided = wf.approve(view.id, "UAPPROVER1")
    # With a hook the click only decides: the lease holder's job (here: the hook) submits later.
    assert decided.outcome == "approved" and decided.request.state is RequestState.APPROVED
    assert woken == [view.id] and sandbox_migrations(sandbox) == []
    submitted = wf.submission.submit(view.id)
    assert submitted.state is RequestState.PROCESSING
    [migration] = sandbox_migrations(sandbox)
    assert wf.get_request(view.id).migration_id == migration["id"]
    assert wf._customer_name(known.CONTOSO) == wf.catalogue.customer_name(known.CONTOSO) is not None
