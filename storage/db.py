"""Engines and sessions for SQLite (one replica) and PostgreSQL (several replicas)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from storage.models import AuditEvent, AuditTrailIsAppendOnly

SessionFactory = sessionmaker[Session]

SQLITE_BUSY_TIMEOUT_MS = 30_000


def normalize_url(url: str) -> str:
    """``postgres://`` and ``postgresql://`` → the psycopg 3 driver; everything else unchanged."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def is_sqlite(url_or_engine: str | Engine) -> bool:
    if isinstance(url_or_engine, Engine):
        return url_or_engine.dialect.name == "sqlite"
    return make_url(normalize_url(url_or_engine)).get_backend_name() == "sqlite"


def create_engine_for(url: str, **kwargs: Any) -> Engine:
    """An engine tuned for the backend.

    SQLite: usable from several threads, WAL, a busy timeout, foreign keys on, and every transaction opened
    with ``BEGIN IMMEDIATE`` so that a read-then-write transaction never fails with "database is locked"
    (writers queue on the busy timeout instead). PostgreSQL: psycopg 3, pre-ping, a pool sized for bursts
    of concurrent button clicks.
    """
    url = normalize_url(url)
    if is_sqlite(url):
        connect_args = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        connect_args.update(kwargs.pop("connect_args", {}))
        engine = create_engine(url, connect_args=connect_args, pool_pre_ping=True, **kwargs)
        memory = make_url(url).database in (None, "", ":memory:")

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
            dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (below)
            cursor = dbapi_connection.cursor()
            try:
                if not memory:
                    cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.execute("PRAGMA synchronous=NORMAL")
            finally:
                cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 30)
    kwargs.setdefault("pool_timeout", 60)
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _refuse_bulk_audit_changes(state: ORMExecuteState) -> None:
    mapper = state.bind_mapper
    if (state.is_update or state.is_delete) and mapper is not None and mapper.class_ is AuditEvent:
        raise AuditTrailIsAppendOnly("audit events are append-only: bulk update/delete refused")


def make_session_factory(url_or_engine: str | Engine) -> SessionFactory:
    """A ``sessionmaker`` (objects stay readable after commit) for a URL or an existing engine."""
    engine = url_or_engine if isinstance(url_or_engine, Engine) else create_engine_for(url_or_engine)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    event.listen(factory, "do_orm_execute", _refuse_bulk_audit_changes)
    return factory
