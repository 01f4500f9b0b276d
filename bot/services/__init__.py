"""The use cases behind ``bot.workflow.Workflow`` (a facade over them), one module each:

- ``catalogue``: Partner Center reads for people and validation (customers, subscriptions, end dates, validate,
  schedules, migration status), the customer-name cache, and the bodies planning reuses;
- ``checks``: the ``/nce check`` report;
- ``reads``: stored requests by id, state or requester;
- ``requests``: change requests and their planning, the open-request guards, a message that could not be posted;
- ``approvals``: who may decide, votes, approve, reject, expiry;
- ``submission``: sending an approved request to Partner Center exactly once, and resuming interrupted sends;
- ``settlement``: moving a request on once its operations are answered (submitted, processing, completed, failed);
- ``audit``: the audit export, the watch list, who counts as an approver;
- ``errors`` / ``models``: the domain errors and returned values; ``plumbing``: what every service shares.

Each service takes its dependencies (session factory, Partner Center client, notifier, access/policy, clock,
instance id, other services) as explicit constructor arguments. Slack-free: never imports slack_bolt/slack_sdk.
"""
