"""The durable Slack outbox's writer (Slack-free): rows added in the caller's transaction, so a state change and
the Slack messages it causes commit together. :mod:`bot.tracking.outbox` sends them (the drainer)."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from bot.domain import Clock, MessagePoster, MessageRef, utc_now
from storage import tracking as store
from storage.tracking import OUTBOX_ANNOUNCE, OUTBOX_FILE, OUTBOX_LIVE, OUTBOX_LIVE_EDIT, OUTBOX_THREAD, OUTBOX_UPDATE

LIVE_EDIT_SECONDS = 5  # a live reply is edited at most once per this many seconds (SPEC §8.4: "every few")


class Notifier(MessagePoster, Protocol):
    """What the services need from Slack, without knowing Slack: the approval message itself (posted and edited
    as the answer to a click), and the durable outbox for everything a state change causes, written in the state
    change's transaction (thread replies, parent edits, announcements). Production's is
    ``bot.tracking.OutboxNotifier``."""

    @property
    def outbox(self) -> Outbox: ...


class Outbox:
    """Adds rows (in the caller's transaction when ``session`` is given, so a state change and its message
    commit together)."""

    def __init__(self, session_factory: sessionmaker[Session], clock: Clock) -> None:
        self._sessions = session_factory
        self._clock = clock

    def _add(self, session: Session | None, **values: Any) -> bool:
        now = utc_now(self._clock)
        if session is not None:
            return store.enqueue(session, now=now, **values)
        with self._sessions.begin() as own:
            return store.enqueue(own, now=now, **values)

    def thread(
        self, request_id: str, key: str, text: str, *, session: Session | None = None,
        message: MessageRef | None = None, blocks: list[dict[str, Any]] | None = None,
    ) -> bool:
        return self._add(
            session, kind=OUTBOX_THREAD, key=key, text=text, request_id=request_id,
            channel=message.channel if message else None, thread_ts=message.ts if message else None, blocks=blocks,
        )

    def announce(self, channel: str, key: str, text: str, *, session: Session | None = None) -> bool:
        return self._add(session, kind=OUTBOX_ANNOUNCE, key=key, text=text, channel=channel)

    def update_parent(self, request_id: str, key: str, *, session: Session | None = None) -> bool:
        """Edit the request's parent message to its state at sending time (once per ``key``, e.g. the state)."""
        return self._add(session, kind=OUTBOX_UPDATE, key=key, text="", request_id=request_id)

    def live(self, request_id: str, role: str, *, session: Session | None = None, final: bool = False) -> bool:
        """Post the live reply ``role`` (rendered when sent) once, or edit it to its current content: at most one
        edit per ``LIVE_EDIT_SECONDS`` window, plus one ``final`` edit."""
        added = self._add(session, kind=OUTBOX_LIVE, key=f"live:{role}", text=role, request_id=request_id)
        if added:
            return True
        window = "final" if final else str(int(utc_now(self._clock).timestamp()) // LIVE_EDIT_SECONDS)
        return self._add(session, kind=OUTBOX_LIVE_EDIT, key=f"live:{role}:{window}", text=role,
                         request_id=request_id)

    def file(self, request_id: str, role: str, *, session: Session | None = None) -> bool:
        """Post the file ``role`` (rendered when sent) in the request's thread, once."""
        return self._add(session, kind=OUTBOX_FILE, key=f"file:{role}", text=role, request_id=request_id)
