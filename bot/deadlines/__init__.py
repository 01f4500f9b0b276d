"""SPEC §10 deadlines: the 7-day window after a migration (``window``, ``watcher``), the renewal radar and its
daily digest (``renewals``, ``digest``), aligned end dates (``end_dates``). Slack-free."""
