"""Storage: migrations on both backends, repository round-trips, append-only audit, leases, conditional updates."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

import storage.deadlines  # (its tables live on the same metadata)
import storage.tracking  # noqa: F401  (its tables live on the same metadata)
from bot.domain import ChangeOptions, EligibilityReason, MessageRef, RequestKind, RequestState, ValidationOutcome
from storage import repositories as repo
from storage.db import create_engine_for, make_session_factory, normalize_url
from storage.migrate import current_revision, head_revision, upgrade
from storage.models import AuditEvent, AuditTrailIsAppendOnly, Base

T0 = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
CUSTOMER = "75c5e79e-7e9f-429f-b772-ed3d38768f7c"
SUB = "9beb6319-6889-4d28-a155-68ca9c783842"


def _add(session: Session, **kw: object) -> str:
    options = ChangeOptions(term="P1Y", billing="monthly", quantity=7, full_term=True, end_date=date(2030, 6, 30),
                            addons=("a", "b"))
    outcome = ValidationOutcome(
        customer_id=CUSTOMER, subscription_id=SUB, eligible=True, catalog_item_id="X:1:Y", term="P1Y",
        billing="monthly", end_date=date(2030, 6, 30), addon_ids=("a",),
        reasons=(EligibilityReason(SUB, 5, "nope"),), subscription_name="E5", customer_name="Contoso",
    )
    row = repo.add_request(
        session, kind=RequestKind.MIGRATE, requester="U1", customer_id=CUSTOMER, created_at=T0,
        expires_at=T0 + timedelta(hours=24), required_approvals=2, subscription_id=SUB, options=options,
        validation=outcome, customer_name="Contoso", subscription_name="E5",
        items=[{"target": SUB, "body": {"currentSubscriptionId": SUB}}],
    )
    return row.id


def test_upgrade_reaches_head_and_matches_models(database_url: str) -> None:
    assert current_revision(database_url) is None
    upgrade(database_url)
    assert current_revision(database_url) == head_revision() == "0005"
    upgrade(database_url)  # idempotent
    engine = create_engine_for(database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        # Index/constraint naming and types: the migration creates exactly what the models describe.
        assert [d for d in diff if d[0] not in ("remove_table",) or d[1].name != "alembic_version"] == []
    finally:
        engine.dispose()


def test_request_round_trip(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        request_id = _add(session)
    assert len(request_id) == 32
    with session_factory.begin() as session:
        repo.save_message(session, request_id, MessageRef("C1", "111.222"), T0)
        assert repo.add_vote(session, request_id, "U2", T0)
        assert not repo.add_vote(session, request_id, "U2", T0)  # each approver once
        assert repo.add_vote(session, request_id, "U3", T0 + timedelta(seconds=1))
    with session_factory() as session:
        row = repo.get_request(session, request_id)
        assert row is not None
        view = repo.to_view(row)
    assert view.kind is RequestKind.MIGRATE and view.state is RequestState.PENDING
    assert view.created_at == T0 and view.created_at.tzinfo is not None
    assert view.expires_at == T0 + timedelta(hours=24)
    assert view.options == ChangeOptions(term="P1Y", billing="monthly", quantity=7, full_term=True,
                                         end_date=date(2030, 6, 30), addons=("a", "b"))
    assert view.validation is not None and view.validation.reasons[0].description == "nope"
    assert view.validation.addon_ids == ("a",) and view.validation.end_date == date(2030, 6, 30)
    assert view.message == MessageRef("C1", "111.222")
    assert [v.approver for v in view.votes] == ["U2", "U3"]
    assert view.required_approvals == 2


def test_transition_is_conditional_and_audited(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        request_id = _add(session)
    with session_factory.begin() as session:
        assert repo.transition(session, request_id, from_state=RequestState.PENDING, to_state=RequestState.APPROVED,
                               actor="U2", at=T0, values={"decided_by": ["U2"], "decided_at": T0})
    with session_factory.begin() as session:
        # Second decision loses: the row is no longer pending.
        assert not repo.transition(session, request_id, from_state=RequestState.PENDING,
                                   to_state=RequestState.REJECTED, actor="U3", at=T0)
    with pytest.raises(repo.TransitionNotAllowed), session_factory.begin() as session:
        repo.transition(session, request_id, from_state=RequestState.PENDING, to_state=RequestState.COMPLETED,
                        actor="x", at=T0)
    with session_factory() as session:
        events = repo.audit_events(session, request_id=request_id)
        assert [(e.action, e.from_state, e.to_state, e.actor) for e in events] == [
            ("requested", None, "pending", "U1"),
            ("approved", "pending", "approved", "U2"),
        ]
        row = repo.get_request(session, request_id)
        assert row is not None and row.decided_by == ["U2"] and row.version == 2


def test_audit_is_append_only(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        request_id = _add(session)
    with pytest.raises(AuditTrailIsAppendOnly), session_factory.begin() as session:
        event = repo.audit_events(session, request_id=request_id)[0]
        event.action = "tampered"
    with pytest.raises(AuditTrailIsAppendOnly), session_factory.begin() as session:
        session.delete(repo.audit_events(session, request_id=request_id)[0])
    with pytest.raises(AuditTrailIsAppendOnly), session_factory.begin() as session:
        session.execute(update(AuditEvent).values(action="x"))
    with pytest.raises(AuditTrailIsAppendOnly), session_factory.begin() as session:
        session.execute(delete(AuditEvent))
    # Even raw SQL is refused by the database triggers.
    with pytest.raises(DBAPIError), session_factory.begin() as session:
        session.execute(text("UPDATE audit_events SET action = 'x'"))
    with pytest.raises(DBAPIError), session_factory.begin() as session:
        session.execute(text("DELETE FROM audit_events"))
    with session_factory() as session:
        assert [e.action for e in repo.audit_events(session, request_id=request_id)] == ["requested"]


def test_operations_claim_and_lease(session_factory: sessionmaker[Session]) -> None:
    lease = timedelta(minutes=10)
    with session_factory.begin() as session:
        request_id = _add(session)
        op = repo.create_operation(session, request_id=request_id, kind="create_migration", target=SUB,
                                   customer_id=CUSTOMER, now=T0, lease=lease)
        assert op is not None and op.status == "sending" and op.attempts == 1
        # One operation per (request, kind, target).
        assert repo.create_operation(session, request_id=request_id, kind="create_migration", target=SUB,
                                     customer_id=CUSTOMER, now=T0, lease=lease) is None
    with session_factory.begin() as session:
        assert repo.claim_operation(session, op.id, now=T0 + timedelta(minutes=5), lease=lease) is None  # held
        again = repo.claim_operation(session, op.id, now=T0 + timedelta(minutes=11), lease=lease)
        assert again is not None and again.attempts == 2 and again.ms_request_id == op.ms_request_id
    with session_factory.begin() as session:
        assert repo.finish_operation(session, op.id, status="sent", now=T0, migration_id="m1",
                                     response={"status": "Processing"})
        assert not repo.finish_operation(session, op.id, status="refused", now=T0)
        assert repo.claim_operation(session, op.id, now=T0 + timedelta(days=1), lease=lease) is None
    with session_factory() as session:
        [stored] = repo.operations_for(session, request_id)
        assert stored.status == "sent" and stored.migration_id == "m1" and stored.response_status == "Processing"


def test_watch_list_and_leases(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        assert repo.add_watch(session, CUSTOMER, "U1", T0)
        assert not repo.add_watch(session, CUSTOMER, "U2", T0)
        assert repo.watched_customer_ids(session) == [CUSTOMER]
        assert repo.try_acquire_lease(session, "poller", "a", T0, timedelta(seconds=60))
        assert not repo.try_acquire_lease(session, "poller", "b", T0 + timedelta(seconds=30), timedelta(seconds=60))
        assert repo.try_acquire_lease(session, "poller", "a", T0 + timedelta(seconds=30), timedelta(seconds=60))
        assert repo.try_acquire_lease(session, "poller", "b", T0 + timedelta(seconds=120), timedelta(seconds=60))
    with session_factory.begin() as session:
        assert repo.remove_watch(session, CUSTOMER)
        assert not repo.remove_watch(session, CUSTOMER)
        assert repo.watched_customer_ids(session) == []


def test_concurrent_conditional_transition_has_one_winner(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        request_id = _add(session)
    barrier = threading.Barrier(12)
    wins: list[bool] = []
    lock = threading.Lock()

    def attempt(i: int) -> None:
        barrier.wait()
        with session_factory.begin() as session:
            won = repo.transition(session, request_id, from_state=RequestState.PENDING,
                                  to_state=RequestState.APPROVED, actor=f"U{i}", at=T0)
        with lock:
            wins.append(won)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False] * 11 + [True]
    with session_factory() as session:
        assert [e.action for e in repo.audit_events(session, request_id=request_id)] == ["requested", "approved"]


def test_naive_datetimes_are_refused(session_factory: sessionmaker[Session]) -> None:
    with pytest.raises(Exception, match="naive"), session_factory.begin() as session:
        repo.add_watch(session, CUSTOMER, "U1", datetime(2030, 1, 1))


def test_url_normalisation_and_session_factory_on_engine(tmp_path: object) -> None:
    assert normalize_url("postgres://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert normalize_url("postgresql://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"
    engine = create_engine_for(f"sqlite:///{tmp_path}/e.db")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert int(conn.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0) >= 5000
    factory = make_session_factory(engine)
    assert factory.kw["bind"] is engine
    engine.dispose()


def test_db_upgrade_command(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.chdir(str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out.strip() == "database at revision 0005 (head)"
    assert current_revision(url) == "0005"
    monkeypatch.setenv("NCEBOT_APPROVAL_TTL", "soon")
    assert main(["db", "upgrade"]) == 2
    assert "NCEBOT_APPROVAL_TTL" in capsys.readouterr().err
