"""Claims of a dead process are taken over at once (issue 9, point 7), on SQLite and PostgreSQL.

A claim (a ``sending`` operation, the poller lease) is free when its expiry passed, as before, or when the process
instance holding it has a heartbeat row whose ``alive_until`` passed. A live holder keeps it; a holder that never
heartbeated (no row) keeps the plain expiry.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.liveness import InstanceHeartbeat, liveness_timeout
from storage import liveness
from storage import repositories as repo
from tests.storage.test_storage import CUSTOMER, SUB, T0, _add

LEASE = timedelta(minutes=10)
BEAT = timedelta(seconds=8)


class FixedClock:
    def __init__(self) -> None:
        self.at = T0

    def now(self) -> datetime:
        return self.at


def test_a_sending_operation_of_a_dead_instance_is_taken_over_at_once(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        request_id = _add(session)
        liveness.heartbeat(session, "crashed", T0, BEAT)
        liveness.heartbeat(session, "alive", T0, BEAT)
        op = repo.create_operation(session, request_id=request_id, kind="create_migration", target=SUB,
                                   customer_id=CUSTOMER, now=T0, lease=LEASE, holder="crashed")
        assert op is not None
    later = T0 + timedelta(seconds=9)  # the crashed instance's heartbeat ran out; its claim has 10 minutes left
    with session_factory.begin() as session:
        liveness.heartbeat(session, "alive", later - timedelta(seconds=1), BEAT)
        taken = repo.claim_operation(session, op.id, now=later, lease=LEASE, holder="alive")
        assert taken is not None and taken.attempts == 2
    with session_factory.begin() as session:  # and now a live instance holds it: nobody else may take it
        assert repo.claim_operation(session, op.id, now=later + timedelta(seconds=1), lease=LEASE,
                                    holder="third") is None
    with session_factory.begin() as session:
        liveness.heartbeat(session, "third", later, BEAT)
        assert repo.claim_operation(session, op.id, now=later + timedelta(seconds=30), lease=LEASE,
                                    holder="third") is not None  # "alive" stopped beating too


def test_a_holder_without_a_heartbeat_keeps_the_plain_expiry(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        request_id = _add(session)
        op = repo.create_operation(session, request_id=request_id, kind="create_migration", target=SUB,
                                   customer_id=CUSTOMER, now=T0, lease=LEASE, holder="no-row")
        assert op is not None
    with session_factory.begin() as session:
        assert repo.claim_operation(session, op.id, now=T0 + timedelta(minutes=9), lease=LEASE, holder="b") is None
        assert repo.claim_operation(session, op.id, now=T0 + timedelta(minutes=11), lease=LEASE, holder="b")


def test_the_poller_lease_of_a_dead_instance_is_taken_over_at_once(session_factory: sessionmaker[Session]) -> None:
    ttl = timedelta(minutes=10)
    with session_factory.begin() as session:
        liveness.heartbeat(session, "old", T0, BEAT)
        assert repo.try_acquire_lease(session, "poller", "old", T0, ttl)
        assert not repo.try_acquire_lease(session, "poller", "new", T0 + timedelta(seconds=5), ttl)  # alive
        assert repo.try_acquire_lease(session, "poller", "new", T0 + timedelta(seconds=9), ttl)  # dead
        assert not repo.try_acquire_lease(session, "poller", "old", T0 + timedelta(seconds=10), ttl)


def test_the_heartbeat_thread_keeps_the_instance_alive_and_purges_the_long_dead(
    session_factory: sessionmaker[Session],
) -> None:
    assert liveness_timeout(timedelta(seconds=1)) == timedelta(seconds=3)
    assert liveness_timeout(timedelta(minutes=5)) == timedelta(seconds=30)
    clock = FixedClock()
    with session_factory.begin() as session:
        liveness.heartbeat(session, "ancient", T0 - timedelta(days=2), BEAT)
    beat = InstanceHeartbeat(session_factory, clock, timeout=BEAT, instance_id="me")
    assert beat.beat()
    with session_factory() as session:
        assert liveness.alive_until(session, "me") == T0 + BEAT
        assert liveness.alive_until(session, "ancient") is None
    clock.at = T0 + timedelta(seconds=5)
    beat.start()
    beat.stop()
    with session_factory() as session:
        assert liveness.alive_until(session, "me") == T0 + timedelta(seconds=5) + BEAT
