"""The local Slack's workspace: channels, users, messages, open modals, and a change feed.

`Workspace` is plain state with the queries tests and the page make; the Web API
(`bot.playground.web_api`) changes it as Slack would, and the user side
(`bot.playground.slack_user`) reads it to build what Slack sends the bot. Every change bumps
`version`, which `wait_for_change` (the playground page's feed) waits on.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


class LocalSlackError(Exception):
    """A gesture the local Slack cannot carry out (unknown message, view or button; bot unreachable)."""


@dataclass
class Message:
    channel: str
    ts: str
    user: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    bot_id: str | None = None
    ephemeral_to: str | None = None  # the only user who sees it
    edited: bool = False
    updates: int = 0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "message",
            "channel": self.channel,
            "ts": self.ts,
            "user": self.user,
            "text": self.text,
            "blocks": self.blocks,
        }
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if self.bot_id:
            out["bot_id"] = self.bot_id
        if self.ephemeral_to:
            out["ephemeral"] = True
            out["ephemeral_to"] = self.ephemeral_to
        if self.edited:
            out["edited"] = {"user": self.user, "ts": self.ts}
        return out


@dataclass
class OpenView:
    id: str
    user: str
    view: dict[str, Any]
    hash: str
    root_view_id: str
    errors: dict[str, str] = field(default_factory=dict)
    client: str | None = None  # the Slack client (the page's tab) it opened on; only that one shows it

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "user": self.user, "view": self.view, "hash": self.hash, "errors": self.errors}

    def payload(self, team_id: str, app_id: str, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "team_id": team_id,
            "type": self.view.get("type", "modal"),
            "blocks": self.view.get("blocks", []),
            "private_metadata": self.view.get("private_metadata", ""),
            "callback_id": self.view.get("callback_id", ""),
            "state": {"values": dict(values or {})},
            "hash": self.hash,
            "title": self.view.get("title"),
            "close": self.view.get("close"),
            "submit": self.view.get("submit"),
            "root_view_id": self.root_view_id,
            "app_id": app_id,
            "external_id": self.view.get("external_id", ""),
            "bot_id": "B0SLUICE",
        }


SLACKBOT = "USLACKBOT"


class Workspace:
    def __init__(
        self,
        *,
        team_id: str = "T0LOCAL",
        app_id: str = "A0SLUICE",
        bot_user_id: str = "U0SLUICE",
        bot_id: str = "B0SLUICE",
        channels: Mapping[str, str] | None = None,
        users: Mapping[str, str] | None = None,
        usergroups: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self.team_id, self.app_id, self.bot_user_id, self.bot_id = team_id, app_id, bot_user_id, bot_id
        self.channels: dict[str, str] = dict(channels or {"C0GENERAL": "general"})
        self.users: dict[str, str] = dict(users or {"U0HUMAN": "you"})
        self.users.setdefault(bot_user_id, "sluice")
        self.users.setdefault(SLACKBOT, "Slackbot")
        self.usergroups: dict[str, list[str]] = {k: list(v) for k, v in (usergroups or {}).items()}
        self.messages: list[Message] = []
        self.views: dict[str, list[OpenView]] = {}  # user -> modal stack
        self.homes: dict[str, dict[str, Any]] = {}  # user -> their App Home tab (views.publish)
        self.version = 0
        self._changed = asyncio.Condition()
        self._seq = itertools.count(1)
        self._triggers: dict[str, tuple[str, float, str | None]] = {}  # trigger id -> (user, issued at, client)
        self._responses: dict[str, tuple[str, str, str | None]] = {}  # token -> (channel, user, message ts)

    # --- change feed ----------------------------------------------------------------------

    async def _bump(self) -> None:
        async with self._changed:
            self.version += 1
            self._changed.notify_all()

    async def wait_for_change(self, seen: int) -> int:
        async with self._changed:
            await self._changed.wait_for(lambda: self.version != seen)
            return self.version

    def snapshot(
        self, channel: str | None = None, user: str | None = None, client: str | None = None
    ) -> dict[str, Any]:
        """Messages (with the ephemerals `user` sees) and `user`'s open modals (those of `client`), as JSON."""
        messages = [
            m.to_json()
            for m in self.messages
            if (channel is None or m.channel == channel)
            and (m.ephemeral_to is None or user is None or m.ephemeral_to == user)
        ]
        views = [
            v.to_json()
            for stack in (self.views.get(user, []) if user else [v for s in self.views.values() for v in s],)
            for v in stack
            if client is None or v.client == client
        ]
        return {"version": self.version, "messages": messages, "views": views, "users": dict(self.users)}

    async def slackbot_note(self, user: str, channel: str, text: str) -> Message:
        """Slackbot tells `user` something in `channel` that only they see (as for an unknown command)."""
        note = Message(channel, self._ts(), SLACKBOT, text, [], ephemeral_to=user)
        self.messages.append(note)
        await self._bump()
        return note

    # --- queries --------------------------------------------------------------------------

    def message(self, channel: str, ts: str) -> Message:
        for m in self.messages:
            if m.channel == channel and m.ts == ts and m.ephemeral_to is None:
                return m
        raise LocalSlackError(f"no message {ts} in {channel}")

    def channel_messages(self, channel: str, *, ephemeral: bool = False) -> list[Message]:
        return [m for m in self.messages if m.channel == channel and (m.ephemeral_to is not None) == ephemeral]

    def thread(self, channel: str, ts: str) -> list[Message]:
        return [
            m
            for m in self.messages
            if m.channel == channel and m.ephemeral_to is None and (m.ts == ts or m.thread_ts == ts)
        ]

    def ephemerals(self, user: str | None = None) -> list[Message]:
        return [m for m in self.messages if m.ephemeral_to is not None and (user is None or m.ephemeral_to == user)]

    def top_view(self, user: str) -> OpenView | None:
        stack = self.views.get(user)
        return stack[-1] if stack else None

    def _find_view(self, view_id: str, external_id: str = "") -> OpenView | None:
        for stack in self.views.values():
            for v in stack:
                if (view_id and v.id == view_id) or (external_id and v.view.get("external_id") == external_id):
                    return v
        return None

    def _user(self, user: str) -> dict[str, Any]:
        if user not in self.users:
            raise LocalSlackError(f"unknown user {user}; known: {', '.join(self.users)}")
        return {"id": user, "username": self.users[user], "name": self.users[user], "team_id": self.team_id}

    # --- identifiers Slack hands out ------------------------------------------------------

    def _ts(self) -> str:
        return f"{int(time.time())}.{next(self._seq) % 1_000_000:06d}"

    def _new_view(
        self, user: str, view: dict[str, Any], root: str | None = None, client: str | None = None
    ) -> OpenView:
        view_id = "V" + secrets.token_hex(5).upper()
        return OpenView(view_id, user, view, secrets.token_hex(8), root or view_id, client=client)

    def _trigger(self, user: str, client: str | None = None) -> str:
        """A trigger id for a gesture of `user` on `client`: a modal it opens shows on that client."""
        trigger = f"{next(self._seq)}.{secrets.token_hex(6)}"
        self._triggers[trigger] = (user, time.monotonic(), client)
        return trigger
