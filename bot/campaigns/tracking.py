"""Following a campaign's migrations (SPEC §8.4, issue #11 item 5): one paged list call per customer with
migrations in flight, whatever the number of campaigns or migrations; a status change is written on the operation
and moves the campaign's live replies and, at the end, its state. No per-migration GET, no events: a failed
migration's code and description come with the list answer."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from bot.campaigns import lifecycle
from bot.domain import Clock, RequestState, utc_now
from bot.outbox import Outbox
from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.errors import PartnerCenterError
from bot.texts import thread
from storage import campaigns as store

log = logging.getLogger("ncebot.campaigns.tracking")

TRACKED_STATES = (RequestState.APPROVED.value, RequestState.SUBMITTED.value, RequestState.PROCESSING.value)


class CampaignTracker:
    def __init__(self, *, session_factory: sessionmaker[Session], partner_center: PartnerCenterClient,
                 outbox: Outbox, clock: Clock, on_commit: Callable[[], None] | None = None) -> None:
        self._sessions = session_factory
        self._pc = partner_center
        self._outbox = outbox
        self._clock = clock
        self._on_commit = on_commit or (lambda: None)

    def poll(self, only: str | None = None) -> int:
        """One pass (``only``: just this customer, when a webhook named one of its migrations); returns the
        number of list calls made."""
        with self._sessions() as session:
            ids = store.campaigns_to_run(session, TRACKED_STATES)
            work = store.trackable_by_customer(session, ids)
        if only is not None:
            work = {c: items for c, items in work.items() if c == only.lower()}
        calls = 0
        for customer_id, items in work.items():
            try:
                listed = {m.id.lower(): m for m in self._pc.query_migrations(customer_id=customer_id) if m.id}
            except PartnerCenterError as exc:
                log.warning("customer %s: Partner Center unavailable while tracking campaigns: %s", customer_id, exc)
                continue
            calls += 1
            changed: dict[str, bool] = defaultdict(bool)
            now = utc_now(self._clock)
            with self._sessions.begin() as session:
                for item in items:
                    migration = listed.get(item.migration_id.lower())
                    if migration is None:
                        continue  # not listed yet (eventual consistency): the next pass sees it
                    status = str(getattr(migration.status, "value", migration.status) or "")
                    if status.lower() == (item.pc_status or "").lower():
                        continue
                    failed = status.lower() == "failed"
                    store.set_pc_status(
                        session, item.operation_id, status, now=now,
                        response=migration.model_dump(mode="json", by_alias=True, exclude_none=True),
                        error_code=(str(migration.error_code) if migration.error_code is not None else "Failed")
                        if failed else None,
                        error_description=(migration.error_description or thread.PC_REPORTED_FAILED)
                        if failed else None)
                    changed[item.request_id] |= failed
                for request_id, failed in changed.items():
                    lifecycle.migrations_changed(session, self._outbox, request_id, now, failed=failed)
            if changed:
                self._on_commit()
        return calls
