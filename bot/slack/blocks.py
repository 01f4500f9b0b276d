"""Pure Block Kit builders: dicts in, dicts out, no Slack calls (tested without Slack)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Final

from bot.domain import SCHEDULE_CANCELLED, ChangeOptions, RequestKind, RequestState, RequestView, ValidationOutcome
from bot.slack import ids
from bot.slack.commands import BILLINGS, BY_NAME, OPTIONS_HELP, SUBCOMMANDS, TERMS

if TYPE_CHECKING:
    from bot.partner_center.models import Customer, MigrationSchedule, Subscription
    from bot.reports import CheckReport
    from bot.workflow import MigrationStatusView, SubscriptionNode

Block = dict[str, Any]

MAX_BLOCKS: Final = 50
MAX_OPTIONS: Final = 100
MAX_METADATA: Final = 3000
BULK_LISTED: Final = 20  # subscriptions named in a bulk request message; the rest are counted
BULK_EXCLUDED_LISTED: Final = 10
TOP_REASONS: Final = 5
MAX_HOME_BLOCKS: Final = 100  # Block Kit: at most 100 blocks in a modal or Home tab view
HOME_PENDING_LISTED: Final = 20  # pending requests listed on the Home tab (2 blocks each with buttons)
HOME_MINE_LISTED: Final = 10  # the viewer's recent requests listed on the Home tab

KIND_LABEL: Final = {
    RequestKind.MIGRATE: "Migrate now",
    RequestKind.SCHEDULE: "Schedule a migration",
    RequestKind.RESCHEDULE: "Change a migration schedule",
    RequestKind.CANCEL: "Cancel a migration schedule",
    RequestKind.BULK: "Bulk migration",
}
STATE_EMOJI: Final = {
    RequestState.PENDING: ":hourglass_flowing_sand:",
    RequestState.APPROVED: ":white_check_mark:",
    RequestState.SUBMITTED: ":outbox_tray:",
    RequestState.PROCESSING: ":gear:",
    RequestState.COMPLETED: ":tada:",
    RequestState.FAILED: ":x:",
    RequestState.REJECTED: ":no_entry_sign:",
    RequestState.EXPIRED: ":alarm_clock:",
}


# --- small helpers ----------------------------------------------------------------------------------------


def fmt_time(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "—"


def fmt_date(day: date | datetime | None) -> str:
    if day is None:
        return "—"
    return (day.date() if isinstance(day, datetime) else day).isoformat()


def plain(text: str, limit: int = 150) -> dict[str, Any]:
    return {"type": "plain_text", "text": _cut(text, limit), "emoji": True}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": _cut(text, 3000)}


def section(text: str, **extra: Any) -> Block:
    return {"type": "section", "text": mrkdwn(text), **extra}


def context(*texts: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(t) for t in texts[:10]]}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text)}


def button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    element: Block = {"type": "button", "text": plain(text, 75), "action_id": action_id, "value": value}
    if style:
        element["style"] = style
    return element


def option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text, 75), "value": value[:150]}


def users(user_ids: Iterable[str]) -> str:
    return ", ".join(f"<@{u}>" for u in user_ids) or "nobody"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cap(blocks: list[Block], note: str = "List truncated: more items than one Slack message can show.") -> list[Block]:
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    return [*blocks[: MAX_BLOCKS - 1], context(note)]


# --- help and plain replies -------------------------------------------------------------------------------


def help_text() -> str:
    lines = ["*ncebot* — move legacy CSP subscriptions to the New Commerce Experience, with approval."]
    for sub in SUBCOMMANDS:
        lines.append(f"`{sub.usage}` — {sub.summary}")
    lines.append(OPTIONS_HELP)
    lines.append("Ids are GUIDs. Leave out the ids to fill in a form instead.")
    return "\n".join(lines)


def help_blocks() -> list[Block]:
    lines = [f"`{s.usage}`\n      {s.summary}" for s in SUBCOMMANDS]
    half = len(lines) // 2 + 1
    return [
        header("ncebot: NCE migrations with approval"),
        section("\n".join(lines[:half])),
        section("\n".join(lines[half:])),
        context(OPTIONS_HELP, "Ids are GUIDs. Leave out the ids to fill in a form instead."),
    ]


def confirmation_text(request: RequestView, permalink: str | None) -> str:
    where = f"<{permalink}|the approval request>" if permalink else "the approval request"
    what = KIND_LABEL.get(request.kind, str(request.kind))
    if request.kind == RequestKind.BULK and request.subscription_name:
        what += f" of {request.subscription_name}"
    return (f":outbox_tray: Request `{request.id}` ({what}) is waiting for "
            f"approval. Follow {where}; progress goes into its thread.")


# --- the approval request message (SPEC §5) --------------------------------------------------------------


def _who_what(request: RequestView) -> list[str]:
    customer = f"`{request.customer_id}`"
    if request.customer_name:
        customer = f"{request.customer_name} ({customer})"
    fields = [f"*Customer*\n{customer}"]
    if request.subscription_id:
        sub = request.subscription_name or (request.validation.subscription_name if request.validation else None)
        fields.append(f"*Subscription*\n{sub} (`{request.subscription_id}`)" if sub else
                      f"*Subscription*\n`{request.subscription_id}`")
    if request.schedule_id and request.kind in (RequestKind.RESCHEDULE, RequestKind.CANCEL):
        fields.append(f"*Schedule*\n`{request.schedule_id}`")
    fields.append(f"*Requested by*\n<@{request.requester}>")
    if request.kind != RequestKind.CANCEL:
        fields.append(f"*Options*\n{request.options.describe()}")
    fields.append(f"*Request*\n`{request.id}`")
    return fields


def decision_line(request: RequestView) -> str:
    """The one line that says who decided what and when."""
    state = request.state
    when = fmt_time(request.decided_at)
    if state == RequestState.PENDING:
        got = len(request.votes)
        votes = f" so far: {users(v.approver for v in request.votes)}" if request.votes else ""
        return (f"{STATE_EMOJI[state]} Waiting for approval ({got} of {request.required_approvals}){votes}. "
                f"Expires {fmt_time(request.expires_at)}.")
    if state == RequestState.REJECTED:
        reason = f": {request.reject_reason}" if request.reject_reason else ""
        return f"{STATE_EMOJI[state]} Rejected by {users(request.decided_by)} at {when}{reason}"
    if state == RequestState.EXPIRED:
        expired_at = fmt_time(request.decided_at or request.expires_at)
        return f"{STATE_EMOJI[state]} Expired at {expired_at} without a decision"
    return f"{STATE_EMOJI[RequestState.APPROVED]} Approved by {users(request.decided_by)} at {when}"


def progress_line(request: RequestView) -> str | None:
    state = request.state
    if state == RequestState.APPROVED:
        return ":outbox_tray: Submitting to Partner Center…"
    if state == RequestState.SUBMITTED:
        return f"{STATE_EMOJI[state]} {submitted_line(request)}"
    if state == RequestState.PROCESSING:
        if not request.migration_id:
            return f"{STATE_EMOJI[state]} Partner Center is processing the migration"
        return f"{STATE_EMOJI[state]} Migration `{request.migration_id}` is processing"
    if state == RequestState.COMPLETED:
        if request.kind == RequestKind.CANCEL:
            return f"{STATE_EMOJI[state]} Completed: schedule `{request.schedule_id}` cancelled"
        if request.new_subscription_id:
            return f"{STATE_EMOJI[state]} Completed: new NCE subscription `{request.new_subscription_id}`"
        if request.schedule_id and request.kind in (RequestKind.SCHEDULE, RequestKind.RESCHEDULE):
            return f"{STATE_EMOJI[state]} Completed: schedule `{request.schedule_id}` is in place"
        return f"{STATE_EMOJI[state]} Completed"
    if state == RequestState.FAILED and request.error_code == SCHEDULE_CANCELLED:
        # SPEC has no "cancelled" request state: the request ends failed, but operators read "Cancelled".
        return f":no_entry_sign: Cancelled: schedule `{request.schedule_id}` {request.error_description or ''}".rstrip()
    if state == RequestState.FAILED:
        code = f"{request.error_code}: " if request.error_code else ""
        return f"{STATE_EMOJI[state]} Failed: {code}{request.error_description or 'no description'}"
    return None


def submitted_line(request: RequestView) -> str:
    """What Partner Center accepted, in words (the parent message once a request is submitted)."""
    kind = request.kind
    if kind == RequestKind.SCHEDULE:
        schedule = f" `{request.schedule_id}`" if request.schedule_id else ""
        return f"Schedule{schedule} created: migrates {request.options.migrates_when()}"
    if kind == RequestKind.RESCHEDULE:
        moved = request.options.on_renewal or request.options.target_date
        return f"Schedule `{request.schedule_id}` updated" + (f": migrates {request.options.migrates_when()}"
                                                              if moved else "")
    if kind == RequestKind.CANCEL:
        return f"Schedule `{request.schedule_id}` cancelled"
    if kind == RequestKind.BULK:
        return "Migrations submitted to Partner Center; their ids and progress are in the thread"
    if request.migration_id:
        return f"Migration `{request.migration_id}` submitted to Partner Center"
    return "Submitted to Partner Center"


def validation_summary(outcome: ValidationOutcome) -> str:
    if outcome.eligible:
        parts = [":white_check_mark: *Eligible*"]
        if outcome.catalog_item_id:
            parts.append(f"target catalog item `{outcome.catalog_item_id}`")
        if outcome.term or outcome.billing:
            parts.append(f"term {outcome.term or '—'}, billing {outcome.billing or '—'}")
        if outcome.end_date:
            parts.append(f"ends {fmt_date(outcome.end_date)}")
        if outcome.addon_ids:
            parts.append(f"{len(outcome.addon_ids)} add-on(s) go with it")
        return " · ".join(parts)
    reasons = "\n".join(
        f"• `{r.code}` {r.description}" + (f" (`{r.subscription_id}`)" if r.subscription_id else "")
        for r in outcome.reasons
    ) or "• no reason given"
    return f":no_entry: *Not eligible*\n{reasons}"


def request_text(request: RequestView) -> str:
    """Notification fallback text of the request message."""
    label = KIND_LABEL.get(request.kind, str(request.kind))
    if request.kind == RequestKind.BULK and request.subscription_name:
        label += f" of {request.subscription_name}"
    return f"NCE request {request.id}: {label} for customer {request.customer_id} — {decision_line(request)}"


def request_blocks(request: RequestView, items: Sequence[Mapping[str, Any]] | None = None) -> list[Block]:
    """The approval message. ``items``: a bulk request's stored items (``{"target", "name", "catalog_item_id",
    "body"}``), listed up to :data:`BULK_LISTED`; without them the count alone is shown."""
    label = KIND_LABEL.get(request.kind, str(request.kind))
    blocks: list[Block] = [
        header(f"NCE request: {label}"),
        {"type": "section", "fields": [mrkdwn(f) for f in _who_what(request)[:10]]},
    ]
    if request.kind == RequestKind.BULK:
        blocks += bulk_blocks(request, items)
    elif request.validation is not None:
        blocks.append(section(validation_summary(request.validation)))
    blocks.append(section(decision_line(request)))
    progress = progress_line(request)
    if progress:
        blocks.append(context(progress))
    if request.state == RequestState.PENDING:
        blocks.append({
            "type": "actions",
            "block_id": ids.DECISION_BLOCK,
            "elements": [
                button("Approve", ids.APPROVE_ACTION, request.id, "primary"),
                button("Reject", ids.REJECT_ACTION, request.id, "danger"),
            ],
        })
    return blocks


def validation_blocks(outcome: ValidationOutcome) -> list[Block]:
    name = outcome.subscription_name or outcome.subscription_id
    return [
        section(f"*Validation of* {name} (`{outcome.subscription_id}`) for customer `{outcome.customer_id}`"),
        section(validation_summary(outcome)),
    ]


# --- bulk requests and the check report ------------------------------------------------------------------


def _item_line(item: Mapping[str, Any]) -> str:
    target = str(item.get("target") or "?")
    name = _cut(str(item.get("name") or ""), 60)
    body = item.get("body")
    addons = (body.get("addOnMigrations") or []) if isinstance(body, Mapping) else []
    line = f"• *{name}* `{target}`" if name else f"• `{target}`"
    if item.get("catalog_item_id"):
        line += f" → `{item['catalog_item_id']}`"
    if addons:
        line += f" + {len(addons)} add-on(s)"
    return line


def _chunked(title: str, lines: Sequence[str], per_block: int = 10) -> list[Block]:
    """``title`` then ``lines`` in sections of ``per_block`` lines (a section's text is capped at 3000)."""
    blocks: list[Block] = []
    for start in range(0, max(len(lines), 1), per_block):
        chunk = "\n".join(lines[start:start + per_block])
        blocks.append(section(f"{title}\n{chunk}" if start == 0 else chunk))
    return blocks


def bulk_blocks(request: RequestView, items: Sequence[Mapping[str, Any]] | None) -> list[Block]:
    """What a bulk request migrates (first :data:`BULK_LISTED` named, the rest counted) and what it leaves out."""
    blocks: list[Block] = []
    if items is None:
        count = request.subscription_name or "Several subscriptions"
        blocks.append(section(f":package: *{count}* will be migrated now, each with its add-ons."))
    else:
        lines = [_item_line(item) for item in items[:BULK_LISTED]]
        if len(items) > BULK_LISTED:
            lines.append(f"…and {len(items) - BULK_LISTED} more")
        blocks += _chunked(f":package: *{len(items)} subscription(s) will be migrated now*, each with its add-ons:",
                           lines)
    by_sub: dict[str, list[str]] = {}
    for reason in request.validation.reasons if request.validation else ():
        by_sub.setdefault(reason.subscription_id or "?", []).append(
            f"`{reason.code}` {_cut(reason.description, 120)}")
    if by_sub:
        lines = [f"• `{sub}` — " + _cut("; ".join(dict.fromkeys(why)), 240)
                 for sub, why in list(by_sub.items())[:BULK_EXCLUDED_LISTED]]
        if len(by_sub) > BULK_EXCLUDED_LISTED:
            lines.append(f"…and {len(by_sub) - BULK_EXCLUDED_LISTED} more")
        blocks += _chunked(f":no_entry: *Left out ({len(by_sub)})*, not eligible now:", lines)
        blocks.append(context(f"`/nce check {request.customer_id}` gives the full eligibility report."))
    return blocks


def top_reasons(report: CheckReport, limit: int = TOP_REASONS) -> list[tuple[str, str, int]]:
    """(code, name, number of subscriptions) of the most frequent reasons among the rows that are not eligible."""
    counter: Counter[tuple[str, str]] = Counter()
    for row in report.rows:
        if row.eligible:
            continue
        for key in dict.fromkeys((str(r.code), r.name) for r in row.reasons):
            counter[key] += 1
    return [(code, name, n) for (code, name), n in counter.most_common(limit)]


def check_counts(report: CheckReport) -> str:
    text = f"{report.eligible} eligible · {report.ineligible} ineligible · {report.skipped} skipped"
    if report.errors:
        text += f" · {report.errors} could not be validated"
    return text


def check_blocks(report: CheckReport, note: str | None = None) -> list[Block]:
    """The ephemeral answer to ``/nce check``: counts, top reasons, and where the CSV went (``note``)."""
    who = f"{report.customer_name} (`{report.customer_id}`)" if report.customer_name else f"`{report.customer_id}`"
    blocks: list[Block] = [section(
        f":bar_chart: *Check of* {who}: {len(report.rows)} legacy subscription(s)\n*{check_counts(report)}*"
    )]
    top = top_reasons(report)
    if top:
        lines = [f"• `{code}`" + (f" {name}" if name != code else "") + f" — {n} subscription(s)"
                 for code, name, n in top]
        blocks.append(section("*Top reasons*\n" + "\n".join(lines)))
    for text in report.notes[:3]:
        blocks.append(context(text))
    if note:
        blocks.append(context(note))
    return blocks


def pending_blocks(requests: Sequence[RequestView]) -> list[Block]:
    if not requests:
        return [section("No requests are waiting for a decision.")]
    blocks: list[Block] = [section(f"*{len(requests)} request(s) waiting for a decision*")]
    for req in requests:
        sub = f" · subscription `{req.subscription_id}`" if req.subscription_id else ""
        blocks.append(section(
            f"`{req.id}` {KIND_LABEL.get(req.kind, req.kind)} · customer `{req.customer_id}`{sub}\n"
            f"by <@{req.requester}> · {len(req.votes)} of {req.required_approvals} approvals · "
            f"expires {fmt_time(req.expires_at)}"
        ))
    return _cap(blocks)


# --- App Home tab -----------------------------------------------------------------------------------------

HOME_HOW_TO: Final = ("help", "migrate", "schedule", "check", "bulk", "pending", "status")


def _customer_label(request: RequestView) -> str:
    return f"{request.customer_name} (`{request.customer_id}`)" if request.customer_name else f"`{request.customer_id}`"


def _target_label(request: RequestView) -> str:
    if request.kind == RequestKind.BULK:
        return f"{request.subscription_name}" if request.subscription_name else "all eligible subscriptions"
    if request.kind in (RequestKind.RESCHEDULE, RequestKind.CANCEL) and request.schedule_id:
        return f"schedule `{request.schedule_id}`"
    if request.subscription_id:
        name = request.subscription_name or (request.validation.subscription_name if request.validation else None)
        return f"{name} (`{request.subscription_id}`)" if name else f"`{request.subscription_id}`"
    return "—"


def _reference(request: RequestView) -> str:
    """Where to find the request: its message's channel, and ``/nce status`` once a migration exists."""
    where = f" in <#{request.message.channel}>" if request.message else ""
    status = (f" · `/nce status {request.customer_id} {request.migration_id}`"
              if request.migration_id else "")
    return f"request `{request.id}`{where}{status}"


def _pending_home_line(request: RequestView) -> str:
    label = KIND_LABEL.get(request.kind, str(request.kind))
    return (f"*{label}* · customer {_customer_label(request)}\n"
            f"Target: {_target_label(request)}\n"
            f"Requested by <@{request.requester}> · {len(request.votes)} of {request.required_approvals} approvals · "
            f"expires {fmt_time(request.expires_at)}\n"
            f"{_reference(request)}")


def _mine_home_line(request: RequestView) -> str:
    label = KIND_LABEL.get(request.kind, str(request.kind))
    state = f"{STATE_EMOJI.get(request.state, '')} *{request.state.value}*".strip()
    detail = progress_line(request) if request.state not in (RequestState.PENDING, RequestState.REJECTED,
                                                             RequestState.EXPIRED) else decision_line(request)
    return (f"{state} · {label} · customer {_customer_label(request)} · {_target_label(request)}\n"
            f"{_cut(detail or '', 300)}\n"
            f"Requested {fmt_time(request.created_at)} · {_reference(request)}")


def home_view(user: str, pending: Sequence[RequestView], mine: Sequence[RequestView], is_approver: bool, *,
              notice: str | None = None) -> Block:
    """The App Home tab of ``user``: how to use ncebot, the requests waiting for a decision (with Approve /
    Reject buttons for approvers, the same action ids and values as the approval message), and the user's own
    recent requests. ``notice``: the outcome of the user's last click on the tab, shown at the top.
    At most :data:`MAX_HOME_BLOCKS` blocks; long lists say how many were left out."""
    role = "You are an *approver*: decide here or in the approval channel." if is_approver else (
        "Approvers listed in `NCEBOT_APPROVERS` decide on requests; you can follow them here.")
    how_to = "\n".join(f"`{BY_NAME[name].usage}` — {BY_NAME[name].summary}" for name in HOME_HOW_TO)
    blocks: list[Block] = [
        header("ncebot: NCE migrations with approval"),
        context(f"Hello <@{user}>. {role}"),
        *([section(notice)] if notice else []),
        section("*How to*\n" + how_to),
        context("Leave out the ids to fill in a form instead. Every change waits for an approval; progress goes "
                "into the request's thread in the approval channel."),
        {"type": "divider"},
        header(f"Waiting for a decision ({len(pending)})"),
    ]
    if not pending:
        blocks.append(section("Nothing is waiting for a decision. :sparkles:"))
    for request in pending[:HOME_PENDING_LISTED]:
        blocks.append(section(_pending_home_line(request)))
        if is_approver:
            blocks.append({
                "type": "actions",
                # block ids must be unique within a view: one decision block per request
                "block_id": f"{ids.DECISION_BLOCK}:{request.id}",
                "elements": [
                    button("Approve", ids.APPROVE_ACTION, request.id, "primary"),
                    button("Reject", ids.REJECT_ACTION, request.id, "danger"),
                ],
            })
    if len(pending) > HOME_PENDING_LISTED:
        blocks.append(context(f"…and {len(pending) - HOME_PENDING_LISTED} more: run `/nce pending` for the full "
                              "list."))
    blocks += [{"type": "divider"}, header("Your recent requests")]
    if not mine:
        blocks.append(section("You have not asked for any change yet. Try `/nce migrate` or `/nce schedule`."))
    for request in mine[:HOME_MINE_LISTED]:
        blocks.append(section(_mine_home_line(request)))
    if len(mine) > HOME_MINE_LISTED:
        blocks.append(context(f"…and {len(mine) - HOME_MINE_LISTED} more."))
    if len(blocks) > MAX_HOME_BLOCKS:  # defensive: the caps above keep well under the limit
        blocks = [*blocks[: MAX_HOME_BLOCKS - 1], context("Some items are not shown: Slack allows 100 blocks.")]
    return {"type": "home", "blocks": blocks}


def home_error_view(user: str, text: str) -> Block:
    """A Home tab that says why the real one could not be built (Partner Center or database trouble)."""
    return {"type": "home", "blocks": [header("ncebot: NCE migrations with approval"),
                                       section(f"Hello <@{user}>. {text}"), context("Reopen this tab to retry.")]}


# --- subscriptions, schedules, status ---------------------------------------------------------------------


def _sub_line(sub: Subscription) -> str:
    bits = [f"qty {sub.quantity}" if sub.quantity is not None else None, sub.term_duration and str(sub.term_duration),
            sub.billing_cycle and str(sub.billing_cycle), f"ends {fmt_date(sub.term_end)}" if sub.term_end else None,
            str(sub.status) if sub.status else None]
    return f"*{sub.name}* `{sub.id}` — " + ", ".join(b for b in bits if b)


def subscriptions_blocks(customer_id: str, nodes: Sequence[SubscriptionNode]) -> list[Block]:
    if not nodes:
        return [section(f"Customer `{customer_id}` has no legacy subscriptions left to migrate.")]
    blocks: list[Block] = [section(f"*Legacy subscriptions of customer* `{customer_id}` ({len(nodes)} base)")]
    for node in nodes:
        lines = [_sub_line(node.subscription)]
        lines += ["      ↳ add-on " + _sub_line(addon.subscription) for addon in node.addons]
        blocks.append(section("\n".join(lines)))
    return _cap(blocks)


def schedules_blocks(customer_id: str, schedules: Sequence[MigrationSchedule]) -> list[Block]:
    if not schedules:
        return [section(f"Customer `{customer_id}` has no migration schedules.")]
    blocks: list[Block] = [section(f"*Migration schedules of customer* `{customer_id}`")]
    for sch in schedules:
        when = "on renewal" if sch.migrate_on_renewal else f"on {fmt_date(sch.target_date)}"
        status = str(sch.status) if sch.status else "unknown"
        text = (f"`{sch.id}` · subscription `{sch.current_subscription_id}` · {when} · *{status}*\n"
                f"term {sch.term_duration or '—'}, billing {sch.billing_cycle or '—'}, qty {sch.quantity or '—'}")
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
    return _cap(blocks)


def status_blocks(customer_id: str, status: MigrationStatusView) -> list[Block]:
    m = status.migration
    lines = [f"*Migration* `{m.id}` of customer `{customer_id}`: *{m.status or 'unknown'}*",
             f"subscription `{m.current_subscription_id}` · started {fmt_time(m.started_time)}"]
    if m.new_commerce_subscription_id:
        lines.append(f"new NCE subscription `{m.new_commerce_subscription_id}`")
    if m.error_code or m.error_description:
        lines.append(f":x: {m.error_code}: {m.error_description}")
    blocks: list[Block] = [section("\n".join(lines))]
    events = [f"• {fmt_time(e.created_time)} {e.event_name}" for e in status.events]
    blocks.append(section("*Events*\n" + ("\n".join(events) if events else "none yet")))
    return blocks


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


# --- modals -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModalMetadata:
    """What a modal remembers between renders: small ids only (private_metadata ≤ 3000 chars)."""

    kind: str
    channel: str | None = None
    customer: str | None = None
    customer_name: str | None = None
    subscription: str | None = None
    schedule: str | None = None
    request: str | None = None
    message_ts: str | None = None
    origin: str | None = None  # "home": opened from the App Home tab (refresh it afterwards)

    def dump(self) -> str:
        data = {k: v for k, v in asdict(self).items() if v is not None}
        text = json.dumps(data, separators=(",", ":"))
        if len(text) > MAX_METADATA:
            data.pop("customer_name", None)
            text = json.dumps(data, separators=(",", ":"))
        return text

    @classmethod
    def load(cls, text: str | None) -> ModalMetadata:
        try:
            data = json.loads(text or "{}")
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        fields = {k: (str(v) if v is not None else None) for k, v in data.items() if k in cls.__dataclass_fields__}
        fields.setdefault("kind", "")
        return cls(**fields)  # type: ignore[arg-type]


_TITLES: Final = {
    "validate": "Validate subscription",
    "migrate": "Migrate to NCE",
    "schedule": "Schedule migration",
    "reschedule": "Change schedule",
    "subscriptions": "Legacy subscriptions",
    "schedules": "Migration schedules",
    "status": "Migration status",
    "cancel": "Cancel schedule",
    "watch": "Watch customer",
    "unwatch": "Stop watching",
    "check": "Check customer",
    "bulk": "Bulk migration",
    "audit": "Audit trail",
}


def loading_modal(kind: str, metadata: ModalMetadata) -> Block:
    return {
        "type": "modal",
        "callback_id": ids.LOADING_MODAL,
        "title": plain(_TITLES.get(kind, "ncebot"), 24),
        "close": plain("Close"),
        "private_metadata": metadata.dump(),
        "blocks": [section(":hourglass_flowing_sand: Loading from Partner Center…")],
    }


def message_modal(title: str, text: str) -> Block:
    return {"type": "modal", "title": plain(title, 24), "close": plain("Close"), "blocks": [section(text)]}


def _customer_input(metadata: ModalMetadata, *, dispatch: bool) -> Block:
    element: Block = {
        "type": "external_select",
        "action_id": ids.CUSTOMER_SELECT,
        "placeholder": plain("Type a customer name or domain"),
        "min_query_length": 0,
    }
    if metadata.customer:
        element["initial_option"] = option(metadata.customer_name or metadata.customer, metadata.customer)
    return {"type": "input", "block_id": ids.CUSTOMER_BLOCK, "dispatch_action": dispatch,
            "label": plain("Customer"), "element": element}


def _select(block_id: str, action_id: str, label: str, choices: Sequence[tuple[str, str]], initial: str | None,
            *, optional: bool = True, hint: str | None = None) -> Block:
    element: Block = {"type": "static_select", "action_id": action_id, "placeholder": plain("Keep current"),
                      "options": [option(text, value) for text, value in choices[:MAX_OPTIONS]]}
    chosen = [option(t, v) for t, v in choices if v == initial]
    if chosen:
        element["initial_option"] = chosen[0]
    block: Block = {"type": "input", "block_id": block_id, "optional": optional, "label": plain(label),
                    "element": element}
    if hint:
        block["hint"] = plain(hint)
    return block


def _text_input(block_id: str, action_id: str, label: str, initial: str | None, *, optional: bool = True,
                multiline: bool = False, hint: str | None = None, placeholder: str | None = None) -> Block:
    element: Block = {"type": "plain_text_input", "action_id": action_id, "multiline": multiline}
    if initial:
        element["initial_value"] = initial
    if placeholder:
        element["placeholder"] = plain(placeholder)
    block: Block = {"type": "input", "block_id": block_id, "optional": optional, "label": plain(label),
                    "element": element}
    if hint:
        block["hint"] = plain(hint)
    return block


def _datepicker(block_id: str, action_id: str, label: str, initial: date | None, hint: str | None = None) -> Block:
    element: Block = {"type": "datepicker", "action_id": action_id}
    if initial:
        element["initial_date"] = initial.isoformat()
    block: Block = {"type": "input", "block_id": block_id, "optional": True, "label": plain(label), "element": element}
    if hint:
        block["hint"] = plain(hint)
    return block


def _checkbox(block_id: str, action_id: str, label: str, value: str, text: str, checked: bool) -> Block:
    opt = option(text, value)
    element: Block = {"type": "checkboxes", "action_id": action_id, "options": [opt]}
    if checked:
        element["initial_options"] = [opt]
    return {"type": "input", "block_id": block_id, "optional": True, "label": plain(label), "element": element}


def _option_blocks(options: ChangeOptions, *, scheduling: bool) -> list[Block]:
    blocks = []
    if scheduling:
        blocks += [
            _datepicker(ids.TARGET_DATE_BLOCK, ids.TARGET_DATE_INPUT, "Migrate on", options.target_date,
                        "Or tick 'on renewal' below."),
            _checkbox(ids.ON_RENEWAL_BLOCK, ids.ON_RENEWAL_INPUT, "On renewal", ids.FLAG_ON_RENEWAL,
                      "Migrate when the legacy term renews", options.on_renewal),
        ]
    blocks += [
        _select(ids.TERM_BLOCK, ids.TERM_INPUT, "Term", [(t, t) for t in TERMS], options.term),
        _select(ids.BILLING_BLOCK, ids.BILLING_INPUT, "Billing", [(b.capitalize(), b) for b in BILLINGS],
                options.billing),
        _text_input(ids.QUANTITY_BLOCK, ids.QUANTITY_INPUT, "Seats",
                    str(options.quantity) if options.quantity is not None else None, placeholder="Keep current"),
        _checkbox(ids.FLAGS_BLOCK, ids.FLAGS_INPUT, "Full term", ids.FLAG_FULL_TERM,
                  "Buy a full new term (instead of the remaining legacy term)", options.full_term),
        _datepicker(ids.END_DATE_BLOCK, ids.END_DATE_INPUT, "Custom term end date", options.end_date),
    ]
    return blocks


def change_modal(
    kind: str,
    metadata: ModalMetadata,
    *,
    subscriptions: Sequence[SubscriptionNode] | None = None,
    options: ChangeOptions | None = None,
    note: str | None = None,
) -> Block:
    """Validate / migrate / schedule form. ``subscriptions``: the chosen customer's legacy subscriptions."""
    options = options or ChangeOptions()
    blocks: list[Block] = [_customer_input(metadata, dispatch=True)]
    if note:
        blocks.append(context(note))
    if metadata.customer is None:
        blocks.append(context("Pick a customer to list its legacy subscriptions."))
    elif subscriptions is not None and not subscriptions:
        blocks.append(section(":information_source: This customer has no legacy subscriptions left to migrate."))
    elif subscriptions is not None:
        choices = [(f"{n.subscription.name} ({n.subscription.quantity or 0})", n.subscription.id)
                   for n in subscriptions]
        sub_block = _select(ids.SUBSCRIPTION_BLOCK, ids.SUBSCRIPTION_SELECT, "Legacy subscription", choices,
                            metadata.subscription, optional=False)
        sub_block["dispatch_action"] = True
        sub_block["element"]["placeholder"] = plain("Pick a subscription")
        blocks.append(sub_block)
        chosen = next((n for n in subscriptions if n.subscription.id == metadata.subscription), None)
        if chosen is not None and chosen.addons:
            addon_opts = [option(a.subscription.name, a.subscription.id) for a in chosen.addons[:MAX_OPTIONS]]
            selected = addon_opts if options.addons == "all" else (
                [] if options.addons == "none" else [o for o in addon_opts if o["value"] in options.addons])
            element: Block = {"type": "multi_static_select", "action_id": ids.ADDONS_INPUT, "options": addon_opts,
                              "placeholder": plain("No add-ons")}
            if selected:
                element["initial_options"] = selected
            blocks.append({"type": "input", "block_id": ids.ADDONS_BLOCK, "optional": True,
                           "label": plain("Add-ons migrated with it"), "element": element,
                           "hint": plain("All add-ons go with their base unless you remove them here.")})
        elif chosen is not None:
            blocks.append(context("This subscription has no add-ons."))
    blocks += _option_blocks(options, scheduling=kind == "schedule")
    callback = ids.SCHEDULE_MODAL if kind == "schedule" else ids.MIGRATE_MODAL
    return {
        "type": "modal",
        "callback_id": callback,
        "title": plain(_TITLES.get(kind, "ncebot"), 24),
        "submit": plain("Validate" if kind == "validate" else "Request approval", 24),
        "close": plain("Cancel"),
        "private_metadata": metadata.dump(),
        "blocks": blocks,
    }


def reschedule_modal(metadata: ModalMetadata, options: ChangeOptions | None = None) -> Block:
    options = options or ChangeOptions()
    blocks: list[Block] = [
        _customer_input(metadata, dispatch=False),
        _text_input(ids.SCHEDULE_ID_BLOCK, ids.SCHEDULE_ID_INPUT, "Schedule id", metadata.schedule, optional=False,
                    placeholder="0a1b2c3d-…"),
        *_option_blocks(options, scheduling=True),
    ]
    return {
        "type": "modal",
        "callback_id": ids.RESCHEDULE_MODAL,
        "title": plain(_TITLES["reschedule"], 24),
        "submit": plain("Request approval", 24),
        "close": plain("Cancel"),
        "private_metadata": metadata.dump(),
        "blocks": blocks,
    }


_LOOKUP_ID: Final = {"status": "Migration id", "cancel": "Schedule id"}


def lookup_modal(kind: str, metadata: ModalMetadata) -> Block:
    """Customer (+ schedule or migration id) for subscriptions, schedules, status, cancel, watch, unwatch."""
    blocks: list[Block] = [_customer_input(metadata, dispatch=False)]
    if kind in _LOOKUP_ID:
        initial = metadata.schedule if kind == "cancel" else None
        blocks.append(_text_input(ids.OBJECT_ID_BLOCK, ids.OBJECT_ID_INPUT, _LOOKUP_ID[kind], initial,
                                  optional=False, placeholder="0a1b2c3d-…"))
    submit = {"cancel": "Request approval", "bulk": "Request approval", "check": "Check", "watch": "Watch",
              "unwatch": "Stop watching"}.get(kind, "Show")
    return {
        "type": "modal",
        "callback_id": ids.LOOKUP_MODAL,
        "title": plain(_TITLES.get(kind, "ncebot"), 24),
        "submit": plain(submit, 24),
        "close": plain("Cancel"),
        "private_metadata": metadata.dump(),
        "blocks": blocks,
    }


def reject_modal(request: RequestView | None, metadata: ModalMetadata) -> Block:
    what = (f"Request `{request.id}`: {KIND_LABEL.get(request.kind, request.kind)} for customer "
            f"`{request.customer_id}`, by <@{request.requester}>") if request else f"Request `{metadata.request}`"
    return {
        "type": "modal",
        "callback_id": ids.REJECT_MODAL,
        "title": plain("Reject request", 24),
        "submit": plain("Reject", 24),
        "close": plain("Cancel"),
        "private_metadata": metadata.dump(),
        "blocks": [
            section(what),
            _text_input(ids.REASON_BLOCK, ids.REASON_INPUT, "Reason", None, optional=False, multiline=True,
                        hint="Shown in the request message and its thread."),
        ],
    }
