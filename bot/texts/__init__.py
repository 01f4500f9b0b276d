"""The sentences users read, one module per surface of the Slack-free core (issue #10 item 6).

- ``thread``: every reply a request's lifecycle writes in its Slack thread (submitted, refused, retrying,
  rejected, migration and schedule progress and outcome) and the failure descriptions stored on a request.
- ``announcements``: the channel announcements of migrations and schedules made outside ncebot.
- ``refusals``: the sentences of the domain errors the services raise to users (not authorized, already voted,
  not posted, Partner Center problems, not found, already open, not changeable, window closed…).
  The input-rule messages (options, GUIDs, dates, quantity, reason) stay in ``bot.rules``.
- ``eligibility``: why a subscription is skipped or ineligible, in the check report and in campaign plans.
- ``deadlines``: the deadline digest's own phrases built in the core.

Texts are plain functions and constants; every value written by people or Partner Center goes through
``bot.mrkdwn.esc`` here. This package is the layer under ``bot.domain`` (whose errors use ``refusals``) and
imports nothing but ``bot.mrkdwn`` at run time (Partner Center models only as type hints), never the Slack layer
(import-linter contracts). The Slack surfaces' texts live in ``bot.slack.blocks``.
"""
