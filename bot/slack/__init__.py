"""Slack side of ncebot: ids, pure Block Kit builders, the command parser, notifier and membership resolver."""
