"""The browser playground: a local web page that looks and behaves like Slack for ncebot.

It shows what the Slack stand-in (:mod:`sandbox.slack_api`) recorded — channel messages, threads, ephemeral
replies, modals, the App Home tab, uploaded files — as the person picked on the page, and turns what that person
does (a ``/nce`` command, a click, a modal submission) into SIGNED Slack HTTP requests to the real app
(:mod:`sandbox.slack_requests`). ``ncebot demo --keep-running`` and ``make play`` serve it.
"""

from sandbox.playground.server import PlaygroundServer
from sandbox.playground.state import Person, Playground

__all__ = ["Person", "Playground", "PlaygroundServer"]
