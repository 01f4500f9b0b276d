"""The durable Slack outbox: every thread reply, announcement and parent edit made by the tracker (and by the
workflow through :class:`OutboxNotifier`) is a row first, unique per (scope, key), and is posted at most once.

Sending a row: mark it ``sending`` (committed) → ``chat.postMessage`` with
``metadata={"event_type": "ncebot_post", "event_payload": {"key": "<scope>|<key>"}}`` → record the ``ts``.
A row found in ``sending`` at the start of a drain was interrupted (crash between posting and recording): it is
looked up in Slack first (``conversations.replies`` / ``conversations.history`` with ``include_all_metadata``)
and re-posted only if it is not there.

Slack limits: posts to one channel are spaced (``spacing`` seconds, ~1 per second per channel for
``chat.postMessage``); a 429 keeps the row pending until ``Retry-After`` has passed, and nothing is dropped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session, sessionmaker

from bot.domain import Clock, MessagePoster, MessageRef, RequestView, utc_now
from bot.outbox import Outbox
from storage import tracking as store
from storage.tracking import (
    OUTBOX_ANNOUNCE,
    OUTBOX_FILE,
    OUTBOX_LIVE,
    OUTBOX_LIVE_EDIT,
    OUTBOX_THREAD,
    OUTBOX_UPDATE,
    REQUEST_KINDS,
    OutboxRow,
)

log = logging.getLogger("ncebot.tracking.outbox")

METADATA_EVENT_TYPE = "ncebot_post"

__all__ = ["Outbox", "OutboxDrainer", "OutboxNotifier"]  # Outbox (the writer) lives in bot.outbox: Slack-free


class LiveRenderer(Protocol):
    """Renders a request's live replies and files from the database at sending time (the Slack side)."""

    def render(self, request_id: str, role: str) -> tuple[str, list[dict[str, Any]] | None]: ...

    def file(self, request_id: str, role: str) -> tuple[str, bytes] | None: ...


class OutboxNotifier:
    """``bot.outbox.Notifier`` for the services: the approval message and its edits go straight to Slack (they
    answer a click); everything else goes through the durable outbox (once per key, across restarts and
    replicas)."""

    def __init__(self, slack: MessagePoster, outbox: Outbox) -> None:
        self.slack = slack
        self.outbox = outbox

    def post_request(self, request: RequestView) -> MessageRef:
        return self.slack.post_request(request)

    def update_request(self, request: RequestView) -> None:
        self.slack.update_request(request)


def _retry_after(exc: SlackApiError, default: float = 1.0) -> float:
    headers = getattr(exc.response, "headers", None) or {}
    for name, value in dict(headers).items():
        if str(name).lower() == "retry-after":
            try:
                return max(float(value if not isinstance(value, list) else value[0]), 0.0)
            except (TypeError, ValueError):
                return default
    return default


class OutboxDrainer:
    """Sends outbox rows in id order. Run by ONE process (the lease holder), one drain at a time."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        slack_client: WebClient,
        *,
        clock: Clock,
        update_parent: Callable[[str], None],
        spacing: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        max_attempts: int = 8,
        batch: int = 100,
    ) -> None:
        self._sessions = session_factory
        self._client = slack_client
        self._clock = clock
        self._update_parent = update_parent
        self.spacing = spacing
        self._sleep = sleep
        self._monotonic = monotonic
        self.max_attempts = max_attempts
        self.batch = batch
        self._last_post: dict[str, float] = {}
        self._paused_until: datetime | None = None
        self.live: LiveRenderer | None = None  # set by the composition root when campaigns are wired
        self._lock = threading.Lock()

    def _now(self) -> datetime:
        return utc_now(self._clock)

    # --- the pass ---------------------------------------------------------------------------------------
    def drain(self) -> int:
        """Recover interrupted sends, then send what is due. Returns the number of rows sent."""
        with self._lock:
            if self._paused_until is not None and self._now() < self._paused_until:
                return 0
            self._paused_until = None
            self.recover()
            sent = 0
            blocked: set[str] = set()
            with self._sessions() as session:
                pending = store.outbox_rows(session, ("pending",))
            for row in pending[: self.batch]:
                lane = self._lane(row)
                if lane in blocked:
                    continue
                if row.not_before is not None and row.not_before > self._now():
                    blocked.add(lane)  # keep the order of one channel / thread
                    continue
                outcome = self._send_one(row)
                if outcome == "sent":
                    sent += 1
                elif outcome == "throttled":
                    break  # wait for Retry-After before anything else
                else:
                    blocked.add(lane)
            return sent

    @staticmethod
    def _lane(row: OutboxRow) -> str:
        if row.kind == OUTBOX_ANNOUNCE:
            return f"c:{row.channel}"
        return f"r:{row.request_id}"

    def _send_one(self, row: OutboxRow) -> str:
        started = self.begin(row)
        if started is None:
            return "skipped"
        try:
            ts = self.post(started)
        except SlackApiError as exc:
            return self._failed(started, exc)
        except Exception as exc:  # connection errors, timeouts: Slack unreachable, try again later
            log.warning("outbox %s: %s", row.id, type(exc).__name__)
            self._retry_later(started, f"{type(exc).__name__}: {exc}"[:500], permanent=False)
            return "error"
        self.finish(started, ts)
        return "sent"

    # --- the steps (public so a test can stop between posting and recording, like a crash) -----------------
    def begin(self, row: OutboxRow) -> OutboxRow | None:
        """Resolve where the row goes and mark it ``sending`` (committed). None when it cannot go yet."""
        now = self._now()
        with self._sessions.begin() as session:
            channel, thread_ts = row.channel, row.thread_ts
            if row.kind in REQUEST_KINDS and (not channel or (row.kind != OUTBOX_UPDATE and not thread_ts)):
                assert row.request_id is not None
                target = store.thread_target(session, row.request_id)
                if target is None:
                    # The parent message was never posted (yet): wait, give up after max_attempts.
                    if row.attempts + 1 >= self.max_attempts:
                        store.mark_failed(session, row.id, now, "the request has no Slack message")
                    else:
                        store.mark_pending(session, row.id, now, not_before=now + self._backoff(row.attempts),
                                           error="no parent message yet", count_attempt=True)
                    return None
                channel, thread_ts = target
            if not channel:
                store.mark_failed(session, row.id, now, "no channel")
                return None
            if row.kind == OUTBOX_LIVE_EDIT and row.request_id and store.live_ts(session, row.request_id,
                                                                                   row.text) is None:
                # The live reply itself is not posted yet: the edit waits for it (same lane, so it follows it).
                store.mark_pending(session, row.id, now, not_before=now + timedelta(seconds=2),
                                   error="live reply not posted yet", count_attempt=False)
                return None
            if not store.mark_sending(session, row.id, now, channel=channel, thread_ts=thread_ts):
                return None
            current = store.outbox_row(session, row.id)
        return current

    def post(self, row: OutboxRow) -> str | None:
        """The Slack call for a ``sending`` row; returns the message ts (None for an edit)."""
        if row.kind == OUTBOX_UPDATE:
            assert row.request_id is not None
            self._update_parent(row.request_id)
            return None
        assert row.channel is not None
        if row.kind in (OUTBOX_LIVE, OUTBOX_LIVE_EDIT, OUTBOX_FILE):
            return self._post_rendered(row)
        self._space(row.channel)
        kwargs: dict[str, Any] = {}
        if row.kind == OUTBOX_THREAD:
            kwargs["thread_ts"] = row.thread_ts
        if row.blocks:
            kwargs["blocks"] = row.blocks
        try:
            response = self._client.chat_postMessage(
                channel=row.channel,
                text=row.text,
                unfurl_links=False,
                metadata={"event_type": METADATA_EVENT_TYPE, "event_payload": {"key": row.full_key}},
                **kwargs,
            )
        finally:
            self._last_post[row.channel] = self._monotonic()
        return str(response.get("ts")) if response.get("ts") else None

    def _post_rendered(self, row: OutboxRow) -> str | None:
        """A campaign's live reply (post, or edit in place) or file, rendered now from the database."""
        assert row.channel is not None and row.request_id is not None
        if self.live is None:
            raise RuntimeError("no live renderer wired")
        if row.kind == OUTBOX_FILE:
            rendered = self.live.file(row.request_id, row.text)
            if rendered is None:
                return None
            name, content = rendered
            self._space(row.channel)
            self._client.files_upload_v2(channel=row.channel, thread_ts=row.thread_ts, filename=name, title=name,
                                         content=content)
            self._last_post[row.channel] = self._monotonic()
            return None
        text, blocks = self.live.render(row.request_id, row.text)
        if row.kind == OUTBOX_LIVE_EDIT:
            with self._sessions() as session:
                ts = store.live_ts(session, row.request_id, row.text)
            if ts:  # chat.update is not a post: no spacing (Slack's chat.update limit is per workspace, tier 3)
                self._client.chat_update(channel=row.channel, ts=ts, text=text, blocks=blocks or [])
            return None
        self._space(row.channel)
        extra: dict[str, Any] = {"blocks": blocks} if blocks else {}
        try:
            response = self._client.chat_postMessage(
                channel=row.channel, thread_ts=row.thread_ts, text=text, unfurl_links=False,
                metadata={"event_type": METADATA_EVENT_TYPE, "event_payload": {"key": row.full_key}}, **extra)
        finally:
            self._last_post[row.channel] = self._monotonic()
        return str(response.get("ts")) if response.get("ts") else None

    def finish(self, row: OutboxRow, ts: str | None) -> None:
        with self._sessions.begin() as session:
            store.mark_sent(session, row.id, self._now(), ts)

    # --- failure handling -----------------------------------------------------------------------------------
    def _failed(self, row: OutboxRow, exc: SlackApiError) -> str:
        status = getattr(exc.response, "status_code", None)
        error = ""
        try:
            error = str(exc.response.get("error") or "")
        except Exception:
            error = ""
        if status == 429 or error == "ratelimited":
            wait = _retry_after(exc)
            until = self._now() + timedelta(seconds=max(wait, 1.0))
            log.info("outbox %s: Slack rate limit, retrying after %.0f s", row.id, wait)
            with self._sessions.begin() as session:
                store.mark_pending(session, row.id, self._now(), not_before=until, error="ratelimited")
            self._paused_until = until
            return "throttled"
        log.warning("outbox %s (%s): Slack answered %s", row.id, row.kind, error or status)
        self._retry_later(row, error or f"HTTP {status}", permanent=not (status and status >= 500))
        return "error"

    def _retry_later(self, row: OutboxRow, error: str, *, permanent: bool) -> None:
        now = self._now()
        with self._sessions.begin() as session:
            if permanent and row.attempts >= self.max_attempts:
                store.mark_failed(session, row.id, now, error)
            else:
                store.mark_pending(session, row.id, now, not_before=now + self._backoff(row.attempts), error=error)

    @staticmethod
    def _backoff(attempts: int) -> timedelta:
        return timedelta(seconds=min(5 * 2 ** max(attempts - 1, 0), 3600))

    def _space(self, channel: str) -> None:
        last = self._last_post.get(channel)
        if last is None:
            return
        wait = self.spacing - (self._monotonic() - last)
        if wait > 0:
            self._sleep(wait)

    # --- recovery ---------------------------------------------------------------------------------------------
    def recover(self) -> int:
        """Rows left in ``sending``: found in Slack → recorded as sent; not found → pending again. Returns how
        many were found already posted."""
        with self._sessions() as session:
            stuck = store.outbox_rows(session, ("sending",))
        found = 0
        for row in stuck:
            if row.kind in (OUTBOX_UPDATE, OUTBOX_LIVE_EDIT, OUTBOX_FILE):
                # An edit is idempotent: do it again. A file has no metadata to find it by: uploaded again
                # (at worst twice after a crash at that very moment, never lost).
                with self._sessions.begin() as session:
                    store.mark_pending(session, row.id, self._now(), not_before=None)
                continue
            try:
                ts = self._lookup(row)
            except Exception as exc:
                log.warning("outbox %s: could not look it up in Slack (%s); will try again", row.id,
                            type(exc).__name__)
                continue
            with self._sessions.begin() as session:
                if ts is not None:
                    store.mark_sent(session, row.id, self._now(), ts)
                    found += 1
                else:
                    store.mark_pending(session, row.id, self._now(), not_before=None, error="interrupted")
        return found

    def _lookup(self, row: OutboxRow) -> str | None:
        if not row.channel:
            return None
        if row.kind in (OUTBOX_THREAD, OUTBOX_LIVE) and row.thread_ts:
            messages = self._pages(
                lambda cursor: self._client.conversations_replies(
                    channel=row.channel or "", ts=row.thread_ts or "", include_all_metadata=True, limit=200,
                    cursor=cursor,
                )
            )
        else:
            messages = self._pages(
                lambda cursor: self._client.conversations_history(
                    channel=row.channel or "", include_all_metadata=True, limit=200, cursor=cursor
                ),
                max_pages=1,  # recent history is enough: the post was made just before the crash
            )
        for message in messages:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == METADATA_EVENT_TYPE and payload.get("key") == row.full_key:
                return str(message.get("ts"))
        return None

    @staticmethod
    def _pages(call: Callable[[str | None], Any], max_pages: int = 20) -> Iterable[dict[str, Any]]:
        cursor: str | None = None
        for _ in range(max_pages):
            response = call(cursor)
            yield from response.get("messages") or []
            cursor = ((response.get("response_metadata") or {}).get("next_cursor")) or None
            if not cursor:
                return
