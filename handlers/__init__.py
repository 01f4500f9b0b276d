"""Slack listeners only: parse input, call the workflow, render Block Kit. No business rules here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt import App

if TYPE_CHECKING:
    from bot.app import AppDeps


def register_listeners(app: App, deps: AppDeps) -> None:
    from handlers import actions, commands, deadlines, home, options, views

    commands.register(app, deps)
    actions.register(app, deps)
    views.register(app, deps)
    options.register(app, deps)
    home.register(app, deps)
    deadlines.register(app, deps)
