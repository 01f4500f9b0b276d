"""Views in the Slack stand-in: modals (``views.open``, ``views.push``, ``views.update``) and the App Home tab
(``views.publish``), with the checks Slack makes that an app can get wrong."""

from __future__ import annotations

from typing import Any

from sandbox.slack_core import StandInCore
from sandbox.slack_records import StoredView, opt, parse_json


class ViewsApi(StandInCore):
    """``views.*`` methods."""

    def _views_method(self, method: str, p: dict[str, Any]) -> dict[str, Any] | None:
        """The answer of a ``views.*`` method; None for other methods. Called under ``_lock``."""
        if method in ("views.open", "views.push"):
            if not p.get("trigger_id"):
                return {"ok": False, "error": "invalid_trigger_id"}
            view = parse_json(p.get("view"))
            if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
                return {"ok": False, "error": "invalid_arguments"}
            stored = StoredView(id=f"V{next(self._counter):08d}", hash="", view=view,
                                user=opt(p.get("user_id")), trigger_id=str(p["trigger_id"]),
                                stack="root" if method == "views.open" else "pushed")
            self._views[stored.id] = stored
            return self._store_view(stored, view, "opened" if method == "views.open" else "pushed")
        if method == "views.update":
            view_id = opt(p.get("view_id"))
            stored_view: StoredView | None = None
            if view_id:
                stored_view = self._views.get(view_id)
            elif p.get("external_id"):
                stored_view = next((v for v in self._views.values()
                                    if v.view.get("external_id") == p["external_id"]), None)
            if stored_view is None:
                return {"ok": False, "error": "not_found"}
            if p.get("hash") and p["hash"] != stored_view.hash:
                return {"ok": False, "error": "hash_conflict"}
            view = parse_json(p.get("view"))
            if not isinstance(view, dict):
                return {"ok": False, "error": "invalid_arguments"}
            return self._store_view(stored_view, view, "updated")
        if method == "views.publish":
            return self._publish_home(p)
        return None

    def _publish_home(self, p: dict[str, Any]) -> dict[str, Any]:
        """views.publish: one Home tab per user, same view id across publishes (as Slack does). Checks what
        Slack checks and we can get wrong: a ``home`` view, at most 100 blocks, unique block ids, the hash."""
        user = str(p.get("user_id") or "")
        if not user.startswith(("U", "W")):
            return {"ok": False, "error": "invalid_arguments" if not user else "user_not_found"}
        view = parse_json(p.get("view"))
        if not isinstance(view, dict) or view.get("type") != "home":
            return {"ok": False, "error": "invalid_arguments",
                    "response_metadata": {"messages": ["[ERROR] view type must be home"]}}
        blocks = view.get("blocks")
        if not isinstance(blocks, list) or len(blocks) > 100:
            return {"ok": False, "error": "invalid_arguments",
                    "response_metadata": {"messages": ["[ERROR] no more than 100 items allowed "
                                                       "[json-pointer:/view/blocks]"]}}
        block_ids = [b.get("block_id") for b in blocks if isinstance(b, dict) and b.get("block_id")]
        if len(block_ids) != len(set(block_ids)):
            return {"ok": False, "error": "invalid_arguments",
                    "response_metadata": {"messages": ["[ERROR] duplicate block_id [json-pointer:/view/blocks]"]}}
        existing = self._views.get(self._home_views.get(user, ""))
        if existing is not None and p.get("hash") and p["hash"] != existing.hash:
            return {"ok": False, "error": "hash_conflict"}
        if existing is None:
            existing = StoredView(id=f"V{next(self._counter):08d}", hash="", view=view, user=user, trigger_id=None,
                                  stack="home")
            self._views[existing.id] = existing
            self._home_views[user] = existing.id
        return self._store_view(existing, view, "published")

    def _store_view(self, stored: StoredView, view: dict[str, Any], action: str) -> dict[str, Any]:
        """Give ``stored`` its new content and hash, record it, and answer the Web API reply."""
        stored.view = view
        stored.hash = f"h{next(self._counter)}"
        stored.history.append(view)
        self._events.append(("view", (stored, action)))
        return {"ok": True, "view": self._view_payload(stored)}

    def _view_payload(self, stored: StoredView) -> dict[str, Any]:
        return {**stored.view, "id": stored.id, "hash": stored.hash, "team_id": self.TEAM_ID,
                "state": {"values": {}}, "root_view_id": stored.id, "app_id": "ASTANDIN1", "bot_id": self.BOT_ID}
