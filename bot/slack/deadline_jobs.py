"""Wiring of the SPEC §10 background jobs onto a ``TrackingService`` (lease holder only): the 7-day window
watcher (thread posts with buttons through the durable outbox) and the daily digest (a message and its CSV in
``NCEBOT_NOTIFY_CHANNEL``). Used by ``bot.runtime`` and by tests that build replicas by hand."""

from __future__ import annotations

from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.deadlines.digest import DigestJob
from bot.deadlines.renewals import RenewalRadar, RenewalReport
from bot.deadlines.watcher import WindowWatcher
from bot.domain import Clock
from bot.partner_center.client import PartnerCenterClient
from bot.settings import Settings
from bot.slack import deadline_blocks
from bot.tracking.service import TrackingService
from bot.workflow import Workflow

JOB_WINDOWS = "deadlines.windows"
JOB_DIGEST = "deadlines.digest"
DIGEST_CHECK_SECONDS = 60.0


def post_digest(client: WebClient, channel: str, report: RenewalReport) -> None:
    text, blocks = deadline_blocks.digest_blocks(report)
    client.chat_postMessage(channel=channel, text=text, blocks=blocks, unfurl_links=False)
    client.files_upload_v2(channel=channel, content=report.to_csv(), filename=report.filename,
                           title=f"Renewal radar {report.today.isoformat()}")


def install_deadline_jobs(service: TrackingService, settings: Settings, workflow: Workflow,
                          session_factory: sessionmaker[Session], partner_center: PartnerCenterClient,
                          slack_client: WebClient, clock: Clock) -> tuple[WindowWatcher, DigestJob]:
    watcher = WindowWatcher(session_factory, partner_center, service.outbox, clock, deadline_blocks.window_notice)
    digest = DigestJob(at=settings.digest_time, days=settings.ncebot_digest_days, channel=settings.notify_channel,
                       radar=RenewalRadar(workflow, clock), session_factory=session_factory, clock=clock,
                       holder=service.holder_id, post=lambda channel, report: post_digest(slack_client, channel,
                                                                                         report))
    service.add_job(JOB_WINDOWS, watcher.run, float(settings.ncebot_poll_interval))
    service.add_job(JOB_DIGEST, digest.run, DIGEST_CHECK_SECONDS)
    return watcher, digest
