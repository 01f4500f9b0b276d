"""The daily renewal digest (SPEC §10): at ``NCEBOT_DIGEST_TIME`` (UTC) the renewal radar of every customer goes to
``NCEBOT_NOTIFY_CHANNEL``, once per day across replicas.

Runs on the lease holder only (a ``TrackingService`` job). The day is claimed first with a ``daily_digests`` row
(the day is its key), so a second replica, a restart or a lease takeover finds it and posts nothing; a crash
between the claim and the post loses that day's digest rather than posting it twice. Started late (after the
time), the digest is posted at once for today. Slack-free: ``post`` does the Slack part."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, time

from sqlalchemy.orm import Session, sessionmaker

from bot.deadlines.renewals import RenewalRadar, RenewalReport
from bot.domain import Clock, utc_now
from storage import deadlines as store

log = logging.getLogger("ncebot.deadlines.digest")


class DigestJob:
    def __init__(self, *, at: time | None, days: int, channel: str | None, radar: RenewalRadar,
                 session_factory: sessionmaker[Session], clock: Clock, holder: str,
                 post: Callable[[str, RenewalReport], None]) -> None:
        self._at = at
        self._days = days
        self._channel = channel
        self._radar = radar
        self._sessions = session_factory
        self._clock = clock
        self._holder = holder
        self._post = post

    def due_day(self) -> date | None:
        """Today (UTC) once the digest time has passed; None when ``off``, without a channel, or too early."""
        if self._at is None or not self._channel:
            return None
        now = utc_now(self._clock)
        return now.date() if now.time() >= self._at else None

    def run(self) -> bool:
        """Post today's digest if it is due and nobody claimed it. True when this call posted it."""
        day = self.due_day()
        if day is None or self._channel is None:
            return False
        with self._sessions.begin() as session:
            if not store.claim_digest(session, day, self._holder, utc_now(self._clock)):
                return False
        status, entries = "failed", 0
        try:
            report = self._radar.report(None, self._days)
            entries = len(report.entries)
            self._post(self._channel, report)
            status = "posted"
        except Exception:
            log.exception("the renewal digest of %s could not be posted", day)
        with self._sessions.begin() as session:
            store.finish_digest(session, day, status, entries, utc_now(self._clock))
        return status == "posted"
