"""Reads of stored requests (``/nce pending``, ``/nce status``, App Home, the status tracker), shared by the
other services. Moved verbatim from ``bot.workflow.Workflow``.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session, sessionmaker

from bot.domain import NotFound, RequestState, RequestView
from bot.rules import is_request_id
from bot.services.plumbing import ServicePlumbing
from bot.texts import refusals
from storage import repositories as repo


class RequestReads(ServicePlumbing):
    """One request by id, or the requests in some states or of one requester."""

    def __init__(self, *, session_factory: sessionmaker[Session]) -> None:
        self._sessions = session_factory

    def pending_requests(self) -> list[RequestView]:
        return self.requests([RequestState.PENDING])

    def requests(self, states: Sequence[RequestState]) -> list[RequestView]:
        """Requests in any of ``states``, oldest first (status tracker, /nce pending)."""
        with self._tx() as session:
            return [repo.to_view(r) for r in repo.requests_in_states(session, states)]

    def requests_by(self, user: str, limit: int = 10) -> list[RequestView]:
        """The newest ``limit`` requests ``user`` made, in any state, newest first (App Home tab)."""
        with self._tx() as session:
            return [repo.to_view(r) for r in repo.requests_by_requester(session, user, limit=limit)]

    def get_request(self, request_id: str) -> RequestView:
        request_id = (request_id or "").strip().lower()
        if not is_request_id(request_id):
            raise NotFound(refusals.request_missing(request_id or "?"))
        with self._tx() as session:
            row = repo.get_request(session, request_id)
            if row is None:
                raise NotFound(refusals.request_missing(request_id))
            return repo.to_view(row)

