"""The App Home tab: how to use ncebot, the requests waiting for a decision, the viewer's own requests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from bot.domain import RequestKind, RequestState, RequestView
from bot.slack import ids
from bot.slack.blocks.common import APP_TITLE, Block, button, code, context, cut, esc, fmt_time, header, section, users
from bot.slack.blocks.messages import (
    KIND_LABEL,
    STATE_EMOJI,
    decision_line,
    ids_line,
    progress_line,
    state_title,
)
from bot.slack.commands import BY_NAME

MAX_HOME_BLOCKS: Final = 100  # Block Kit: at most 100 blocks in a modal or Home tab view
HOME_PENDING_LISTED: Final = 20  # pending requests listed on the Home tab (2 blocks each with buttons)
HOME_MINE_LISTED: Final = 10  # the viewer's recent requests listed on the Home tab
HOME_HOW_TO: Final = ("help", "migrate", "schedule", "check", "bulk", "pending", "status")


def _customer_label(request: RequestView) -> str:
    return esc(request.customer_name) if request.customer_name else code(request.customer_id)


def _target_label(request: RequestView) -> str:
    if request.kind == RequestKind.BULK:
        return esc(request.subscription_name) if request.subscription_name else "all eligible subscriptions"
    if request.kind in (RequestKind.RESCHEDULE, RequestKind.CANCEL) and request.schedule_id:
        return f"schedule {code(request.schedule_id)}"
    if request.subscription_id:
        name = request.subscription_name or (request.validation.subscription_name if request.validation else None)
        return esc(name) if name else code(request.subscription_id)
    return "—"


def _reference(request: RequestView) -> str:
    """Where to find the request: its message's channel, and ``/nce status`` once a migration exists."""
    where = f" in <#{request.message.channel}>" if request.message else ""
    status = f" · {code(f'/nce status {request.customer_id} {request.migration_id}')}" if request.migration_id else ""
    return f"{ids_line(request)}{where}{status}"


def _pending_home_line(request: RequestView, own: bool) -> str:
    label = KIND_LABEL.get(request.kind, str(request.kind))
    yours = " · _your request: another approver decides_" if own else ""
    return (f"*{label}* · {_customer_label(request)} · {_target_label(request)}\n"
            f"Requested by {users([request.requester])} · {len(request.votes)} of {request.required_approvals} "
            f"approvals · expires {fmt_time(request.expires_at)}{yours}")


def _mine_home_line(request: RequestView) -> str:
    label = KIND_LABEL.get(request.kind, str(request.kind))
    state = f"{STATE_EMOJI.get(request.state, '')} *{state_title(request)}*".strip()
    detail = progress_line(request) if request.state not in (RequestState.PENDING, RequestState.REJECTED,
                                                             RequestState.EXPIRED) else decision_line(request)
    return (f"{state} · {label} · {_customer_label(request)} · {_target_label(request)}\n"
            f"{cut(detail or '', 300)}\n"
            f"Requested {fmt_time(request.created_at)}")


def home_view(user: str, pending: Sequence[RequestView], mine: Sequence[RequestView], is_approver: bool, *,
              notice: str | None = None, self_approval: bool = False) -> Block:
    """The App Home tab of ``user``: how to use ncebot, the requests waiting for a decision (with Approve /
    Reject buttons for approvers, the same action ids and values as the approval message; none on the viewer's
    own requests unless ``self_approval``), and the user's own recent requests. ``notice``: the outcome of the
    user's last click on the tab (mrkdwn), shown at the top.
    At most :data:`MAX_HOME_BLOCKS` blocks; long lists say how many were left out."""
    role = "You are an *approver*: decide here or in the approval channel." if is_approver else (
        "The approvers decide on requests; you can follow them here.")
    how_to = "\n".join(f"{code(BY_NAME[name].usage)} — {BY_NAME[name].summary}" for name in HOME_HOW_TO)
    blocks: list[Block] = [
        header(APP_TITLE),
        context(f"Hello {users([user])}. {role}"),
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
        own = request.requester == user and not self_approval
        blocks.append(section(_pending_home_line(request, own and is_approver)))
        blocks.append(context(_reference(request)))
        if is_approver and not own:
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
        blocks.append(context(_reference(request)))
    if len(mine) > HOME_MINE_LISTED:
        blocks.append(context(f"…and {len(mine) - HOME_MINE_LISTED} more."))
    if len(blocks) > MAX_HOME_BLOCKS:  # defensive: the caps above keep well under the limit
        blocks = [*blocks[: MAX_HOME_BLOCKS - 1], context("Some items are not shown: Slack allows 100 blocks.")]
    return {"type": "home", "blocks": blocks}


def home_error_view(user: str, text: str) -> Block:
    """A Home tab that says why the real one could not be built (``text``: mrkdwn, already escaped)."""
    return {"type": "home", "blocks": [header(APP_TITLE),
                                       section(f"Hello {users([user])}. {text}"), context("Reopen this tab to retry.")]}
