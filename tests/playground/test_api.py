"""The playground's HTTP interface, without a browser: what a person sees, and their actions reaching the real
app as signed Slack requests (the app's answers land in the Slack stand-in, which the page shows)."""

from __future__ import annotations

import csv
import io
import re
import time
from typing import Any

import httpx

from bot.demo_world import ALICE, APPROVAL_CHANNEL, BOB, CAROL, DAVE, WORK_CHANNEL, DemoWorld
from bot.slack import ids
from sandbox import known


def _until(client: httpx.Client, user: str, check: Any, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        state = client.get("/api/state", params={"user": user}).json()
        if check(state):
            return state
        assert time.monotonic() < deadline, "the page never showed what was expected"
        time.sleep(0.1)


def _texts(state: dict[str, Any], channel: str) -> list[str]:
    import json

    return [m["text"] + json.dumps(m["blocks"]) for m in state["messages"] if m["channel"] == channel]


def test_a_command_is_answered_privately_to_whoever_typed_it(api: httpx.Client) -> None:
    answer = api.post("/api/command", json={"user": DAVE, "channel": WORK_CHANNEL, "text": "/nce help"}).json()
    assert answer["ok"] and answer["status"] == 200
    state = _until(api, DAVE, lambda s: any(m["ephemeral"] and "/nce migrate" in str(m["blocks"])
                                            for m in s["messages"]))
    help_message = next(m for m in state["messages"] if m["ephemeral"] and "/nce migrate" in str(m["blocks"]))
    assert help_message["channel"] == WORK_CHANNEL and help_message["user"] == state["bot"]
    # nobody else sees it
    carol = api.get("/api/state", params={"user": CAROL}).json()
    assert not any(m["ts"] == help_message["ts"] for m in carol["messages"])
    assert carol["names"][ALICE] == "alice" and carol["groups"]


def test_the_rejection_modal_round_trip(api: httpx.Client, demo_world: DemoWorld) -> None:
    api.post("/api/command", json={"user": ALICE, "channel": WORK_CHANNEL,
                                   "text": f"/nce migrate {known.WIDE_WORLD} {known.WIDE_WORLD_MONTHLY}"})
    state = _until(api, ALICE, lambda s: any("waiting for approval" in t for t in _texts(s, WORK_CHANNEL)))
    request_id = re.search(r"Request `([0-9a-f]{32})`", "\n".join(_texts(state, WORK_CHANNEL))).group(1)  # type: ignore[union-attr]
    message = next(m for m in _until(api, CAROL, lambda s: any(request_id in t for t in _texts(s, APPROVAL_CHANNEL)))
                   ["messages"] if m["channel"] == APPROVAL_CHANNEL and request_id in str(m["blocks"])
                   and not m["thread_ts"])
    clicked = api.post("/api/action", json={
        "user": CAROL, "where": "message", "channel": APPROVAL_CHANNEL, "message_ts": message["ts"],
        "action_id": ids.REJECT_ACTION, "block_id": ids.DECISION_BLOCK,
        "element": {"type": "button", "value": request_id, "text": {"type": "plain_text", "text": "Reject"}}})
    assert clicked.json()["ok"]
    modal = _until(api, CAROL, lambda s: s["modal"] is not None)["modal"]
    assert modal["callback_id"] == ids.REJECT_MODAL and modal["title"]["text"] == "Reject request"
    assert api.get("/api/state", params={"user": ALICE}).json()["modal"] is None  # only the clicker sees it

    # a blank reason: the app answers with a field error, the modal stays open and shows it
    blank = {ids.REASON_BLOCK: {ids.REASON_INPUT: {"type": "plain_text_input", "value": "   "}}}
    answer = api.post("/api/submit", json={"user": CAROL, "view_id": modal["id"], "values": blank}).json()
    assert answer["body"]["response_action"] == "errors"
    shown = api.get("/api/state", params={"user": CAROL}).json()["modal"]
    assert shown["id"] == modal["id"] and ids.REASON_BLOCK in shown["errors"]

    reason = {ids.REASON_BLOCK: {ids.REASON_INPUT: {"type": "plain_text_input", "value": "Not this quarter"}}}
    answer = api.post("/api/submit", json={"user": CAROL, "view_id": modal["id"], "values": reason}).json()
    assert answer["ok"] and answer["body"] == {}
    state = _until(api, CAROL, lambda s: s["modal"] is None and any(
        "Rejected by" in t and "Not this quarter" in t for t in _texts(s, APPROVAL_CHANNEL)))
    assert not any(request_id in t and ids.APPROVE_ACTION in t for t in _texts(state, APPROVAL_CHANNEL))


def test_the_home_tab_is_published_when_opened(api: httpx.Client) -> None:
    assert api.post("/api/home", json={"user": CAROL}).json()["ok"]
    home = _until(api, CAROL, lambda s: s["home"] is not None)["home"]
    assert home["type"] == "home"
    assert any(b["type"] == "header" and "Waiting for a decision" in b["text"]["text"] for b in home["blocks"])


def test_an_uploaded_csv_is_downloadable(api: httpx.Client) -> None:
    api.post("/api/command", json={"user": BOB, "channel": WORK_CHANNEL, "text": f"/nce check {known.FABRIKAM}"})
    state = _until(api, BOB, lambda s: any(f["name"].endswith(".csv") and known.FABRIKAM in f["name"]
                                           for m in s["messages"] for f in m["files"]))
    file = next(f for m in state["messages"] for f in m["files"] if known.FABRIKAM in f["name"])
    response = api.get(file["url"])
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert f'filename="{file["name"]}"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows and all(r["CustomerTenantId"] == known.FABRIKAM for r in rows)
    assert api.get("/files/F-none").status_code == 404


def test_direct_messages_from_the_app_are_shown_in_the_persons_dm_only(api: httpx.Client) -> None:
    """``/nce audit`` sends its CSV to the approver by direct message (conversations.open → D…)."""
    api.post("/api/command", json={"user": BOB, "channel": WORK_CHANNEL, "text": "/nce audit"})
    state = _until(api, BOB, lambda s: any(m["channel"] == s["dm"] and m["files"] for m in s["messages"]))
    dm = [m for m in state["messages"] if m["channel"] == state["dm"] and m["files"]]
    assert state["dm"] == "DBOB000002" and dm[-1]["files"][0]["name"].endswith(".csv")
    carol = api.get("/api/state", params={"user": CAROL}).json()
    assert not any(m["files"] and m["ts"] == dm[-1]["ts"] for m in carol["messages"])


def test_bad_requests_are_refused_and_change_nothing(api: httpx.Client, demo_world: DemoWorld) -> None:
    sent = demo_world.requester.sent
    assert api.get("/api/state", params={"user": "UNOBODY"}).status_code == 400
    # not JSON: a cross-site form post cannot reach the app through the playground
    form = api.post("/api/command", data={"user": ALICE, "channel": WORK_CHANNEL, "text": "/nce help"})
    assert form.status_code == 400 and "JSON" in form.json()["error"]
    assert api.post("/api/command", json={"user": ALICE, "channel": "CUNKNOWN", "text": "/nce help"}
                    ).status_code == 400
    assert api.post("/api/submit", json={"user": ALICE, "view_id": "VNOPE", "values": {}}).status_code == 400
    assert api.post("/api/action", json={"user": ALICE, "where": "nowhere", "action_id": "x"}).status_code == 400
    assert demo_world.requester.sent == sent
    other = api.post("/api/command", json={"user": ALICE, "channel": WORK_CHANNEL, "text": "/giphy cats"}).json()
    assert "not a command" in other["body"]["text"] and demo_world.requester.sent == sent


def test_the_page_and_its_assets_are_served(api: httpx.Client) -> None:
    page = api.get("/")
    assert page.status_code == 200 and "/static/app.js" in page.text
    for asset in ("app.js", "style.css"):
        assert api.get(f"/static/{asset}").status_code == 200
    script = api.get("/static/app.js").text
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"):
        assert sink not in script  # every Slack text goes in with textContent / text nodes
