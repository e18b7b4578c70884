"""discord.py is pinned to the version whose internals tests/discord_harness.py was checked against.

The harness replaces discord.py's last HTTP step and feeds raw gateway payloads to its parser,
so it relies on things discord.py does not promise to keep: ``HTTPClient.request(route, ...)``,
``AsyncWebhookAdapter.request`` and ``async_context``, ``ConnectionState.parse_interaction_create``,
``parse_message_create`` and ``parse_message_update``, ``_add_guild_from_data``, the command tree's
``_http`` and the view store calling ``View._refresh(components)``. When this test fails, an upgrade
changed the version: re-check those against the new discord.py, run the whole suite, then move the pin
(pyproject.toml and ``python3 dev.py lock``) and VERIFIED together.
"""

from __future__ import annotations

import inspect

import discord
from discord.http import HTTPClient
from discord.state import ConnectionState
from discord.ui.view import View, ViewStore
from discord.webhook.async_ import AsyncWebhookAdapter, async_context

VERIFIED = "2.7.1"


def test_discord_py_is_the_version_the_harness_was_verified_against():
    assert discord.__version__ == VERIFIED, (
        f"discord.py {discord.__version__} is installed, but tests/discord_harness.py was verified against {VERIFIED}: "
        "re-check the internals listed in tests/test_discord_version.py, then update the pin and VERIFIED"
    )


def test_the_internals_the_harness_uses_are_there_with_the_shapes_it_expects():
    assert list(inspect.signature(HTTPClient.request).parameters)[:2] == ["self", "route"]
    assert list(inspect.signature(AsyncWebhookAdapter.request).parameters)[:3] == ["self", "route", "session"]
    assert async_context.get() is not None
    for parser in ("parse_interaction_create", "parse_message_create", "parse_message_update"):
        assert list(inspect.signature(getattr(ConnectionState, parser)).parameters) == ["self", "data"], parser
    assert hasattr(ConnectionState, "_add_guild_from_data")
    assert list(inspect.signature(View._refresh).parameters) == ["self", "components"]
    assert "_refresh(" in inspect.getsource(ViewStore.update_from_message)
