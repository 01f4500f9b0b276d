"""Bounded request bodies for every POST endpoint we serve (``/slack/events``, ``/partner-center/webhooks``).

Starlette's ``request.body()`` buffers whatever the client sends. Here a declared ``Content-Length`` over the limit
is refused before a byte is read, and the stream (chunked uploads too) is read with a running total, so no more than
``limit`` bytes are ever held. Hand-written because the check must happen before parsing and neither Starlette nor
uvicorn offers a per-route body limit.
"""

from __future__ import annotations

from starlette.requests import Request

MAX_BODY_BYTES = 1_000_000


class BodyTooLarge(Exception):
    """The request body is (or declares to be) larger than the limit: answer 413."""


async def read_limited_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The raw body, at most ``limit`` bytes; :class:`BodyTooLarge` as soon as it is known to be larger."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isascii() or not declared.isdigit() or int(declared) > limit):
        raise BodyTooLarge
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)
