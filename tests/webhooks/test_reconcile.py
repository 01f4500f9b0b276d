"""Reconciliation at scale (issue #12): one paged list call per customer with work in flight, events only for
migrations whose status changed, no per-migration GETs; counted on the Partner Center sandbox."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from bot.domain import RequestKind, RequestState
from sandbox.server import SandboxServer
from sandbox.state import DEFAULT_DATA
from tests.tracking.conftest import POLL_SECONDS, TrackingEnv, tracking_env  # noqa: F401 - the fixture
from tests.workflow.conftest import SettableClock  # noqa: F401 - used by tracking_env

E3 = "796b6b5f-613c-4e24-a17c-eba730d49c02"  # Office 365 E3 (legacy, with an NCE equivalent)
PER_CUSTOMER = (14, 13, 13)  # 40 migrations over 3 customers
HOSTILE_CUSTOMER = str(uuid.uuid5(uuid.NAMESPACE_URL, "reconcile-hostile"))
HOSTILE_SUB = str(uuid.uuid5(uuid.NAMESPACE_URL, "reconcile-hostile-sub"))
HOSTILE_TEXT = "<!channel> failed & see <https://evil.example|here>"


def _seed(path: Path) -> dict[str, list[str]]:
    """Default seed data plus three customers with eligible legacy subscriptions only."""
    data = yaml.safe_load(DEFAULT_DATA.read_text(encoding="utf-8"))
    layout: dict[str, list[str]] = {}
    for n, size in enumerate(PER_CUSTOMER):
        customer = str(uuid.uuid5(uuid.NAMESPACE_URL, f"reconcile-customer-{n}"))
        subs = [str(uuid.uuid5(uuid.NAMESPACE_URL, f"reconcile-{n}-{i}")) for i in range(size)]
        data["customers"].append({
            "id": customer, "company_name": f"Reconcile Customer {n}",
            "subscriptions": [{"id": s, "offer_id": E3, "quantity": 5, "term_duration": "P1Y",
                               "billing_cycle": "monthly", "created": "-400d", "term_end": "+120d"} for s in subs],
        })
        layout[customer] = subs
    data["customers"].append({
        "id": HOSTILE_CUSTOMER, "company_name": "Hostile text",
        "subscriptions": [{"id": HOSTILE_SUB, "offer_id": E3, "quantity": 1, "created": "-400d", "term_end": "+120d",
                           "migration_outcome": {"status": "failed", "error_code": 900225,
                                                 "error_description": HOSTILE_TEXT}}],
    })
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return layout


LAYOUT: dict[str, list[str]] = {}


@pytest.fixture
def pc_sandbox(pc_sandbox_factory, tmp_path: Path) -> SandboxServer:  # type: ignore[no-untyped-def]
    LAYOUT.clear()
    LAYOUT.update(_seed(tmp_path / "seed.yaml"))
    return pc_sandbox_factory(data=tmp_path / "seed.yaml")


def test_three_customers_forty_migrations_cost_three_list_calls(tracking_env: TrackingEnv) -> None:  # noqa: F811
    env = tracking_env
    node = env.node()
    views = [env.approved(node, RequestKind.MIGRATE, customer, sub)
             for customer, subs in LAYOUT.items() for sub in subs]
    assert len(views) == 40 and all(v.migration_id for v in views)
    counts = env.sandbox.state.counts

    def calls() -> dict[str, int]:
        return {name: counts.get(name, 0) for name in ("query_migrations", "get_migration", "events")}

    def delta(before: dict[str, int]) -> dict[str, int]:
        return {name: value - before[name] for name, value in calls().items()}

    before = calls()
    assert node.service.tracker.poll_migrations() == 40
    # First sight: each status is new, so each migration's events are read once; the status itself came from
    # the three list calls, not from 40 GETs.
    assert delta(before) == {"query_migrations": 3, "get_migration": 0, "events": 40}

    before = calls()
    env.clock.advance(timedelta(seconds=POLL_SECONDS))
    node.service.tracker.poll_migrations()
    assert delta(before) == {"query_migrations": 3, "get_migration": 0, "events": 0}  # nothing changed

    before = calls()
    env.advance_sandbox(180)  # all complete
    env.clock.advance(timedelta(seconds=POLL_SECONDS))
    node.service.tracker.poll_migrations()
    assert delta(before) == {"query_migrations": 3, "get_migration": 0, "events": 40}
    assert all(node.workflow.get_request(v.id).state is RequestState.COMPLETED for v in views)

    before = calls()
    node.service.tracker.poll_migrations()  # nothing in flight: no call at all
    assert delta(before) == {"query_migrations": 0, "get_migration": 0, "events": 0}
    while node.service.drainer.drain():
        pass
    texts = env.thread_texts(views[-1])
    assert sum("completed" in t and "<@" in t for t in texts) == 1, texts


def test_list_paging_is_followed(tracking_env: TrackingEnv) -> None:  # noqa: F811
    """A customer whose migrations span pages costs one call per page, and every page is used."""
    env = tracking_env
    env.sandbox.state.list_page_size = 3  # the seed setting list_page_size, changed for this test
    node = env.node()
    customer, subs = next(iter(LAYOUT.items()))
    views = [env.approved(node, RequestKind.MIGRATE, customer, sub) for sub in subs[:7]]
    before = env.sandbox.state.counts.get("query_migrations", 0)
    env.advance_sandbox(180)
    assert node.service.tracker.poll_migrations() == 7
    assert env.sandbox.state.counts.get("query_migrations", 0) - before == 3  # 3 + 3 + 1
    assert env.sandbox.state.counts.get("get_migration", 0) == 0
    assert all(node.workflow.get_request(v.id).state is RequestState.COMPLETED for v in views)


def test_partner_center_text_reaches_slack_inert(tracking_env: TrackingEnv) -> None:  # noqa: F811
    env = tracking_env
    node = env.node()
    view = env.approved(node, RequestKind.MIGRATE, HOSTILE_CUSTOMER, HOSTILE_SUB)
    env.advance_sandbox(180)
    node.service.tracker.poll_migrations()
    while node.service.drainer.drain():
        pass
    failed = [t for t in env.thread_texts(view) if ":x: Migration" in t]
    assert len(failed) == 1, env.thread_texts(view)
    assert "&lt;!channel&gt; failed &amp; see &lt;https://evil.example|here&gt;" in failed[0]
    assert "<!channel>" not in failed[0] and "<https://evil" not in failed[0]
