"""Approval votes: one per (request, approver)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from storage.models import ApprovalVote
from storage.repositories.base import insert_once


def add_vote(session: Session, request_id: str, approver: str, at: datetime) -> bool:
    """Record an approval; False when this approver already voted (unique (request, approver))."""
    return insert_once(session, insert(ApprovalVote).values(request_id=request_id, approver=approver, at=at))


def vote_count(session: Session, request_id: str) -> int:
    return int(
        session.scalar(select(func.count(ApprovalVote.id)).where(ApprovalVote.request_id == request_id)) or 0
    )


def voters(session: Session, request_id: str) -> list[str]:
    query = select(ApprovalVote.approver).where(ApprovalVote.request_id == request_id).order_by(ApprovalVote.id)
    return list(session.scalars(query))
