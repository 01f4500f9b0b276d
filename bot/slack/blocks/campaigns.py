"""A campaign's messages (SPEC §8.2, §8.4): the approval message, the progress reply edited in place with its
Pause / Resume / Stop buttons, the failures reply grouped by error, and ``/nce campaign(s)``. Pure builders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from bot.bam.models import BamKind
from bot.campaigns.model import CampaignProgress, Control
from bot.domain import RequestState, RequestView
from bot.slack import ids
from bot.slack.blocks.common import Block, button, code, context, esc, fmt_time, header, mrkdwn, section, users
from bot.slack.blocks.messages import STATE_EMOJI, decision_line

FAILURES_LISTED: Final = 15  # error groups named in the failures reply; the results file has every row
ENDED: Final = (RequestState.COMPLETED.value, RequestState.FAILED.value, RequestState.REJECTED.value,
                RequestState.EXPIRED.value)


slack_time = fmt_time  # one rule for times in messages (bot.slack.blocks.common)


def _n(count: int, word: str) -> str:
    return f"{count:,} {word}" + ("" if count == 1 else "s")


def _verb(kind: BamKind, *, past: bool) -> str:
    if kind is BamKind.SCHEDULE:
        return "scheduled" if past else "schedule"
    if kind is BamKind.CANCEL:
        return "cancelled" if past else "cancel"
    return "completed" if past else "migrate"


def counts_line(p: CampaignProgress) -> str:
    """``31 of 32 completed, 1 failed`` — in the past tense once the campaign ended."""
    ended = p.state in ENDED
    done = p.completed if p.tracked else p.sent
    parts = [f"{done:,} of {p.items:,} {_verb(p.kind, past=True)}"]
    if p.failed:
        parts.append(f"{p.failed:,} failed")
    if p.refused:
        parts.append(f"{p.refused:,} refused by Partner Center")
    if ended and p.not_sent:
        parts.append(f"{p.not_sent:,} not sent")
    if not ended:
        if p.tracked and p.sent - p.completed - p.failed > 0:
            parts.append(f"{p.sent - p.completed - p.failed:,} processing")
        parts.append(f"{p.sent + p.refused:,} of {p.items:,} submitted")
    return ", ".join(parts)


def glance(p: CampaignProgress) -> str:
    terms = ", ".join(f"{term} {count:,}" for term, count in sorted(p.terms.items(), key=lambda kv: -kv[1]))
    parts = [_n(p.subscriptions, "subscription"), _n(p.customers, "customer")]
    if p.kind is not BamKind.CANCEL:
        parts += [_n(p.seats, "seat"), f"terms: {terms or 'kept'}"]
    if p.ineligible:
        parts.append(f"{p.ineligible:,} not eligible or skipped (in the plan file's notes)")
    return " · ".join(parts)


def confirm_text(p: CampaignProgress) -> str:
    """The Approve button's confirmation: what will happen (``Migrate 515 subscriptions of 37 customers?``)."""
    return f"{p.extra.get('headline') or 'Run this campaign'}?"


def campaign_request_blocks(request: RequestView, p: CampaignProgress, approvers: Sequence[str] = ()) -> list[Block]:
    pending = request.state == RequestState.PENDING
    title = esc(p.extra.get("headline") or "Campaign")
    blocks: list[Block] = [
        header(f"{STATE_EMOJI.get(request.state, '')} Campaign · {request.state.value.capitalize()}"),
        section(f"*{title}*\n{glance(p)}"),
        section(f"*Requested by* {users([request.requester])}"
                + (f" · *source* {esc(p.source)}" if p.source else "")),
        section(decision_line(request, approvers if pending else ())),
    ]
    if not pending and request.state not in (RequestState.REJECTED, RequestState.EXPIRED):
        blocks.append(section(f"{STATE_EMOJI.get(request.state, '')} {counts_line(p)}"
                              + (" · paused" if p.control is Control.PAUSED and p.state not in ENDED else "")
                              + (" · stopped" if p.control is Control.STOPPED else "")))
    blocks.append(context(f"Request {code(request.id)} · the full plan is in the thread"))
    if pending:
        approve = button("Approve", ids.APPROVE_ACTION, request.id, "primary")
        approve["confirm"] = {
            "title": {"type": "plain_text", "text": "Approve the campaign?"},
            "text": {"type": "plain_text", "text": confirm_text(p)[:300]},
            "confirm": {"type": "plain_text", "text": "Approve"},
            "deny": {"type": "plain_text", "text": "Not yet"},
        }
        blocks.append({"type": "actions", "block_id": ids.DECISION_BLOCK,
                       "elements": [approve, button("Reject", ids.REJECT_ACTION, request.id, "danger")]})
    return blocks


def campaign_request_text(request: RequestView, p: CampaignProgress, approvers: Sequence[str] = ()) -> str:
    pending = request.state == RequestState.PENDING
    tail = decision_line(request, approvers) if pending else counts_line(p)
    return f"Campaign: {esc(p.extra.get('headline') or '')} — {tail}"


def progress_text(p: CampaignProgress) -> str:
    if p.state in ENDED:
        return f":checkered_flag: Campaign ended: {counts_line(p)}."
    if p.control is Control.PAUSED:
        return f":double_vertical_bar: Paused: {counts_line(p)}. Nothing new is sent until it is resumed."
    if p.control is Control.STOPPED:
        return f":black_square_for_stop: Stopping: {counts_line(p)}. Nothing new is sent."
    return f":arrows_counterclockwise: {counts_line(p)}."


def progress_blocks(p: CampaignProgress) -> list[Block]:
    blocks: list[Block] = [section(progress_text(p))]
    running = p.state not in ENDED and p.state != RequestState.PROCESSING.value
    if running and p.control is Control.RUNNING and p.not_sent:
        when = []
        if p.next_window is not None:
            when.append(f"Partner Center's create limit is used up; the next window opens {slack_time(p.next_window)}")
        if p.eta is not None:
            when.append(f"all sent by about {slack_time(p.eta)}")
        if when:
            blocks.append(context(" · ".join(when)))
    if running and p.control is not Control.STOPPED:
        pause_or_resume = (button("Resume", ids.CAMPAIGN_RESUME_ACTION, p.request_id, "primary")
                           if p.control is Control.PAUSED else button("Pause", ids.CAMPAIGN_PAUSE_ACTION, p.request_id))
        stop = button("Stop", ids.CAMPAIGN_STOP_ACTION, p.request_id, "danger")
        stop["confirm"] = {
            "title": {"type": "plain_text", "text": "Stop the campaign?"},
            "text": {"type": "plain_text", "text": f"{p.not_sent:,} items not sent yet will not be sent."},
            "confirm": {"type": "plain_text", "text": "Stop"},
            "deny": {"type": "plain_text", "text": "Keep going"},
        }
        blocks.append({"type": "actions", "block_id": ids.CAMPAIGN_CONTROL_BLOCK, "elements": [pause_or_resume, stop]})
    return blocks


def failures_text(p: CampaignProgress) -> str:
    groups = p.failure_groups
    lines = [f":warning: {_n(len(p.failures), 'failure')} in {_n(len(groups), 'group')}"
             " (every row is in the results file):"]
    for code_, description, count in groups[:FAILURES_LISTED]:
        lines.append(f"• {count:,} x {code(code_)} {esc(description)}")
    if len(groups) > FAILURES_LISTED:
        lines.append(f"… and {len(groups) - FAILURES_LISTED:,} more groups")
    return "\n".join(lines)


def failures_blocks(p: CampaignProgress) -> list[Block]:
    return [section(failures_text(p)[:2900])]


def campaigns_blocks(rows: Sequence[tuple[RequestView, CampaignProgress]]) -> list[Block]:
    if not rows:
        return [section("No campaigns yet. Start one with `/nce bulk <customer>`, `/nce bulk all` or `/nce import`.")]
    blocks: list[Block] = [section(f"*Campaigns* (latest {len(rows)})")]
    for request, p in rows[:40]:
        blocks.append(section(
            f"{STATE_EMOJI.get(request.state, '')} {code(request.id)} · {esc(p.extra.get('headline') or '')} · "
            f"{request.state.value} · {counts_line(p)} · asked by {users([request.requester])} "
            f"{slack_time(request.created_at)}"))
    blocks.append(context("`/nce campaign <id>` gives one campaign's results file with current statuses."))
    return blocks[:50]


def campaign_summary(request: RequestView, p: CampaignProgress) -> str:
    return (f"Campaign {code(request.id)}: {esc(p.extra.get('headline') or '')} · {request.state.value} · "
            f"{counts_line(p)}. The results file with current statuses follows.")


__all__ = ["campaign_request_blocks", "campaign_request_text", "campaigns_blocks", "failures_blocks", "mrkdwn",
           "progress_blocks"]


CAMPAIGNS_UNAVAILABLE: Final = "Campaigns are not available in this deployment."
FILE_NEEDS_CHANNEL: Final = " (run it in a channel to get the file)"


def campaigns_summary(count: int) -> str:
    return f"{count} campaign(s)"
