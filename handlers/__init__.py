"""Slack listeners only: parse input, call the workflow, render Block Kit. No business rules here.

Listeners are module-level functions (tests can import them); they find their ``AppDeps`` in Bolt's context."""

from __future__ import annotations

from slack_bolt import App

from handlers import actions, campaign_intake, campaigns, commands, deadlines, home, options, views


def register_listeners(app: App) -> None:
    commands.register(app)
    actions.register(app)
    views.register(app)
    options.register(app)
    home.register(app)
    deadlines.register(app)
    campaign_intake.register(app)
    campaigns.register(app)
