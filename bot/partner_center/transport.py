"""The one logical-call path of the Partner Center client: ids, limiter, retries, logging, paging, errors.

Every logical call keeps one ``MS-RequestId`` and one ``MS-CorrelationId`` across all its attempts (Partner
Center's idempotency key, reused after timeouts), is paced by the client-side :class:`RateLimiter`, retried per
:class:`RetryPolicy`, logged one line per HTTP attempt and reported once to ``on_call`` as a :class:`CallRecord`.
The endpoint groups (:mod:`.migration_calls`, :mod:`.subscription_calls`, :mod:`.webhook_calls`) subclass
:class:`CallCore`; :class:`bot.partner_center.client.PartnerCenterClient` combines them.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Self, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from bot.partner_center.auth import TokenProvider
from bot.partner_center.errors import PartnerCenterError, PartnerCenterUnavailable
from bot.partner_center.limiter import RateLimiter
from bot.partner_center.models import numeric_code
from bot.partner_center.retry import RETRYABLE_EXCEPTIONS, RetryPolicy, Transient, is_retryable_status, retrying

logger = logging.getLogger("ncebot.partner_center")

M = TypeVar("M", bound=BaseModel)
E = TypeVar("E", bound=PartnerCenterError)

CONTINUATION_HEADER = "MS-ContinuationToken"
# Guard against a server that keeps answering with new tokens forever.
MAX_PAGES = 10_000


@dataclass(frozen=True)
class CallRecord:
    """One logical call, for metrics: final status (None: no answer), attempts, 429s seen, retries made."""

    endpoint: str
    method: str
    status: int | None
    attempts: int
    throttled: int
    retried: int
    duration: float
    request_id: str
    correlation_id: str


@dataclass
class _Tally:
    """What one logical call did so far (for its CallRecord)."""

    attempts: int = 0
    throttled: int = 0
    retried: int = 0
    status: int | None = None


@dataclass
class _Page:
    items: list[Any]
    continuation: str | None


def parse_item(model: type[M], data: Any) -> M:
    """Validate one item; a shape the models cannot take is a Partner Center error, not a crash."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(part) for part in err["loc"]) for err in exc.errors()[:5])
        raise PartnerCenterError(f"unexpected {model.__name__} in the answer (fields: {fields})") from None


def quote_segment(segment: str) -> str:
    # Ids go into the path; quoting keeps a malformed id from changing the route.
    return quote(str(segment), safe="")


def _build_error(
    cls: type[E],
    response: httpx.Response,
    request_id: str,
    correlation_id: str,
    prefix: str = "",
) -> E:
    """Parse ``{code, description, data, source}``, the throttling ``{statusCode, message}``, or plain text."""
    status = response.status_code
    code: int | str | None = None
    description = ""
    data: list[Any] | None = None
    source: str | None = None
    try:
        body: Any = response.json() if response.content else None
    except (ValueError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict):
        raw_code = body.get("code", body.get("errorCode"))
        if isinstance(raw_code, bool):
            raw_code = None
        if isinstance(raw_code, int | str) and raw_code != "":
            code = numeric_code(raw_code)
        description = str(body.get("description") or body.get("message") or body.get("errorDescription") or "")
        raw_data = body.get("data")
        if isinstance(raw_data, list):
            data = raw_data
        elif raw_data is not None:
            data = [raw_data]
        raw_source = body.get("source")
        source = str(raw_source) if raw_source is not None else None
    elif response.content:
        description = response.text.strip()[:500]
    if not description:
        description = response.reason_phrase or f"HTTP {status}"
    return cls(
        prefix + description,
        status_code=status,
        code=code,
        request_id=request_id,
        correlation_id=correlation_id,
        data=data,
        source=source,
    )


class CallCore:
    """Transport, ids, retries and paging shared by every endpoint group. Thread-safe as long as ``http`` and
    ``token_provider`` are."""

    def __init__(
        self,
        *,
        base_url: str,
        token_provider: TokenProvider,
        http: httpx.Client,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        application_name: str = "ncebot",
        on_call: Callable[[CallRecord], None] | None = None,
        partner_key: str = "partner",
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._tokens = token_provider
        self._http = http
        self._limiter = limiter
        self._retry = retry
        self._sleep = sleep
        self._monotonic = monotonic
        self._application_name = application_name
        self._on_call = on_call
        self._partner_key = partner_key
        # Set by build_partner_center_client when it created the httpx client itself.
        self._owns_http = False

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def token_provider(self) -> TokenProvider:
        return self._tokens

    def close(self) -> None:
        """Close the httpx client if this client's factory created it (a caller's client is left alone)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- paging -------------------------------------------------------------------------------------------

    @staticmethod
    def _filters(
        customer_id: str | None,
        current_subscription_id: str | None,
        external_reference_id: str | None,
        microsoft_led: bool | None,
        page_size: int | None,
    ) -> dict[str, str]:
        if not (customer_id or current_subscription_id or external_reference_id):
            raise ValueError("give at least one of customer_id, current_subscription_id, external_reference_id")
        params: dict[str, str] = {}
        if customer_id:
            params["CustomerTenantId"] = customer_id
        if current_subscription_id:
            params["CurrentSubscriptionId"] = current_subscription_id
        if external_reference_id:
            params["ExternalReferenceId"] = external_reference_id
        if microsoft_led is not None:
            params["IsMicrosoftLed"] = "true" if microsoft_led else "false"
        if page_size is not None:
            if not 1 <= page_size <= 300:
                raise ValueError("page_size must be between 1 and 300")
            params["PageSize"] = str(page_size)
        return params

    def _paged(
        self,
        endpoint: str,
        path: str,
        params: dict[str, str],
        *,
        seek: bool = False,
        limit: tuple[str, str] | None = None,
    ) -> list[Any]:
        """Every page's items; each page is its own logical call.

        Query style (``seek=False``): the response header MS-ContinuationToken (else the body's) goes back as
        a request header. Collection style (``seek=True``): the body's continuationToken goes back as the
        request header, on the same URL plus ``seekOperation=next``.
        """
        items: list[Any] = []
        seen: set[str] = set()
        token: str | None = None
        while True:
            headers = {CONTINUATION_HEADER: token} if token else None
            query = {**params, "seekOperation": "next"} if token and seek else params
            response = self._call(endpoint, "GET", path, params=query or None, headers=headers, limit=limit)
            page = self._page(response)
            items.extend(page.items)
            token = page.continuation if seek else (response.headers.get(CONTINUATION_HEADER) or page.continuation)
            if not token:
                return items
            if token in seen or len(seen) + 1 >= MAX_PAGES:
                # A repeated token would loop forever; a partial list must not pass for a complete one.
                raise PartnerCenterError(f"{endpoint}: paging did not advance (continuation token repeated)")
            seen.add(token)

    @staticmethod
    def _page(response: httpx.Response) -> _Page:
        """Items of a JSON array or of a ``{items, continuationToken}`` envelope."""
        body = CallCore._json(response)
        if body is None:
            return _Page([], None)
        if isinstance(body, list):
            return _Page(body, None)
        if isinstance(body, dict):
            items = body.get("items") or []
            token = body.get("continuationToken")
            return _Page(list(items), str(token) if token else None)
        raise PartnerCenterError("unexpected response shape", status_code=response.status_code)

    # --- transport ----------------------------------------------------------------------------------------

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        if not response.content:
            return None
        try:
            return response.json()
        except (ValueError, UnicodeDecodeError):
            raise PartnerCenterError(
                "response is not JSON",
                status_code=response.status_code,
                request_id=response.request.headers.get("MS-RequestId"),
                correlation_id=response.request.headers.get("MS-CorrelationId"),
            ) from None

    @staticmethod
    def _model(model: type[M], response: httpx.Response) -> M:
        body = CallCore._json(response)
        if not isinstance(body, dict):
            raise PartnerCenterError(
                f"expected a JSON object for {model.__name__}",
                status_code=response.status_code,
                request_id=response.request.headers.get("MS-RequestId"),
                correlation_id=response.request.headers.get("MS-CorrelationId"),
            )
        return parse_item(model, body)

    def _call(
        self,
        endpoint: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: dict[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        request_id: str | None = None,
        correlation_id: str | None = None,
        limit: tuple[str, str] | None = None,
    ) -> httpx.Response:
        """One logical call: same MS-RequestId/MS-CorrelationId on every attempt, retried per the policy.

        ``request_id`` / ``correlation_id``: the caller's own ids (persisted before the call, so that the audit
        trail names them whether the call succeeds or fails); fresh ones otherwise.
        """
        request_id = request_id or str(uuid.uuid4())
        correlation_id = correlation_id or str(uuid.uuid4())
        content = json.dumps(body, separators=(",", ":")).encode() if body is not None else None
        url = self._base_url + path
        started = self._monotonic()
        tally = _Tally()
        reauthenticated = False

        def attempt() -> httpx.Response:
            nonlocal reauthenticated
            tally.attempts += 1
            admission = None
            if self._limiter is not None and limit is not None:
                admission, _ = self._limiter.admit(*limit)
            request_headers = {
                "Authorization": f"Bearer {self._tokens.token()}",
                "Accept": "application/json",
                "MS-RequestId": request_id,
                "MS-CorrelationId": correlation_id,
                "MS-PartnerCenter-Application": self._application_name,
            }
            if content is not None:
                request_headers["Content-Type"] = "application/json"
            if headers:
                request_headers.update(headers)
            attempt_started = self._monotonic()
            error: Exception | None = None
            response: httpx.Response | None = None
            try:
                response = self._http.request(method, url, params=params, content=content, headers=request_headers)
            except RETRYABLE_EXCEPTIONS as exc:
                error = exc
            except httpx.HTTPError as exc:
                # Not transient (bad URL, protocol misuse): one error family for callers, no retry.
                raise PartnerCenterError(
                    f"request failed: {type(exc).__name__}",
                    request_id=request_id,
                    correlation_id=correlation_id,
                ) from exc
            finally:
                if admission is not None:
                    admission.done()  # count the window from the answer: the server stamped it before then
            tally.status = response.status_code if response is not None else None
            self._log_attempt(
                endpoint, method, path, tally.status, tally.attempts, attempt_started, request_id, correlation_id,
                error,
            )
            if response is None:
                raise Transient(None, error)
            if 200 <= response.status_code < 300:
                return response
            if response.status_code == 401 and not reauthenticated:
                invalidate = getattr(self._tokens, "invalidate", None)
                if callable(invalidate):
                    # A token revoked or expired early: one fresh token, one more try.
                    invalidate()
                    reauthenticated = True
                    raise Transient(response, reauth=True)
            if response.status_code == 429:
                tally.throttled += 1
            if not is_retryable_status(response.status_code):
                raise _build_error(PartnerCenterError, response, request_id, correlation_id)
            raise Transient(response)

        def count_retry() -> None:
            tally.retried += 1

        try:
            for each in retrying(self._retry, sleep=self._sleep, elapsed=lambda: self._monotonic() - started,
                                 on_retry=count_retry):
                with each:
                    return attempt()
            raise AssertionError("unreachable: the retry loop returns or raises")  # pragma: no cover
        except Transient as last:  # the loop gave up
            raise self._unavailable(last.response, last.error, request_id, correlation_id, tally.attempts) from None
        finally:
            if self._on_call is not None:
                record = CallRecord(
                    endpoint=endpoint,
                    method=method,
                    status=tally.status,
                    attempts=tally.attempts,
                    throttled=tally.throttled,
                    retried=tally.retried,
                    duration=self._monotonic() - started,
                    request_id=request_id,
                    correlation_id=correlation_id,
                )
                try:
                    self._on_call(record)
                except Exception:  # metrics must never break a call
                    logger.exception("on_call hook failed")

    @staticmethod
    def _unavailable(
        response: httpx.Response | None,
        error: Exception | None,
        request_id: str,
        correlation_id: str,
        attempts: int,
    ) -> PartnerCenterUnavailable:
        prefix = f"gave up after {attempts} attempt(s): "
        if response is not None:
            return _build_error(PartnerCenterUnavailable, response, request_id, correlation_id, prefix)
        return PartnerCenterUnavailable(
            f"{prefix}{type(error).__name__ if error else 'no answer'}",
            request_id=request_id,
            correlation_id=correlation_id,
        )

    def _log_attempt(
        self,
        endpoint: str,
        method: str,
        path: str,
        status: int | None,
        attempt: int,
        attempt_started: float,
        request_id: str,
        correlation_id: str,
        error: Exception | None,
    ) -> None:
        # Path only: no query string, and never headers (the bearer token lives there).
        duration_ms = round((self._monotonic() - attempt_started) * 1000, 1)
        outcome = str(status) if status is not None else type(error).__name__ if error else "-"
        logger.info(
            "partner center %s %s %s -> %s (attempt %d, %.1f ms)",
            endpoint,
            method,
            path,
            outcome,
            attempt,
            duration_ms,
            extra={
                "method": method,
                "endpoint": endpoint,
                "path": path,
                "status": status,
                "attempt": attempt,
                "duration_ms": duration_ms,
                "request_id": request_id,
                "correlation_id": correlation_id,
                "error": type(error).__name__ if error else None,
            },
        )
