"""``bot.domain.MembershipResolver`` and ``UserDirectory`` on Slack (``usergroups.users.list``, ``users.info``),
each with a short cache."""

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


class SlackUserDirectory:
    """Display names via ``users.info``, cached for ``ttl_seconds``; ``None`` when Slack cannot say."""

    def __init__(
        self, client: WebClient, ttl_seconds: float = 3600, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._client = client
        self._ttl = ttl_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def display_name(self, user_id: str) -> str | None:
        if not user_id.startswith(("U", "W")):
            return None  # "system" and other non-user actors
        now = self._clock()
        with self._lock:
            cached = self._cache.get(user_id)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        try:
            user = self._client.users_info(user=user_id).get("user") or {}
        except SlackApiError as exc:
            log.warning("users.info %s failed: %s", user_id, exc.response.get("error"))
            return cached[1] if cached is not None else None
        profile = user.get("profile") or {}
        name = profile.get("display_name") or profile.get("real_name") or user.get("real_name") or user.get("name")
        found = str(name) if name else None
        with self._lock:
            self._cache[user_id] = (now, found)
        return found
