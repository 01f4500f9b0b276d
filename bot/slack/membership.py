"""``bot.domain.MembershipResolver`` on Slack: ``usergroups.users.list`` with a short cache."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)


class SlackMembershipResolver:
    """Members of a user group (``S…``), cached for ``ttl_seconds``. Fails closed: an unknown group or a Slack
    error with nothing cached gives no members, so nobody is approved by a group we could not read."""

    def __init__(
        self, client: WebClient, ttl_seconds: float = 60, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._client = client
        self._ttl = ttl_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def members(self, group_id: str) -> frozenset[str]:
        now = self._clock()
        with self._lock:
            cached = self._cache.get(group_id)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        try:
            response = self._client.usergroups_users_list(usergroup=group_id, include_disabled=False)
        except SlackApiError as exc:
            log.warning("usergroups.users.list %s failed: %s", group_id, exc.response.get("error"))
            return cached[1] if cached is not None else frozenset()
        found = frozenset(str(u) for u in response.get("users") or [])
        with self._lock:
            self._cache[group_id] = (now, found)
        return found

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()
