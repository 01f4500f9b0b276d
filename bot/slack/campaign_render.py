"""Renders a campaign's live replies and files when the outbox sends them (``bot.tracking.outbox.LiveRenderer``):
always from the database at that moment, so an edit never shows stale counts."""

from __future__ import annotations

from typing import Any

from bot.campaigns import lifecycle
from bot.campaigns.progress import CampaignReader
from bot.slack.blocks.campaigns import failures_blocks, failures_text, progress_blocks, progress_text


class CampaignRenderer:
    def __init__(self, reader: CampaignReader) -> None:
        self._reader = reader

    def render(self, request_id: str, role: str) -> tuple[str, list[dict[str, Any]] | None]:
        progress = self._reader.progress(request_id)
        if progress is None:
            return "This campaign no longer exists.", None
        if role == lifecycle.FAILURES:
            return failures_text(progress)[:3000], failures_blocks(progress)
        return progress_text(progress), progress_blocks(progress)

    def file(self, request_id: str, role: str) -> tuple[str, bytes] | None:
        if role == lifecycle.PLAN:
            return self._reader.plan_file(request_id)
        return self._reader.results_file(request_id)
