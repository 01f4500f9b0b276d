"""What every service shares: a transaction, the clock, Partner Center reads turned into user messages, best-effort
Slack notices. Moved verbatim from ``bot.workflow`` (the services keep its logger name, ``ncebot.workflow``).

``ServicePlumbing`` is a mixin: each service sets the attributes it declares from its explicit constructor
arguments (a service without a notifier never calls ``_notify``/``_effects_in``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

from bot.domain import SYSTEM_ACTOR as SYSTEM_ACTOR  # re-exported: one home (bot.domain)
from bot.domain import Clock, NotFound, RequestView, utc_now
from bot.outbox import Notifier
from bot.partner_center.errors import PartnerCenterAuthError, PartnerCenterError, PartnerCenterUnavailable
from bot.rules import require_guid
from bot.services.errors import PartnerCenterProblem
from bot.texts import refusals

logger = logging.getLogger("ncebot.workflow")

T = TypeVar("T")



class ServicePlumbing:
    _sessions: sessionmaker[Session]  # storage.db.SessionFactory
    _clock: Clock
    _notifier: Notifier

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    def _now(self) -> datetime:
        return utc_now(self._clock)

    def _read_pc(self, what: str, call: Callable[[], T]) -> T:
        """A Partner Center read, its failures turned into messages for the user."""
        try:
            return call()
        except PartnerCenterUnavailable as exc:
            raise PartnerCenterProblem(
                refusals.pc_not_answering(what)
            ) from exc
        except PartnerCenterAuthError as exc:
            raise PartnerCenterProblem(refusals.pc_sign_in_failed(what, exc)) from exc
        except PartnerCenterError as exc:
            if exc.status_code == 404:
                raise NotFound(refusals.pc_not_found(what, exc.description)) from exc
            raise PartnerCenterProblem(
                refusals.pc_refused(what, exc.code, exc.description),
                code=exc.code,
                description=exc.description,
            ) from exc

    @staticmethod
    def _guid(value: str | None, field: str) -> str:
        return require_guid(value, field)

    def _effects_in(self, session: Session, view: RequestView, posts: Sequence[tuple[str, str]], *,
                    parent_key: str | None = None) -> None:
        """Write the Slack effects of a state change into the outbox IN the state change's transaction (issue #10
        item 2: a crash right after the commit never loses them); only the outbox drainer sends them."""
        outbox = self._notifier.outbox
        for key, text in posts:
            outbox.thread(view.id, key, text, session=session, message=view.message)
        if parent_key is not None:
            outbox.update_parent(view.id, parent_key, session=session)

    def _notify(self, what: str, call: Callable[[], object]) -> None:
        """Slack is best effort once state is committed: log, never undo the decision."""
        try:
            call()
        except Exception:
            logger.warning("notifier %s failed", what, exc_info=True)
