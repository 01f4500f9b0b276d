"""Starlette app: the Partner Center migration/customer/subscription routes, the Entra ID stand-in and the
``/_sandbox/*`` admin routes (no token needed: clock, faults, state, external migrations, reset)."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox import deadlines, entra, journal
from sandbox.errors import ApiError, bad_request
from sandbox.state import PC_AUDIENCE, SandboxState, ci, iso
from sandbox.webhooks import EVENTS, WebhookHub

log = logging.getLogger(__name__)


@dataclass
class Ctx:
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    request_id: str
    continuation: str | None


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


Handler = Callable[[Ctx], Reply]


def _error(exc: ApiError, headers: dict[str, str]) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


def build_app(state: SandboxState) -> Starlette:
    hub = WebhookHub(take_fault=state.take_fault, refresh=state.refresh)
    state.emit_hook = hub.emit
    def pc(path: str, method: str, name: str, handler: Handler, limit: str | None = None) -> Route:
        async def endpoint(request: Request) -> Response:
            request_id = request.headers.get("ms-requestid") or str(uuid.uuid4())
            headers = {
                "MS-RequestId": request_id,
                "MS-CorrelationId": request.headers.get("ms-correlationid") or str(uuid.uuid4()),
                "MS-CV": request.headers.get("ms-cv") or uuid.uuid4().hex[:22] + ".0",
            }
            auth = request.headers.get("authorization", "")
            token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
            info = state.tokens.get(token)
            if info is None or info.expires < time.time() or info.audience.rstrip("/") != PC_AUDIENCE:
                problem = "missing" if not token else "invalid, expired or issued for another audience"
                headers["WWW-Authenticate"] = (
                    'Bearer realm="api.partnercenter.microsoft.com", error="invalid_token", '
                    f'authorization_uri="{request.url.scheme}://{request.url.netloc}/{state.tenant_id}"'
                )
                return _error(ApiError(401, 800001, f"The partner token is {problem}."), headers)

            path_text = request.url.path
            faults = state.faults
            if faults.latency > 0 and (not faults.latency_path or faults.latency_path in path_text):
                await asyncio.sleep(faults.latency)
            if faults.create_latency > 0 and name == "create_migration":  # a route, not a path substring:
                with state.lock:  # validate, GET and schedules share the path's prefix
                    state.count("create_latency_held")  # shown in /_sandbox/state: creates that waited
                await asyncio.sleep(faults.create_latency)
            retry = state.injected_throttle(path_text)
            if retry is not None:
                return _throttled(retry, headers)
            status = state.injected_error(path_text)
            if status is not None:
                return _error(
                    ApiError(status, status, "The service is temporarily unavailable (injected fault)."), headers
                )

            query = {k.lower(): v for k, v in request.query_params.items()}
            body: Any = None
            if method in ("POST", "PUT", "PATCH"):
                raw = await request.body()
                if raw.strip():
                    try:
                        body = ci(json.loads(raw))
                    except (ValueError, UnicodeDecodeError):
                        return _error(bad_request("The request body is not valid JSON."), headers)
            ctx = Ctx(dict(request.path_params), query, body, request_id, request.headers.get("ms-continuationtoken"))
            journal.record(state, name, ctx.params, body)  # for tests: what was asked (bodies included)
            with state.lock:
                state.count(name)
                state.refresh()
                if limit is not None:
                    customer = ctx.params.get("customer", "").lower()
                    key = {"validate": f"validate:{customer}", "subscriptions": f"subscriptions:{customer}"}.get(
                        limit, limit
                    )
                    wait = state.limiter.hit(key, state.rate_limits[limit], state.clock.elapsed())
                    if wait is not None:
                        return _throttled(max(1, math.ceil(state.clock.to_real_seconds(wait))), headers)
                try:
                    reply = handler(ctx)
                except ApiError as exc:
                    return _error(exc, headers)
                except Exception:  # a sandbox bug must still answer Partner Center's error shape
                    log.exception("sandbox: %s %s failed", method, path_text)
                    return _error(ApiError(500, 500, "An unexpected error occurred in the sandbox."), headers)
            if reply.delay > 0:
                await asyncio.sleep(reply.delay)
            return JSONResponse(reply.body, status_code=reply.status, headers={**headers, **reply.headers})

        return Route(path, endpoint, methods=[method], name=name)

    # ------------------------------------------------------------------------------------------ handlers

    def seek_token(ctx: Ctx) -> str | None:
        """The continuation token of a ``seekOperation=next`` request (None for a first page)."""
        if ctx.query.get("seekoperation", "").lower() != "next":
            return None
        if not ctx.continuation:
            raise bad_request("seekOperation=next needs the MS-ContinuationToken header.")
        return ctx.continuation

    def list_customers(ctx: Ctx) -> Reply:
        try:
            size = int(ctx.query.get("size", "500"))
        except ValueError as exc:
            raise bad_request("size must be an integer.") from exc
        if not 1 <= size <= 500:
            raise bad_request("size must be between 1 and 500.")
        return Reply(200, state.list_customers(size, seek_token(ctx)))

    def get_customer(ctx: Ctx) -> Reply:
        return Reply(200, state.customer(ctx.params["customer"]).to_json())

    def list_subscriptions(ctx: Ctx) -> Reply:
        customer = state.customer(ctx.params["customer"])
        return Reply(200, state.list_subscriptions(customer, seek_token(ctx)))

    def get_subscription(ctx: Ctx) -> Reply:
        customer = state.customer(ctx.params["customer"])
        return Reply(200, state.subscription(customer, ctx.params["subscription"]).to_json())

    def patch_subscription(ctx: Ctx) -> Reply:
        status, body, _ = state.idempotent(
            "patch",
            ctx.request_id,
            lambda: (200, deadlines.patch_subscription(state, ctx.params["customer"], ctx.params["subscription"],
                                                       ctx.body)),
        )
        return Reply(status, body)

    def coterm_dates(ctx: Ctx) -> Reply:
        return Reply(200, deadlines.custom_term_end_dates(state, ctx.params["customer"], ctx.query))

    def list_addons(ctx: Ctx) -> Reply:
        customer = state.customer(ctx.params["customer"])
        sub = state.subscription(customer, ctx.params["subscription"])
        items = [s.to_json() for s in customer.subs.values() if s.parent == sub.id]
        return Reply(200, state.collection(items, f"/customers/{customer.id}/subscriptions/{sub.id}/addons"))

    def validate(ctx: Ctx) -> Reply:
        return Reply(201, state.validate(ctx.params["customer"], ctx.body))

    def create(ctx: Ctx) -> Reply:
        status, body, fresh = state.idempotent(
            "create",
            ctx.request_id,
            lambda: state.create_migration(ctx.params["customer"], ctx.body, ctx.request_id),
        )
        delay = state.take_commit_timeout() if fresh and status == 201 else 0.0
        return Reply(status, body, delay=delay)

    def get_migration(ctx: Ctx) -> Reply:
        return Reply(200, state.get_migration(ctx.params["customer"], ctx.params["migration"]))

    def query_migrations(ctx: Ctx) -> Reply:
        rows, token = state.query_migrations(ctx.query, ctx.continuation)
        return Reply(200, rows, headers={"MS-ContinuationToken": token} if token else {})

    def events(ctx: Ctx) -> Reply:
        return Reply(200, state.events(ctx.params["customer"], ctx.query))

    def create_schedule(ctx: Ctx) -> Reply:
        status, body, _ = state.idempotent(
            "schedule",
            ctx.request_id,
            lambda: state.create_schedule(ctx.params["customer"], ctx.body, ctx.request_id),
        )
        return Reply(status, body)

    def get_schedule(ctx: Ctx) -> Reply:
        return Reply(200, state.get_schedule(ctx.params["customer"], ctx.params["schedule"]))

    def list_schedules(ctx: Ctx) -> Reply:
        rows, token = state.list_schedules(ctx.query, ctx.continuation)
        return Reply(200, rows, headers={"MS-ContinuationToken": token} if token else {})

    def update_schedule(ctx: Ctx) -> Reply:
        status, body = state.update_schedule(ctx.params["customer"], ctx.params["schedule"], ctx.body)
        return Reply(status, body)

    def cancel_schedule(ctx: Ctx) -> Reply:
        return Reply(200, state.cancel_schedule(ctx.params["customer"], ctx.params["schedule"]))

    c = "/v1/customers/{customer}"
    mig = c + "/migrations/newcommerce"
    routes: list[Route] = [
        pc("/v1/customers", "GET", "list_customers", list_customers),
        pc(c, "GET", "get_customer", get_customer),
        pc(c + "/subscriptions", "GET", "list_subscriptions", list_subscriptions, "subscriptions"),
        # before {subscription}: the coterm helper's path segment is not a subscription id
        pc(c + "/subscriptions/customTermEndDates", "GET", "coterm_dates", coterm_dates, "subscriptions"),
        pc(c + "/subscriptions/{subscription}", "GET", "get_subscription", get_subscription, "subscriptions"),
        pc(c + "/subscriptions/{subscription}", "PATCH", "patch_subscription", patch_subscription, "subscriptions"),
        pc(c + "/subscriptions/{subscription}/addons", "GET", "list_addons", list_addons, "subscriptions"),
        pc(mig + "/validate", "POST", "validate", validate, "validate"),
        pc(mig + "/events", "GET", "events", events),
        pc(mig + "/schedules", "POST", "create_schedule", create_schedule),
        pc(mig + "/schedules/{schedule}", "GET", "get_schedule", get_schedule),
        pc(mig + "/schedules/{schedule}", "PUT", "update_schedule", update_schedule),
        pc(mig + "/schedules/{schedule}/cancel", "POST", "cancel_schedule", cancel_schedule),
        pc(mig, "POST", "create_migration", create, "create"),
        pc(mig + "/{migration}", "GET", "get_migration", get_migration),
        pc("/v1/migrations/newcommerce/schedules", "GET", "list_schedules", list_schedules),
        pc("/v1/migrations/newcommerce", "GET", "query_migrations", query_migrations),
    ]
    wh = "/webhooks/v1/registration"
    hooks: tuple[tuple[str, str, str, Callable[[Ctx], tuple[int, Any]]], ...] = (
        (wh, "GET", "get_webhook_registration", lambda ctx: hub.get_registration()),
        (wh, "POST", "create_webhook_registration", lambda ctx: hub.create_registration(ctx.body, state.now())),
        (wh, "PUT", "update_webhook_registration", lambda ctx: hub.update_registration(ctx.body, state.now())),
        (wh + "/events", "GET", "webhook_events", lambda ctx: (200, list(EVENTS))),
        (wh + "/validationEvents", "POST", "webhook_validation", lambda ctx: hub.validation_event()),
        (wh + "/validationEvents/{correlation}", "GET", "webhook_validation_status",
         lambda ctx: hub.validation_status(ctx.params["correlation"])),
    )
    def reply(call: Callable[[Ctx], tuple[int, Any]]) -> Handler:
        return lambda ctx: Reply(*call(ctx))

    routes += [pc(path, method, name, reply(call)) for path, method, name, call in hooks]

    async def certificate(request: Request) -> Response:
        data = hub.certificate_file(request.path_params["name"])
        if data is None:
            return JSONResponse({"code": 800004, "description": "not found"}, status_code=404)
        return Response(data, media_type="application/pkix-cert")

    routes.append(Route("/webhooks/cert/{name}", certificate, methods=["GET"]))

    # ------------------------------------------------------------------------------------------ admin

    async def admin_json(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw.strip():
            return {}
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise bad_request("The request body is not valid JSON.") from exc
        if not isinstance(data, dict):
            raise bad_request("The request body must be a JSON object.")
        return data

    def admin(path: str, methods: list[str], fn: Callable[[Request, dict[str, Any]], Any]) -> Route:
        async def endpoint(request: Request) -> Response:
            try:
                data = await admin_json(request) if request.method in ("POST", "PUT") else {}
                result = fn(request, data)
            except ApiError as exc:
                return JSONResponse(exc.body(), status_code=exc.status)
            except (TypeError, ValueError) as exc:
                return JSONResponse(bad_request(str(exc)).body(), status_code=400)
            if isinstance(result, Response):
                return result
            return JSONResponse(result)

        return Route(path, endpoint, methods=methods)

    def faults(request: Request, data: dict[str, Any]) -> Any:
        if request.method == "POST":
            state.set_faults(data)
        elif request.method == "DELETE":
            state.clear_faults()
        return state.faults.as_dict()

    def clock(request: Request, data: dict[str, Any]) -> Any:
        if request.method == "POST":
            seconds = data.get("advance", 0)
            if isinstance(seconds, bool) or not isinstance(seconds, int | float):
                raise bad_request("advance must be a number of sandbox seconds.")
            state.advance(float(seconds))
        return {"now": iso(state.now()), "timeScale": state.clock.time_scale, "elapsed": state.clock.elapsed()}

    def summary(request: Request, data: dict[str, Any]) -> Any:
        return state.summary()

    def external(request: Request, data: dict[str, Any]) -> Any:
        led = data.get("microsoftLed", True)
        if not isinstance(led, bool):
            raise bad_request("microsoftLed must be true or false.")
        body = state.external_migration(str(data.get("customerId", "")), str(data.get("subscriptionId", "")), led)
        return JSONResponse(body, status_code=201)

    def seed_schedule(request: Request, data: dict[str, Any]) -> Any:
        """A schedule with the id the caller gives (e.g. the ``Id`` of a BAM ``schedulemigrations.csv`` row), made
        by the same rules as ``POST …/schedules``; the body is that route's plus ``customerTenantId`` and ``id``."""
        body = ci(data)
        with state.lock:
            state.refresh()
            status, made = state.create_schedule(str(body.get("customertenantid", "")), body, None,
                                                 schedule_id=str(body.get("id", "")))
        return JSONResponse(made, status_code=status)

    def reset(request: Request, data: dict[str, Any]) -> Any:
        state.load()
        return state.summary()

    def expire_tokens(request: Request, data: dict[str, Any]) -> Any:
        with state.lock:
            count = len(state.tokens)
            state.tokens.clear()
        return {"expired": count}

    def serve_certificate(request: Request, data: dict[str, Any]) -> Any:
        name, pem = data.get("name"), data.get("pem")
        if not isinstance(name, str) or not name.isidentifier() or not isinstance(pem, str):
            raise bad_request("name (letters, digits, _) and pem (a PEM certificate) are required.")
        hub.served[name] = pem.encode()
        return {"url": f"{hub.base_url}/webhooks/cert/{name}"}

    def webhook_deliveries(request: Request, data: dict[str, Any]) -> Any:
        return {"registration": hub.registration, "deliveries": list(hub.deliveries)}

    routes += [
        admin("/_sandbox/webhooks/certificates", ["POST"], serve_certificate),
        admin("/_sandbox/webhooks/deliveries", ["GET"], webhook_deliveries),
        admin("/_sandbox/faults", ["GET", "POST", "DELETE"], faults),
        admin("/_sandbox/clock", ["GET", "POST"], clock),
        admin("/_sandbox/state", ["GET"], summary),
        admin("/_sandbox/external-migration", ["POST"], external),
        admin("/_sandbox/schedules", ["POST"], seed_schedule),
        admin("/_sandbox/reset", ["POST"], reset),
        admin("/_sandbox/tokens/expire", ["POST"], expire_tokens),
    ]
    routes += entra.build_routes(state)

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        code = {404: 800004, 405: 800005}.get(status, status)
        return JSONResponse(
            {
                "code": code,
                "description": f"{request.method} {request.url.path}: {status}",
                "data": [],
                "source": "PartnerFD",
            },
            status_code=status,
        )

    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found})
    app.state.webhooks = hub
    return app


def _throttled(retry_after: int, headers: dict[str, str]) -> JSONResponse:
    return JSONResponse(
        {"statusCode": 429, "message": f"Rate limit is exceeded. Try again in {retry_after} seconds."},
        status_code=429,
        headers={**headers, "Retry-After": str(retry_after)},
    )
