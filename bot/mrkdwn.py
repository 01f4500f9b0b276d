"""The one escape of text written by people or Partner Center before it reaches Slack's mrkdwn or a message's
``text``. Slack-free (plain string work), so the workflow and the tracker use it without depending on the Slack
layer; ``bot.slack.blocks.common`` re-exports it for the Block Kit builders."""

from __future__ import annotations


def esc(text: object) -> str:
    """Slack's three control characters escaped (https://api.slack.com/reference/surfaces/formatting#escaping).
    The one escape function: every person- or Partner-Center-written string passes here before mrkdwn/text."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
