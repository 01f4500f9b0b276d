"""Deadline storage (SPEC §10, migration ``0004_deadlines``): the 7-day windows of NCE subscriptions created by
ncebot's migrations with their reminders, the requests already looked at, and the daily digest's days.

Like the other storage modules, functions take an open ``Session`` and never commit; every "do it once" step is a
unique row or a conditional update, so replicas and restarts never repeat it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Date, Integer, String, UniqueConstraint, insert, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.models import Base, UtcDateTime
from storage.repositories import insert_once, rowcount


class DeadlineScan(Base):
    """A completed request whose new NCE subscriptions were read (posted or not): never read twice."""

    __tablename__ = "deadline_scans"

    request_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    windows: Mapped[int] = mapped_column(Integer, default=0)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class DeadlineWindow(Base):
    """Until when one NCE subscription may be cancelled or reduced, and which reminders went out."""

    __tablename__ = "deadline_windows"
    __table_args__ = (UniqueConstraint("request_id", "subscription_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(32), index=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    subscription_id: Mapped[str] = mapped_column(String(64), index=True)
    subscription_name: Mapped[str | None] = mapped_column(String(255))
    quantity: Mapped[int | None] = mapped_column(Integer)
    closes_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    reminded_48h_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reminded_12h_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class DailyDigest(Base):
    """One row per UTC day the renewal digest was claimed: the day is the key, so only one replica posts it."""

    __tablename__ = "daily_digests"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))  # posting | posted | failed
    entries: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    posted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


@dataclass(frozen=True)
class WindowView:
    id: int
    request_id: str
    customer_id: str
    subscription_id: str
    subscription_name: str | None
    quantity: int | None
    closes_at: datetime
    reminded_48h_at: datetime | None
    reminded_12h_at: datetime | None


def _view(row: DeadlineWindow) -> WindowView:
    return WindowView(row.id, row.request_id, row.customer_id, row.subscription_id, row.subscription_name,
                      row.quantity, row.closes_at, row.reminded_48h_at, row.reminded_12h_at)


def scanned_request_ids(session: Session) -> set[str]:
    return set(session.scalars(select(DeadlineScan.request_id)))


def record_scan(session: Session, request_id: str, windows: int, now: datetime) -> bool:
    """True for the one caller that records it (the others lost a race and must not post)."""
    return insert_once(session, insert(DeadlineScan).values(request_id=request_id, windows=windows, at=now))


def add_window(session: Session, *, request_id: str, customer_id: str, subscription_id: str, name: str | None,
               quantity: int | None, closes_at: datetime, now: datetime) -> bool:
    return insert_once(session, insert(DeadlineWindow).values(
        request_id=request_id, customer_id=customer_id, subscription_id=subscription_id.lower(),
        subscription_name=name, quantity=quantity, closes_at=closes_at, created_at=now))


def open_windows(session: Session, now: datetime) -> list[WindowView]:
    rows = session.scalars(select(DeadlineWindow).where(DeadlineWindow.closes_at > now)
                           .order_by(DeadlineWindow.closes_at, DeadlineWindow.id))
    return [_view(row) for row in rows]


def window_for(session: Session, customer_id: str, subscription_id: str) -> WindowView | None:
    row = session.scalars(select(DeadlineWindow).where(
        DeadlineWindow.customer_id == customer_id.lower(), DeadlineWindow.subscription_id == subscription_id.lower(),
    ).order_by(DeadlineWindow.id.desc())).first()
    return _view(row) if row is not None else None


def mark_reminded(session: Session, window_id: int, which: str, now: datetime) -> bool:
    """Conditional: True only for the first marker of this reminder (``48h`` or ``12h``)."""
    column = DeadlineWindow.reminded_48h_at if which == "48h" else DeadlineWindow.reminded_12h_at
    result = session.execute(update(DeadlineWindow).where(DeadlineWindow.id == window_id, column.is_(None))
                             .values({column.key: now}))
    return rowcount(result) == 1


def claim_digest(session: Session, day: date, holder: str, now: datetime) -> bool:
    return insert_once(session, insert(DailyDigest).values(day=day, holder=holder, status="posting", entries=0,
                                                           claimed_at=now))


def finish_digest(session: Session, day: date, status: str, entries: int, now: datetime) -> None:
    session.execute(update(DailyDigest).where(DailyDigest.day == day)
                    .values(status=status, entries=entries, posted_at=now))


def digest_days(session: Session) -> list[tuple[date, str]]:
    return [(row.day, row.status) for row in session.scalars(select(DailyDigest).order_by(DailyDigest.day))]
