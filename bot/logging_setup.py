"""Structured logging with redaction of secrets.

``configure_logging()`` installs one handler on the root logger: JSON lines when the stream is not a TTY
(``ts``, ``level``, ``logger``, ``msg`` plus every ``extra`` field such as ``request_id``, ``correlation_id``,
``endpoint``, ``status``, ``duration_ms``), a readable line otherwise. Every record that reaches the handler goes
through :class:`RedactingFilter` first (message, args and extra fields), and the formatted line is scrubbed once
more, so bearer tokens, Slack tokens, ``Authorization`` values, client secrets, refresh tokens, JWTs and every
value passed to :func:`register_secrets` come out as ``[redacted]``.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO, Any

from pydantic import SecretStr

REDACTED = "[redacted]"

# Shorter values are not secrets worth the damage of replacing every occurrence of them in every line.
MIN_SECRET_LENGTH = 4

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Authorization header values, whatever the scheme ("Authorization: Bearer x", {'authorization': 'Basic y'}).
    (
        re.compile(
            r"(?i)(\bauthorization[\"']?\s*[:=]\s*[\"']?)(?:(?:bearer|basic|negotiate|pop)\s+)?[^\s\"',;}\]]+"
        ),
        r"\1" + REDACTED,
    ),
    # Bearer tokens anywhere else.
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9\-._~+/]+=*"), r"\1" + REDACTED),
    # Secrets in form bodies, query strings, JSON and key=value text.
    (
        re.compile(
            r"(?i)(\b(?:client_secret|client-secret|clientsecret|refresh_token|refresh-token|refreshtoken|"
            r"access_token|id_token|client_assertion|signing_secret|password|passwd)[\"']?\s*[:=]\s*[\"']?)"
            r"[^\s\"'&,;}\]]+"
        ),
        r"\1" + REDACTED,
    ),
    # Passwords inside URLs (DATABASE_URL): scheme://user:password@host.
    (re.compile(r"(\b[a-z][a-z0-9+.\-]*://[^\s:/@]+:)[^\s@/]+@"), r"\1" + REDACTED + "@"),
    # Slack tokens: bot, user, app-level, legacy and refresh kinds.
    (re.compile(r"\bxox[abposre]-[A-Za-z0-9\-]+"), REDACTED),
    (re.compile(r"\bxapp-[A-Za-z0-9\-]+"), REDACTED),
    # Anything shaped like a JWT (header.payload.signature, base64url, header starting with '{"').
    (re.compile(r"\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"), REDACTED),
]

_secrets_lock = threading.Lock()
_secrets: frozenset[str] = frozenset()

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


def _reveal(value: str | SecretStr | None) -> str | None:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return value


def register_secrets(values: Iterable[str | SecretStr | None]) -> None:
    """Add exact values (client secret, refresh token, Slack tokens…) that must never be logged."""
    global _secrets
    new = {v for v in (_reveal(value) for value in values) if v and len(v) >= MIN_SECRET_LENGTH}
    with _secrets_lock:
        _secrets = _secrets | frozenset(new)


def clear_registered_secrets() -> None:
    """Forget every registered secret (tests, or a process that reloads its settings)."""
    global _secrets
    with _secrets_lock:
        _secrets = frozenset()


def register_settings_secrets(settings: Any) -> None:
    """Register the secret fields of a :class:`bot.settings.Settings` (``SECRET_FIELDS``)."""
    from bot.settings import SECRET_FIELDS

    register_secrets(getattr(settings, name, None) for name in SECRET_FIELDS)


def redact(text: str, extra_secrets: Iterable[str | SecretStr | None] = ()) -> str:
    """``text`` with every known secret shape and every registered (or ``extra_secrets``) value replaced."""
    values = set(_secrets)
    values.update(v for v in (_reveal(s) for s in extra_secrets) if v and len(v) >= MIN_SECRET_LENGTH)
    # Longest first so a secret that contains another one is replaced whole.
    for value in sorted(values, key=len, reverse=True):
        if value in text:
            text = text.replace(value, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, SecretStr):
        return REDACTED
    if isinstance(value, bytes):
        return redact(value.decode("utf-8", "replace"))
    if isinstance(value, dict):
        return {k: _redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact_value(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    # Unknown objects: their text form could carry a secret, so log the scrubbed text.
    return redact(str(value))


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a caller passed with ``extra=`` (everything that is not a standard LogRecord attribute)."""
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD_ATTRS and not k.startswith("_")}


class RedactingFilter(logging.Filter):
    """Scrub message, args and extra fields in place. Attach to handlers so propagated records are covered."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        for key, value in extra_fields(record).items():
            setattr(record, key, _redact_value(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        # The traceback was rendered (and scrubbed) above; drop the live exception so nothing re-renders it raw.
        record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, extras, and ``exc`` when there is a traceback."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in extra_fields(record).items():
            if key not in payload:
                payload[key] = _redact_value(value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            payload["exc"] = record.exc_text
        if record.stack_info:
            payload["stack"] = record.stack_info
        return redact(json.dumps(payload, default=str, ensure_ascii=False))


class HumanFormatter(logging.Formatter):
    """``2025-01-01T10:00:00.000Z INFO  ncebot.partner_center  message  key=value …``"""

    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(f"{k}={_redact_value(v)}" for k, v in extra_fields(record).items())
        line = f"{_timestamp(record)} {record.levelname:<7} {record.name}  {record.getMessage()}"
        if extras:
            line += f"  {extras}"
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line += "\n" + record.exc_text
        if record.stack_info:
            line += "\n" + record.stack_info
        return redact(line)


_HANDLER_MARK = "_ncebot_handler"
NOISY_LOGGERS = ("httpx", "httpcore", "urllib3", "msal", "apscheduler", "alembic.runtime.plugins")


def _is_tty(stream: IO[str]) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (ValueError, OSError):  # closed stream
        return False


def configure_logging(
    level: str | int = "INFO", json_output: bool | None = None, stream: IO[str] | None = None
) -> logging.Handler:
    """Install (or replace) ncebot's handler on the root logger and return it.

    ``json_output=None`` picks JSON when ``stream`` is not a TTY. Calling it again replaces the previous
    ncebot handler rather than adding a second one.
    """
    target: IO[str] = stream if stream is not None else sys.stderr
    use_json = (not _is_tty(target)) if json_output is None else json_output
    handler = logging.StreamHandler(target)
    handler.setFormatter(JsonFormatter() if use_json else HumanFormatter())
    handler.addFilter(RedactingFilter())
    setattr(handler, _HANDLER_MARK, True)
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, _HANDLER_MARK, False):
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    # Libraries that log request lines with headers at DEBUG, or a line per job run (APScheduler: two lines per
    # tick of every job) and per plugin (Alembic): keep them quiet unless asked for explicitly.
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    return handler
