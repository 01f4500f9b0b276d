"""The Slack stand-in's file support for `/nce import` (SPEC §8.1): a file picked in a modal's ``file_input``
reaches the app in ``view_submission`` as Slack sends it, ``files.info`` describes it, and its
``url_private_download`` gives the exact bytes with the bot token only. Everything over real HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
import pytest
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox import known
from sandbox.slack_api import FILE_INPUT_MAX_BYTES, SlackStandIn
from sandbox.slack_requests import SlackRequester, stored_view
from tests.fixtures.slack import BOT_TOKEN, REQUESTER, SIGNING_SECRET, WORK_CHANNEL, wait_for

# A BOM, CRLF line ends, a non-ASCII name and a quoted separator: any re-encoding would show.
CSV = "\ufeffCustomerName,SeatCount\r\n\"Müller, GmbH\",25\r\n".encode()


def web(standin: SlackStandIn, token: str = BOT_TOKEN) -> WebClient:
    return WebClient(token=token, base_url=standin.base_url)


def test_files_info_describes_a_file_a_user_uploaded(slack_standin: SlackStandIn) -> None:
    file_id = slack_standin.upload_user_file("subscriptions.csv", CSV, user=REQUESTER)
    info = web(slack_standin).files_info(file=file_id)
    f = info["file"]
    assert info["ok"] is True and f["id"] == file_id and file_id.startswith("F")
    assert (f["name"], f["title"], f["mimetype"], f["filetype"], f["size"]) == (
        "subscriptions.csv", "subscriptions.csv", "text/csv", "csv", len(CSV))
    assert f["user"] == REQUESTER and f["user_team"] == SlackStandIn.TEAM_ID and f["channels"] == []
    assert f["url_private"] == f"{slack_standin.root_url}/files-pri/{SlackStandIn.TEAM_ID}-{file_id}/subscriptions.csv"
    assert f["url_private_download"] == (
        f"{slack_standin.root_url}/files-pri/{SlackStandIn.TEAM_ID}-{file_id}/download/subscriptions.csv")

    with pytest.raises(SlackApiError) as missing:
        web(slack_standin).files_info(file="F99999999")
    assert missing.value.response["error"] == "file_not_found"
    with pytest.raises(SlackApiError) as foreign:
        web(slack_standin, token="xoxb-someone-else").files_info(file=file_id)
    assert foreign.value.response["error"] == "invalid_auth"
    recorded = slack_standin.calls_to("files.info")
    assert len(recorded) == 3 and all(BOT_TOKEN not in str(c.headers) for c in recorded)


def test_files_the_app_uploaded_are_described_too(slack_standin: SlackStandIn) -> None:
    sent = web(slack_standin).files_upload_v2(channel=WORK_CHANNEL, filename="plan.csv", content=CSV)
    file_id = sent["files"][0]["id"] if "files" in sent.data else sent["file"]["id"]
    f = web(slack_standin).files_info(file=file_id)["file"]
    assert f["user"] == SlackStandIn.BOT_USER_ID and f["channels"] == [WORK_CHANNEL] and f["size"] == len(CSV)
    got = httpx.get(f["url_private_download"], headers={"Authorization": f"Bearer {BOT_TOKEN}"})
    assert got.status_code == 200 and got.content == CSV


def test_download_gives_the_exact_bytes_with_the_bot_token_only(slack_standin: SlackStandIn) -> None:
    file_id = slack_standin.upload_user_file("subscriptions.csv", CSV, user=REQUESTER)
    f = web(slack_standin).files_info(file=file_id)["file"]
    with httpx.Client() as http:
        ok = http.get(f["url_private_download"], headers={"Authorization": f"Bearer {BOT_TOKEN}"})
        inline = http.get(f["url_private"], headers={"Authorization": f"Bearer {BOT_TOKEN}"})
        anonymous = http.get(f["url_private_download"])
        wrong = http.get(f["url_private_download"], headers={"Authorization": "Bearer xoxb-someone-else"})
        in_query = http.get(f["url_private_download"], params={"token": BOT_TOKEN})
        login = http.get(f["url_private_download"], follow_redirects=True)
        unknown = http.get(f["url_private_download"].replace(file_id, "F99999999"),
                           headers={"Authorization": f"Bearer {BOT_TOKEN}"})

    assert ok.status_code == 200 and ok.content == CSV and ok.headers["content-type"] == "text/csv"
    assert ok.headers["content-disposition"] == "attachment; filename*=UTF-8''subscriptions.csv"
    assert inline.status_code == 200 and inline.content == CSV and "content-disposition" not in inline.headers
    for refused in (anonymous, wrong, in_query):  # Slack sends a browser without a session to its sign-in page
        assert refused.status_code == 302 and refused.content == b""
        assert refused.headers["location"].startswith(f"{slack_standin.root_url}/signin?redir=%2Ffiles-pri%2F")
    assert login.status_code == 200 and login.headers["content-type"].startswith("text/html")
    assert b"Sign in" in login.content and b"M\xc3\xbcller" not in login.content
    assert unknown.status_code == 404

    downloads = slack_standin.calls_to("download")
    assert [(c.status, c.params["authorized"]) for c in downloads] == [
        (200, True), (200, True), (302, False), (302, False), (302, False), (302, False), (404, True)]
    assert all(BOT_TOKEN not in str(c.headers) + str(c.params) for c in downloads)


def test_file_input_is_limited_to_slacks_10_mb(slack_standin: SlackStandIn) -> None:
    with pytest.raises(ValueError, match="10 MB"):
        slack_standin.upload_user_file("huge.csv", b"x" * (FILE_INPUT_MAX_BYTES + 1))
    assert slack_standin.files == {}


IMPORT_VIEW: dict[str, Any] = {
    "type": "modal", "callback_id": "ncebot_import", "title": {"type": "plain_text", "text": "Import BAM files"},
    "submit": {"type": "plain_text", "text": "Import"},
    "blocks": [
        {"type": "input", "block_id": "note", "optional": True, "label": {"type": "plain_text", "text": "Note"},
         "element": {"type": "plain_text_input", "action_id": "text"}},
        {"type": "input", "block_id": "files", "label": {"type": "plain_text", "text": "BAM files"},
         "element": {"type": "file_input", "action_id": "ncebot_import_file", "filetypes": ["csv"], "max_files": 5}},
    ],
}


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def bolt_app(slack_standin: SlackStandIn) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A plain Bolt app (not ncebot) that opens the import modal and, on submit, reads each file the way an app
    must: ``files.info`` with the bot token, then a GET of ``url_private_download`` with the bot token."""
    received: list[dict[str, Any]] = []
    app = App(token=BOT_TOKEN, signing_secret=SIGNING_SECRET, client=web(slack_standin),
              token_verification_enabled=False)

    @app.command("/nce")
    def open_modal(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=IMPORT_VIEW)

    @app.view("ncebot_import")
    def submitted(ack: Any, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        ack()
        value = view["state"]["values"]["files"]["ncebot_import_file"]
        for given in value["files"]:
            info = client.files_info(file=given["id"])["file"]
            data = httpx.get(info["url_private_download"], headers={"Authorization": f"Bearer {BOT_TOKEN}"})
            received.append({"value": value, "user": body["user"]["id"], "info": info, "status": data.status_code,
                             "bytes": data.content, "note": view["state"]["values"]["note"]["text"]["value"]})

    handler = SlackRequestHandler(app)
    server: WSGIServer = make_server("127.0.0.1", 0, handler, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", received
    finally:
        server.shutdown()
        server.server_close()


def test_a_file_input_submission_reaches_the_app_which_downloads_the_file(
    slack_standin: SlackStandIn, bolt_app: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = bolt_app
    example = (known.BAM_EXAMPLES / "subscriptions.csv").read_bytes()
    with SlackRequester(url, slack_standin, SIGNING_SECRET) as requester:
        assert requester.command("import", user=REQUESTER, channel=WORK_CHANNEL).status_code == 200
        opened = wait_for(lambda: [v for v in slack_standin.views.values() if v.stack == "root"])
        view = stored_view(slack_standin, opened[0].id)
        answer = requester.submit_files(view, {"subscriptions.csv": example, "schedules.csv": CSV}, user=REQUESTER,
                                        values={"note": {"text": {"type": "plain_text_input", "value": "Q1"}}})
        assert answer.status_code == 200 and answer.text == ""  # acked: the modal closes
        wait_for(lambda: len(received) == 2)

    first, second = received
    assert [r["bytes"] for r in received] == [example, CSV] and {r["status"] for r in received} == {200}
    assert first["user"] == REQUESTER and first["note"] == "Q1"
    value = first["value"]
    assert value["type"] == "file_input" and [f["name"] for f in value["files"]] == ["subscriptions.csv",
                                                                                     "schedules.csv"]
    given = value["files"][0]
    assert given["id"] == first["info"]["id"] and given["user"] == REQUESTER and given["size"] == len(example)
    assert given["url_private_download"] == first["info"]["url_private_download"]
    assert second["info"]["mimetype"] == "text/csv"
    assert [c.method for c in slack_standin.calls if c.method in ("files.info", "download")] == [
        "files.info", "download", "files.info", "download"]


def test_submit_files_needs_a_file_input(slack_standin: SlackStandIn) -> None:
    view = {"id": "V1", "callback_id": "x", "blocks": IMPORT_VIEW["blocks"][:1]}
    with SlackRequester("http://127.0.0.1:9", slack_standin, SIGNING_SECRET) as requester, \
            pytest.raises(ValueError, match="file_input"):
        requester.submit_files(view, {"a.csv": b"a"}, user=REQUESTER)
    assert slack_standin.files == {}  # nothing stored when the view has nowhere to put it
