"""Campaigns in (SPEC §8, §9): plans of /nce bulk, /nce bulk all and /nce import checked with Partner Center
before approval, and /nce check all. Slack-free; beside bot.campaigns (which runs approved campaigns) so that it
may use the workflow, which bot.campaigns may not."""
