"""``bot.domain.MembershipResolver`` and ``UserDirectory`` on Slack (``usergroups.users.list``, ``users.info``),
each with a short cache (``cachetools.TTLCache``; its timer is injectable so tests move time without sleeping)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from cachetools import TTLCache
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain import MembershipUnconfirmed

log = logging.getLogger(__name__)

# Slack's answers that say for certain the group has no members we could count (not a transient failure).
_NO_SUCH_GROUP = frozenset({"no_such_subteam", "subteam_not_found"})
_MISSING = object()


class SlackMembershipResolver:
    """Members of a user group (``S…``), cached for ``ttl_seconds``. Fails closed: when Slack cannot answer, the
    cached list is used only while it is younger than ``ttl_seconds``; past that :class:`MembershipUnconfirmed`
    is raised (naming the group by its handle when ``usergroups.list`` tells it), so nobody is approved on a stale
    list and nobody is told "not an approver" because Slack hiccupped. An unknown group has no members."""

    def __init__(
        self, client: WebClient, ttl_seconds: float = 60, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._client = client
        self._cache: TTLCache[str, frozenset[str]] = TTLCache(maxsize=1024, ttl=ttl_seconds, timer=clock)
        self._handles: dict[str, str] = {}
        self._lock = threading.Lock()  # TTLCache is not thread-safe; listeners run in a pool

    def members(self, group_id: str) -> frozenset[str]:
        with self._lock:
            cached = self._cache.get(group_id)
        if cached is not None:
            return cached
        try:
            response = self._client.usergroups_users_list(usergroup=group_id, include_disabled=False)
            found = frozenset(str(u) for u in response.get("users") or [])
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "")
            log.warning("usergroups.users.list %s failed: %s", group_id, error)
            if error not in _NO_SUCH_GROUP:
                raise MembershipUnconfirmed(group_id, self.handle(group_id)) from exc
            found = frozenset()
        except OSError as exc:  # Slack unreachable (URLError, timeouts)
            log.warning("usergroups.users.list %s failed: %s", group_id, type(exc).__name__)
            raise MembershipUnconfirmed(group_id, self.handle(group_id)) from exc
        with self._lock:
            self._cache[group_id] = found
        return found

    def handle(self, group_id: str) -> str | None:
        """The group's ``@handle`` (``usergroups.list``, remembered once read); None when Slack cannot say."""
        with self._lock:
            known = self._handles.get(group_id)
        if known is not None:
            return known
        try:
            groups = self._client.usergroups_list(include_disabled=True).get("usergroups") or []
        except (SlackApiError, OSError) as exc:
            log.info("usergroups.list failed: %s", type(exc).__name__)
            return None
        with self._lock:
            for group in groups:
                if isinstance(group, dict) and group.get("id") and group.get("handle"):
                    self._handles[str(group["id"])] = str(group["handle"])
            return self._handles.get(group_id)

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()


class SlackUserDirectory:
    """Display names via ``users.info``, cached for ``ttl_seconds``; ``None`` when Slack cannot say."""

    def __init__(
        self, client: WebClient, ttl_seconds: float = 3600, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._client = client
        self._cache: TTLCache[str, str | None] = TTLCache(maxsize=4096, ttl=ttl_seconds, timer=clock)
        self._lock = threading.Lock()

    def display_name(self, user_id: str) -> str | None:
        if not user_id.startswith(("U", "W")):
            return None  # "system" and other non-user actors
        with self._lock:
            cached = self._cache.get(user_id, _MISSING)
        if cached is not _MISSING:
            return cached  # type: ignore[return-value]
        try:
            user = self._client.users_info(user=user_id).get("user") or {}
        except SlackApiError as exc:
            log.warning("users.info %s failed: %s", user_id, exc.response.get("error"))
            return None
        profile = user.get("profile") or {}
        name = profile.get("display_name") or profile.get("real_name") or user.get("real_name") or user.get("name")
        found = str(name) if name else None
        with self._lock:
            self._cache[user_id] = found
        return found
