"""Synchronous Partner Center REST client for the NCE migration endpoints, customers and subscriptions.

Every logical call keeps one ``MS-RequestId`` and one ``MS-CorrelationId`` across all its attempts (Partner
Center's idempotency key, reused after timeouts), is paced by the client-side :class:`RateLimiter`, retried per
:class:`RetryPolicy`, logged one line per HTTP attempt and reported once to ``on_call`` as a :class:`CallRecord`.
"""

from __future__ import annotations

import json
import logging
import ssl
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from bot.partner_center.auth import PartnerCenterTokenProvider, TokenProvider, scope_for_base_url
from bot.partner_center.errors import PartnerCenterError, PartnerCenterUnavailable
from bot.partner_center.limiter import CREATE, SUBSCRIPTIONS, VALIDATE, Limit, RateLimiter, RateLimits
from bot.partner_center.models import (
    Customer,
    Migration,
    MigrationEvent,
    MigrationRequest,
    MigrationSchedule,
    MigrationScheduleRequest,
    MigrationValidation,
    Subscription,
    numeric_code,
)
from bot.partner_center.retry import RETRYABLE_EXCEPTIONS, RetryPolicy, Transient, is_retryable_status, retrying
from bot.partner_center.subscription_calls import SubscriptionCalls
from bot.partner_center.webhooks import REGISTRATION_PATH, ValidationResult, WebhookRegistration

if TYPE_CHECKING:
    from bot.settings import Settings

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


def _parse(model: type[M], data: Any) -> M:
    """Validate one item; a shape the models cannot take is a Partner Center error, not a crash."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(part) for part in err["loc"]) for err in exc.errors()[:5])
        raise PartnerCenterError(f"unexpected {model.__name__} in the answer (fields: {fields})") from None


def _q(segment: str) -> str:
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


class PartnerCenterClient(SubscriptionCalls):
    """Typed Partner Center calls. Thread-safe as long as ``http`` and ``token_provider`` are."""

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

    def __enter__(self) -> PartnerCenterClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- migrations ---------------------------------------------------------------------------------------

    def validate_migration(
        self,
        customer_id: str,
        body: MigrationRequest,
        *,
        request_id: str | None = None,
        correlation_id: str | None = None,
    ) -> MigrationValidation:
        response = self._call(
            "validate_migration",
            "POST",
            f"/v1/customers/{_q(customer_id)}/migrations/newcommerce/validate",
            body=body.to_api(),
            request_id=request_id,
            correlation_id=correlation_id,
            # GUIDs in any letter case name the same customer: one window per customer.
            limit=(VALIDATE, customer_id.strip().lower()),
        )
        return self._model(MigrationValidation, response)

    def create_migration(
        self,
        customer_id: str,
        body: MigrationRequest,
        *,
        request_id: str | None = None,
        correlation_id: str | None = None,
    ) -> Migration:
        response = self._call(
            "create_migration",
            "POST",
            f"/v1/customers/{_q(customer_id)}/migrations/newcommerce",
            body=body.to_api(),
            request_id=request_id,
            correlation_id=correlation_id,
            limit=(CREATE, self._partner_key),
        )
        return self._model(Migration, response)

    def get_migration(self, customer_id: str, migration_id: str) -> Migration:
        response = self._call(
            "get_migration", "GET", f"/v1/customers/{_q(customer_id)}/migrations/newcommerce/{_q(migration_id)}"
        )
        return self._model(Migration, response)

    def query_migrations(
        self,
        *,
        customer_id: str | None = None,
        current_subscription_id: str | None = None,
        external_reference_id: str | None = None,
        microsoft_led: bool | None = None,
        page_size: int | None = None,
    ) -> list[Migration]:
        params = self._filters(customer_id, current_subscription_id, external_reference_id, microsoft_led, page_size)
        items = self._paged("query_migrations", "/v1/migrations/newcommerce", params)
        return [_parse(Migration, item) for item in items]

    def get_migration_events(
        self,
        customer_id: str,
        *,
        migration_id: str | None = None,
        current_subscription_id: str | None = None,
    ) -> list[MigrationEvent]:
        if not migration_id and not current_subscription_id:
            raise ValueError("get_migration_events needs migration_id or current_subscription_id")
        # snake_case query names, as in the REST reference and the SDK (the docs table's PascalCase is wrong).
        params: dict[str, str] = {}
        if migration_id:
            params["migration_id"] = migration_id
        if current_subscription_id:
            params["current_subscription_id"] = current_subscription_id
        response = self._call(
            "get_migration_events",
            "GET",
            f"/v1/customers/{_q(customer_id)}/migrations/newcommerce/events",
            params=params,
        )
        return [_parse(MigrationEvent, item) for item in self._page(response).items]

    # --- schedules ----------------------------------------------------------------------------------------

    def create_schedule(
        self,
        customer_id: str,
        body: MigrationScheduleRequest,
        *,
        request_id: str | None = None,
        correlation_id: str | None = None,
    ) -> MigrationSchedule:
        self._check_schedule(body)
        response = self._call(
            "create_schedule",
            "POST",
            f"/v1/customers/{_q(customer_id)}/migrations/newcommerce/schedules",
            body=body.to_api(),
            request_id=request_id,
            correlation_id=correlation_id,
        )
        return self._model(MigrationSchedule, response)

    def get_schedule(self, customer_id: str, schedule_id: str) -> MigrationSchedule:
        response = self._call(
            "get_schedule",
            "GET",
            f"/v1/customers/{_q(customer_id)}/migrations/newcommerce/schedules/{_q(schedule_id)}",
        )
        return self._model(MigrationSchedule, response)

    def list_schedules(
        self,
        *,
        customer_id: str | None = None,
        current_subscription_id: str | None = None,
        external_reference_id: str | None = None,
        microsoft_led: bool | None = None,
        page_size: int | None = None,
    ) -> list[MigrationSchedule]:
        params = self._filters(customer_id, current_subscription_id, external_reference_id, microsoft_led, page_size)
        items = self._paged("list_schedules", "/v1/migrations/newcommerce/schedules", params)
        return [_parse(MigrationSchedule, item) for item in items]

    def update_schedule(
        self,
        customer_id: str,
        schedule_id: str,
        body: MigrationScheduleRequest,
        *,
        request_id: str | None = None,
        correlation_id: str | None = None,
    ) -> MigrationSchedule:
        self._check_schedule(body)
        if body.id is not None and body.id.lower() != schedule_id.lower():
            raise ValueError("body.id differs from schedule_id")
        # The API wants the whole object including its id (BAM does the same).
        payload = body.model_copy(update={"id": schedule_id}).to_api()
        response = self._call(
            "update_schedule",
            "PUT",
            f"/v1/customers/{_q(customer_id)}/migrations/newcommerce/schedules/{_q(schedule_id)}",
            body=payload,
            request_id=request_id,
            correlation_id=correlation_id,
        )
        return self._model(MigrationSchedule, response)

    def cancel_schedule(
        self,
        customer_id: str,
        schedule_id: str,
        *,
        request_id: str | None = None,
        correlation_id: str | None = None,
    ) -> MigrationSchedule:
        response = self._call(
            "cancel_schedule",
            "POST",
            f"/v1/customers/{_q(customer_id)}/migrations/newcommerce/schedules/{_q(schedule_id)}/cancel",
            request_id=request_id,
            correlation_id=correlation_id,
        )
        return self._model(MigrationSchedule, response)

    # --- customers and subscriptions ----------------------------------------------------------------------

    def list_customers(self, *, page_size: int = 500) -> list[Customer]:
        if page_size < 1:
            raise ValueError("page_size must be positive")
        items = self._paged("list_customers", "/v1/customers", {"size": str(page_size)}, seek=True)
        return [_parse(Customer, item) for item in items]

    def get_customer(self, customer_id: str) -> Customer:
        response = self._call("get_customer", "GET", f"/v1/customers/{_q(customer_id)}")
        return self._model(Customer, response)

    def list_subscriptions(self, customer_id: str) -> list[Subscription]:
        items = self._paged(
            "list_subscriptions",
            f"/v1/customers/{_q(customer_id)}/subscriptions",
            {},
            seek=True,
            limit=(SUBSCRIPTIONS, self._partner_key),
        )
        return [_parse(Subscription, item) for item in items]

    def get_subscription(self, customer_id: str, subscription_id: str) -> Subscription:
        response = self._call(
            "get_subscription",
            "GET",
            f"/v1/customers/{_q(customer_id)}/subscriptions/{_q(subscription_id)}",
            limit=(SUBSCRIPTIONS, self._partner_key),
        )
        return self._model(Subscription, response)

    def list_addons(self, customer_id: str, subscription_id: str) -> list[Subscription]:
        items = self._paged(
            "list_addons",
            f"/v1/customers/{_q(customer_id)}/subscriptions/{_q(subscription_id)}/addons",
            {},
            seek=True,
            limit=(SUBSCRIPTIONS, self._partner_key),
        )
        return [_parse(Subscription, item) for item in items]

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
        body = PartnerCenterClient._json(response)
        if body is None:
            return _Page([], None)
        if isinstance(body, list):
            return _Page(body, None)
        if isinstance(body, dict):
            items = body.get("items") or []
            token = body.get("continuationToken")
            return _Page(list(items), str(token) if token else None)
        raise PartnerCenterError("unexpected response shape", status_code=response.status_code)

    # --- webhook registration (SPEC §11) -------------------------------------------------------------------

    def get_webhook_registration(self) -> WebhookRegistration | None:
        """The partner's registration, None when there is none (404)."""
        try:
            response = self._call("get_webhook_registration", "GET", REGISTRATION_PATH)
        except PartnerCenterError as exc:
            if exc.status_code == 404:
                return None
            raise
        return WebhookRegistration.parse(self._json(response))

    def save_webhook_registration(self, url: str, events: Sequence[str], *, create: bool) -> WebhookRegistration:
        """POST a new registration (``create``) or PUT over the existing one."""
        response = self._call("create_webhook_registration" if create else "update_webhook_registration",
                              "POST" if create else "PUT", REGISTRATION_PATH,
                              body={"WebhookUrl": url, "WebhookEvents": list(events)})
        return WebhookRegistration.parse(self._json(response))

    def webhook_events(self) -> list[str]:
        response = self._call("webhook_events", "GET", REGISTRATION_PATH + "/events")
        return [str(e) for e in self._page(response).items]

    def send_webhook_validation(self) -> str:
        """Ask Partner Center to send a test event; its correlation id."""
        response = self._call("webhook_validation", "POST", REGISTRATION_PATH + "/validationEvents")
        body = self._json(response)
        found = {str(k).lower(): v for k, v in body.items()} if isinstance(body, dict) else {}
        return str(found.get("correlationid") or "")

    def webhook_validation_status(self, correlation_id: str) -> ValidationResult:
        response = self._call("webhook_validation_status", "GET",
                              f"{REGISTRATION_PATH}/validationEvents/{_q(correlation_id)}")
        return ValidationResult.parse(correlation_id, self._json(response))

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
        body = PartnerCenterClient._json(response)
        if not isinstance(body, dict):
            raise PartnerCenterError(
                f"expected a JSON object for {model.__name__}",
                status_code=response.status_code,
                request_id=response.request.headers.get("MS-RequestId"),
                correlation_id=response.request.headers.get("MS-CorrelationId"),
            )
        return _parse(model, body)

    @staticmethod
    def _check_schedule(body: MigrationScheduleRequest) -> None:
        has_date = body.target_date is not None
        on_renewal = body.migrate_on_renewal is True
        if has_date == on_renewal:
            raise ValueError("a schedule needs exactly one of target_date or migrate_on_renewal=True")

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


def tls_verify(verify: str | bool | None) -> ssl.SSLContext | bool:
    """httpx ``verify=`` from a CA bundle path or a bool (httpx 0.28 deprecates a path; an SSLContext is the form)."""
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    return True if verify is None else verify


def build_partner_center_client(
    settings: Settings,
    *,
    http: httpx.Client | None = None,
    verify: str | bool | None = None,
    on_call: Callable[[CallRecord], None] | None = None,
) -> PartnerCenterClient:
    """A client for the real Partner Center (or any stand-in at ``PARTNER_CENTER_BASE_URL``) from settings.

    App+User when ``PARTNER_CENTER_REFRESH_TOKEN`` is set, App-only otherwise. ``verify``: CA bundle path or
    bool for the httpx client built here (ignored when ``http`` is given). Raises ``SettingsError`` naming any
    missing credential.
    """
    from bot.settings import SettingsError

    missing = settings.missing_partner_center_credentials()
    if missing:
        raise SettingsError([f"{name}: missing (required)" for name in missing])
    assert settings.partner_center_tenant_id and settings.partner_center_client_id
    assert settings.partner_center_client_secret is not None
    owns_http = http is None
    if http is None:
        http = httpx.Client(
            timeout=httpx.Timeout(60.0, connect=10.0),
            verify=tls_verify(verify),
            headers={"User-Agent": "ncebot"},
        )
    tokens = PartnerCenterTokenProvider(
        tenant_id=settings.partner_center_tenant_id,
        client_id=settings.partner_center_client_id,
        client_secret=settings.partner_center_client_secret,
        refresh_token=settings.partner_center_refresh_token,
        http_client=http,
        authority_host=settings.partner_center_authority,
        scope=scope_for_base_url(settings.partner_center_base_url),
    )
    client = PartnerCenterClient(
        base_url=settings.partner_center_base_url,
        token_provider=tokens,
        http=http,
        # PARTNER_CENTER_CREATE_LIMIT / _VALIDATE_LIMIT (SPEC §3): Microsoft's documented limits unless changed.
        limiter=RateLimiter(RateLimits(
            validate=Limit(settings.validate_limit.calls, settings.validate_limit.window),
            create=Limit(settings.create_limit.calls, settings.create_limit.window),
        )),
        on_call=on_call,
        # Limits counted per partner tenant; one process serves one partner.
        partner_key=settings.partner_center_tenant_id,
    )
    client._owns_http = owns_http
    return client
