"""``POST /partner-center/webhooks`` (issue #12): verified deliveries move requests within seconds; anything
that fails verification gets 401 and changes nothing (state, Slack), counted by reason in /metrics."""

from __future__ import annotations

import io
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization

from bot.domain import ChangeOptions, RequestKind, RequestState
from bot.tracking.scheduler import JOB_POLL_MIGRATIONS, JOB_POLL_SCHEDULES, JOB_POLL_WATCHED
from bot.webhooks.registration import main_args, register, run_webhooks
from sandbox import known
from sandbox.webhooks import ISSUER_PATH, mint_certificate, sandbox_root, sign, signed_headers
from tests.fixtures.slack import APPROVER, REQUESTER, wait_for
from tests.webhooks.conftest import WebhookEnv

COMPLETED = "new-commerce-migration-completed"
# The issue's goal is 2 s from completion to thread; the bound here is CI-sized (2 cores shared with PostgreSQL
# and other suites) and still two orders of magnitude below NCEBOT_POLL_INTERVAL=300.
WEBHOOK_BOUND = 10.0
NOTIFY = "CWEBHOOKNTF"


def _completed(texts: list[str], migration_id: str) -> list[str]:
    return [t for t in texts if f"<@{REQUESTER}>" in t and f"Migration `{migration_id}` completed" in t]


def test_signed_delivery_posts_the_completion_within_seconds_while_polling_is_slow(webhook_env: WebhookEnv) -> None:
    env = webhook_env
    assert env.runtime.tracking is not None and env.runtime.tracking.interval == timedelta(seconds=300)
    outcome = register(env.runtime.partner_center, env.url)
    assert outcome.action == "created"
    # The registration read at start and hourly: it points here, so polling becomes an hourly reconciliation.
    assert env.runtime.tracking.refresh_webhook_mode() is True
    assert env.runtime.tracking.interval == timedelta(seconds=3600)
    scheduler = env.runtime.tracking.scheduler
    assert scheduler is not None
    for job_id in (JOB_POLL_MIGRATIONS, JOB_POLL_SCHEDULES, JOB_POLL_WATCHED):
        assert scheduler.get_job(job_id).trigger.interval == timedelta(seconds=3600), job_id
    view = env.migrate()
    assert view.migration_id
    env.sandbox.advance(180)  # Partner Center completes the migration and sends new-commerce-migration-completed
    started = time.monotonic()
    texts = wait_for(lambda: _completed(env.thread_texts(view), view.migration_id or "?"), timeout=WEBHOOK_BOUND)
    elapsed = time.monotonic() - started
    assert len(texts) == 1, texts
    current = env.request(view)
    assert current.state is RequestState.COMPLETED and current.new_subscription_id
    assert current.new_subscription_id in texts[0]
    # The parent message was edited to the final state as well.
    message = current.message
    assert message is not None
    wait_for(lambda: current.new_subscription_id in json.dumps(env.standin.message(message.channel, message.ts).blocks),
             timeout=WEBHOOK_BOUND)
    deliveries = env.sandbox.webhooks.deliveries
    assert any(d["event"] == COMPLETED and d.get("status") == 200 for d in deliveries), deliveries
    print(f"completion reached the thread {elapsed:.2f} s after Partner Center finished")
    assert 'ncebot_webhook_accepted_total{event="new-commerce-migration-completed"}' in env.metrics()


def test_repeated_delivery_posts_nothing_twice(webhook_env: WebhookEnv) -> None:
    env = webhook_env
    view = env.migrate()
    env.sandbox.advance(180)
    body = env.event_body(COMPLETED, view.migration_id or "")
    hub = env.sandbox.webhooks
    headers = signed_headers(body, hub.identity().key, hub.cert_url())
    # The x-ms-signature form (SignatureTokenToMsSignatureHeader=true) is accepted too.
    alternative = {**{k: v for k, v in headers.items() if k != "Authorization"},
                   "x-ms-signature": headers["Authorization"]}
    for sent in (headers, alternative, headers):
        assert env.post(body, sent).status_code == 200
    wait_for(lambda: _completed(env.thread_texts(view), view.migration_id or "?"), timeout=WEBHOOK_BOUND)
    time.sleep(1.0)  # the repeats are handled on the webhook pool: give them the time to do harm, if they would
    for _ in range(2):
        assert env.post(body, headers).status_code == 200
    time.sleep(1.0)
    texts = env.thread_texts(view)
    assert len(_completed(texts, view.migration_id or "?")) == 1, texts
    assert sum("`MigrationCompleted`" in t for t in texts) == 1, texts
    assert env.request(view).state is RequestState.COMPLETED


def test_dropped_delivery_is_caught_by_reconciliation(webhook_env: WebhookEnv) -> None:
    env = webhook_env
    register(env.runtime.partner_center, env.url)
    env.sandbox.state.set_faults({"webhook_drop": 1})
    view = env.migrate()
    created = wait_for(lambda: [d for d in env.sandbox.webhooks.deliveries if d.get("dropped")], timeout=10)
    assert created[0]["event"] == "new-commerce-migration-created"
    env.sandbox.state.set_faults({"webhook_drop": 1})
    env.sandbox.advance(180)
    wait_for(lambda: len([d for d in env.sandbox.webhooks.deliveries if d.get("dropped")]) == 2, timeout=10)
    time.sleep(1.0)
    assert not _completed(env.thread_texts(view), view.migration_id or "?")  # nobody told ncebot
    assert env.runtime.tracking is not None
    env.runtime.tracking.tracker.poll_migrations()  # the (hourly) reconciliation
    texts = wait_for(lambda: _completed(env.thread_texts(view), view.migration_id or "?"), timeout=WEBHOOK_BOUND)
    assert len(texts) == 1 and env.request(view).state is RequestState.COMPLETED


def test_validation_event_round_trip(webhook_env: WebhookEnv) -> None:
    """``ncebot webhooks test``: Partner Center sends test-created, the receiver verifies it and answers 200."""
    env = webhook_env
    register(env.runtime.partner_center, env.url)
    out = io.StringIO()
    code = run_webhooks(main_args(["test"]), env.env, out, verify=env.sandbox.ca_path)
    printed = out.getvalue()
    assert code == 0, printed
    assert "validation event sent (correlation id " in printed
    assert f"completed: {env.url} answered 200" in printed and "ignored" in printed
    assert env.sandbox.webhooks.deliveries[-1]["event"] == "test-created"


def _issue(env: WebhookEnv, name: str, *, organisation: str = "Microsoft Corporation", expired: bool = False,
           foreign_root: bool = False) -> tuple[str, object]:
    """A leaf served by the sandbox under ``name``: its URL and private key."""
    identity = env.sandbox.webhooks.identity()
    issuer: tuple[object, object]
    if foreign_root:  # a self-made "Microsoft Corporation" CA nobody trusts
        root = mint_certificate("Fake Root", organisation="Microsoft Corporation", issuer=None, ca=True)
        issuer = mint_certificate("Fake Issuing CA", organisation="Microsoft Corporation", issuer=root, ca=True)
    elif organisation != "Microsoft Corporation":
        issuer = mint_certificate("Other Issuing CA", organisation=organisation, issuer=sandbox_root(), ca=True)
    else:
        issuer = (identity.intermediate, identity.intermediate_key)
    now = datetime.now(UTC)
    window = {"not_before": now - timedelta(days=30), "not_after": now - timedelta(days=1)} if expired else {}
    leaf, key = mint_certificate("pcnotifications.test", organisation="Microsoft Corporation",
                                 issuer=issuer, **window)  # type: ignore[arg-type]
    bundle = leaf.public_bytes(serialization.Encoding.PEM)
    if foreign_root or organisation != "Microsoft Corporation":
        bundle += issuer[0].public_bytes(serialization.Encoding.PEM)  # type: ignore[attr-defined]
    answer = httpx.post(env.sandbox.base_url + "/_sandbox/webhooks/certificates",
                        json={"name": name, "pem": bundle.decode()}, verify=env.sandbox.ssl_context())
    return answer.json()["url"], key


def test_every_unverifiable_delivery_is_refused_and_changes_nothing(webhook_env: WebhookEnv) -> None:
    env = webhook_env
    view = env.migrate()
    env.sandbox.advance(180)  # completed in Partner Center; no registration, so only forged news can arrive
    body = env.event_body(COMPLETED, view.migration_id or "")
    good = env.signed(body)
    hub = env.sandbox.webhooks
    other_key = mint_certificate("x", organisation="x", issuer=None)[1]
    expired_url, expired_key = _issue(env, "expired", expired=True)
    foreign_url, foreign_key = _issue(env, "foreign", foreign_root=True)
    contoso_url, contoso_key = _issue(env, "contoso", organisation="Contoso Ltd")
    reserialised = json.dumps(json.loads(body), indent=2).encode()
    tampered = body.replace(b"completed", b"completeD", 1)
    assert len(tampered) == len(body) and tampered != body

    def with_(headers: dict[str, str], **changes: str | None) -> dict[str, str]:
        out = {k: v for k, v in headers.items() if k not in changes}
        out.update({k: v for k, v in changes.items() if v is not None})
        return out

    def signed_by(key: object, url: str) -> dict[str, str]:
        return signed_headers(body, key, url)  # type: ignore[arg-type]

    cases: dict[str, tuple[bytes, dict[str, str], str]] = {
        "wrong key": (body, signed_by(other_key, hub.cert_url()), "bad_signature"),
        "tampered body": (tampered, good, "bad_signature"),
        "re-serialised JSON": (reserialised, good, "bad_signature"),
        "certificate on another host": (body, signed_by(hub.identity().key, hub.cert_url(wrong_host=True)),
                                        "certificate_url_not_allowed"),
        "http certificate URL": (body, with_(good, **{"X-MS-Certificate-Url": hub.cert_url().replace(
            "https://", "http://")}), "certificate_url_not_https"),
        "expired certificate": (body, signed_by(expired_key, expired_url), "certificate_expired"),
        "not chaining to the trust store": (body, signed_by(foreign_key, foreign_url), "untrusted_chain"),
        "wrong issuer organisation": (body, signed_by(contoso_key, contoso_url), "wrong_issuer"),
        "no signature": (body, with_(good, Authorization=None), "missing_signature"),
        "bearer instead of signature": (body, with_(good, Authorization="Bearer abc"), "malformed_signature"),
        "signature not base64": (body, with_(good, Authorization="Signature %%%not-base64%%%"),
                                 "malformed_signature"),
        "no algorithm": (body, with_(good, **{"X-MS-Signature-Algorithm": None}), "missing_algorithm"),
        "unknown algorithm": (body, with_(good, **{"X-MS-Signature-Algorithm": "rsa-sha1"}), "unknown_algorithm"),
        "no certificate URL": (body, with_(good, **{"X-MS-Certificate-Url": None}), "missing_certificate_url"),
        "certificate URL off the allowed port": (body, signed_by(hub.identity().key, hub.cert_url().replace(
            f":{env.sandbox.port}", ":1")), "certificate_url_not_allowed"),
        "issuer URL served as the leaf": (body, signed_by(hub.identity().key, env.sandbox.base_url + ISSUER_PATH),
                                          "wrong_issuer"),
    }
    before_state, before_slack = env.request(view).state, env.slack_writes()
    before_texts = env.thread_texts(view)
    for name, (sent, headers, reason) in cases.items():
        answer = env.post(sent, headers)
        assert answer.status_code == 401, (name, answer.status_code, answer.text)
        assert f'ncebot_webhook_rejected_total{{reason="{reason}"}}' in env.metrics(), (name, reason)
    time.sleep(1.0)  # anything wrongly accepted would now be fetching and posting
    assert env.request(view).state is before_state and before_state is not RequestState.COMPLETED
    assert env.thread_texts(view) == before_texts and env.slack_writes() == before_slack
    assert "webhook_accepted_total{" not in env.metrics()

    # The control: the same delivery, correctly signed, is accepted and does move the request.
    assert env.post(body, good).status_code == 200
    wait_for(lambda: _completed(env.thread_texts(view), view.migration_id or "?"), timeout=WEBHOOK_BOUND)


def test_oversized_body_is_refused_before_verification(webhook_env: WebhookEnv) -> None:
    env = webhook_env
    body = b"{" + b" " * 1_000_001 + b"}"
    assert env.post(body, env.signed(body)).status_code == 413


def test_signed_but_not_an_event_is_a_clear_400(webhook_env: WebhookEnv) -> None:
    env = webhook_env
    body = b"[1, 2, 3]"
    answer = env.post(body, env.signed(body))
    assert answer.status_code == 400 and "not a Partner Center event" in answer.text


def test_signature_helper_matches_the_header(webhook_env: WebhookEnv) -> None:
    """The sandbox signs exactly the bytes it sends (guards the negative cases above against a broken signer)."""
    env = webhook_env
    body = env.event_body(COMPLETED, "00000000-0000-0000-0000-000000000000")
    key = env.sandbox.webhooks.identity().key
    assert env.signed(body)["Authorization"] == f"Signature {sign(body, key)}"


def test_schedule_that_runs_and_fails_is_followed_from_deliveries_alone(webhook_env: WebhookEnv) -> None:
    """migration created (of ncebot's schedule) → failed → schedule failed: the request learns all of it from the
    deliveries, with polling at 300 s."""
    env = webhook_env
    register(env.runtime.partner_center, env.url)
    workflow = env.runtime.deps.workflow
    target = (env.sandbox.state.now() + timedelta(days=10)).date()
    view = workflow.request_change(kind=RequestKind.SCHEDULE, requester=REQUESTER, customer_id=known.FABRIKAM,
                                   subscription_id=known.SCHEDULE_FAILING_SUB,
                                   options=ChangeOptions(target_date=target))
    workflow.approve(view.id, APPROVER)
    view = env.submitted(view.id)
    assert view.schedule_id and view.state is RequestState.SUBMITTED
    env.drain()
    env.sandbox.advance(11 * 86400)  # the schedule runs, its migration fails, the schedule is marked Failed
    wait_for(lambda: env.request(view).state is RequestState.FAILED, timeout=WEBHOOK_BOUND)
    texts = wait_for(lambda: (t := env.thread_texts(view)) and any(":x: Migration" in x for x in t) and t,
                     timeout=WEBHOOK_BOUND)
    assert sum(f"Schedule `{view.schedule_id}` ran" in t for t in texts) == 1, texts
    current = env.request(view)
    assert current.migration_id and str(known.FAILING_ERROR_CODE) in (current.error_code or ""), current
    # This request's items only: over 11 sandbox days Microsoft also migrates other subscriptions whose terms end
    # (SPEC §10, Microsoft-led at term end + 1 day), and those deliveries come too.
    ours = (current.migration_id, view.schedule_id)
    events = [d["event"] for d in env.sandbox.webhooks.deliveries if any(i in d["resourceUri"] for i in ours)]
    assert events[-3:] == ["new-commerce-migration-created", "new-commerce-migration-failed",
                           "new-commerce-migration-schedule-failed"], events


def test_migration_made_outside_ncebot_goes_to_the_watchers(webhook_env_factory: Any) -> None:
    env = webhook_env_factory(NCEBOT_NOTIFY_CHANNEL=NOTIFY)
    register(env.runtime.partner_center, env.url)
    env.runtime.deps.workflow.watch(known.WIDE_WORLD, APPROVER)
    answer = httpx.post(env.sandbox.base_url + "/_sandbox/external-migration",
                        json={"customerId": known.WIDE_WORLD, "subscriptionId": known.EXTERNAL_SUB},
                        verify=env.sandbox.ssl_context())
    migration_id = answer.json()["id"]
    found = wait_for(lambda: [m.text for m in env.standin.messages(NOTIFY) if migration_id in m.text],
                     timeout=WEBHOOK_BOUND)
    assert len(found) == 1 and "Microsoft-led migration" in found[0] and "made outside ncebot" in found[0]


def test_unparsable_resource_reconciles_that_customer_at_once(webhook_env: WebhookEnv) -> None:
    env = webhook_env
    view = env.migrate()
    env.sandbox.advance(180)
    body = json.dumps({"EventName": COMPLETED, "ResourceUri": f"https://api.example/v9/customers/{known.CONTOSO}"
                       "/something-new", "ResourceName": "x", "AuditUri": None,
                       "ResourceChangeUtcDate": "2026-01-01T00:00:00Z"}).encode()
    before = env.sandbox.state.counts.get("query_migrations", 0)
    assert env.post(body, env.signed(body)).status_code == 200
    wait_for(lambda: _completed(env.thread_texts(view), view.migration_id or "?"), timeout=WEBHOOK_BOUND)
    assert env.sandbox.state.counts.get("query_migrations", 0) > before  # the customer's list, not a guess


def test_resource_without_a_customer_reconciles_everyone(webhook_env: WebhookEnv) -> None:
    env = webhook_env
    view = env.migrate()
    env.sandbox.advance(180)
    body = json.dumps({"EventName": COMPLETED, "ResourceUri": "urn:something-else",
                       "ResourceChangeUtcDate": "2026-01-01T00:00:00Z"}).encode()
    assert env.post(body, env.signed(body)).status_code == 200
    wait_for(lambda: _completed(env.thread_texts(view), view.migration_id or "?"), timeout=WEBHOOK_BOUND)


def test_socket_mode_ops_server_serves_the_webhook_too(webhook_env: WebhookEnv) -> None:
    """In Socket Mode only /healthz, /metrics and the webhook are served over HTTP (no /slack/events)."""
    env = webhook_env
    ops = env.runtime.http_server("127.0.0.1", 0, slack_events=False).start()
    try:
        view = env.migrate()
        env.sandbox.advance(180)
        body = env.event_body(COMPLETED, view.migration_id or "")
        assert env.http.post(ops.url + "/partner-center/webhooks", content=body).status_code == 401
        assert env.http.post(ops.url + "/slack/events", content=b"{}").status_code == 404
        answer = env.http.post(ops.url + "/partner-center/webhooks", content=body, headers=env.signed(body))
        assert answer.status_code == 200 and answer.json() == {"status": "accepted"}
        wait_for(lambda: _completed(env.thread_texts(view), view.migration_id or "?"), timeout=WEBHOOK_BOUND)
    finally:
        ops.stop()


def test_registration_is_read_at_start(webhook_env: WebhookEnv) -> None:
    env = webhook_env
    tracking = env.runtime.tracking
    assert tracking is not None and tracking.interval == timedelta(seconds=300)  # nothing registered yet
    register(env.runtime.partner_center, env.url)
    tracking.stop(release=False)
    tracking.start()  # a restart reads the registration at once, not an hour later
    wait_for(lambda: tracking.webhooks_active and tracking.interval == timedelta(seconds=3600), timeout=10)


def test_sandbox_faults_bad_signature_and_wrong_host_are_refused(webhook_env: WebhookEnv) -> None:
    env = webhook_env
    register(env.runtime.partner_center, env.url)
    hub = env.sandbox.webhooks
    env.sandbox.state.set_faults({"webhook_bad_signature": 1})
    view = env.migrate()
    created = wait_for(lambda: [d for d in hub.deliveries if d["event"] == "new-commerce-migration-created"])
    assert created[0]["status"] == 401
    env.sandbox.state.set_faults({"webhook_wrong_cert_host": 1})
    env.sandbox.advance(180)
    completed = wait_for(lambda: [d for d in hub.deliveries if d["event"] == COMPLETED])
    assert completed[0]["status"] == 401
    metrics = env.metrics()
    assert 'reason="bad_signature"' in metrics and 'reason="certificate_url_not_allowed"' in metrics
    time.sleep(1.0)
    assert not _completed(env.thread_texts(view), view.migration_id or "?")
    assert env.request(view).state is not RequestState.COMPLETED


def test_a_delivery_for_a_campaign_migration_moves_the_campaign_at_once(webhook_env: WebhookEnv) -> None:
    """A campaign's migrations are followed per customer by the campaign tracker: a delivery naming one of them
    reads that customer's list at once (polling is at 300 s here), and the campaign ends without waiting."""
    from bot.bam.models import BamKind, BamPlan, PlannedMigration, PlannedSubscription
    from bot.campaigns.model import CampaignSource

    env = webhook_env
    register(env.runtime.partner_center, env.url)
    assert env.runtime.tracking is not None and env.runtime.deps.campaigns is not None
    plan = BamPlan(kind=BamKind.MIGRATE, migrations=tuple(
        PlannedMigration(kind=BamKind.MIGRATE, base=PlannedSubscription(
            line=n + 2, customer_tenant_id=known.CONTOSO, subscription_id=sub))
        for n, sub in enumerate((known.ELIGIBLE_SIMPLE, known.ELIGIBLE_MONTHLY))))
    view = env.runtime.deps.campaigns.request(plan, requester=REQUESTER, source=CampaignSource.IMPORT)
    env.runtime.deps.workflow.approve(view.id, APPROVER)
    assert env.submitted(view.id).state is RequestState.PROCESSING  # both sent, both processing
    env.sandbox.advance(180)  # both migrations complete; Partner Center sends their deliveries
    wait_for(lambda: env.request(view).state is RequestState.COMPLETED, timeout=WEBHOOK_BOUND)
    assert env.runtime.deps.campaigns.progress(view.id).completed == 2  # followed by the campaign tracker
    message = env.request(view).message
    assert message is not None  # the parent follows through the outbox (drained every 30 s here, or when woken)
    wait_for(lambda: "2 of 2 completed" in json.dumps(env.standin.message(message.channel, message.ts).blocks),
             timeout=60)
