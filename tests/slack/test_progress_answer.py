"""The in-place answer of slow commands (SPEC §9): Slack's five uses of a response_url, milestones, the final
answer always sent and never replaced; and the download's rule for where the bot token may go."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient

from bot.slack.file_download import DownloadRefused, download, trusted_download_url
from bot.slack.progress_answer import ProgressAnswer
from sandbox.slack_api import SlackStandIn
from tests.fixtures.slack import BOT_TOKEN


def recorder() -> tuple[list[tuple[str, bool]], ProgressAnswer]:
    sent: list[tuple[str, bool]] = []
    return sent, ProgressAnswer(lambda text, _blocks, replace: sent.append((text, replace)))


def test_five_uses_milestones_and_the_final_answer_kept() -> None:
    sent, answer = recorder()
    assert answer.say("started") and answer.say("estimate")
    for done in range(1, 300):
        answer.progress(done, 300, lambda done=done: f"{done} of 300")
    answer.say("one more")  # the budget is spent: the last use is the final answer's
    answer.finish("done")
    assert sent == [("started", False), ("estimate", True), ("100 of 300", True), ("200 of 300", True),
                    ("done", True)]
    assert not answer.say("after the end") and not answer.progress(299, 300, lambda: "late")
    assert len(sent) == 5


def test_nothing_replaces_the_final_answer_and_a_quick_job_stays_one_message() -> None:
    sent, answer = recorder()
    answer.unless_done_within(30.0, "still listing")
    answer.finish("listed")
    assert sent == [("listed", False)]
    answer.say("late")
    assert sent == [("listed", False)]


def test_without_a_response_url_only_the_first_and_the_final_are_sent() -> None:
    got: list[str] = []
    answer = ProgressAnswer.of_reply(lambda text, _blocks: got.append(text))
    answer.say("started")
    answer.say("estimate")
    answer.progress(50, 100, lambda: "half")
    answer.finish("done")
    assert got == ["started", "done"]


def test_the_bot_token_goes_only_to_slack_or_the_configured_api_host() -> None:
    api = "http://127.0.0.1:8123/api/"
    assert trusted_download_url("https://files.slack.com/files-pri/T1-F1/download/a.csv", "https://slack.com/api/")
    assert trusted_download_url("https://acme.slack.com/files-pri/T1-F1/download/a.csv", "https://slack.com/api/")
    assert trusted_download_url("http://127.0.0.1:8123/files-pri/T1-F1/download/a.csv", api)
    for url in ("https://evil.example/files-pri/T1-F1/download/a.csv",
                "http://files.slack.com/files-pri/T1-F1/download/a.csv",  # not over https
                "https://files.slack.com.evil.example/a.csv",
                "http://127.0.0.1:9999/files-pri/T1-F1/download/a.csv"):  # another port
        assert not trusted_download_url(url, api), url


def test_a_file_of_the_stand_in_downloads_with_the_bot_token() -> None:
    with SlackStandIn(bot_token=BOT_TOKEN) as standin:
        file_id = standin.upload_user_file("a.csv", b"a,b\r\n", user="UUPLOADER1")
        got = download(WebClient(token=BOT_TOKEN, base_url=standin.base_url), file_id, uploaded_by="UUPLOADER1")
        assert (got.name, got.content) == ("a.csv", b"a,b\r\n")
        assert [c.params["authorized"] for c in standin.calls_to("download")] == [True]
        with pytest.raises(DownloadRefused, match="uploaded by someone else"):
            download(WebClient(token=BOT_TOKEN, base_url=standin.base_url), file_id, uploaded_by="UOTHER0001")
        with pytest.raises(DownloadRefused, match="did not give ncebot the file"):
            download(WebClient(token=BOT_TOKEN, base_url=standin.base_url), "F99999999")


def test_people_s_and_partner_center_s_text_is_escaped_in_the_intake_answers() -> None:
    from bot.bam import SkippedRow
    from bot.slack.blocks import campaign_intake as say

    assert "&lt;!channel&gt;" in say.validating("1 migration: under a minute", "customer <!channel>'s subscriptions")
    assert "&lt;!here&gt;" in say.planning_bulk(1, "<!here>")
    listed = say.refused_rows([SkippedRow(line=2, subscription_id="s", customer_tenant_id="c",
                                          reason="5: <@U1> & co")] * 12)
    assert "&lt;@U1&gt; &amp; co" in listed and "<@U1>" not in listed
    assert "showing 10 of 12" in listed
    assert "&lt;b&gt;" in say.check_all_done(3, 10, 5, 3, 2, "note", [("<b>Bank</b>", "refused")])
