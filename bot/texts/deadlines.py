"""The deadline digest's phrases built in the Slack-free core (``bot.deadlines``); the digest's layout and the rest
of its sentences are the Slack surface's (``bot.slack.deadline_blocks``)."""

from __future__ import annotations


def renewal_becomes(seats: int, billing: str) -> str:
    """What a legacy subscription becomes when Microsoft migrates it at renewal (SPEC §10)."""
    return f"annual term (P1Y), same {seats} seat(s), {billing} billing"
