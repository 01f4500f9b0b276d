"""The domain errors the services raise (moved out of ``bot.workflow``, which re-exports them).

Owned here: ``AlreadyVoted`` (approvals), ``PartnerCenterProblem`` (every Partner Center read)
and ``NotPosted`` (an approval message that could not be posted).
"""

from __future__ import annotations

from bot.domain import DomainError, RequestView
from bot.texts import refusals


class AlreadyVoted(DomainError):
    """The same approver clicked Approve again: each approver counts once."""

    def __init__(self, request: RequestView, missing: int) -> None:
        super().__init__(refusals.already_voted(request.id, missing))
        self.request = request
        self.votes_missing = missing


class PartnerCenterProblem(DomainError):
    """Partner Center refused a read or could not be reached; the text is safe to show."""

    def __init__(self, message: str, *, code: int | str | None = None, description: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.description = description


class NotPosted(DomainError):
    """The approval message could not be posted; the request was ended at once (``expired``, ``post_failed``), so
    nothing waits without a message and asking again works."""

    def __init__(self, request: RequestView, channel: str, reason: str) -> None:
        super().__init__(refusals.not_posted(channel, reason))
        self.request = request
        self.reason = reason
        self.mentions = (f"<#{channel}>",)  # the bot's own markup in the message: kept live when it is escaped
