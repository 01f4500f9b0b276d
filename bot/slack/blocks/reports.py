"""Answers to the read-only commands: check, pending, subscriptions, schedules, status, the customer picker."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from bot.domain import RequestView
from bot.slack import ids
from bot.slack.blocks.common import (
    MAX_BLOCKS,
    MAX_OPTIONS,
    Block,
    button,
    cap,
    code,
    context,
    cut,
    esc,
    fmt_date,
    fmt_time,
    option,
    section,
    users,
)
from bot.slack.blocks.messages import KIND_LABEL

if TYPE_CHECKING:
    from bot.partner_center.models import Customer, MigrationSchedule, Subscription
    from bot.reports import CheckReport
    from bot.workflow import MigrationStatusView, SubscriptionNode

TOP_REASONS: Final = 5


def top_reasons(report: CheckReport, limit: int = TOP_REASONS) -> list[tuple[str, str, int]]:
    """(code, name, number of subscriptions) of the most frequent reasons among the rows that are not eligible."""
    counter: Counter[tuple[str, str]] = Counter()
    for row in report.rows:
        if row.eligible:
            continue
        for key in dict.fromkeys((str(r.code), r.name) for r in row.reasons):
            counter[key] += 1
    return [(reason, name, n) for (reason, name), n in counter.most_common(limit)]


def check_counts(report: CheckReport) -> str:
    text = f"{report.eligible} eligible · {report.ineligible} ineligible · {report.skipped} skipped"
    if report.errors:
        text += f" · {report.errors} could not be validated"
    return text


def check_blocks(report: CheckReport, note: str | None = None) -> list[Block]:
    """The ephemeral answer to ``/nce check``: counts, top reasons, and where the CSV went (``note``, mrkdwn)."""
    who = (f"{esc(report.customer_name)} ({code(report.customer_id)})" if report.customer_name
           else code(report.customer_id))
    blocks: list[Block] = [section(
        f":bar_chart: *Check of* {who}: {len(report.rows)} legacy subscription(s)\n*{check_counts(report)}*"
    )]
    top = top_reasons(report)
    if top:
        lines = [f"• {code(reason)}" + (f" {esc(name)}" if name != reason else "") + f" — {n} subscription(s)"
                 for reason, name, n in top]
        blocks.append(section("*Top reasons*\n" + "\n".join(lines)))
    for text in report.notes[:3]:
        blocks.append(context(esc(text)))
    if note:
        blocks.append(context(note))
    return blocks


def pending_blocks(requests: Sequence[RequestView]) -> list[Block]:
    if not requests:
        return [section("No requests are waiting for a decision.")]
    blocks: list[Block] = [section(f"*{len(requests)} request(s) waiting for a decision*")]
    for req in requests:
        customer = esc(req.customer_name) if req.customer_name else code(req.customer_id)
        sub = f" · {esc(req.subscription_name)}" if req.subscription_name else (
            f" · subscription {code(req.subscription_id)}" if req.subscription_id else "")
        blocks.append(section(
            f"*{KIND_LABEL.get(req.kind, req.kind)}* · {customer}{sub}\n"
            f"by {users([req.requester])} · {len(req.votes)} of {req.required_approvals} approvals · "
            f"expires {fmt_time(req.expires_at)}"
        ))
        blocks.append(context(f"Request {code(req.id)} · customer {code(req.customer_id)}"))
    return cap(blocks)


# --- subscriptions, schedules, status ---------------------------------------------------------------------


def _sub_line(sub: Subscription) -> str:
    bits = [f"qty {sub.quantity}" if sub.quantity is not None else None, sub.term_duration and str(sub.term_duration),
            sub.billing_cycle and str(sub.billing_cycle), f"ends {fmt_date(sub.term_end)}" if sub.term_end else None,
            str(sub.status) if sub.status else None]
    return f"*{esc(sub.name)}* {code(sub.id)} — " + esc(", ".join(b for b in bits if b))


def subscriptions_blocks(customer_id: str, nodes: Sequence[SubscriptionNode]) -> list[Block]:
    if not nodes:
        return [section(f"Customer {code(customer_id)} has no legacy subscriptions left to migrate.")]
    blocks: list[Block] = [section(f"*Legacy subscriptions of customer* {code(customer_id)} ({len(nodes)} base)")]
    shown = nodes[: MAX_BLOCKS - 2]  # the header, and the note when cut
    for node in shown:
        lines = [_sub_line(node.subscription)]
        lines += ["      ↳ add-on " + _sub_line(addon.subscription) for addon in node.addons]
        blocks.append(section(cut("\n".join(lines), 3000)))
    if len(shown) < len(nodes):  # SPEC §9: a cut list says so, with the totals and where the rest is
        blocks.append(context(f"showing {len(shown):,} of {len(nodes):,} base subscriptions — "
                              f"`/nce check {customer_id}` has them all in a CSV"))
    return blocks


def schedules_blocks(customer_id: str, schedules: Sequence[MigrationSchedule]) -> list[Block]:
    if not schedules:
        return [section(f"Customer {code(customer_id)} has no migration schedules.")]
    blocks: list[Block] = [section(f"*Migration schedules of customer* {code(customer_id)}")]
    for sch in schedules:
        when = "on renewal" if sch.migrate_on_renewal else f"on {fmt_date(sch.target_date)}"
        status = str(sch.status) if sch.status else "unknown"
        text = (f"{code(sch.id)} · subscription {code(sch.current_subscription_id)} · {when} · *{esc(status)}*\n"
                + esc(f"term {sch.term_duration or '—'}, billing {sch.billing_cycle or '—'}, "
                      f"qty {sch.quantity or '—'}"))
        blocks.append(section(text))
        if status.lower() == "created" and sch.id:
            value = f"{customer_id}|{sch.id}"
            blocks.append({
                "type": "actions",
                "block_id": f"ncebot_schedule_{sch.id}"[:255],
                "elements": [
                    button("Update", ids.SCHEDULE_UPDATE_ACTION, value),
                    button("Cancel", ids.SCHEDULE_CANCEL_ACTION, value, "danger"),
                ],
            })
    return cap(blocks)


def status_blocks(customer_id: str, status: MigrationStatusView) -> list[Block]:
    m = status.migration
    lines = [f"*Migration* {code(m.id)} of customer {code(customer_id)}: *{esc(m.status or 'unknown')}*",
             f"subscription {code(m.current_subscription_id)} · started {fmt_time(m.started_time)}"]
    if m.new_commerce_subscription_id:
        lines.append(f"new NCE subscription {code(m.new_commerce_subscription_id)}")
    if m.error_code or m.error_description:
        error = f"{code(m.error_code)}: " if m.error_code else ""
        lines.append(f":x: {error}{esc(m.error_description or 'no description')}")
    blocks: list[Block] = [section("\n".join(lines))]
    events = [f"• {fmt_time(e.created_time)} {esc(e.event_name)}" for e in status.events]
    blocks.append(section("*Events*\n" + ("\n".join(events) if events else "none yet")))
    return blocks


def subscription_options(nodes: Sequence[SubscriptionNode], query: str = "") -> list[dict[str, Any]]:
    """External-select options for the subscription picker: the customer's legacy base subscriptions whose name,
    offer or id contains ``query``, at most Slack's 100."""
    needle = query.strip().lower()
    found = []
    for node in nodes:
        sub = node.subscription
        if needle and needle not in " ".join((sub.name, sub.offer_name or "", sub.id)).lower():
            continue
        found.append(option(f"{sub.name} ({sub.quantity or 0})", sub.id))
        if len(found) >= MAX_OPTIONS:
            break
    return found


def customer_options(customers: Sequence[Customer], query: str = "") -> list[dict[str, Any]]:
    """External-select options for the customer picker, filtered by ``query`` (name, domain or id)."""
    needle = query.strip().lower()
    found = []
    for customer in customers:
        domain = customer.company_profile.domain if customer.company_profile else None
        haystack = " ".join(x for x in (customer.display_name, domain or "", customer.id) if x).lower()
        if needle and needle not in haystack:
            continue
        found.append(option(customer.display_name, customer.id))
        if len(found) >= MAX_OPTIONS:
            break
    return found


# --- the one-line answers of read-only commands (their text; the blocks above carry the detail) -------------------
def listing_subscriptions(customer_id: str) -> str:
    return (f":hourglass_flowing_sand: Listing the legacy subscriptions of customer `{customer_id}` "
            "(Partner Center gives them a page at a time)…")


def subscriptions_summary(count: int, customer_id: str) -> str:
    return f"{count} legacy subscription(s) of {customer_id}"


def validation_verdict(subscription_id: str, eligible: bool) -> str:
    return f"Subscription {subscription_id} is {'eligible' if eligible else 'not eligible'}"


def schedules_summary(count: int, customer_id: str) -> str:
    return f"{count} schedule(s) of {customer_id}"


def migration_summary(migration_id: str, status: object, *, microsoft_led: bool) -> str:
    who = "Microsoft-led migration" if microsoft_led else "Migration"
    return f"{who} {migration_id}: {esc(status)}"


def pending_summary(count: int) -> str:
    return f"{count} request(s) waiting for a decision"


def watching(customer_id: str) -> str:
    return f":eyes: Watching customer `{customer_id}`: migrations made outside ncebot will be announced."


def unwatched(customer_id: str) -> str:
    return f"Stopped watching customer `{customer_id}`."


# --- CSV files: /nce check, /nce check all, /nce audit ------------------------------------------------------------
_UPLOAD_PROBLEMS: Final = {
    "not_in_channel": "ncebot is not a member of this channel: `/invite @ncebot`, or run the command where it is",
    "channel_not_found": "ncebot cannot see this channel (private, or a DM with someone else): invite it first",
    "is_archived": "this channel is archived",
    "missing_scope": "ncebot lacks the files:write scope: reinstall the app from manifest.yml",
    "not_allowed_token_type": "ncebot's token cannot upload files",
}


def upload_problem(error: str) -> str:
    """Why Slack refused a file upload (``error``: Slack's error code) and what to do."""
    return f"{_UPLOAD_PROBLEMS[error]} (`{error}`)" if error in _UPLOAD_PROBLEMS else \
        f"Slack refused the upload: `{error}`"


def check_started(customer_id: str) -> str:
    return (f":hourglass_flowing_sand: Checking every legacy subscription of customer `{customer_id}` with "
            "Partner Center… the CSV report follows.")


def check_estimate(estimate: str) -> str:
    return ":hourglass_flowing_sand: Checking " + estimate + "."


def check_remaining(customer_id: str, estimate: str) -> str:
    return f":hourglass_flowing_sand: Checking customer `{customer_id}`: " + estimate + "."


def check_file_title(customer: str) -> str:
    return f"NCE check: {customer}"


CHECK_ALL_FILE_TITLE: Final = "NCE check: all customers"


def check_file_comment(user: str, summary: str) -> str:
    return f":bar_chart: <@{user}> ran `/nce check`: {summary}"


def check_all_file_comment(user: str, rows: int, customers: int) -> str:
    return f":bar_chart: <@{user}> ran `/nce check all`: {rows:,} subscriptions of {customers:,} customers."


def csv_posted(filename: str) -> str:
    return f":page_facing_up: `{filename}` is posted in this channel."


def csv_not_posted(problem: str) -> str:
    return f":warning: The CSV could not be posted here: {problem}."


def csv_needs_channel(command: str) -> str:
    return f":warning: No channel to post the CSV to: run `{command}` in a channel."


def check_done(summary: str, note: str) -> str:
    return f"{summary}. {note}"


def audit_scope(customer_id: str | None) -> str:
    return f"customer `{customer_id}`" if customer_id else "all customers"


def audit_file_title(scope: str) -> str:
    return f"ncebot audit trail: {scope.replace('`', '')}"


def audit_file_comment(scope: str, events: int) -> str:
    return f":lock: Audit trail of {scope}: {events} event(s). Sent only to you."


def audit_not_sent(problem: str) -> str:
    return (f":warning: The audit CSV could not be sent to you by direct message ({problem}). "
            "Nothing was posted in the channel.")


def audit_sent(scope: str, events: int, filename: str) -> str:
    return (f":lock: The audit trail of {scope} ({events} event(s)) is in your direct messages with ncebot "
            f"(`{filename}`). It is not posted in the channel.")
