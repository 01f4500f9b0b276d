"""Seen Slack request signatures (issue 9, point 8): a signature accepted once is a replay the second time.

Shared by replicas through the database: the primary key makes "first to insert wins" atomic on SQLite and
PostgreSQL. Rows outlive the window in which Slack's timestamp check accepts the request, then are purged.
Every function takes an open ``Session`` and never commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from storage.models import SeenSlackSignature
from storage.repositories import insert_once, rowcount


def remember_signature(session: Session, signature: str, expires_at: datetime) -> bool:
    """True the first time ``signature`` is seen (and it is now remembered); False for a replay."""
    return insert_once(session, insert(SeenSlackSignature).values(signature=signature, expires_at=expires_at))


def purge_signatures(session: Session, now: datetime) -> int:
    """Forget signatures whose request could no longer pass the timestamp check anyway."""
    return rowcount(session.execute(delete(SeenSlackSignature).where(SeenSlackSignature.expires_at < now)))
