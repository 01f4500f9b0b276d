"""Structured logs and redaction of secrets."""

from __future__ import annotations

import io
import json
import logging
import ssl
from collections.abc import Iterator
from typing import Any

import pytest

from bot.logging_setup import (
    REDACTED,
    clear_registered_secrets,
    configure_logging,
    redact,
    register_secrets,
)

JWT = (
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJodHRwczovL2FwaS5wYXJ0bmVyY2VudGVyLm1pY3Jvc29mdC5jb20ifQ"
    ".c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU"
)
BOT_TOKEN = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx"
APP_TOKEN = "xapp-1-A0123456789-1234567890123-abcdef0123456789"
USER_TOKEN = "xoxp-1111-2222-3333-abcdefabcdef"
REGISTERED = "s3cr3t.Value~With~Odd~Chars"


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    clear_registered_secrets()


def _json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_json_lines_when_not_a_tty_with_extra_fields(root_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("DEBUG", stream=stream)
    logging.getLogger("ncebot.partner_center").info(
        "call %s -> %d",
        "list_customers",
        200,
        extra={"request_id": "req-1", "correlation_id": "cor-1", "endpoint": "list_customers", "status": 200,
               "duration_ms": 12.5},
    )
    [record] = _json_lines(stream)
    assert record["level"] == "INFO"
    assert record["logger"] == "ncebot.partner_center"
    assert record["msg"] == "call list_customers -> 200"
    assert record["request_id"] == "req-1" and record["correlation_id"] == "cor-1"
    assert record["status"] == 200 and record["duration_ms"] == 12.5 and record["endpoint"] == "list_customers"
    assert str(record["ts"]).endswith("Z")


def test_human_readable_on_a_tty(root_logging: None) -> None:
    stream = _Tty()
    configure_logging(stream=stream)
    logging.getLogger("ncebot.test").warning("hello %s", "world", extra={"request_id": "r-9"})
    text = stream.getvalue()
    assert "WARNING" in text and "ncebot.test" in text and "hello world" in text and "request_id=r-9" in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text.splitlines()[0])


def test_configure_twice_keeps_one_handler(root_logging: None) -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging(stream=first)
    configure_logging(stream=second)
    logging.getLogger("ncebot.x").info("once")
    assert first.getvalue() == ""
    assert len(_json_lines(second)) == 1


def test_secrets_never_reach_the_output(root_logging: None) -> None:
    stream = io.StringIO()
    configure_logging(stream=stream, json_output=True)
    register_secrets([REGISTERED, None, ""])
    log = logging.getLogger("ncebot.leaky")
    log.info("token %s and header %s", BOT_TOKEN, f"Authorization: Bearer {JWT}")
    log.info("form body grant_type=client_credentials&client_secret=%s&scope=x", "Zx8Q~abcdefghijklmnop")
    log.info("refresh", extra={"body": {"refresh_token": "0.AXoA-refresh-token-value", "nested": [APP_TOKEN]}})
    log.info("user token in extra", extra={"token": USER_TOKEN, "secret_value": REGISTERED})
    log.info("the configured secret is %s", REGISTERED)
    log.info("headers %s", {"Authorization": "Basic dXNlcjpwYXNz", "MS-RequestId": "keep-me"})
    try:
        raise RuntimeError(f"failed with {BOT_TOKEN}")
    except RuntimeError:
        log.exception("boom")
    out = stream.getvalue()
    for secret in (BOT_TOKEN, JWT, "Zx8Q~abcdefghijklmnop", "0.AXoA-refresh-token-value", APP_TOKEN, USER_TOKEN,
                   REGISTERED, "dXNlcjpwYXNz"):
        assert secret not in out, secret
    assert out.count(REDACTED) >= 8
    records = _json_lines(stream)
    assert len(records) == 7
    assert "keep-me" in out  # ordinary values survive
    assert "RuntimeError" in str(records[-1]["exc"])


def test_redaction_reaches_other_handlers_attached_to_the_root(root_logging: None) -> None:
    """The filter mutates the record on the ncebot handler; a later handler sees the scrubbed record."""
    stream, other = io.StringIO(), io.StringIO()
    configure_logging(stream=stream, json_output=True)
    extra_handler = logging.StreamHandler(other)
    logging.getLogger().addHandler(extra_handler)
    logging.getLogger("ncebot.y").info("Bearer %s", "abc.def-ghi")
    assert "abc.def-ghi" not in stream.getvalue()
    assert "abc.def-ghi" not in other.getvalue()


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        ("Authorization: Bearer abc123", "abc123"),
        ('{"authorization": "Bearer zzz.yyy"}', "zzz.yyy"),
        ("client_secret=hunter2hunter2", "hunter2hunter2"),
        ('"client_secret": "abc~def"', "abc~def"),
        ("refresh_token=0.ARo-xyz", "0.ARo-xyz"),
        (f"token {JWT} end", JWT),
        ("xoxb-1-2-3abc in text", "xoxb-1-2-3abc"),
        ("connecting to postgresql+psycopg://ncebot:pg-pass-word@db:5432/ncebot", "pg-pass-word"),
    ],
)
def test_redact_patterns(text: str, gone: str) -> None:
    scrubbed = redact(text)
    assert gone not in scrubbed
    assert REDACTED in scrubbed


def test_redact_leaves_ordinary_text_alone() -> None:
    text = "customer 4a1c4ba5-2d88-4d23-8a0e-5b0f4a3c4f31 migrated; request_id=abc status=200"
    assert redact(text) == text


def test_extra_secrets_argument_without_registration() -> None:
    assert redact("value=plain-secret-1", ["plain-secret-1"]) == f"value={REDACTED}"


def test_partner_center_client_logs_request_ids_but_never_the_bearer_token(
    root_logging: None, pc_sandbox: Any
) -> None:
    from bot.partner_center.client import CallRecord, build_partner_center_client
    from bot.settings import load_settings

    stream = io.StringIO()
    configure_logging("DEBUG", json_output=True, stream=stream)
    settings = load_settings({k: v for k, v in pc_sandbox.client_env().items() if k.startswith("PARTNER_CENTER")})
    calls: list[CallRecord] = []
    client = build_partner_center_client(
        settings, verify=ssl.create_default_context(cafile=pc_sandbox.ca_path), on_call=calls.append
    )
    customers = client.list_customers(page_size=50)
    assert customers
    # Log the way a careless caller might: the issued token inside a header dump and an exception text.
    with pc_sandbox.state.lock:
        issued = list(pc_sandbox.state.tokens)
    assert issued
    logging.getLogger("ncebot.partner_center").debug("headers %s", {"Authorization": f"Bearer {issued[0]}"})
    logging.getLogger("ncebot.partner_center").warning("retrying with Bearer %s", issued[0])

    out = stream.getvalue()
    for token in issued:
        assert token not in out
    assert pc_sandbox.client_secret not in out
    records = [r for r in _json_lines(stream) if r.get("endpoint") == "list_customers"]
    assert records, out
    request_ids = {c.request_id for c in calls}
    assert {r["request_id"] for r in records} <= request_ids and request_ids
    assert all(r["status"] == 200 and r["logger"] == "ncebot.partner_center" for r in records)
    assert all(isinstance(r["duration_ms"], int | float) and r["correlation_id"] for r in records)


def test_scheduler_and_alembic_chatter_stays_out_at_info(root_logging: None) -> None:
    stream = io.StringIO()
    configure_logging(stream=stream, json_output=True)
    logging.getLogger("apscheduler.executors.default").info('Running job "ncebot.drain_outbox"')
    logging.getLogger("alembic.runtime.plugins").info("setup plugin alembic.autogenerate.schemas")
    logging.getLogger("apscheduler.scheduler").warning("job missed its run time")
    logging.getLogger("ncebot.runtime").info("serving HTTP on port 3000")
    assert [r["msg"] for r in _json_lines(stream)] == ["job missed its run time", "serving HTTP on port 3000"]
