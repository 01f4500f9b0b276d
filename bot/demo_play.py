"""The demo's story: what the people of the demo workspace do, chapter by chapter, and what each step must
show. Every step goes through the real app's signed Slack HTTP interface; :class:`bot.demo_session.Session`
checks the effects and keeps the transcript."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from bot.demo_session import GUID, DemoFailure, Session
from bot.demo_world import ALICE, BOB, CAROL, CHANNELS, DAVE, WORK_CHANNEL


# ==================================================================================================== the session
def play(s: Session) -> None:
    from bot.slack import ids
    from sandbox import known

    sandbox = s.runtime.sandbox
    assert sandbox is not None
    today = datetime.now(UTC).date()

    s.chapter("Getting started")
    s.command(ALICE, "help")
    s.reply(ALICE, "/nce migrate", "the help lists /nce migrate")

    s.chapter("Checking eligibility")
    s.command(ALICE, f"validate {known.CONTOSO} {known.ELIGIBLE_SIMPLE} term=P1Y billing=monthly")
    s.reply(ALICE, "Eligible", "validate of an eligible subscription answers Eligible")
    ineligible_customer, ineligible_sub = known.INELIGIBLE_BY_CODE[5]  # no NCE offer for this product yet
    s.command(ALICE, f"validate {ineligible_customer} {ineligible_sub}")
    s.reply(ALICE, "Not eligible", "validate of an ineligible subscription answers Not eligible with its reasons")

    s.chapter("A migration, asked for and approved")
    s.command(ALICE, f"migrate {known.CONTOSO} {known.ELIGIBLE_SIMPLE} term=P1Y billing=monthly")
    s.reply(ALICE, "waiting for approval", "the requester is told the request waits for approval")
    first = s.new_request("migrate Microsoft 365 E5")
    s.stats.migrations_requested += 1
    if set(first.buttons) != {ids.APPROVE_ACTION, ids.REJECT_ACTION}:
        raise DemoFailure(f"the request message should offer Approve and Reject, it offers {first.buttons}")

    s.click(DAVE, first, ids.APPROVE_ACTION)
    s.reply(DAVE, "Only approvers", "someone who is not an approver is refused")
    s.click(ALICE, first, ids.APPROVE_ACTION)
    s.reply(ALICE, "another approver", "the requester cannot approve her own request (self-approval is off)")
    if "Approved by" in s.parent(first):
        raise DemoFailure("the request was approved by a click that should have been refused")

    s.click(BOB, first, ids.APPROVE_ACTION)
    s.wait("the request message is edited to 'Approved by @bob'",
           lambda: f"Approved by <@{BOB}>" in s.parent(first) and ids.APPROVE_ACTION not in s.parent(first))
    submitted = s.in_thread(first, rf"migration id `({GUID})`", "the thread says the migration was submitted")
    migration_id = submitted.group(1)

    s.chapter("A second migration, which Partner Center will fail")
    s.command(ALICE, f"migrate {known.CONTOSO} {known.FAILING_SUB}")
    s.reply(ALICE, "waiting for approval", "the second request waits for approval")
    second = s.new_request("migrate a subscription whose migration fails")
    s.stats.migrations_requested += 1
    s.click(CAROL, second, ids.APPROVE_ACTION)
    s.wait("the second request is approved by @carol", lambda: f"Approved by <@{CAROL}>" in s.parent(second))
    s.in_thread(second, r"migration id `", "the thread says the second migration was submitted")

    s.chapter("Partner Center works on them (sandbox clock fast-forwarded 4 minutes); ncebot follows up")
    sandbox.advance(240)
    s.in_thread(first, rf"completed at [^:]*:[^:]*: new NCE subscription `({GUID})`",
                "the thread of the first request shows the completion with the new NCE subscription id",
                timeout=30)
    s.stats.migrations_completed += 1
    s.wait("the first request shows it completed", lambda: "ompleted" in s.parent(first))
    s.in_thread(second, rf"failed: {known.FAILING_ERROR_CODE}",
                f"the thread of the second request shows the failure with code {known.FAILING_ERROR_CODE}",
                timeout=30)
    s.stats.migrations_failed += 1
    s.command(ALICE, f"status {known.CONTOSO} {migration_id}")
    s.reply(ALICE, "Completed", "/nce status shows the migration completed")

    s.chapter("A schedule: created, moved, cancelled — each approved")
    first_date, second_date = today + timedelta(days=14), today + timedelta(days=21)
    s.command(ALICE, f"schedule {known.FABRIKAM} {known.SCHEDULE_SUB} date={first_date.isoformat()}")
    s.reply(ALICE, "waiting for approval", "the schedule request waits for approval")
    create = s.new_request("schedule")
    s.click(CAROL, create, ids.APPROVE_ACTION)
    schedule_id = s.in_thread(create, rf"schedule `({GUID})` created", "the thread says the schedule was created"
                              ).group(1)
    s.stats.schedule_changes += 1

    s.command(ALICE, f"schedules {known.FABRIKAM} {known.SCHEDULE_SUB}")
    s.reply(ALICE, schedule_id, "/nce schedules lists the new schedule")

    s.command(ALICE, f"reschedule {known.FABRIKAM} {schedule_id} date={second_date.isoformat()}")
    s.reply(ALICE, "waiting for approval", "the reschedule request waits for approval")
    move = s.new_request("reschedule")
    s.click(BOB, move, ids.APPROVE_ACTION)
    s.in_thread(move, rf"schedule `{schedule_id}` updated", "the thread says the schedule was updated")
    # Tracking tells the schedule's own thread too (at its next poll): wait, so it does not land in a later step.
    s.in_thread(create, r"was changed by request", "the schedule's thread says it was moved")
    s.stats.schedule_changes += 1
    _expect_schedule(s, schedule_id, "target date moved", lambda sch: _day(sch.get("targetDate")) == second_date)

    s.command(ALICE, f"cancel {known.FABRIKAM} {schedule_id}")
    s.reply(ALICE, "waiting for approval", "the cancel request waits for approval")
    cancel = s.new_request("cancel schedule")
    s.click(CAROL, cancel, ids.APPROVE_ACTION)
    s.in_thread(cancel, rf"schedule `{schedule_id}` cancelled", "the thread says the schedule was cancelled")
    s.in_thread(create, r"was cancelled by request", "the schedule's thread says it was cancelled")
    s.stats.schedule_changes += 1
    _expect_schedule(s, schedule_id, "cancelled in Partner Center",
                     lambda sch: str(sch.get("status", "")).lower() == "cancelled")

    _check_with_csv(s)
    _bulk_rejected(s)

    s.chapter("Operations")
    _check_ops(s)
    s.collect()


def _check_with_csv(s: Session) -> None:
    """``/nce check``: every legacy subscription of a customer validated, the CSV posted in the channel."""
    from sandbox import known

    s.chapter("A whole customer checked, with its CSV report")
    before = set(s.standin.files)
    s.command(ALICE, f"check {known.CONTOSO}")
    s.reply(ALICE, "eligible", "/nce check answers with a summary of the eligible subscriptions")

    def posted() -> Any:
        return next((f for fid, f in s.standin.files.items() if fid not in before and WORK_CHANNEL in f.channels
                     and f.filename.endswith(".csv") and f.content), None)

    report = s.wait(f"the check's CSV is posted in #{CHANNELS[WORK_CHANNEL]}", posted)
    rows = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    if len(rows) < 2:
        raise DemoFailure(f"the check's CSV {report.filename} has a header and one row per subscription")
    s.stats.reports += 1
    s.say(f"  ({report.filename}: {len(rows) - 1} subscription(s); columns: {', '.join(rows[0][:6])}, …)")


def _bulk_rejected(s: Session) -> None:
    """A bulk request, seen on an approver's Home tab, then rejected with the Reject modal (a reason typed)."""
    from bot.slack import ids
    from sandbox import known

    s.chapter("A bulk request, seen on the Home tab, rejected with a reason (the Reject modal)")
    s.command(ALICE, f"bulk {known.WIDE_WORLD} term=P1Y billing=monthly")
    s.reply(ALICE, "waiting for approval", "the bulk request waits for approval")
    bulk = s.new_request("bulk migration of Wide World Importers")

    home = s.open_home(BOB)
    shown = [str((b.get("text") or {}).get("text", "")) for b in home.get("blocks") or [] if b.get("type") == "header"]
    buttons = [str(e.get("value")) for b in home.get("blocks") or [] if b.get("type") == "actions"
               for e in b.get("elements") or [] if e.get("action_id") == ids.APPROVE_ACTION]
    if bulk.request_id not in buttons:
        raise DemoFailure("@bob's Home tab lists the bulk request with its Approve and Reject buttons")
    s.say(f"  (@bob's Home tab: {' / '.join(shown)}; the bulk request with [Approve] [Reject])")

    s.click(CAROL, bulk, ids.REJECT_ACTION)
    modal = s.modal(CAROL, ids.REJECT_MODAL)
    labels = [str((b.get("label") or {}).get("text", "")) for b in modal.get("blocks") or []
              if b.get("type") == "input"]
    s.say(f"  (the modal asks for: {', '.join(labels)})")
    reason = "Wide World renews in March: migrate then, with the new price list"
    s.submit(CAROL, modal, {ids.REASON_BLOCK: {ids.REASON_INPUT: {"type": "plain_text_input", "value": reason}}},
             f"reason: {reason}")
    s.wait("the bulk request message is edited to 'Rejected by @carol' with the reason",
           lambda: f"<@{CAROL}>" in s.parent(bulk) and reason in s.parent(bulk)
           and ids.APPROVE_ACTION not in s.parent(bulk))
    s.in_thread(bulk, "rejected by", "the thread of the bulk request tells the requester it was rejected, and why")
    s.stats.rejections += 1


def _day(value: Any) -> date | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()
    except ValueError:
        return None


def _expect_schedule(s: Session, schedule_id: str, what: str, check: Callable[[dict[str, Any]], bool]) -> None:
    """Ask Partner Center (the sandbox) itself, through ncebot's own client, what became of the schedule."""
    from sandbox import known

    def current() -> bool:
        schedule = s.runtime.partner_center.get_schedule(known.FABRIKAM, schedule_id)
        return check(schedule.model_dump(mode="json", by_alias=True))

    s.wait(f"Partner Center has schedule {schedule_id} {what}", current)
    s.say(f"  (Partner Center confirms: schedule {schedule_id[:8]}… {what})")


def _check_ops(s: Session) -> None:
    server_url = s.requester.url.removesuffix("/slack/events")
    health = httpx.get(server_url + "/healthz", timeout=10)
    body = health.json()
    checks = body.get("checks") or {}
    names = ("database", "scheduler", "lease")
    if health.status_code != 200 or not all((checks.get(n) or {}).get("ok") for n in names):
        raise DemoFailure(f"GET /healthz should be 200 with database, scheduler and lease ok, got "
                          f"{health.status_code} {body}")
    metrics = httpx.get(server_url + "/metrics", timeout=10).text
    calls = sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
                if line.startswith("ncebot_partner_center_calls_total{"))
    if calls <= 0:
        raise DemoFailure("GET /metrics should count the Partner Center calls made")
    s.say(f"GET /healthz -> {health.status_code} "
          + ", ".join(f"{n}: {checks[n]['detail']}" for n in ("database", "scheduler", "lease")))
    s.say(f"GET /metrics -> {int(calls)} Partner Center calls counted in ncebot_partner_center_calls_total")
