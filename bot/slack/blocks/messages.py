"""The approval request message (SPEC §5) and the replies around it: help, confirmation, validation.

The header carries the state ("Approved — migrating", "Completed", "Rejected", …); the validation result shows
only while the request is pending; options read in words; ids sit in the context line; the approvers are
mentioned while a decision is awaited.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from bot.domain import SCHEDULE_CANCELLED, RequestKind, RequestState, RequestView, ValidationOutcome
from bot.slack import ids
from bot.slack.blocks.common import (
    APP_TITLE,
    Block,
    button,
    code,
    context,
    cut,
    esc,
    fmt_date,
    fmt_time,
    header,
    mrkdwn,
    options_in_words,
    section,
    users,
)
from bot.slack.commands import OPTIONS_HELP, SUBCOMMANDS

BULK_LISTED: Final = 20  # subscriptions named in a bulk request message; the rest are counted
BULK_EXCLUDED_LISTED: Final = 10

KIND_LABEL: Final = {
    RequestKind.MIGRATE: "Migrate now",
    RequestKind.SCHEDULE: "Schedule a migration",
    RequestKind.RESCHEDULE: "Change a migration schedule",
    RequestKind.CANCEL: "Cancel a migration schedule",
    RequestKind.BULK: "Bulk migration",
    RequestKind.REDUCE_SEATS: "Reduce seats (7-day window)",
    RequestKind.CANCEL_SUBSCRIPTION: "Cancel an NCE subscription (7-day window)",
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
_DOING: Final = {
    RequestKind.MIGRATE: "migrating",
    RequestKind.BULK: "migrating",
    RequestKind.SCHEDULE: "scheduling",
    RequestKind.RESCHEDULE: "updating the schedule",
    RequestKind.CANCEL: "cancelling the schedule",
}


# --- help and plain replies -------------------------------------------------------------------------------
IDS_HINT: Final = "Ids are GUIDs. Leave out the ids to fill in a form instead."


def help_text() -> str:
    lines = ["*ncebot* — move legacy CSP subscriptions to the New Commerce Experience, with approval."]
    for sub in SUBCOMMANDS:
        lines.append(f"{code(sub.usage)} — {sub.summary}")
    lines.append(esc(OPTIONS_HELP))
    lines.append(IDS_HINT)
    return "\n".join(lines)


def help_blocks() -> list[Block]:
    lines = [f"{code(s.usage)}\n      {s.summary}" for s in SUBCOMMANDS]
    half = len(lines) // 2 + 1
    return [
        header(APP_TITLE),
        section("\n".join(lines[:half])),
        section("\n".join(lines[half:])),
        context(esc(OPTIONS_HELP), IDS_HINT),
    ]


def kind_label(request: RequestView) -> str:
    label = KIND_LABEL.get(request.kind, str(request.kind))
    if request.kind == RequestKind.BULK and request.subscription_name:
        label += f" of {request.subscription_name}"
    return label


def confirmation_text(request: RequestView, permalink: str | None) -> str:
    where = f"<{permalink}|the approval request>" if permalink else "the approval request"
    return (f":outbox_tray: Request {code(request.id)} ({esc(kind_label(request))}) is waiting for "
            f"approval. Follow {where}; progress goes into its thread.")


def vote_recorded(request_id: str, missing: int) -> str:
    """The approver's own answer to an Approve click that still leaves approvals missing."""
    return f":ballot_box_with_check: Your approval of `{request_id}` is recorded; {missing} more approval(s) needed."


def you_approved(request_id: str) -> str:
    return f":white_check_mark: You approved request `{request_id}`; progress goes into its thread."


def you_rejected(request_id: str) -> str:
    return f":no_entry_sign: You rejected request `{request_id}`."


# --- the approval request message (SPEC §5) --------------------------------------------------------------


def state_title(request: RequestView) -> str:
    """The state in a few words, for the header: "Waiting for approval", "Approved — migrating", "Completed"…"""
    state = request.state
    if state == RequestState.PENDING:
        return "Waiting for approval"
    if state in (RequestState.APPROVED, RequestState.SUBMITTED, RequestState.PROCESSING):
        return f"Approved — {_DOING.get(request.kind, 'in progress')}"
    if state == RequestState.FAILED and request.error_code == SCHEDULE_CANCELLED:
        return "Cancelled"
    return {RequestState.COMPLETED: "Completed", RequestState.FAILED: "Failed", RequestState.REJECTED: "Rejected",
            RequestState.EXPIRED: "Expired"}.get(state, str(state).capitalize())


def state_emoji(request: RequestView) -> str:
    if request.state == RequestState.FAILED and request.error_code == SCHEDULE_CANCELLED:
        return STATE_EMOJI[RequestState.REJECTED]
    return STATE_EMOJI.get(request.state, "")


def request_header(request: RequestView) -> str:
    return f"{state_emoji(request)} {KIND_LABEL.get(request.kind, str(request.kind))} · {state_title(request)}"


def _subscription_name(request: RequestView) -> str | None:
    return request.subscription_name or (request.validation.subscription_name if request.validation else None)


def _who_what(request: RequestView) -> list[str]:
    """The fields: names in words (ids go to the context line unless there is no name to show)."""
    customer = esc(request.customer_name) if request.customer_name else code(request.customer_id)
    fields = [f"*Customer*\n{customer}"]
    if request.subscription_id:
        sub = _subscription_name(request)
        fields.append(f"*Subscription*\n{esc(sub) if sub else code(request.subscription_id)}")
    if request.schedule_id and request.kind in (RequestKind.RESCHEDULE, RequestKind.CANCEL):
        fields.append(f"*Schedule*\n{code(request.schedule_id)}")
    fields.append(f"*Requested by*\n{users([request.requester])}")
    if request.kind != RequestKind.CANCEL:
        fields.append(f"*Options*\n{options_in_words(request.options)}")
    return fields


def ids_line(request: RequestView) -> str:
    """Every id of the request, small, for copying into a command or a support case."""
    parts = [f"Request {code(request.id)}", f"customer {code(request.customer_id)}"]
    if request.subscription_id:
        parts.append(f"subscription {code(request.subscription_id)}")
    if request.schedule_id and request.kind in (RequestKind.RESCHEDULE, RequestKind.CANCEL):
        parts.append(f"schedule {code(request.schedule_id)}")
    if request.migration_id:
        parts.append(f"migration {code(request.migration_id)}")
    return " · ".join(parts)


def decision_line(request: RequestView, approvers: Sequence[str] = ()) -> str:
    """The one line that says who decided what and when. ``approvers``: mentioned while pending (they decide)."""
    state = request.state
    when = fmt_time(request.decided_at)
    if state == RequestState.PENDING:
        got = len(request.votes)
        votes = f" so far: {users(v.approver for v in request.votes)}" if request.votes else ""
        ask = f" {users(approvers)}, please approve or reject." if approvers else ""
        return (f"{STATE_EMOJI[state]} Waiting for approval ({got} of {request.required_approvals}){votes}. "
                f"Expires {fmt_time(request.expires_at)}.{ask}")
    if state == RequestState.REJECTED:
        reason = f": {esc(request.reject_reason)}" if request.reject_reason else ""
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
        return f"{STATE_EMOJI[state]} Migration {code(request.migration_id)} is processing"
    if state == RequestState.COMPLETED:
        if request.kind == RequestKind.CANCEL:
            return f"{STATE_EMOJI[state]} Completed: schedule {code(request.schedule_id)} cancelled"
        if request.new_subscription_id:
            return f"{STATE_EMOJI[state]} Completed: new NCE subscription {code(request.new_subscription_id)}"
        if request.schedule_id and request.kind in (RequestKind.SCHEDULE, RequestKind.RESCHEDULE):
            return f"{STATE_EMOJI[state]} Completed: schedule {code(request.schedule_id)} is in place"
        return f"{STATE_EMOJI[state]} Completed"
    if state == RequestState.FAILED and request.error_code == SCHEDULE_CANCELLED:
        # SPEC has no "cancelled" request state: the request ends failed, but operators read "Cancelled". The
        # description is the tracker's own sentence; only its user mentions (asked by <@U…>) are kept live.
        why = re.sub(r"&lt;@([UW][A-Z0-9]+)&gt;", r"<@\1>", esc(request.error_description or ""))
        return f":no_entry_sign: Cancelled: schedule {code(request.schedule_id)} {why}".rstrip()
    if state == RequestState.FAILED:
        error = f"{code(request.error_code)}: " if request.error_code else ""
        return f"{STATE_EMOJI[state]} Failed: {error}{esc(request.error_description or 'no description')}"
    return None


def submitted_line(request: RequestView) -> str:
    """What Partner Center accepted, in words (the parent message once a request is submitted)."""
    kind = request.kind
    if kind == RequestKind.SCHEDULE:
        schedule = f" {code(request.schedule_id)}" if request.schedule_id else ""
        return f"Schedule{schedule} created: migrates {request.options.migrates_when()}"
    if kind == RequestKind.RESCHEDULE:
        moved = request.options.on_renewal or request.options.target_date
        return f"Schedule {code(request.schedule_id)} updated" + (
            f": migrates {request.options.migrates_when()}" if moved else "")
    if kind == RequestKind.CANCEL:
        return f"Schedule {code(request.schedule_id)} cancelled"
    if kind == RequestKind.BULK:
        return "Migrations submitted to Partner Center; their ids and progress are in the thread"
    if request.migration_id:
        return f"Migration {code(request.migration_id)} submitted to Partner Center"
    return "Submitted to Partner Center"


def validation_summary(outcome: ValidationOutcome) -> str:
    if outcome.eligible:
        parts = [":white_check_mark: *Eligible*"]
        if outcome.catalog_item_id:
            parts.append(f"target catalog item {code(outcome.catalog_item_id)}")
        if outcome.term or outcome.billing:
            parts.append(f"term {esc(outcome.term or '—')}, billing {esc(outcome.billing or '—')}")
        if outcome.end_date:
            parts.append(f"ends {fmt_date(outcome.end_date)}")
        if outcome.addon_ids:
            parts.append(f"{len(outcome.addon_ids)} add-on(s) go with it")
        return " · ".join(parts)
    reasons = "\n".join(
        f"• {code(r.code)} {esc(r.description)}" + (f" ({code(r.subscription_id)})" if r.subscription_id else "")
        for r in outcome.reasons
    ) or "• no reason given"
    return f":no_entry: *Not eligible*\n{reasons}"


def request_text(request: RequestView, approvers: Sequence[str] = ()) -> str:
    """Notification fallback text of the request message (mentions the approvers while pending)."""
    customer = esc(request.customer_name) if request.customer_name else request.customer_id
    return (f"{request_header(request)}: {esc(kind_label(request))} for {customer} — "
            f"{decision_line(request, approvers)}")


def request_blocks(request: RequestView, items: Sequence[Mapping[str, Any]] | None = None,
                   approvers: Sequence[str] = ()) -> list[Block]:
    """The approval message. ``items``: a bulk request's stored items (``{"target", "name", "catalog_item_id",
    "body"}``), listed up to :data:`BULK_LISTED`; without them the count alone is shown. ``approvers``: ``U…``
    and ``S…`` ids mentioned while the request waits for them."""
    pending = request.state == RequestState.PENDING
    blocks: list[Block] = [
        header(request_header(request)),
        {"type": "section", "fields": [mrkdwn(f) for f in _who_what(request)[:10]]},
    ]
    if request.kind == RequestKind.BULK:
        blocks += bulk_blocks(request, items)
    elif request.validation is not None and pending:
        blocks.append(section(validation_summary(request.validation)))
    blocks.append(section(decision_line(request, approvers if pending else ())))
    progress = progress_line(request)
    if progress:
        blocks.append(section(progress))
    blocks.append(context(ids_line(request)))
    if pending:
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
    name = esc(outcome.subscription_name) if outcome.subscription_name else code(outcome.subscription_id)
    customer = esc(outcome.customer_name) if outcome.customer_name else code(outcome.customer_id)
    return [
        section(f"*Validation of* {name} for {customer}"),
        section(validation_summary(outcome)),
        context(f"customer {code(outcome.customer_id)} · subscription {code(outcome.subscription_id)}"),
    ]


# --- bulk requests ---------------------------------------------------------------------------------------


def _item_line(item: Mapping[str, Any]) -> str:
    target = str(item.get("target") or "?")
    name = esc(cut(str(item.get("name") or ""), 60))
    body = item.get("body")
    addons = (body.get("addOnMigrations") or []) if isinstance(body, Mapping) else []
    line = f"• *{name}* {code(target)}" if name else f"• {code(target)}"
    if item.get("catalog_item_id"):
        line += f" → {code(item['catalog_item_id'])}"
    if addons:
        line += f" + {len(addons)} add-on(s)"
    return line


def chunked(title: str, lines: Sequence[str], per_block: int = 10) -> list[Block]:
    """``title`` then ``lines`` in sections of ``per_block`` lines (a section's text is capped at 3000)."""
    blocks: list[Block] = []
    for start in range(0, max(len(lines), 1), per_block):
        chunk = "\n".join(lines[start:start + per_block])
        blocks.append(section(f"{title}\n{chunk}" if start == 0 else chunk))
    return blocks


def bulk_blocks(request: RequestView, items: Sequence[Mapping[str, Any]] | None) -> list[Block]:
    """What a bulk request migrates (first :data:`BULK_LISTED` named, the rest counted) and what it leaves out."""
    blocks: list[Block] = []
    pending = request.state == RequestState.PENDING
    verb = "will be migrated now" if pending else "in this request"
    if items is None:
        count = esc(request.subscription_name or "Several subscriptions")
        blocks.append(section(f":package: *{count}* {verb}, each with its add-ons."))
    else:
        lines = [_item_line(item) for item in items[:BULK_LISTED]]
        if len(items) > BULK_LISTED:
            lines.append(f"…and {len(items) - BULK_LISTED} more")
        blocks += chunked(f":package: *{len(items)} subscription(s) {verb}*, each with its add-ons:", lines)
    by_sub: dict[str, list[str]] = {}
    # What validation left out is part of the validation result: shown while the request is pending only.
    for reason in request.validation.reasons if request.validation and pending else ():
        by_sub.setdefault(reason.subscription_id or "?", []).append(
            f"{code(reason.code)} {esc(cut(reason.description, 120))}")
    if by_sub:
        lines = [f"• {code(sub)} — " + cut("; ".join(dict.fromkeys(why)), 240)
                 for sub, why in list(by_sub.items())[:BULK_EXCLUDED_LISTED]]
        if len(by_sub) > BULK_EXCLUDED_LISTED:
            lines.append(f"…and {len(by_sub) - BULK_EXCLUDED_LISTED} more")
        blocks += chunked(f":no_entry: *Left out ({len(by_sub)})*, not eligible now:", lines)
        blocks.append(context(f"`/nce check {request.customer_id}` gives the full eligibility report."))
    return blocks
