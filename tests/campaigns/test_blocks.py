"""The campaign messages as pure Block Kit (no Slack): counts in words, the past tense at the end, buttons only
while sending, Partner Center's text escaped, the Approve confirmation stating the count."""

from __future__ import annotations

import json

from bot.bam.models import BamKind
from bot.campaigns.model import CampaignProgress, Control, Failure
from bot.slack import ids
from bot.slack.blocks.campaigns import confirm_text, counts_line, failures_text, progress_blocks, slack_time


def _progress(**values: object) -> CampaignProgress:
    base: dict[str, object] = dict(request_id="a" * 32, kind=BamKind.MIGRATE, items=32, subscriptions=40,
                                   customers=3, seats=500, terms={"P1Y": 40}, state="submitted",
                                   extra={"headline": "Migrate 40 subscriptions of 3 customers"})
    base.update(values)
    return CampaignProgress(**base)  # type: ignore[arg-type]


def test_counts_read_in_the_past_tense_once_ended() -> None:
    running = _progress(sent=20, completed=10, failed=1, state="submitted")
    assert counts_line(running) == "10 of 32 completed, 1 failed, 9 processing, 20 of 32 submitted"
    ended = _progress(sent=32, completed=31, failed=1, state="completed")
    assert counts_line(ended) == "31 of 32 completed, 1 failed"
    stopped = _progress(sent=10, completed=10, state="completed", control=Control.STOPPED)
    assert counts_line(stopped) == "10 of 32 completed, 22 not sent"


def test_buttons_follow_the_control_and_go_at_the_end() -> None:
    def actions(p: CampaignProgress) -> list[str]:
        return [e["action_id"] for b in progress_blocks(p) if b["type"] == "actions" for e in b["elements"]]

    assert actions(_progress(sent=5)) == [ids.CAMPAIGN_PAUSE_ACTION, ids.CAMPAIGN_STOP_ACTION]
    assert actions(_progress(sent=5, control=Control.PAUSED)) == [ids.CAMPAIGN_RESUME_ACTION, ids.CAMPAIGN_STOP_ACTION]
    assert actions(_progress(sent=32, completed=32, state="completed")) == []
    assert actions(_progress(sent=5, control=Control.STOPPED)) == []
    stop = [e for b in progress_blocks(_progress(sent=5)) if b["type"] == "actions" for e in b["elements"]][1]
    assert "27 items not sent yet" in stop["confirm"]["text"]["text"]


def test_failures_are_grouped_and_escaped() -> None:
    same = [Failure(code="900225", description="<!channel> & co", subscription_id=f"s{i}", customer_id="c")
            for i in range(3)]
    failures = (*same, Failure(code="800002", description="other", subscription_id="x", customer_id="c"))
    text = failures_text(_progress(failures=failures))
    assert "4 failures in 2 groups" in text
    assert "3 x `900225` &lt;!channel&gt; &amp; co" in text
    assert "<!channel>" not in text


def test_confirm_states_what_happens_and_times_are_slack_dates() -> None:
    assert confirm_text(_progress()) == "Migrate 40 subscriptions of 3 customers?"
    from datetime import UTC, datetime

    moment = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
    assert slack_time(moment).startswith(f"<!date^{int(moment.timestamp())}^")
    assert "2026-12-03 15:00 UTC" in json.dumps(slack_time(moment))
