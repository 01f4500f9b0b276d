"""The gate in front of Bolt for ``POST /slack/events`` (issue 9): authenticity, shape, replays.

Nothing reaches Bolt (its parser, its middleware, ``@app.error`` and so the replies it sends) unless it passes,
in this order:

1. **Signature** (else 401). ``X-Slack-Request-Timestamp``: ASCII digits only and within 5 minutes of now, past
   or future. ``X-Slack-Signature``: ``v0=`` and 64 hex digits, equal in constant time to Slack's v0 HMAC-SHA256
   over ``v0:{timestamp}:{raw body}``. Hand-written rather than ``slack_sdk.signature.SignatureVerifier``: that
   one ``int()``\\ s the timestamp unguarded and decodes the body as strict UTF-8 before hashing, so junk headers
   or a non-UTF-8 body raise instead of failing verification; Slack signs the raw bytes, as done here.
2. **Shape** (else 400). UTF-8, parsed by Bolt's own parser into a JSON object whose fields that Bolt and the
   listeners index have the types Slack sends (``actions`` a non-empty list of objects, ``user`` an object with
   an ``id`` …). Slack never sends anything else; an answer of 500 or a traceback would be the alternative.
3. **Replay** (200, nothing done). The signature is remembered (in the database, so across replicas) until its
   timestamp leaves the window; the same signature again is the same request again. Slack's own retries carry a
   new timestamp and signature (``X-Slack-Retry-Num``) and are handled by the listeners as before.

Requests that pass carry ``context[VERIFIED] = True``, which the error handler requires before it replies.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from slack_bolt import BoltRequest
from slack_bolt.request.internals import extract_content_type, parse_body
from sqlalchemy.orm import Session, sessionmaker

from storage import replays

log = logging.getLogger("ncebot.slack.verification")

MAX_SKEW_SECONDS = 300  # Slack's documented window, both ways
VERIFIED = "ncebot_verified"  # key in the BoltRequest context of a request that passed the gate
_SIGNATURE_HEX = 64


@dataclass(frozen=True)
class Refused:
    """The answer to a request that does not reach Bolt: ``status`` 401, 400 (or 503), ``reason`` for the log."""

    status: int
    reason: str


@dataclass(frozen=True)
class Replayed:
    """A signature seen before: answered 200 with an empty body, nothing else happens."""


class ReplayGuard(Protocol):
    def first_seen(self, signature: str, timestamp: int) -> bool:
        """True the first time (and remembers it); False for a replay."""
        ...


def _digits(value: str, max_len: int) -> bool:
    return 0 < len(value) <= max_len and value.isascii() and value.isdigit()


def _is_signature(value: str) -> bool:
    hex_part = value[3:]
    return (value.startswith("v0=") and len(hex_part) == _SIGNATURE_HEX and hex_part.isascii()
            and all(c in "0123456789abcdef" for c in hex_part))


def expected_signature(secret: bytes, timestamp: str, body: bytes) -> str:
    return "v0=" + hmac.new(secret, b"v0:" + timestamp.encode("ascii") + b":" + body, hashlib.sha256).hexdigest()


def authenticate(secret: bytes, headers: Mapping[str, str], body: bytes, now: float) -> Refused | None:
    """Step 1: None when the request is Slack's, else why not (no header value is echoed)."""
    timestamp = headers.get("x-slack-request-timestamp", "")
    signature = headers.get("x-slack-signature", "")
    if not _digits(timestamp, 12):
        return Refused(401, "missing or malformed X-Slack-Request-Timestamp")
    if abs(now - int(timestamp)) > MAX_SKEW_SECONDS:
        return Refused(401, "X-Slack-Request-Timestamp outside the 5-minute window")
    if not _is_signature(signature):
        return Refused(401, "missing or malformed X-Slack-Signature")
    if not hmac.compare_digest(expected_signature(secret, timestamp, body), signature):
        return Refused(401, "X-Slack-Signature does not match")
    return None


# --- step 2: the shape of what Slack sends ---------------------------------------------------------------------
_OBJECT_FIELDS = ("team", "channel", "container", "message", "view", "event", "item", "enterprise",
                  "function_data", "assistant_thread", "previous_message")
_STRING_FIELDS = ("type", "response_url", "trigger_id", "command", "text", "user_id", "channel_id", "team_id",
                  "action_id", "block_id", "callback_id", "value", "token", "api_app_id")


def payload_problem(body: Any) -> str | None:
    """Step 2: None when ``body`` (as Bolt parsed it) is shaped like something Slack sends; else what is wrong.
    ``null`` stays allowed where Slack sends it for an absent value (``"enterprise": null``)."""
    if not isinstance(body, dict) or not body:
        return "the payload is not a JSON object"
    for name in _OBJECT_FIELDS:
        if body.get(name) is not None and not isinstance(body[name], dict):
            return f"`{name}` is not an object"
    for name in _STRING_FIELDS:
        if body.get(name) is not None and not isinstance(body[name], str):
            return f"`{name}` is not a string"
    user = body.get("user")
    if user is not None and not (isinstance(user, str) or (isinstance(user, dict) and isinstance(user.get("id"), str))):
        return "`user` is neither an id nor an object with one"
    for name in ("authorizations", "response_urls", "actions"):
        if name in body and not (isinstance(body[name], list) and all(isinstance(x, dict) for x in body[name])):
            return f"`{name}` is not a list of objects"
    if body.get("type") == "block_actions" and not (
        body.get("actions") and all(isinstance(a.get("action_id"), str) for a in body["actions"])
    ):
        return "`actions` is not a non-empty list of actions with an `action_id`"
    if body.get("type") in ("view_submission", "view_closed") and not isinstance(body.get("view"), dict):
        return "a view payload without a `view`"
    if isinstance(body.get("event"), dict) and not isinstance(body["event"].get("type"), str):
        return "an event without a `type`"
    return None


def to_bolt_request(body: bytes, headers: Mapping[str, str], query: str) -> BoltRequest | Refused:
    """Step 2: the Bolt request, or why Slack would never have sent it. The body is parsed by Bolt's own parser
    and checked BEFORE ``BoltRequest`` is built (its constructor already indexes the payload)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return Refused(400, "the body is not UTF-8")
    multi: dict[str, Sequence[str]] = {k: [v] for k, v in headers.items()}
    try:
        parsed = parse_body(text, extract_content_type(multi))
    except ValueError:  # json.JSONDecodeError is a ValueError
        return Refused(400, "the payload is not valid JSON")
    problem = payload_problem(parsed)
    if problem:
        return Refused(400, problem)
    try:
        return BoltRequest(body=text, query=query, headers=dict(multi), context={VERIFIED: True})
    except Exception as exc:  # a shape the checks above do not know yet: still the sender's fault
        return Refused(400, f"the payload could not be read ({type(exc).__name__})")


class DatabaseReplayGuard:
    """:class:`ReplayGuard` on the ``seen_slack_signatures`` table, shared by every replica. A row lives until its
    timestamp is 10 minutes old (the 5-minute window plus room for clock skew between replicas); expired rows are
    purged at most once a minute per process."""

    KEEP = timedelta(seconds=2 * MAX_SKEW_SECONDS)
    PURGE_EVERY = 60.0

    def __init__(self, session_factory: sessionmaker[Session], *, now: Callable[[], float] = time.time) -> None:
        self._sessions = session_factory
        self._now = now
        self._lock = threading.Lock()
        self._last_purge = 0.0

    def first_seen(self, signature: str, timestamp: int) -> bool:
        now = self._now()
        with self._lock:
            purge = now - self._last_purge >= self.PURGE_EVERY
            if purge:
                self._last_purge = now
        expires_at = datetime.fromtimestamp(timestamp, UTC) + self.KEEP
        with self._sessions.begin() as session:
            if purge:
                replays.purge_signatures(session, datetime.fromtimestamp(now, UTC))
            return replays.remember_signature(session, signature, expires_at)


class SlackRequestGate:
    """Step 1 is :meth:`authenticate` (no I/O: run in the event loop, so forged requests never take a worker
    thread or a database connection); steps 2 and 3 are :meth:`accept` (in a worker thread: step 3 uses the
    database), only for a request that passed step 1."""

    def __init__(self, signing_secret: str, replay_guard: ReplayGuard, *, now: Callable[[], float] = time.time,
                 ) -> None:
        self._secret = signing_secret.encode("utf-8")
        self._replays = replay_guard
        self._now = now

    def authenticate(self, headers: Mapping[str, str], body: bytes) -> Refused | None:
        return authenticate(self._secret, headers, body, self._now())

    def accept(self, headers: Mapping[str, str], body: bytes, query: str = "") -> BoltRequest | Refused | Replayed:
        request = to_bolt_request(body, headers, query)
        if isinstance(request, Refused):
            return request
        try:
            first = self._replays.first_seen(headers["x-slack-signature"], int(headers["x-slack-request-timestamp"]))
        except Exception:
            log.warning("could not check the Slack request for a replay", exc_info=True)
            return Refused(503, "replay check unavailable")
        return request if first else Replayed()


def describe(body: bytes, headers: Mapping[str, str]) -> str:
    """What a log line may say about a refused request: its size and kind, never its content."""
    kind = "json" if headers.get("content-type", "").startswith("application/json") else "form"
    retry = headers.get("x-slack-retry-num")
    return f"{len(body)} bytes, {kind}" + (", a Slack retry" if retry is not None else "")

