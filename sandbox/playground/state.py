"""What the playground page shows and does, without HTTP: :class:`Playground` reads the Slack stand-in's record
(messages, views, files) as one person sees it, and turns that person's actions into signed Slack requests.

Modals are Slack's client-side state, which the stand-in does not keep: which modal is open, which were closed,
and the field errors the app answered (``response_action: errors``) live here. A view's owner is read from the
trigger id it was opened with (:class:`sandbox.slack_requests.SlackRequester` makes them ``n.trigger.USER``).
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from typing import Any

import httpx

from sandbox.slack_api import Message, SlackStandIn, StoredFile
from sandbox.slack_requests import SlackRequester, stored_view

__all__ = ["ActionResult", "Person", "Playground", "PlaygroundError"]


class PlaygroundError(Exception):
    """A request from the page that cannot be carried out (unknown person, view or channel): HTTP 400."""


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    role: str = ""


@dataclass(frozen=True)
class ActionResult:
    """What the app answered to a request made for the page: its HTTP status and body (a slash command's
    immediate text, a modal's ``response_action``, an option list)."""

    status: int
    body: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.status == 200, "status": self.status, "body": self.body}


def _owner(trigger_id: str | None) -> str | None:
    if not trigger_id or ".trigger." not in trigger_id:
        return None
    return trigger_id.rsplit(".trigger.", 1)[1]


def _body(response: httpx.Response) -> dict[str, Any]:
    text = response.text.strip()
    if not text:
        return {}
    try:
        parsed = json.loads(text)
    except ValueError:
        return {"text": text}
    return parsed if isinstance(parsed, dict) else {"value": parsed}


class Playground:
    """The Slack client, for the people of a stand-in workspace. ``groups``: user-group id → handle, for
    ``<!subteam^…>`` mentions. Modals open when the playground starts are taken as closed (history)."""

    def __init__(self, standin: SlackStandIn, requester: SlackRequester, *, people: list[Person],
                 channels: dict[str, str], groups: dict[str, str] | None = None,
                 default_channel: str | None = None) -> None:
        if not people:
            raise ValueError("the playground needs at least one person")
        self.standin = standin
        self.requester = requester
        self.people = list(people)
        self.channels = dict(channels)
        self.groups = dict(groups or {})
        self.default_channel = default_channel or next(iter(self.channels), "")
        self._lock = threading.Lock()
        self._closed: set[str] = {v.id for v in standin.views.values() if v.stack != "home"}
        self._errors: dict[str, dict[str, str]] = {}  # view id → block id → error, from the last submission
        self._api = httpx.Client(base_url=standin.base_url, timeout=30,
                                 headers={"Authorization": f"Bearer {standin.bot_token}"})

    def close(self) -> None:
        self._api.close()

    # --- reading ------------------------------------------------------------------------------------------
    def person(self, user: str) -> Person:
        for person in self.people:
            if person.id == user:
                return person
        raise PlaygroundError(f"unknown person {user!r}")

    def dm_channel(self, user: str) -> str:
        """The id of ``user``'s direct messages with the app (``D…``, as conversations.open answers)."""
        return "D" + user[1:]

    def _channel_of(self, message: Message, user: str) -> str | None:
        """Where ``user`` sees ``message``: a channel id, their DM id, or None (not visible to them)."""
        if message.ephemeral_to is not None and message.ephemeral_to != user:
            return None
        if message.channel in self.channels:
            return message.channel
        if message.channel in (user, self.dm_channel(user)):
            return self.dm_channel(user)
        return None

    def _message_json(self, message: Message, channel: str, files: dict[str, StoredFile]) -> dict[str, Any]:
        return {
            "channel": channel, "ts": message.ts, "text": message.text, "blocks": message.blocks,
            "user": message.user, "thread_ts": message.thread_ts, "ephemeral": message.ephemeral_to is not None,
            "edited": message.edits > 0,
            "files": [{"id": f.id, "name": f.filename, "title": f.title or f.filename, "size": len(f.content),
                       "url": f"/files/{f.id}"} for f in (files.get(i) for i in message.files) if f is not None],
        }

    def open_views(self, user: str) -> list[dict[str, Any]]:
        """``user``'s open modals, oldest first (the last one is on top), each with its id, hash and errors."""
        found = []
        with self._lock:
            closed = set(self._closed)
            errors = {k: dict(v) for k, v in self._errors.items()}
        for stored in self.standin.views.values():
            if stored.stack == "home" or stored.id in closed or (stored.user or _owner(stored.trigger_id)) != user:
                continue
            found.append({**stored.view, "id": stored.id, "hash": stored.hash, "errors": errors.get(stored.id, {})})
        return found

    def snapshot(self, user: str) -> dict[str, Any]:
        """Everything the page shows to ``user``, with ``rev``: a digest that changes when any of it does."""
        self.person(user)
        files = self.standin.files
        messages = []
        for message in self.standin.messages():
            channel = self._channel_of(message, user)
            if channel is not None:
                messages.append(self._message_json(message, channel, files))
        views = self.open_views(user)
        names = {p.id: p.name for p in self.people}
        names.update({k: v for k, v in self.standin.users.items() if k not in names})
        names[SlackStandIn.BOT_USER_ID] = "ncebot"
        state: dict[str, Any] = {
            "me": user,
            "people": [{"id": p.id, "name": p.name, "role": p.role} for p in self.people],
            "channels": [{"id": cid, "name": name} for cid, name in self.channels.items()],
            "dm": self.dm_channel(user),
            "default_channel": self.default_channel,
            "names": names,
            "groups": self.groups,
            "bot": SlackStandIn.BOT_USER_ID,
            "messages": messages,
            "modal": views[-1] if views else None,
            "home": self.standin.home_view(user),
        }
        state["rev"] = hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()[:16]
        return state

    def file(self, file_id: str) -> StoredFile | None:
        return self.standin.files.get(file_id)

    # --- acting -------------------------------------------------------------------------------------------
    def command(self, user: str, channel: str, text: str) -> ActionResult:
        """``text`` typed in ``channel``'s composer: a ``/nce …`` command is sent to the app (signed); anything
        else is posted as ``user``'s message (the app does not read channel messages)."""
        self.person(user)
        name = self.channels.get(channel) or ("directmessage" if channel == self.dm_channel(user) else None)
        if name is None:
            raise PlaygroundError(f"unknown channel {channel!r}")
        text = text.strip()
        if not text:
            raise PlaygroundError("nothing to send")
        command, _, rest = text.partition(" ")
        if command != "/nce":
            if text.startswith("/"):
                return ActionResult(200, {"text": f"{command} is not a command of this workspace: try /nce help"})
            self.standin.add_message(channel, text, user=user)
            return ActionResult(200, {})
        response = self.requester.command(rest.strip(), user=user, channel=channel, channel_name=name)
        return ActionResult(response.status_code, _body(response))

    def _view_with_state(self, user: str, view_id: str, values: dict[str, Any] | None) -> dict[str, Any]:
        with self._lock:
            closed = view_id in self._closed
        if view_id not in self.standin.views or closed:
            raise PlaygroundError(f"no open view {view_id!r}")
        stored = self.standin.views[view_id]
        if (stored.user or _owner(stored.trigger_id)) != user:
            raise PlaygroundError(f"view {view_id!r} is not open for {user!r}")
        return {**stored_view(self.standin, view_id), "state": {"values": values or {}}}

    def action(self, user: str, spec: dict[str, Any]) -> ActionResult:
        """A click or a choice on a message (``where: "message"``, with ``channel`` and ``message_ts``), on the
        Home tab (``where: "home"``) or in a modal (``where: "modal"``, with ``view_id`` and ``values``).
        ``element``: the action's fields besides action_id/block_id (``type``, ``value``, ``text``,
        ``selected_option``, ``selected_date``, ``selected_options``)."""
        self.person(user)
        where = spec.get("where")
        element = dict(spec.get("element") or {})
        action_id, block_id = str(spec.get("action_id") or ""), str(spec.get("block_id") or "b")
        if not action_id:
            raise PlaygroundError("an action needs its action_id")
        view: dict[str, Any] | None = None
        channel = str(spec.get("channel") or "")
        if where == "home":
            view = self.standin.home_view(user)
            if view is None:
                raise PlaygroundError("the Home tab is not published for this person")
        elif where == "modal":
            view = self._view_with_state(user, str(spec.get("view_id") or ""), spec.get("values"))
        elif where != "message" or channel not in (*self.channels, self.dm_channel(user)):
            raise PlaygroundError("an action happens on a message (with its channel), the Home tab or a modal")
        response = self.requester.block_action(action_id, None, user=user, channel=channel or self.default_channel,
                                               message_ts=str(spec.get("message_ts") or "1.000001"),
                                               block_id=block_id, view=view, element=element)
        return ActionResult(response.status_code, _body(response))

    def submit(self, user: str, view_id: str, values: dict[str, Any]) -> ActionResult:
        """Submit ``user``'s modal with ``values`` (view.state.values) and do what Slack does with the answer:
        close it (empty answer), show field errors, update it, push a new one or clear the stack."""
        view = self._view_with_state(user, view_id, values)
        response = self.requester.view_submission(view, values, user=user)
        body = _body(response)
        with self._lock:
            self._errors.pop(view_id, None)
        if response.status_code != 200:
            return ActionResult(response.status_code, body)
        action = body.get("response_action")
        if action == "errors":
            with self._lock:
                self._errors[view_id] = {str(k): str(v) for k, v in (body.get("errors") or {}).items()}
        elif action == "update" and isinstance(body.get("view"), dict):
            self._api.post("views.update", json={"view_id": view_id, "view": body["view"]})
        elif action == "push" and isinstance(body.get("view"), dict):
            self._api.post("views.push", json={"trigger_id": f"push.trigger.{user}", "view": body["view"]})
        elif action == "clear":
            self.close_view(user, None)
        else:
            self.close_view(user, view_id)
        return ActionResult(response.status_code, body)

    def close_view(self, user: str, view_id: str | None) -> None:
        """Close ``view_id`` and what was pushed over it (None: every modal of ``user``)."""
        views = [v["id"] for v in self.open_views(user)]
        if view_id is not None and view_id not in views:
            raise PlaygroundError(f"no open view {view_id!r}")
        start = 0 if view_id is None else views.index(view_id)
        with self._lock:
            self._closed.update(views[start:])

    def open_home(self, user: str) -> ActionResult:
        """``user`` opens the app's Home tab: Slack sends ``app_home_opened`` and the app publishes the view."""
        self.person(user)
        response = self.requester.app_home_opened(user, view=self.standin.home_view(user))
        return ActionResult(response.status_code, _body(response))

    def options(self, user: str, view_id: str, action_id: str, block_id: str, value: str,
                values: dict[str, Any] | None = None) -> ActionResult:
        """What an external select offers for the typed ``value`` (a ``block_suggestion`` to the app)."""
        view = self._view_with_state(user, view_id, values)
        response = self.requester.block_suggestion(action_id, block_id, value, user=user, view=view)
        return ActionResult(response.status_code, _body(response))
