"""Partner Center webhooks (SPEC §11): verification, the receiver, event handling and registration."""
