"""Campaigns in, over signed HTTP into the real Bolt app (SPEC §8, §9): ``/nce import`` through its modal with an
uploaded file, ``/nce bulk`` (one customer by name, or all), ``/nce check all`` over more than 50 customers; every
answer given at once with an estimate and updated in place through the command's response_url.

The campaign service (``AppDeps.campaigns``) is a recording double here: it is the dependency-injection seam
where the validated plan is handed over (storing and posting the request is the service's own business)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.bam import BamKind, BamPlan, SkippedRow
from bot.bam import formats as bam_formats
from bot.csv_files import write_csv
from bot.domain import RequestKind, RequestState, RequestView
from bot.reports import CHECK_COLUMNS
from bot.slack import ids
from sandbox import journal, known, large_seed
from sandbox.server import SandboxServer
from storage.models import ChangeRequest
from tests.fixtures.slack import REQUESTER, WORK_CHANNEL, SlackEnv, stored_view, wait_for

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

AW = known.ADVENTURE_WORKS
NO_PRODUCT = known.INELIGIBLE_BY_CODE[5][1]


@dataclass
class RecordingCampaigns:
    """Stands in for ``bot.campaigns.service.CampaignService.request``: records what it is handed."""

    calls: list[dict[str, Any]] = field(default_factory=list)

    def request(self, plan: BamPlan, *, requester: str, source: str, ineligible: Any = (),
                file_name: str | None = None) -> RequestView:
        self.calls.append({"plan": plan, "requester": requester, "source": str(source),
                           "ineligible": list(ineligible), "file_name": file_name})
        now = datetime.now(UTC)
        return RequestView(id="c" * 32, kind=RequestKind.BULK, state=RequestState.PENDING,
                           customer_id=plan.customers[0] if plan.customers else "", subscription_id=None,
                           requester=requester, created_at=now, expires_at=now + timedelta(days=1),
                           subscription_name=f"{plan.subscriptions} subscriptions")


def answers(env: SlackEnv) -> list[dict[str, Any]]:
    """What was posted to commands' response_urls, in order (text and whether it replaced the answer)."""
    return [c.params for c in env.standin.calls_to("response_url")]


def stored_requests(env: SlackEnv) -> int:
    with env.workflow.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(ChangeRequest)) or 0)


def open_import_modal(env: SlackEnv) -> dict[str, Any]:
    def imports() -> list[Any]:
        return [v for v in env.standin.views.values() if v.view.get("callback_id") == ids.IMPORT_MODAL]

    before = len(imports())
    assert env.requester.command("import").status_code == 200
    opened = wait_for(lambda: (lambda found: found if len(found) > before else None)(imports()))
    view = stored_view(env.standin, opened[-1].id)
    element = next(b["element"] for b in view["blocks"] if b.get("block_id") == ids.IMPORT_FILE_BLOCK)
    assert (element["type"], element["action_id"], element["filetypes"], element["max_files"]) == (
        "file_input", "ncebot_import_file", ["csv"], 1)
    return view


# --- /nce import -------------------------------------------------------------------------------------------


def test_import_validates_every_row_and_hands_over_the_plan(slack_env: Any) -> None:
    campaigns = RecordingCampaigns()
    env = slack_env(campaigns=campaigns)
    view = open_import_modal(env)
    journal.clear(env.sandbox.state)
    example = (known.BAM_EXAMPLES / "subscriptions.csv").read_bytes()
    extra = write_csv(bam_formats.SUBSCRIPTIONS, [[
        None, None, None, AW, NO_PRODUCT, None, None, None, None, True, None, None, None, None, False, "P1Y",
        "Monthly", 3, None, False, None, None]]).encode("utf-8-sig").split(b"\r\n", 1)[1]
    answer = env.requester.submit_files(view, {"subscriptions.csv": example + extra}, user=REQUESTER)
    assert answer.status_code == 200 and answer.text == ""  # acked at once: the modal closes

    call = wait_for(lambda: campaigns.calls and campaigns.calls[0])
    plan, refused = call["plan"], call["ineligible"]
    assert (call["requester"], call["source"], call["file_name"]) == (REQUESTER, "import", "subscriptions.csv")
    assert plan.kind is BamKind.MIGRATE and set(plan.customers) == {known.CONTOSO}
    assert all(r.catalog_item_id and r.customer_name == "Contoso Ltd" for m in plan.migrations for r in m.rows)
    reasons = {r.subscription_id: r for r in refused}
    assert reasons[NO_PRODUCT].reason.startswith("5: ") and reasons[NO_PRODUCT].line == 13
    assert all(isinstance(r, SkippedRow) and r.reason.split(":")[0].isdigit() for r in refused)
    sent = {m.subscription_id for m in plan.migrations}
    assert sent and not sent & set(reasons) and known.ELIGIBLE_SIMPLE in sent
    bodies = {e.body["currentsubscriptionid"]: e.body for e in journal.entries(env.sandbox.state, "validate")}
    assert bodies[known.ELIGIBLE_BASE]["termduration"] == "P3Y" and bodies[NO_PRODUCT]["quantity"] == 3
    # The file came from Slack with the bot token; the answer went where the command was run, updated in place.
    assert [c.params["authorized"] for c in env.standin.calls_to("download")] == [True]
    final = wait_for(lambda: next((a for a in answers(env) if "is waiting for approval" in a.get("text", "")),
                                  None))
    assert final["replace_original"] is True and "not in the request" in final["text"]
    assert "Reading" in answers(env)[0]["text"] and "Validating" in " ".join(a["text"] for a in answers(env))


def test_import_with_the_campaign_service_stores_one_request_and_posts_it(slack_env: Any) -> None:
    env = slack_env(campaigns="service")
    view = open_import_modal(env)
    example = (known.BAM_EXAMPLES / "subscriptions-2022.csv").read_bytes()  # the 2022 layout
    env.requester.submit_files(view, {"subscriptions-2022.csv": example}, user=REQUESTER)
    final = wait_for(lambda: next((a for a in answers(env) if "is waiting for approval" in a.get("text", "")), None))
    [message] = [m for m in env.approval_messages() if m.thread_ts is None]
    assert stored_requests(env) == 1
    [pending] = env.workflow.pending_requests()
    assert pending.kind is RequestKind.BULK and pending.id in final["text"] and pending.requester == REQUESTER
    assert pending.id in str(message.blocks)
    assert final["replace_original"] is True


def test_a_schedule_file_and_a_cancel_file_through_the_campaign_service(slack_env: Any) -> None:
    env = slack_env(campaigns="service")
    view = open_import_modal(env)
    example = (known.BAM_EXAMPLES / "subscriptionsforschedule.csv").read_bytes()
    env.requester.submit_files(view, {"subscriptionsforschedule.csv": example}, user=REQUESTER)
    final = wait_for(lambda: next((a["text"] for a in answers(env) if "is waiting for approval" in a["text"]), None))
    assert "Schedule the migration of" in final
    [pending] = env.workflow.pending_requests()
    assert pending.kind is RequestKind.BULK
    # the example cancel file names schedules this sandbox never made: every row refused, nothing requested
    view = open_import_modal(env)
    env.requester.submit_files(view, {"schedulemigrations.csv": (known.BAM_EXAMPLES / "schedulemigrations.csv")
                                      .read_bytes()}, user=REQUESTER)
    nothing = wait_for(lambda: next((a["text"] for a in answers(env) if "No request was made" in a["text"]), None))
    assert "ScheduleNotFound" in nothing and stored_requests(env) == 1


def test_a_file_with_bad_rows_is_refused_by_line_and_column_and_nothing_is_stored(slack_env: Any) -> None:
    campaigns = RecordingCampaigns()
    env = slack_env(campaigns=campaigns)
    view = open_import_modal(env)
    journal.clear(env.sandbox.state)
    bad = write_csv(bam_formats.SUBSCRIPTIONS, [
        [None, None, None, known.CONTOSO, "not-a-guid", None, None, None, None, True, None, None, None, None, False,
         "P1Y", "Monthly", 3, None, False, None, None],
        [None, None, None, known.CONTOSO, known.ELIGIBLE_SIMPLE, None, None, None, None, True, None, None, None, None,
         False, "P9Y", "Monthly", -2, None, False, None, None],
    ]).encode("utf-8-sig")
    env.requester.submit_files(view, {"subscriptions.csv": bad}, user=REQUESTER)
    refused = wait_for(lambda: next((a["text"] for a in answers(env) if "was not imported" in a["text"]), None))
    assert "line 2, LegacySubscriptionId" in refused
    assert "line 3, Term" in refused and "line 3, SeatCount" in refused
    assert campaigns.calls == [] and stored_requests(env) == 0
    assert journal.entries(env.sandbox.state, "validate") == []


def test_the_bad_rows_example_is_refused_naming_every_line_and_column(slack_env: Any) -> None:
    campaigns = RecordingCampaigns()
    env = slack_env(campaigns=campaigns)
    view = open_import_modal(env)
    journal.clear(env.sandbox.state)
    example = (known.BAM_EXAMPLES / "variants" / "subscriptions-bad-rows.csv").read_bytes()
    env.requester.submit_files(view, {"subscriptions-bad-rows.csv": example}, user=REQUESTER)
    refused = wait_for(lambda: next((a["text"] for a in answers(env) if "was not imported" in a["text"]), None))
    for line, column in [(2, "SeatCount"), (2, "Term"), (3, "BillingPlan"), (4, "CustomerTenantId"),
                         (5, "StartNewTermInNce"), (7, "CustomTermEndDate"), (8, "BaseSubscriptionId"),
                         (9, "MigrationEligible")]:
        assert f"line {line}, {column}:" in refused
    assert "8 problem(s) on 7 line(s); nothing was stored" in refused
    assert campaigns.calls == [] and stored_requests(env) == 0 and journal.entries(env.sandbox.state) == []


def test_every_problem_of_a_long_refusal_goes_to_the_person_as_a_file(slack_env: Any) -> None:
    env = slack_env(campaigns=RecordingCampaigns())
    view = open_import_modal(env)
    bad = write_csv(bam_formats.SUBSCRIPTIONS, [
        [None, None, None, known.CONTOSO, f"bad-{n}", None, None, None, None, True, None, None, None, None, False,
         "P1Y", "Monthly", 3, None, False, None, None] for n in range(60)]).encode("utf-8-sig")
    env.requester.submit_files(view, {"subscriptions.csv": bad}, user=REQUESTER)
    refused = wait_for(lambda: next((a["text"] for a in answers(env) if "was not imported" in a["text"]), None))
    assert "line 51, LegacySubscriptionId" in refused and "line 52," not in refused
    assert "and 10 more (every one is in the problems file)" in refused
    stored = wait_for(lambda: next((f for f in env.standin.files.values() if f.filename.startswith("problems-")),
                                   None))
    rows = list(csv.reader(io.StringIO(stored.content.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["Line", "Column", "Problem"] and len(rows) == 61
    assert rows[-1][:2] == ["61", "LegacySubscriptionId"]
    assert stored.channels and stored.channels[0].startswith("D")  # the person's DM, not the channel
    assert stored_requests(env) == 0


def test_a_file_over_5_mb_is_refused_before_it_is_downloaded(slack_env: Any) -> None:
    campaigns = RecordingCampaigns()
    env = slack_env(campaigns=campaigns)
    view = open_import_modal(env)
    env.requester.submit_files(view, {"huge.csv": b"x" * (6 * 1024 * 1024)}, user=REQUESTER)
    text = wait_for(lambda: next((a["text"] for a in answers(env) if "MB" in a["text"]), None))
    assert "is 6.0 MB; ncebot takes BAM files up to 5.0 MB" in text
    assert env.standin.calls_to("download") == [] and campaigns.calls == []


def test_import_without_a_file_is_a_field_error(slack_env: Any) -> None:
    env = slack_env(campaigns=RecordingCampaigns())
    view = open_import_modal(env)
    answer = env.requester.view_submission(view, {ids.IMPORT_FILE_BLOCK: {ids.IMPORT_FILE_INPUT: {
        "type": "file_input", "files": []}}}, user=REQUESTER)
    assert answer.json() == {"response_action": "errors", "errors": {ids.IMPORT_FILE_BLOCK: "Attach one CSV file."}}


# --- /nce bulk ---------------------------------------------------------------------------------------------


def test_bulk_of_a_customer_by_name_is_planned_validated_and_handed_over(slack_env: Any) -> None:
    campaigns = RecordingCampaigns()
    env = slack_env(campaigns=campaigns)
    assert env.requester.command("bulk adventure works term=P1Y").status_code == 200
    call = wait_for(lambda: campaigns.calls and campaigns.calls[0])
    assert call["source"] == "bulk" and set(call["plan"].customers) == {AW}
    assert {r.subscription_id for r in call["ineligible"]} >= {NO_PRODUCT}
    first = answers(env)[0]
    assert "Planning a bulk migration of customer adventure works" in first["text"]
    estimate = next(a["text"] for a in answers(env) if "Validating" in a["text"])
    assert "Partner Center allows 450 validations per customer per 5 minutes: under a minute" in estimate
    assert stored_requests(env) == 0  # the double stores nothing: the plan went nowhere else


def test_bulk_with_nothing_to_send_says_so_and_hands_nothing_over(slack_env: Any) -> None:
    campaigns = RecordingCampaigns()
    env = slack_env(campaigns=campaigns)
    env.requester.command(f"bulk {known.WOODGROVE}")  # a customer without subscriptions
    text = wait_for(lambda: next((a["text"] for a in answers(env) if "No request was made" in a["text"]), None))
    assert "nothing in customer" in text
    env.requester.command(f"bulk {AW} quantity=5")
    assert "quantity is not supported" in wait_for(lambda: next(
        (a["text"] for a in answers(env) if "quantity" in a["text"]), None))
    assert campaigns.calls == [] and stored_requests(env) == 0


def test_bulk_from_the_lookup_modal_is_a_campaign_too(slack_env: Any) -> None:
    campaigns = RecordingCampaigns()
    env = slack_env(campaigns=campaigns)
    env.requester.command("bulk")
    opened = wait_for(lambda: env.standin.calls_to("views.open"))[0]
    view = stored_view(env.standin, opened.response["view"]["id"])
    values = {ids.CUSTOMER_BLOCK: {ids.CUSTOMER_SELECT: {"selected_option": {"value": AW}}}}
    assert env.requester.view_submission(view, values, user=REQUESTER).status_code == 200
    call = wait_for(lambda: campaigns.calls and campaigns.calls[0])
    assert call["source"] == "bulk" and set(call["plan"].customers) == {AW}
    assert wait_for(lambda: [m for m in env.standin.ephemeral_to(REQUESTER) if "waiting for approval" in m.text])


def test_bulk_all_takes_every_customer(slack_env: Any) -> None:
    campaigns = RecordingCampaigns()
    env = slack_env(campaigns=campaigns)
    journal.clear(env.sandbox.state)
    env.requester.command("bulk all")
    call = wait_for(lambda: campaigns.calls and campaigns.calls[0], timeout=60)
    assert call["source"] == "bulk all"
    assert set(call["plan"].customers) >= {known.CONTOSO, AW, known.NORTHWIND}
    assert len(journal.entries(env.sandbox.state, "get_customer")) == 0  # names came with the customer list


def test_an_ambiguous_name_lists_the_matches_and_plans_nothing(slack_env: Any) -> None:
    campaigns = RecordingCampaigns()
    env = slack_env(campaigns=campaigns)
    env.requester.command("bulk o")
    text = wait_for(lambda: next((a["text"] for a in answers(env) if "matches" in a["text"]), None))
    assert "`o` matches 5 customers" in text and "Contoso Ltd" in text
    env.requester.command("check contoso.onmicrosoft.com")  # by domain
    wait_for(lambda: any("Checking every legacy subscription of customer" in a["text"] for a in answers(env)))
    estimate = wait_for(lambda: next((a for a in answers(env) if "validations per customer" in a["text"]), None))
    assert estimate["replace_original"] is True and "base subscriptions; Partner Center allows 450" in estimate["text"]
    final = wait_for(lambda: next((a for a in answers(env) if "eligible" in a["text"] and "Contoso" in a["text"]),
                                  None))
    assert final["replace_original"] is True
    assert campaigns.calls == []


# --- /nce check all ----------------------------------------------------------------------------------------


def _sixty_small_customers() -> dict[str, Any]:
    """The large seed's first 60 customers (not the 600-subscription one), each cut to its first 6 subscriptions
    (add-ons of dropped bases dropped too): over 50 customers, and quick to check."""
    data = large_seed.build()
    kept = []
    for customer in data["customers"]:
        if len(customer["subscriptions"]) >= 600:
            continue
        subs = customer["subscriptions"][:6]
        ids_ = {s["id"] for s in subs}
        customer["subscriptions"] = [s for s in subs if not s.get("parent") or s["parent"] in ids_]
        kept.append(customer)
        if len(kept) == 60:
            break
    data["customers"] = kept
    return data


def test_check_all_lists_every_customer_in_one_csv_with_progress_in_place(slack_env: Any) -> None:
    data = _sixty_small_customers()
    with SandboxServer(data=data) as sandbox:
        env = slack_env(partner_center=sandbox)
        assert env.requester.command("check all").status_code == 200
        stored = wait_for(lambda: next((f for f in env.standin.files.values() if f.channels), None), timeout=90)
        final = wait_for(lambda: next((a for a in answers(env) if "Checked 60 of 60 customers" in a["text"]), None))

    assert stored.channels == [WORK_CHANNEL] and stored.filename.startswith("nce-check-all-")
    content = stored.content.decode("utf-8-sig")
    assert content.startswith(",".join(bam_formats.SUBSCRIPTIONS) + ",")
    rows = list(csv.DictReader(io.StringIO(content, newline="")))
    assert set(rows[0]) == set(CHECK_COLUMNS)
    expected = {(c["id"], s["id"]) for c in data["customers"] for s in c["subscriptions"]}
    assert {(r["CustomerTenantId"], r["LegacySubscriptionId"]) for r in rows} == expected
    assert len({r["CustomerTenantId"] for r in rows}) == 60

    sent = answers(env)
    assert "Checking every legacy subscription of all 60 customers" in sent[0]["text"]
    progress = [a for a in sent if a.get("replace_original") and "Checked" in a["text"] and a is not final]
    assert len(progress) >= 2 and all("subscriptions so far" in a["text"] for a in progress)
    assert any("subscriptions in all" in a["text"] for a in progress)  # the estimate from the counts so far
    assert final["replace_original"] is True and len(sent) <= 5  # a response_url takes five uses
