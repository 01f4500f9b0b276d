"""Campaigns (SPEC §8): many subscriptions, possibly of many customers, under one approval."""
