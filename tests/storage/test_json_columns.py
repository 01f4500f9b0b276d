"""The JSON columns of a request (``options``, ``validation``) go through pydantic TypeAdapters: the stored shape is
the one the hand-written codecs wrote before (same keys, order and values), and rows written then read back alike.
Also: operation kinds and statuses are enums that equal their stored strings."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from bot.domain import ChangeOptions, EligibilityReason, RequestKind, RequestState, ValidationOutcome
from bot.operations import OP_CREATE_MIGRATION, OperationKind, OperationStatus
from storage import repositories as repo
from storage.models import ChangeRequest, PartnerCenterOperation

T0 = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
CUSTOMER = "75c5e79e-7e9f-429f-b772-ed3d38768f7c"
SUB = "9beb6319-6889-4d28-a155-68ca9c783842"

OPTIONS = ChangeOptions(term="P1Y", billing="monthly", quantity=7, full_term=True, end_date=date(2030, 6, 30),
                        addons=("a", "b"), target_date=date(2030, 7, 1), on_renewal=False)
# Exactly what options_to_json wrote before the TypeAdapter (keys in this order).
OPTIONS_JSON: dict[str, Any] = {
    "term": "P1Y", "billing": "monthly", "quantity": 7, "full_term": True, "end_date": "2030-06-30",
    "addons": ["a", "b"], "target_date": "2030-07-01", "on_renewal": False,
}
OUTCOME = ValidationOutcome(
    customer_id=CUSTOMER, subscription_id=SUB, eligible=False, catalog_item_id="CFQ7TTC0LF8Q:0001:CFQ7TTC0LFK5",
    term="P1Y", billing="monthly", end_date=date(2030, 6, 30), addon_ids=("a1", "a2"),
    reasons=(EligibilityReason(SUB, 900262, "Add-on <inactive>"), EligibilityReason(None, "Other", "text")),
    subscription_name="E5 & more", customer_name="Contoso",
)
# Exactly what validation_to_json wrote before (keys in this order).
OUTCOME_JSON: dict[str, Any] = {
    "customer_id": CUSTOMER, "subscription_id": SUB, "eligible": False,
    "catalog_item_id": "CFQ7TTC0LF8Q:0001:CFQ7TTC0LFK5", "term": "P1Y", "billing": "monthly",
    "end_date": "2030-06-30", "addon_ids": ["a1", "a2"],
    "reasons": [{"subscription_id": SUB, "code": 900262, "description": "Add-on <inactive>"},
                {"subscription_id": None, "code": "Other", "description": "text"}],
    "subscription_name": "E5 & more", "customer_name": "Contoso",
}


def test_written_shape_is_the_old_one_key_for_key() -> None:
    assert json.dumps(repo.options_to_json(OPTIONS)) == json.dumps(OPTIONS_JSON)
    assert json.dumps(repo.validation_to_json(OUTCOME)) == json.dumps(OUTCOME_JSON)
    # "all"/"none" stay strings; defaults are written out in full.
    assert repo.options_to_json(ChangeOptions(addons="none")) == {
        "term": None, "billing": None, "quantity": None, "full_term": False, "end_date": None, "addons": "none",
        "target_date": None, "on_renewal": False}
    assert repo.validation_to_json(None) is None


def test_read_back_equals_what_was_written() -> None:
    assert repo.options_from_json(repo.options_to_json(OPTIONS)) == OPTIONS
    assert repo.validation_from_json(repo.validation_to_json(OUTCOME)) == OUTCOME
    assert repo.options_from_json(None) == ChangeOptions() == repo.options_from_json({})
    assert repo.validation_from_json(None) is None


def test_a_row_written_in_the_old_shape_reads_back(session_factory: sessionmaker[Session]) -> None:
    """A row inserted with the JSON exactly as the hand-written codecs stored it, below the ORM."""
    with session_factory.begin() as session:
        session.execute(insert(ChangeRequest).values(
            id="r" * 32, kind="migrate", state="pending", customer_id=CUSTOMER, subscription_id=SUB,
            options=OPTIONS_JSON, validation=OUTCOME_JSON, requester="U1", required_approvals=1,
            created_at=T0, expires_at=T0 + timedelta(hours=1), updated_at=T0, version=1,
        ))
    with session_factory() as session:
        row = repo.get_request(session, "r" * 32)
        assert row is not None
        view = repo.to_view(row)
    assert view.options == OPTIONS and view.validation == OUTCOME
    assert view.kind is RequestKind.MIGRATE and view.state is RequestState.PENDING


def test_new_rows_store_the_old_shape(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        row = repo.add_request(
            session, kind=RequestKind.MIGRATE, requester="U1", customer_id=CUSTOMER, created_at=T0,
            expires_at=T0 + timedelta(hours=1), required_approvals=1, subscription_id=SUB, options=OPTIONS,
            validation=OUTCOME,
        )
        request_id = row.id
    with session_factory() as session:
        stored = session.execute(
            select(ChangeRequest.options, ChangeRequest.validation).where(ChangeRequest.id == request_id)).one()
    assert stored.options == OPTIONS_JSON and stored.validation == OUTCOME_JSON


def test_operation_kinds_and_statuses_are_the_stored_strings(session_factory: sessionmaker[Session]) -> None:
    assert OP_CREATE_MIGRATION is OperationKind.CREATE_MIGRATION and OP_CREATE_MIGRATION == "create_migration"
    with session_factory.begin() as session:
        request_id = repo.add_request(
            session, kind=RequestKind.MIGRATE, requester="U1", customer_id=CUSTOMER, created_at=T0,
            expires_at=T0 + timedelta(hours=1), required_approvals=1, subscription_id=SUB).id
        op = repo.create_operation(session, request_id=request_id, kind="create_migration", target=SUB,
                                   customer_id=CUSTOMER, now=T0, lease=timedelta(minutes=1))
        assert op is not None and op.kind is OperationKind.CREATE_MIGRATION
        assert op.status is OperationStatus.SENDING and op.status == "sending"
        assert repo.finish_operation(session, op.id, status="sent", now=T0)
        with pytest.raises(ValueError):
            repo.finish_operation(session, op.id, status="sending", now=T0)
        with pytest.raises(ValueError):
            repo.create_operation(session, request_id=request_id, kind="create_migrations", target="x",
                                  customer_id=CUSTOMER, now=T0, lease=timedelta(minutes=1))
    with session_factory() as session:
        raw = session.execute(text("SELECT kind, status FROM pc_operations")).one()
        assert tuple(raw) == ("create_migration", "sent")
        assert session.scalar(select(PartnerCenterOperation.status)) == OperationStatus.SENT
        [view] = repo.operations_for(session, request_id)
    assert view.status is OperationStatus.SENT and view.kind == OP_CREATE_MIGRATION
