"""The watch list: customers whose migrations the bot reports although nobody requested them here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from storage.models import WatchedCustomer
from storage.repositories.base import insert_once, rowcount


def add_watch(session: Session, customer_id: str, user: str, at: datetime) -> bool:
    """True when newly added (idempotent)."""
    return insert_once(session, insert(WatchedCustomer).values(customer_id=customer_id, added_by=user, added_at=at))


def remove_watch(session: Session, customer_id: str) -> bool:
    return rowcount(session.execute(delete(WatchedCustomer).where(WatchedCustomer.customer_id == customer_id))) > 0


def watched_customer_ids(session: Session) -> list[str]:
    return list(session.scalars(select(WatchedCustomer.customer_id).order_by(WatchedCustomer.added_at)))
