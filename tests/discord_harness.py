"""Drive the real bot through discord.py's own machinery, with no network.

- ``RecordingHTTP`` (an ``HTTPClient``) and ``RecordingAdapter`` (discord.py's webhook
  adapter, used for interaction responses) replace only the last step, the HTTP request:
  they record the route and JSON discord.py built and answer like Discord would.
- Gateway events are raw payload dicts fed to ``ConnectionState.parse_*``, the same
  functions the websocket calls, so discord.py parses them and dispatches to the
  bot's command tree, component views and listeners.
- The bot logs in with ``Client.login``: its ``setup_hook`` loads the cogs exactly as in
  production. Its parts come from the composition root (``bot.app.open_app``) like every
  entry point's: the harness takes the settings, service and query log it built.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import discord
from discord.http import HTTPClient, Route
from discord.webhook.async_ import AsyncWebhookAdapter, async_context

from bot.config import Settings
from bot.frontends.discord_bot.client import AllyBot
from bot.querylog.store import QueryLog
from bot.service import AnswerService

APP_ID = 900000000000000001
BOT_ID = APP_ID
GUILD_ID = 910000000000000001
CHANNEL_ID = 920000000000000001
ASK_CHANNEL_ID = 920000000000000002
MODERATOR_ROLE_ID = 940000000000000001
USER_ID = 930000000000000001
OTHER_USER_ID = 930000000000000002
TIMESTAMP = "2026-11-21T12:00:00+00:00"
_ids = itertools.count(950000000000000001)


def user(user_id: int = USER_ID, name: str = "analyst", *, bot: bool = False) -> dict[str, Any]:
    return {"id": str(user_id), "username": name, "global_name": name, "discriminator": "0", "avatar": None, "bot": bot}


def member(user_id: int = USER_ID, *, permissions: int = 0, roles: tuple[int, ...] = ()) -> dict[str, Any]:
    return {
        "user": user(user_id),
        "roles": [str(r) for r in roles],
        "joined_at": TIMESTAMP,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "permissions": str(permissions),
    }


def guild() -> dict[str, Any]:
    channel = {"type": 0, "position": 0, "guild_id": str(GUILD_ID), "permission_overwrites": [], "nsfw": False}
    return {
        "id": str(GUILD_ID),
        "name": "Alliance Team",
        "owner_id": str(OTHER_USER_ID),
        "icon": None,
        "roles": [
            {
                "id": str(role),
                "name": name,
                "permissions": "0",
                "position": position,
                "color": 0,
                "hoist": False,
                "managed": False,
                "mentionable": False,
                "flags": 0,
            }
            for role, name, position in ((GUILD_ID, "@everyone", 0), (MODERATOR_ROLE_ID, "moderators", 1))
        ],
        "channels": [
            {**channel, "id": str(CHANNEL_ID), "name": "general"},
            {**channel, "id": str(ASK_CHANNEL_ID), "name": "ask-nato", "position": 1},
        ],
        "members": [],
        "emojis": [],
        "stickers": [],
        "features": [],
        "member_count": 3,
        "mfa_level": 0,
        "verification_level": 0,
        "explicit_content_filter": 0,
        "default_message_notifications": 0,
        "premium_tier": 0,
        "preferred_locale": "en-US",
        "nsfw_level": 0,
        "system_channel_flags": 0,
    }


def message(
    content: str,
    *,
    channel_id: int = CHANNEL_ID,
    dm: bool = False,
    author: dict | None = None,
    mentions: tuple[dict, ...] = (),
    webhook_id: int | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(next(_ids)),
        "channel_id": str(channel_id),
        "author": author or user(),
        "content": content,
        "timestamp": TIMESTAMP,
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": "@everyone" in content,
        "mentions": list(mentions),
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": False,
        "type": 0,
        "flags": 0,
    }
    if not dm:
        data["guild_id"] = str(GUILD_ID)
        data["member"] = {k: v for k, v in member((author or user())["id"]).items() if k != "user"}
    if webhook_id is not None:
        data["webhook_id"] = str(webhook_id)
    return data


def interaction(
    kind: int,
    data: dict[str, Any],
    *,
    user_id: int = USER_ID,
    permissions: int = 0,
    roles: tuple[int, ...] = (),
    dm: bool = False,
    message_payload: dict | None = None,
) -> dict[str, Any]:
    interaction_id = next(_ids)
    payload: dict[str, Any] = {
        "id": str(interaction_id),
        "application_id": str(APP_ID),
        "type": kind,
        "token": f"token-{interaction_id}",
        "version": 1,
        "data": data,
        "locale": "en-US",
        "entitlements": [],
        "app_permissions": str(2**53 - 1),
        "attachment_size_limit": 8388608,
        "context": 1 if dm else 0,
        "authorizing_integration_owners": {"0": str(GUILD_ID)},
    }
    if dm:
        payload["channel_id"] = str(CHANNEL_ID)
        payload["channel"] = {"id": str(CHANNEL_ID), "type": 1}
        payload["user"] = user(user_id)
    else:
        payload.update(
            guild_id=str(GUILD_ID),
            guild_locale="en-US",
            channel_id=str(CHANNEL_ID),
            member=member(user_id, permissions=permissions, roles=roles),
            channel={
                "id": str(CHANNEL_ID),
                "type": 0,
                "guild_id": str(GUILD_ID),
                "name": "general",
                "position": 0,
                "permission_overwrites": [],
                "nsfw": False,
            },
        )
    if message_payload is not None:
        payload["message"] = message_payload
    return payload


def slash(name: str, *options: dict[str, Any], group: str | None = None, **kwargs: Any) -> dict[str, Any]:
    """A chat-input command interaction; ``options`` from ``option()``."""
    data: dict[str, Any] = {"id": str(next(_ids)), "name": name, "type": 1, "options": list(options)}
    if group is not None:
        data = {
            "id": data["id"],
            "name": group,
            "type": 1,
            "options": [{"name": name, "type": 1, "options": list(options)}],
        }
    return interaction(2, data, **kwargs)


def option(name: str, value: Any, *, kind: int = 3, focused: bool = False) -> dict[str, Any]:
    found: dict[str, Any] = {"name": name, "type": kind, "value": value}
    if focused:
        found["focused"] = True
    return found


def autocomplete(name: str, *options: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return interaction(4, {"id": str(next(_ids)), "name": name, "type": 1, "options": list(options)}, **kwargs)


def click(
    custom_id: str,
    *,
    values: list[str] | None = None,
    message_id: int | None = None,
    components: list[dict[str, Any]] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """A button (or, with ``values``, select-menu) interaction on a message the bot sent.

    Discord sends the clicked message with its components; pass the ones the bot sent,
    or get a row holding just the clicked component.
    """
    data: dict[str, Any] = {"custom_id": custom_id, "component_type": 2 if values is None else 3}
    if values is not None:
        data["values"] = values
    if components is None:
        clicked = (
            {"type": 2, "style": 2, "custom_id": custom_id, "label": "x"}
            if values is None
            else {"type": 3, "custom_id": custom_id, "options": [{"label": v, "value": v} for v in values]}
        )
        components = [{"type": 1, "components": [clicked]}]
    bot_message = {**message("", author=user(BOT_ID, "allybot", bot=True)), "components": components}
    if message_id is not None:
        bot_message["id"] = str(message_id)
    return interaction(3, data, message_payload=bot_message, **kwargs)


@dataclass
class Call:
    method: str
    path: str
    json: Any


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[Call] = []

    def record(self, route: Route, payload: Any) -> None:
        self.calls.append(Call(route.method, route.url.removeprefix(Route.BASE), payload))

    @staticmethod
    def message_for(route: Route, payload: Any) -> dict[str, Any]:
        body = payload or {}
        return {
            **message(body.get("content") or "", author=user(BOT_ID, "allybot", bot=True)),
            "embeds": body.get("embeds", []),
            "components": body.get("components", []),
        }


class RecordingHTTP(HTTPClient, _Recorder):
    """discord.py's REST client with only the network replaced."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        HTTPClient.__init__(self, loop)
        _Recorder.__init__(self)

    async def request(self, route: Route, *, files: Any = None, form: Any = None, **kwargs: Any) -> Any:
        payload = kwargs.get("json")
        if form:  # a message with attachments: the JSON travels as the payload_json part
            payload = json.loads(next(part["value"] for part in form if part["name"] == "payload_json"))
        self.record(route, payload)
        path = route.path
        if path == "/users/@me":
            return user(BOT_ID, "allybot", bot=True)
        if path == "/oauth2/applications/@me":
            return {
                "id": str(APP_ID),
                "name": "allybot",
                "description": "",
                "icon": None,
                "bot_public": False,
                "bot_require_code_grant": False,
                "owner": user(OTHER_USER_ID, "owner"),
                "verify_key": "k",
                "flags": 0,
            }
        if path.endswith("/commands"):
            return [{**c, "id": str(next(_ids)), "application_id": str(APP_ID), "version": "1"} for c in payload or []]
        if route.method == "POST" and path.endswith("/messages"):
            return self.message_for(route, payload)
        return {}


class RecordingAdapter(AsyncWebhookAdapter, _Recorder):
    """discord.py's webhook adapter (interaction callbacks and follow-ups) with only the network replaced."""

    def __init__(self) -> None:
        AsyncWebhookAdapter.__init__(self)
        _Recorder.__init__(self)

    async def request(
        self,
        route: Route,
        session: Any,
        *,
        payload: Any = None,
        multipart: Any = None,
        files: Any = None,
        **kwargs: Any,
    ) -> Any:
        if multipart:
            payload = json.loads(next(part["value"] for part in multipart if part["name"] == "payload_json"))
        self.record(route, payload)
        if route.path.endswith("/callback"):
            flags = (payload or {}).get("data", {}).get("flags", 0)
            self.last_message_id = next(_ids)
            return {
                "interaction": {
                    "id": str(route.webhook_id),
                    "type": 2,
                    "response_message_id": str(self.last_message_id),
                    "response_message_ephemeral": bool(flags & 64),
                }
            }
        return self.message_for(route, payload)


class Harness:
    """A logged-in AllyBot with recording HTTP, and helpers to feed it gateway events."""

    def __init__(self, bot: AllyBot, http: RecordingHTTP, adapter: RecordingAdapter) -> None:
        self.bot, self.http, self.adapter = bot, http, adapter

    @staticmethod
    def offline(bot: AllyBot, http_class: type[RecordingHTTP] = RecordingHTTP) -> RecordingHTTP:
        """Give ``bot`` a recording HTTP client instead of the network; return it."""
        http = http_class(asyncio.get_running_loop())
        bot.http = bot._connection.http = http
        bot.tree._http = http  # the command tree keeps its own reference from construction
        return http

    @classmethod
    async def start(
        cls, settings: Settings, service: AnswerService, query_log: QueryLog | None = None, token: str = "test-token"
    ) -> Harness:
        """Log in a bot on these parts (``query_log`` None: a bot with logging off, as ``--no-log``)."""
        bot = AllyBot(settings, service, query_log)
        http = cls.offline(bot)
        adapter = RecordingAdapter()
        async_context.set(adapter)
        await bot.login(token)
        bot._connection._add_guild_from_data(guild())  # type: ignore[arg-type]
        return cls(bot, http, adapter)

    async def stop(self) -> None:
        await self.bot.close()

    async def settle(self) -> None:
        """Wait for every task the dispatch started (commands, callbacks, listeners) to finish.

        Long-lived background tasks are not work to wait for: a view's timeout timer, and the
        query log's writer and retention tasks.
        """
        for _ in range(50):
            pending = [
                t
                for t in asyncio.all_tasks()
                if t is not asyncio.current_task()
                and not t.done()
                and not getattr(t.get_coro(), "__qualname__", "").endswith("__timeout_task_impl")
                and not t.get_name().startswith("querylog-")
            ]
            if not pending:
                return
            await asyncio.wait(pending, timeout=5)

    async def interact(self, payload: dict[str, Any]) -> Call:
        """Send an interaction through the gateway parser; return the response discord.py sent."""
        before = len(self.adapter.calls)
        self.bot._connection.parse_interaction_create(payload)  # type: ignore[arg-type]
        await self.settle()
        responses = self.adapter.calls[before:]
        assert responses, "the bot did not respond to the interaction"
        return responses[0]

    async def interact_deferred(self, payload: dict[str, Any]) -> dict[str, Any]:
        """For commands that acknowledge first and work after ("thinking"): check the deferral, return the
        follow-up message's JSON."""
        before = len(self.adapter.calls)
        deferred = await self.interact(payload)
        assert deferred.json["type"] == 5, f"expected a deferral, got {deferred.json}"
        followups = self.adapter.calls[before + 1 :]
        assert followups, "the bot deferred but never followed up"
        return followups[0].json

    async def edited(self, message_id: int, components: list[dict[str, Any]]) -> None:
        """A MESSAGE_UPDATE of a message the bot sent, as Discord sends after an edit: discord.py's view store hands
        the new components to the message's view."""
        payload = {**message("", author=user(BOT_ID, "allybot", bot=True)), "components": components}
        payload["id"] = str(message_id)
        self.bot._connection.parse_message_update(payload)  # type: ignore[arg-type]
        await self.settle()

    async def post(self, payload: dict[str, Any]) -> list[Call]:
        """A MESSAGE_CREATE through the gateway parser; return what the bot sent back."""
        before = len(self.http.calls)
        self.bot._connection.parse_message_create(payload)  # type: ignore[arg-type]
        await self.settle()
        return self.http.calls[before:]


# --- what Discord would accept -----------------------------------------------------------------------

# Discord's documented limits, written out here rather than imported from render.py, so a wrong constant
# in the bot cannot make its own check pass.
MAX_CONTENT, MAX_EMBED_TOTAL, MAX_EMBED_TITLE, MAX_EMBED_DESCRIPTION = 2000, 6000, 256, 4096
MAX_FOOTER, MAX_AUTHOR, MAX_FIELDS, MAX_FIELD_NAME, MAX_FIELD_VALUE, MAX_BUTTON_LABEL = 2048, 256, 25, 256, 1024, 80
PING = re.compile(r"@everyone|@here|<@[!&]?\d+>")
# Control characters (newlines are fine), bidi controls that would reorder the bot's own words, lone surrogates.
UNSHOWABLE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def strings(value: Any) -> Iterator[str]:
    """Every string in a JSON payload."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def custom_ids(payload: dict[str, Any]) -> list[str]:
    """The custom ids of a message's components, row by row."""
    return [c["custom_id"] for row in payload.get("components", []) for c in row["components"] if "custom_id" in c]


def assert_sendable(payload: dict[str, Any]) -> None:
    """One message the bot handed discord.py: pings nobody, shows nothing unshowable, within Discord's limits."""
    assert payload["allowed_mentions"]["parse"] == [] and not payload["allowed_mentions"].get("replied_user")
    assert len(payload.get("content") or "") <= MAX_CONTENT
    assert len(payload.get("embeds", [])) <= 10 and len(payload.get("components", [])) <= 5
    for data in payload.get("embeds", []):
        embed = discord.Embed.from_dict(data)
        assert len(embed) <= MAX_EMBED_TOTAL and len(embed.title or "") <= MAX_EMBED_TITLE
        assert len(embed.description or "") <= MAX_EMBED_DESCRIPTION and len(embed.footer.text or "") <= MAX_FOOTER
        assert len(embed.author.name or "") <= MAX_AUTHOR and len(embed.fields) <= MAX_FIELDS
        assert all(len(f.name or "") <= MAX_FIELD_NAME and len(f.value or "") <= MAX_FIELD_VALUE for f in embed.fields)
    for row in payload.get("components", []):
        assert all(len(c.get("label", "")) <= MAX_BUTTON_LABEL for c in row["components"])
    for text in strings(payload):
        assert not PING.search(text), f"a ping in {text!r}"
        assert not UNSHOWABLE.search(text), f"an unshowable character in {text!r}"
