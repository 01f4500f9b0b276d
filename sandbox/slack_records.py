"""What the Slack stand-in records (calls, messages, views, files) and the small value helpers its parts share."""

from __future__ import annotations

import json
import mimetypes
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

HIDDEN = "***"  # replaces a token's value in recorded headers and params


@dataclass(frozen=True)
class SlackCall:
    """One request the stand-in received. ``headers`` never contain the token's value."""

    method: str  # Web API method name, or "response_url" / "upload"
    params: dict[str, Any]
    headers: dict[str, str]
    at: float
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    user: str
    thread_ts: str | None = None
    ephemeral_to: str | None = None  # set for ephemeral messages (chat.postEphemeral, respond())
    edits: int = 0
    deleted: bool = False
    files: list[str] = field(default_factory=list)
    metadata: dict[str, Any] | None = None  # chat.postMessage ``metadata`` (event_type, event_payload)


@dataclass
class StoredView:
    id: str
    hash: str
    view: dict[str, Any]
    user: str | None
    trigger_id: str | None
    stack: str  # "root" or "pushed" (modals), "home" (the App Home tab, views.publish)
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class StoredFile:
    id: str
    filename: str
    content: bytes
    title: str | None = None
    channels: list[str] = field(default_factory=list)
    thread_ts: str | None = None
    initial_comment: str | None = None
    user: str | None = None  # who uploaded it: None for the app (files.upload…), a user id for upload_user_file
    mimetype: str | None = None  # None: guessed from the file name
    created: int = field(default_factory=lambda: int(time.time()))

    @property
    def content_type(self) -> str:
        return self.mimetype or mimetypes.guess_type(self.filename)[0] or "application/octet-stream"


@dataclass
class ResponseTarget:
    channel: str | None
    user: str | None
    message_ts: str | None


@dataclass
class Failure:
    status: int
    retry_after: int | None
    count: int
    error: str


def message_json(m: Message, **extra: Any) -> dict[str, Any]:
    """A stored message as conversations.history/replies list it (``extra``: e.g. its ``thread_ts``)."""
    return {"type": "message", "user": m.user, "text": m.text, "ts": m.ts, **extra, "blocks": m.blocks,
            **({"metadata": m.metadata} if m.metadata else {})}


def opt(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def parse_json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def blocks_of(value: Any) -> list[dict[str, Any]]:
    parsed = parse_json(value)
    return [b for b in parsed if isinstance(b, dict)] if isinstance(parsed, list) else []


def walk_text(blocks: list[dict[str, Any]]) -> Iterator[str]:
    for block in blocks:
        kind = block.get("type")
        if kind in ("section", "header"):
            text = (block.get("text") or {}).get("text")
            if text:
                yield str(text)
            for f in block.get("fields") or []:
                yield str(f.get("text", ""))
        elif kind == "context":
            for el in block.get("elements") or []:
                if el.get("text"):
                    yield str(el["text"])


def render_text(text: str, blocks: list[dict[str, Any]]) -> str:
    parts = list(walk_text(blocks)) or [text]
    return " | ".join(p.replace("\n", " / ") for p in parts if p)


def buttons_of(blocks: list[dict[str, Any]]) -> list[str]:
    found = []
    for block in blocks:
        elements = block.get("elements") if block.get("type") == "actions" else None
        accessory = block.get("accessory")
        for el in [*(elements or []), *([accessory] if isinstance(accessory, dict) else [])]:
            if el.get("type") == "button":
                found.append(str((el.get("text") or {}).get("text", "")))
    return found
